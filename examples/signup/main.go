// Command signup shows how a host application makes several changes in
// one transaction: a sign-up form that brings a company, its two people
// and a first deal either all comes in or none of it does.
//
//	go run ./examples/signup
//
// Workspace.Update runs a function in one write transaction; every record
// written through its Tx is validated, indexed and recorded in history as
// a single call would be, and the events of all of them are delivered
// after the one commit.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store/badger"
)

// signup is what the host's sign-up form sends.
type signup struct {
	Company string
	People  []person
	Seats   int64 // the plan's seats, at 12.00 a seat
}

type person struct{ First, Last, Email string }

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "signup:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	st, err := badger.Open("", badger.WithInMemory())
	if err != nil {
		return err
	}
	defer st.Close()
	c := crm.New(st)
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "saas", Name: "SaaS Inc", Currency: "EUR"})
	if err != nil {
		return err
	}

	ok := signup{Company: "Globex", Seats: 40, People: []person{
		{"Hank", "Scorpio", "hank@globex.example"},
		{"Frank", "Grimes", "frank@globex.example"},
	}}
	if err := register(ctx, ws, ok); err != nil {
		return err
	}
	fmt.Fprintln(out, "registered Globex")

	// The second sign-up reuses Frank's address: the contact is refused,
	// so the whole sign-up is, and its company is not left behind.
	dup := signup{Company: "Initech", Seats: 5, People: []person{
		{"Peter", "Gibbons", "peter@initech.example"},
		{"Frank", "Grimes", "frank@globex.example"},
	}}
	err = register(ctx, ws, dup)
	var ve *crm.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("the duplicate sign-up was not refused: %v", err)
	}
	fmt.Fprintln(out, "refused Initech:", err)

	return ws.View(ctx, func(rt *crm.ReadTx) error {
		for _, k := range []struct {
			kind   crm.Kind
			plural string
		}{{crm.KindCompany, "companies"}, {crm.KindContact, "contacts"}, {crm.KindDeal, "deals"}} {
			n, err := rt.Count(k.kind, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "%s: %d\n", k.plural, n)
		}
		return nil
	})
}

// register writes a sign-up in one transaction: any error the function
// returns rolls back everything it wrote.
func register(ctx context.Context, ws *crm.Workspace, s signup) error {
	return ws.Update(ctx, func(tx *crm.Tx) error {
		co, err := tx.Companies().Create(crm.Company{Name: s.Company})
		if err != nil {
			return err
		}
		d := crm.Deal{
			Name:      s.Company + " subscription",
			CompanyID: co.ID,
			Amount:    crm.Money{Amount: s.Seats * 1200},
		}
		for _, p := range s.People {
			ct, err := tx.Contacts().Create(crm.Contact{
				FirstName: p.First, LastName: p.Last, Emails: []string{p.Email},
				Companies: []crm.CompanyRole{{CompanyID: co.ID}},
			})
			if err != nil {
				return err
			}
			d.Contacts = append(d.Contacts, crm.ContactRole{ContactID: ct.ID})
		}
		_, err = tx.Deals().Create(d)
		return err
	})
}
