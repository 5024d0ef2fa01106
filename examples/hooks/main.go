// Command hooks shows the CRM's lifecycle hooks: a before-hook that refuses
// large deals without a company (inside the write's transaction, so nothing
// is written), and an after-hook that prints every deal that is won.
//
//	go run ./examples/hooks
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

// limit is the amount, in cents, above which a deal needs a company.
const limit = 10_000_00

var errNeedsCompany = errors.New("deals over 10,000.00 need a company")

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hooks:", err)
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

	// The before-hook runs inside the write's transaction: its error vetoes
	// the write.
	err = c.Hooks().BeforeDeal.Bind("large-deal-guard", 0, func(ctx context.Context, b *crm.Before[crm.Deal]) error {
		if b.New.Amount.Amount > limit && b.New.CompanyID == "" {
			return errNeedsCompany
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The after-hook sees committed changes only.
	c.Hooks().After.BindFunc(func(ctx context.Context, ev *crm.Event) error {
		if ev.Type != crm.DealWon {
			return nil
		}
		rec, err := ev.Record()
		if err != nil {
			return err
		}
		d := rec.(*crm.Deal)
		fmt.Fprintf(out, "won: %s (%d.%02d %s)\n", d.Name, d.Amount.Amount/100, d.Amount.Amount%100, d.Amount.Currency)
		return nil
	})

	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "demo", Currency: "EUR"})
	if err != nil {
		return err
	}
	_, err = ws.Deals().Create(ctx, crm.Deal{Name: "Huge, no company", Amount: crm.Money{Amount: 250_000_00}})
	fmt.Fprintln(out, "refused:", err)
	fmt.Fprintln(out, "is a veto:", errors.Is(err, crm.ErrVetoed), "- the hook's reason:", errors.Is(err, errNeedsCompany))

	co, err := ws.Companies().Create(ctx, crm.Company{Name: "Initech"})
	if err != nil {
		return err
	}
	big, err := ws.Deals().Create(ctx, crm.Deal{Name: "Initech platform", CompanyID: co.ID, Amount: crm.Money{Amount: 250_000_00}})
	if err != nil {
		return err
	}
	small, err := ws.Deals().Create(ctx, crm.Deal{Name: "Stapler refill", Amount: crm.Money{Amount: 49_90}})
	if err != nil {
		return err
	}
	for _, id := range []string{big.ID, small.ID} {
		if _, err := ws.Deals().Win(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
