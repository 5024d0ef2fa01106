package crm_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestActivitiesAndTimeline(t *testing.T) {
	e := setup(t)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Kim"})
	require.NoError(t, err)
	co, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Kim Co"})
	require.NoError(t, err)

	// 120 activities, logged out of order of when they happened.
	base := e.clock.Now()
	for i := 0; i < 120; i++ {
		e.clock.Advance(time.Second)
		at := base.Add(time.Duration((i*37)%120) * time.Minute)
		_, err := e.ws.Activities().Log(e.ctx, crm.Activity{
			Type: crm.ActivityCall, Subject: fmt.Sprintf("call %d", i), OccurredAt: at,
			ContactIDs: []string{c.ID}, CompanyIDs: []string{co.ID},
		})
		require.NoError(t, err)
	}
	e.clock.Advance(time.Hour * 3)
	_, err = e.ws.Contacts().Update(e.ctx, c.ID, func(c *crm.Contact) error { c.Title = "CTO"; return nil })
	require.NoError(t, err)

	var all []crm.TimelineEntry
	cursor := ""
	pages := 0
	for {
		pg, err := e.ws.Timeline(e.ctx, crm.Ref{Kind: crm.KindContact, ID: c.ID}, cursor, 50)
		require.NoError(t, err)
		all = append(all, pg.Items...)
		pages++
		if pg.Next == "" {
			break
		}
		cursor = pg.Next
	}
	assert.Equal(t, 3, pages)
	require.Len(t, all, 122, "120 calls, the creation and the update")
	require.NotNil(t, all[0].Change, "the newest entry is the title change: %+v %v", all[0].Activity, all[0].At)
	assert.Equal(t, crm.OpUpdated, all[0].Change.Op)
	assert.Equal(t, []crm.FieldChange{{Field: "title", Old: "", New: "CTO"}}, all[0].Change.Fields)
	for i := 1; i < len(all); i++ {
		assert.False(t, all[i].At.After(all[i-1].At), "newest first at %d", i)
	}
	calls := 0
	for _, en := range all {
		if en.Activity != nil {
			calls++
		}
	}
	assert.Equal(t, 120, calls)

	// The company's timeline has the calls too, and moving a call in time
	// or unlinking it updates the timelines.
	pg, err := e.ws.Timeline(e.ctx, crm.Ref{Kind: crm.KindCompany, ID: co.ID}, "", 1000)
	require.NoError(t, err)
	assert.Len(t, pg.Items, 121)
	first := pg.Items[0].Activity
	require.NotNil(t, first)
	_, err = e.ws.Activities().Update(e.ctx, first.ID, func(a *crm.Activity) error {
		a.CompanyIDs = nil
		return nil
	})
	require.NoError(t, err)
	pg, err = e.ws.Timeline(e.ctx, crm.Ref{Kind: crm.KindCompany, ID: co.ID}, "", 1000)
	require.NoError(t, err)
	assert.Len(t, pg.Items, 120)
	require.NoError(t, e.ws.Activities().Delete(e.ctx, first.ID))
	pg, err = e.ws.Timeline(e.ctx, crm.Ref{Kind: crm.KindContact, ID: c.ID}, "", 1000)
	require.NoError(t, err)
	assert.Len(t, pg.Items, 121, "a deleted activity leaves the timeline")

	_, err = e.ws.Timeline(e.ctx, crm.Ref{Kind: crm.KindContact, ID: c.ID}, "!!", 10)
	assert.ErrorIs(t, err, crm.ErrBadCursor)
	_, err = e.ws.Timeline(e.ctx, crm.Ref{Kind: crm.KindWorkspace, ID: c.ID}, "", 10)
	assert.ErrorIs(t, err, crm.ErrInvalid)
}

