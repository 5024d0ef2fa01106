package crm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store/memory"
)

// A dynamic segment is a saved filter: counted and listed live, and its
// members' changes emit segment.entered and segment.left events.
func ExampleSegments() {
	st := memory.New()
	defer st.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	ws, _ := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})

	seg, err := ws.Segments().Create(ctx, crm.Segment{
		Name: "DACH customers", Object: crm.KindContact,
		Filter: `lifecycle = "customer" and address.country in ("DE", "AT", "CH") and not tags contains "churn-risk"`,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(seg.Filter)
	for _, p := range []crm.Contact{
		{FirstName: "Anna", Lifecycle: "customer", Address: crm.Address{Country: "DE"}},
		{FirstName: "Ben", Lifecycle: "customer", Address: crm.Address{Country: "AT"}, Tags: []string{"churn-risk"}},
		{FirstName: "Cleo", Lifecycle: "lead", Address: crm.Address{Country: "CH"}},
	} {
		if _, err := ws.Contacts().Create(ctx, p); err != nil {
			fmt.Println(err)
		}
	}
	n, _ := ws.Segments().Count(ctx, seg.ID)
	fmt.Println("members:", n)
	for m, err := range ws.Segments().Members(ctx, seg.ID, "") {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(m.Record.(crm.Contact).FirstName)
	}
	for ev, err := range ws.Changes(ctx, 0) {
		if err == nil && ev.Type == crm.SegmentEntered {
			fmt.Println(ev.Type, ev.Kind)
		}
	}
	// Output:
	// lifecycle = "customer" AND address.country IN ("DE", "AT", "CH") AND NOT tags CONTAINS "churn-risk"
	// members: 1
	// Anna
	// segment.entered contact
}

// A query runs a filter without saving it; Explain shows how it runs.
func ExampleQuery_Explain() {
	st := memory.New()
	defer st.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	ws, _ := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})
	for _, country := range []string{"DE", "DE", "FR"} {
		_, _ = ws.Contacts().Create(ctx, crm.Contact{FirstName: "X", Lifecycle: "customer", Address: crm.Address{Country: country}})
	}

	q := ws.Query(crm.KindContact, filter.And(
		filter.Where("address.country").Eq("de"),
		filter.Where("first_name").StartsWith("x"),
	))
	n, _ := q.Count(ctx)
	plan, _ := q.Explain(ctx)
	fmt.Println(n)
	fmt.Print(plan)
	// Output:
	// 2
	// index f.address.country: 1 value prefix(es) [2, counted] address.country = "de"
	// then read each candidate and keep those matching address.country = "de" AND first_name STARTS WITH "x"
}
