package crm_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store/memory"
)

// Update writes several records in one transaction: they commit together,
// or, when the function returns an error, none of them is written.
func ExampleWorkspace_Update() {
	st := memory.New()
	defer st.Close()
	ctx := context.Background()
	ws, err := crm.New(st).CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})
	if err != nil {
		fmt.Println(err)
		return
	}

	err = ws.Update(ctx, func(tx *crm.Tx) error {
		co, err := tx.Companies().Create(crm.Company{Name: "Globex"})
		if err != nil {
			return err
		}
		ada, err := tx.Contacts().Create(crm.Contact{FirstName: "Ada", Companies: []crm.CompanyRole{{CompanyID: co.ID}}})
		if err != nil {
			return err
		}
		_, err = tx.Deals().Create(crm.Deal{Name: "Globex pilot", CompanyID: co.ID,
			Amount: crm.Money{Amount: 50_000_00}, Contacts: []crm.ContactRole{{ContactID: ada.ID}}})
		return err
	})
	fmt.Println("first:", err)

	errNoBudget := errors.New("no budget")
	err = ws.Update(ctx, func(tx *crm.Tx) error {
		if _, err := tx.Companies().Create(crm.Company{Name: "Initech"}); err != nil {
			return err
		}
		return errNoBudget // rolls back Initech
	})
	fmt.Println("second:", err)

	_ = ws.View(ctx, func(rt *crm.ReadTx) error {
		for co, err := range rt.Companies().All() {
			if err != nil {
				return err
			}
			fmt.Println("company:", co.Name)
		}
		n, err := rt.Count(crm.KindDeal, nil)
		fmt.Println("deals:", n)
		return err
	})
	// Output:
	// first: <nil>
	// second: no budget
	// company: Globex
	// deals: 1
}