func TestTasksAndTickets(t *testing.T) {
	e := setup(t)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Lee"})
	require.NoError(t, err)
	acts := e.ws.Activities()
	now := e.clock.Now()
	task, err := acts.Log(e.ctx, crm.Activity{Type: crm.ActivityTask, Subject: "Send quote", DueAt: now.Add(48 * time.Hour),
		RemindAt: now.Add(24 * time.Hour), AssigneeID: "u_1", ContactIDs: []string{c.ID}})
	require.NoError(t, err)
	later, err := acts.Log(e.ctx, crm.Activity{Type: crm.ActivityTask, Subject: "Follow up", DueAt: now.Add(96 * time.Hour), ContactIDs: []string{c.ID}})
	require.NoError(t, err)

	var due []string
	for a, err := range acts.DueBefore(e.ctx, now.Add(72*time.Hour)) {
		require.NoError(t, err)
		due = append(due, a.ID)
	}
	assert.Equal(t, []string{task.ID}, due)

	e.clock.Advance(time.Hour)
	task, err = acts.Complete(e.ctx, task.ID, true)
	require.NoError(t, err)
	assert.Equal(t, e.clock.Now(), task.DoneAt)
	due = nil
	for a, err := range acts.DueBefore(e.ctx, now.Add(200*time.Hour)) {
		require.NoError(t, err)
		due = append(due, a.ID)
	}
	assert.Equal(t, []string{later.ID}, due, "done tasks are not due")
	task, err = acts.Complete(e.ctx, task.ID, false)
	require.NoError(t, err)
	assert.True(t, task.DoneAt.IsZero())

	_, err = acts.Log(e.ctx, crm.Activity{Type: crm.ActivityNote, DueAt: now, ContactIDs: []string{c.ID}})
	assert.Equal(t, []string{"due_at"}, fieldErrors(t, err), "only tasks are due")
	_, err = acts.Log(e.ctx, crm.Activity{Type: crm.ActivityNote})
	assert.Equal(t, []string{"contact_ids"}, fieldErrors(t, err))
	_, err = acts.Log(e.ctx, crm.Activity{Type: "fax", ContactIDs: []string{c.ID}})
	assert.Equal(t, []string{"type"}, fieldErrors(t, err))

	tk, err := acts.Log(e.ctx, crm.Activity{Type: crm.ActivityTicket, Subject: "Login broken", Priority: "high", ContactIDs: []string{c.ID}})
	require.NoError(t, err)
	assert.Equal(t, "open", tk.Status)
	assert.Equal(t, e.clock.Now(), tk.OpenedAt)
	e.clock.Advance(5 * time.Hour)
	tk, err = acts.Update(e.ctx, tk.ID, func(a *crm.Activity) error { a.Status = "resolved"; return nil })
	require.NoError(t, err)
	assert.Equal(t, 5*time.Hour, tk.ResolvedAt.Sub(tk.OpenedAt))
	_, err = acts.Update(e.ctx, tk.ID, func(a *crm.Activity) error { a.Priority = "meh"; return nil })
	assert.Equal(t, []string{"priority"}, fieldErrors(t, err))
}

func TestPurchases(t *testing.T) {
	e := setup(t)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Buyer"})
	require.NoError(t, err)
	p, err := e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: c.ID, PaymentMethod: "card", Items: []crm.LineItem{
		{Product: "GTX Pro", Quantity: 2, UnitPrice: crm.Money{Amount: 4821_00}, Discount: crm.Money{Amount: 100_00}},
		{Product: "MG Special", Quantity: 3, UnitPrice: crm.Money{Amount: 55_00, Currency: "EUR"}},
	}})
	require.NoError(t, err)
	assert.Equal(t, crm.Money{Amount: 2*4821_00 - 100_00 + 3*55_00, Currency: "EUR"}, p.Total)

	_, err = e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: c.ID, Items: []crm.LineItem{
		{Product: "A", Quantity: 1, UnitPrice: crm.Money{Amount: 1, Currency: "EUR"}},
		{Product: "B", Quantity: 1, UnitPrice: crm.Money{Amount: 1, Currency: "USD"}},
	}})
	assert.Equal(t, []string{"items[1].unit_price.currency"}, fieldErrors(t, err), "mixed currencies are refused")
	_, err = e.ws.Purchases().Record(e.ctx, crm.Purchase{Items: []crm.LineItem{{Product: "A", Quantity: 0, UnitPrice: crm.Money{Amount: 1}}}})
	assert.Equal(t, []string{"contact_id", "items[0].quantity"}, fieldErrors(t, err))

	var got []string
	for x, err := range e.ws.Purchases().ByContact(e.ctx, c.ID) {
		require.NoError(t, err)
		got = append(got, x.ID)
	}
	assert.Equal(t, []string{p.ID}, got)
}
