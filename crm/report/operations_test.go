package report_test

import (
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opsFixture logs, at 2 March 09:00 (t0) unless said otherwise, for one
// contact:
//
//	ann: a call, an email, a call on 27 February; tasks t1 (due 1 March),
//	     t2 (assigned to bob, due 20 February), t4 (due 1 February, done);
//	     tickets k1 (resolved by ann at t0+6h) and k2 (resolved by ann at
//	     t0+30h)
//	bob: a meeting, a note on 2 April; task t3 (due 10 March); tickets k3
//	     (open) and k4 (resolved by bob at t0+2h, reopened by bob at
//	     t0+3h, resolved by bob at t0+7h)
//
// Every other change is made by the actor u_test.
func opsFixture(t *testing.T, e *crmtest.Env) map[string]crm.Activity {
	t.Helper()
	t0 := e.Clock.Now()
	c, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: "ops"})
	require.NoError(t, err)
	acts := map[string]crm.Activity{}
	log := func(name string, a crm.Activity) {
		a.ContactIDs = []string{c.ID}
		a.Subject = name
		got, err := e.WS.Activities().Log(e.Ctx, a)
		require.NoError(t, err)
		acts[name] = got
	}
	log("call", crm.Activity{Type: crm.ActivityCall, OwnerID: "ann"})
	log("email", crm.Activity{Type: crm.ActivityEmail, OwnerID: "ann"})
	log("old call", crm.Activity{Type: crm.ActivityCall, OwnerID: "ann", OccurredAt: time.Date(2026, 2, 27, 9, 0, 0, 0, time.UTC)})
	log("meeting", crm.Activity{Type: crm.ActivityMeeting, OwnerID: "bob"})
	log("note", crm.Activity{Type: crm.ActivityNote, OwnerID: "bob", OccurredAt: time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)})
	log("t1", crm.Activity{Type: crm.ActivityTask, OwnerID: "ann", DueAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)})
	log("t2", crm.Activity{Type: crm.ActivityTask, OwnerID: "ann", AssigneeID: "bob", DueAt: time.Date(2026, 2, 20, 9, 0, 0, 0, time.UTC)})
	log("t3", crm.Activity{Type: crm.ActivityTask, OwnerID: "bob", DueAt: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)})
	log("t4", crm.Activity{Type: crm.ActivityTask, OwnerID: "ann", DueAt: time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC), Done: true})
	for _, k := range [][2]string{{"k1", "ann"}, {"k2", "ann"}, {"k3", "bob"}, {"k4", "bob"}} {
		log(k[0], crm.Activity{Type: crm.ActivityTicket, OwnerID: k[1]})
	}
	status := func(after time.Duration, actor, name, st string) {
		repClockTo(t, e, t0.Add(after))
		_, err := e.WS.Activities().Update(crm.WithActor(e.Ctx, actor), acts[name].ID, func(a *crm.Activity) error { a.Status = st; return nil })
		require.NoError(t, err)
	}
	status(2*time.Hour, "bob", "k4", "resolved")
	status(3*time.Hour, "bob", "k4", "open")
	status(6*time.Hour, "ann", "k1", "resolved")
	status(7*time.Hour, "bob", "k4", "closed")
	status(30*time.Hour, "ann", "k2", "resolved")
	return acts
}

func TestOperations(t *testing.T) {
	e := crmtest.Setup(t)
	acts := opsFixture(t, e)
	march := report.Filter{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		OwnerIDs: []string{"ann", "bob"}}

	rep, err := report.Operations(e.Ctx, e.WS, march)
	require.NoError(t, err)
	assert.Equal(t, report.GroupOwner, rep.Filter.GroupBy, "by owner by default")
	assert.Equal(t, []report.ActivityVolume{
		{Group: "ann", Type: crm.ActivityCall, Count: 1}, // the February call is out
		{Group: "ann", Type: crm.ActivityEmail, Count: 1},
		{Group: "ann", Type: crm.ActivityTask, Count: 3},
		{Group: "ann", Type: crm.ActivityTicket, Count: 2},
		{Group: "bob", Type: crm.ActivityMeeting, Count: 1}, // the April note is out
		{Group: "bob", Type: crm.ActivityTask, Count: 1},
		{Group: "bob", Type: crm.ActivityTicket, Count: 2},
	}, rep.Activities)
	// ann: 6 and 30 hours; bob: k4 from its reopening, 4 hours, and k3
	// still open.
	assert.Equal(t, []report.TicketTimes{
		{Group: "ann", Resolved: 2, AvgHours: 18, MedianHours: 18},
		{Group: "bob", Resolved: 1, AvgHours: 4, MedianHours: 4, Open: 1},
	}, rep.Tickets)
	// Now is 3 March 15:00: t1 (ann's) and t2 (assigned to bob) are
	// overdue; t3 is not due yet and t4 is done.
	assert.Equal(t, []report.OverdueTasks{
		{Assignee: "ann", Count: 1, OldestDueAt: acts["t1"].DueAt},
		{Assignee: "bob", Count: 1, OldestDueAt: acts["t2"].DueAt},
	}, rep.Overdue)
	// ann made 2 changes, bob 3, in March.
	assert.Equal(t, []report.Adoption{{Period: "2026-03", ActiveUsers: 2, Updates: 5, PerUser: 2.5}}, rep.Adoption)

	// By month: the same tickets in one group (6, 30 and 4 hours).
	f := march
	f.GroupBy = report.GroupMonth
	rep, err = report.Operations(e.Ctx, e.WS, f)
	require.NoError(t, err)
	require.Len(t, rep.Tickets, 1)
	assert.Equal(t, report.TicketTimes{Group: "2026-03", Resolved: 3, AvgHours: 40.0 / 3, MedianHours: 6, Open: 1}, rep.Tickets[0])
	assert.Len(t, rep.Activities, 5, "call, email, meeting, task, ticket")

	// The overdue list follows the injected clock: on 11 March t3 is due.
	repClockTo(t, e, time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC))
	rep, err = report.Operations(e.Ctx, e.WS, report.Filter{OwnerIDs: []string{"bob"}})
	require.NoError(t, err)
	assert.Equal(t, []report.OverdueTasks{{Assignee: "bob", Count: 2, OldestDueAt: acts["t2"].DueAt}}, rep.Overdue)

	// Completing a task takes it off the list; the change counts for
	// adoption in April.
	repClockTo(t, e, time.Date(2026, 4, 3, 9, 0, 0, 0, time.UTC))
	_, err = e.WS.Activities().Complete(crm.WithActor(e.Ctx, "bob"), acts["t3"].ID, true)
	require.NoError(t, err)
	rep, err = report.Operations(e.Ctx, e.WS, report.Filter{OwnerIDs: []string{"bob"}})
	require.NoError(t, err)
	assert.Equal(t, []report.OverdueTasks{{Assignee: "bob", Count: 1, OldestDueAt: acts["t2"].DueAt}}, rep.Overdue)
	assert.Equal(t, []report.Adoption{
		{Period: "2026-03", ActiveUsers: 1, Updates: 3, PerUser: 3},
		{Period: "2026-04", ActiveUsers: 1, Updates: 1, PerUser: 1},
	}, rep.Adoption)
}
