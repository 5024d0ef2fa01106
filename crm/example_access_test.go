package crm_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/crmkit/crmkit/crm"
)

// A policy gives each principal its view of the workspace: reps see
// their own deals, a manager the team's, and support every deal but not
// its amount. A record out of reach is not found; an action out of reach
// is forbidden.
func ExampleWorkspace_SetPolicy() {
	st, ws := exampleWorkspace()
	defer st.Close()
	ctx := context.Background()
	_, err := ws.SetPolicy(ctx, crm.Policy{
		Roles: []crm.Role{{
			Name:   "support",
			Grants: []crm.Grant{{Kind: crm.AnyKind, Actions: []crm.Action{crm.ActionRead}, Scope: crm.ScopeAll}},
			Fields: []crm.FieldRule{{Field: "deal.amount", Access: crm.FieldHidden}},
		}},
		Teams: []crm.TeamDef{{Name: "east", Members: []string{"ann", "bob"}}, {Name: "west", Members: []string{"carl"}}},
	})
	if err != nil {
		panic(err)
	}
	// Host code that acts on its own behalf says so.
	sys := crm.As(ctx, crm.System())
	ids := map[string]string{}
	for _, owner := range []string{"ann", "bob", "carl"} {
		d, err := ws.Deals().Create(sys, crm.Deal{Name: owner + "'s deal", OwnerID: owner, Amount: crm.Money{Amount: 5000_00, Currency: "USD"}})
		if err != nil {
			panic(err)
		}
		ids[owner] = d.ID
	}

	show := func(p crm.Principal) {
		fmt.Printf("%s (%v):", p.ID, p.Roles)
		for d, err := range ws.Deals().List(crm.As(ctx, p), crm.ListOptions{}) {
			if err != nil {
				panic(err)
			}
			fmt.Printf(" %s [%s]", d.Name, d.Amount)
		}
		fmt.Println()
	}
	bob := crm.Principal{ID: "bob", Roles: []string{"rep"}}
	show(bob)
	show(crm.Principal{ID: "ann", Roles: []string{"manager"}})
	show(crm.Principal{ID: "sue", Roles: []string{"support"}})

	_, err = ws.Deals().Get(crm.As(ctx, bob), ids["carl"])
	fmt.Println("bob gets carl's deal:", errors.Is(err, crm.ErrNotFound))
	_, err = ws.Deals().Update(crm.As(ctx, bob), ids["bob"], func(d *crm.Deal) error {
		d.OwnerID = "carl"
		return nil
	})
	fmt.Println(err)
	_, err = ws.Deals().Get(ctx, ids["bob"])
	fmt.Println(err)
	// Output:
	// bob ([rep]): bob's deal [5000.00 USD]
	// ann ([manager]): ann's deal [5000.00 USD] bob's deal [5000.00 USD]
	// sue ([support]): ann's deal [] bob's deal [] carl's deal []
	// bob gets carl's deal: true
	// crm: principal bob may not update deal.owner_id: the record would be outside the principal's own scope
	// crm: a call without a principal may not read workspace: the workspace has an access policy: act as a principal (crm.As)
}
