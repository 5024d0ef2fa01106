package automation_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/automation"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// saveRecipe saves a built-in recipe.
func saveRecipe(t testing.TB, e *env, name string) automation.Rule {
	t.Helper()
	doc, err := automation.Recipe(name)
	require.NoError(t, err)
	r, err := automation.RulesOf(e.ws).SaveJSON(e.ctx, doc)
	require.NoError(t, err)
	return r
}

// tasks lists the workspace's tasks in creation order.
func tasks(t testing.TB, e *env) []crm.Activity {
	t.Helper()
	var out []crm.Activity
	for a, err := range e.ws.Activities().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		if a.Type == crm.ActivityTask {
			out = append(out, a)
		}
	}
	return out
}

// events lists the types of the workspace's outbox events, with the
// record of each, in commit order.
func events(t testing.TB, e *env, types ...crm.EventType) []string {
	t.Helper()
	var out []string
	for ev, err := range e.ws.Changes(e.ctx, 0) {
		require.NoError(t, err)
		for _, typ := range types {
			if ev.Type == typ {
				out = append(out, string(ev.Type)+" "+ev.RecordID)
			}
		}
	}
	return out
}

func TestTimeRuleFiresOncePerOccurrence(t *testing.T) {
	e, a := autoEnv(t)
	deal, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Acme renewal", OwnerID: "ann"})
	require.NoError(t, err)
	won, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Closed one", OwnerID: "bob"})
	require.NoError(t, err)
	_, err = e.ws.Deals().Win(e.ctx, won.ID)
	require.NoError(t, err)
	rule := saveRecipe(t, e, automation.RecipeStalledDeal)

	e.clock.Advance(13 * day)
	step(t, e, a)
	assert.Empty(t, tasks(t, e), "not idle for 14 days yet")

	e.clock.Advance(day + time.Hour)
	rep := step(t, e, a)
	assert.Equal(t, 2, rep.Timers, "both deals' timers fire")
	got := tasks(t, e)
	require.Len(t, got, 1, "the won deal fails the condition")
	assert.Equal(t, "Follow up on Acme renewal", got[0].Subject)
	assert.Equal(t, "ann", got[0].AssigneeID)
	assert.Equal(t, []string{deal.ID}, got[0].DealIDs)
	assert.Equal(t, e.clock.Now().Add(day), got[0].DueAt)
	assert.Equal(t, "rule:"+rule.ID, got[0].CreatedBy)

	step(t, e, a)
	e.clock.Advance(13 * day)
	step(t, e, a)
	assert.Len(t, tasks(t, e), 1, "the occurrence fired once; the task reset the idle time")

	e.clock.Advance(2 * day)
	step(t, e, a)
	assert.Len(t, tasks(t, e), 2, "14 more idle days are a new occurrence")
}

func TestTimersSurviveRestartAndCatchUpInOrder(t *testing.T) {
	e, _ := autoEnv(t)
	_, err := automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "close date passed", Object: crm.KindDeal,
		Trigger: automation.Trigger{Time: &automation.TimeTrigger{Field: "close_date", Offset: automation.Offset(day)}},
		Actions: []automation.Action{{Type: automation.ActionEmitEvent, Event: "close_date.passed"}},
	})
	require.NoError(t, err)
	today := crm.DateOf(e.clock.Now())
	var want []string
	for _, off := range []int{3, 1, 2} {
		d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: fmt.Sprint("in ", off), CloseDate: crm.DateOf(today.Time().AddDate(0, 0, off))})
		require.NoError(t, err)
		want = append(want, d.ID)
	}
	want = []string{want[1], want[2], want[0]}
	// The first instance schedules the timers from the events, then
	// stops. A new one starts over the same store after a week down.
	first := automation.New(e.crm, automation.WithRuleRetries(1, 0))
	_, err = first.Step(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, events(t, e, "custom.close_date.passed"))

	e.clock.Advance(7 * day)
	restarted := automation.New(crm.New(e.st, crm.WithClock(e.clock.Now)))
	rep, err := restarted.Step(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, rep.Timers)
	var wantEvents []string
	for _, id := range want {
		wantEvents = append(wantEvents, "custom.close_date.passed "+id)
	}
	assert.Equal(t, wantEvents, events(t, e, "custom.close_date.passed"), "caught up in due order")

	rep, err = restarted.Step(e.ctx)
	require.NoError(t, err)
	assert.Zero(t, rep.Timers)
	assert.Len(t, events(t, e, "custom.close_date.passed"), 3, "each occurrence fires once")
}

func TestTimerActionFailureNeitherLosesNorDuplicates(t *testing.T) {
	e, a := autoEnv(t)
	saveRecipe(t, e, automation.RecipeStalledDeal)
	_, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Big deal", OwnerID: "ann"})
	require.NoError(t, err)
	step(t, e, a)

	// The task write fails once, after the timer fired inside the same
	// transaction: the whole transaction is undone and runs again.
	var mu sync.Mutex
	fail := 1
	e.crm.Hooks().BeforeActivity.BindFunc(func(ctx context.Context, b *crm.Before[crm.Activity]) error {
		mu.Lock()
		defer mu.Unlock()
		if fail > 0 {
			fail--
			return fmt.Errorf("disk full")
		}
		return nil
	})
	e.clock.Advance(15 * day)
	step(t, e, a)
	assert.Len(t, tasks(t, e), 1)
	step(t, e, a)
	assert.Len(t, tasks(t, e), 1)
}

func TestTimersFireOnceAcrossInstances(t *testing.T) {
	e := setup(t)
	fireOnceAcross(t, e, []*crm.CRM{crm.New(e.st, crm.WithClock(e.clock.Now)), crm.New(e.st, crm.WithClock(e.clock.Now))}, time.Minute)
}

// TestTimersFireOnceAcrossPostgresInstances runs two instances, each with
// a store (a connection pool) of its own on one PostgreSQL schema, with a
// lease that lapses at once, so both fire timers at the same time: the
// transactions alone keep every occurrence to one firing.
func TestTimersFireOnceAcrossPostgresInstances(t *testing.T) {
	sh := teststore.SharedPostgres(t)
	clk := newClock()
	var cs []*crm.CRM
	for range 2 {
		cs = append(cs, crm.New(sh.Open(t), crm.WithClock(clk.Now)))
	}
	ctx := crm.WithActor(context.Background(), "u_test")
	ws, err := cs[0].CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme"})
	require.NoError(t, err)
	e := &env{ctx: ctx, crm: cs[0], ws: ws, clock: clk}
	fireOnceAcross(t, e, cs, 0)
}

// fireOnceAcross has several instances fire the cold-lead timers of 40
// leads at once and checks each fired once.
func fireOnceAcross(t *testing.T, e *env, cs []*crm.CRM, lease time.Duration) {
	saveRecipe(t, e, automation.RecipeColdLead)
	const n = 40
	for i := range n {
		_, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: fmt.Sprint("Lead", i), Lifecycle: "lead", OwnerID: "ann"})
		require.NoError(t, err)
	}
	var engines []*automation.Automation
	for i, c := range cs {
		name := fmt.Sprint("instance", i)
		// The timer lease is under test; event delivery keeps a lease
		// that holds.
		engines = append(engines, automation.New(c, automation.WithLease(name, lease),
			automation.WithDispatcherOptions(crm.WithLease(name, time.Minute))))
	}
	_, err := engines[0].Step(e.ctx)
	require.NoError(t, err)
	e.clock.Advance(46 * day)
	var wg sync.WaitGroup
	fired := make([]int, len(engines))
	for i, a := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				rep, err := a.Step(e.ctx)
				assert.NoError(t, err)
				fired[i] += rep.Timers
			}
		}()
	}
	wg.Wait()
	assert.Len(t, tasks(t, e), n, "every lead gets one task, none twice")
	assert.Len(t, events(t, e, "custom.lead.reengage"), n)
	if lease > 0 {
		assert.True(t, fired[0] == 0 || fired[1] == 0, "one instance holds the timer lease: %v", fired)
	}
}

func TestTaskDueAndOverdueEscalation(t *testing.T) {
	e, a := autoEnv(t, automation.WithOverdueAfter(day))
	setTeam(t, e, "ann")
	saveRecipe(t, e, automation.RecipeOverdueTask)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	task, err := e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityTask, Subject: "Send quote", ContactIDs: []string{c.ID}, AssigneeID: "ann", DueAt: e.clock.Now().Add(2 * day)})
	require.NoError(t, err)
	done, err := e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityTask, Subject: "Done in time", ContactIDs: []string{c.ID}, AssigneeID: "ann", DueAt: e.clock.Now().Add(2 * day)})
	require.NoError(t, err)
	step(t, e, a)
	_, err = e.ws.Activities().Complete(e.ctx, done.ID, true)
	require.NoError(t, err)

	e.clock.Advance(2 * day)
	step(t, e, a)
	assert.Equal(t, []string{"task.due " + task.ID}, events(t, e, crm.TaskDue, crm.TaskOverdue))
	e.clock.Advance(day)
	step(t, e, a)
	assert.Equal(t, []string{"task.due " + task.ID, "task.overdue " + task.ID}, events(t, e, crm.TaskDue, crm.TaskOverdue))
	got := tasks(t, e)
	require.Len(t, got, 3)
	assert.Equal(t, "Overdue: Send quote", got[2].Subject)
	assert.Equal(t, "boss", got[2].AssigneeID, "escalated to the assignee's manager")
	assert.Equal(t, []string{c.ID}, got[2].ContactIDs)
	step(t, e, a)
	assert.Len(t, tasks(t, e), 3, "the escalation task is not due yet, and nothing fires twice")
}

func TestBirthdayFiresYearly(t *testing.T) {
	e, a := autoEnv(t)
	_, err := automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "birthday", Object: crm.KindContact,
		Trigger: automation.Trigger{Time: &automation.TimeTrigger{Field: "birthday", Yearly: true, Offset: automation.Offset(9 * time.Hour)}},
		Actions: []automation.Action{{Type: automation.ActionEmitEvent, Event: "birthday"}},
	})
	require.NoError(t, err)
	_, err = e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada", Birthday: crm.Date{Year: 1990, Month: 3, Day: 5}})
	require.NoError(t, err)
	step(t, e, a)
	e.clock.Advance(3 * day) // 2026-03-05 09:00
	step(t, e, a)
	assert.Len(t, events(t, e, "custom.birthday"), 1)
	e.clock.Advance(300 * day)
	step(t, e, a)
	assert.Len(t, events(t, e, "custom.birthday"), 1)
	e.clock.Advance(65 * day) // past 2027-03-05
	step(t, e, a)
	assert.Len(t, events(t, e, "custom.birthday"), 2)
}

func TestScheduledRuleActsOnMatchingRecords(t *testing.T) {
	e, a := autoEnv(t)
	for i := range 250 {
		lc := "lead"
		if i%2 == 1 {
			lc = "customer"
		}
		_, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: fmt.Sprint("C", i), Lifecycle: lc})
		require.NoError(t, err)
	}
	_, err := automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "weekly lead digest", Object: crm.KindContact, Where: `lifecycle = "lead"`,
		Trigger: automation.Trigger{Schedule: &automation.ScheduleSpec{Start: e.clock.Now().Add(time.Hour), Every: automation.Offset(7 * day)}},
		Actions: []automation.Action{{Type: automation.ActionEmitEvent, Event: "digest"}},
	})
	require.NoError(t, err)
	step(t, e, a)
	assert.Empty(t, events(t, e, "custom.digest"))
	e.clock.Advance(2 * time.Hour)
	step(t, e, a)
	assert.Len(t, events(t, e, "custom.digest"), 125)
	e.clock.Advance(6 * day)
	step(t, e, a)
	assert.Len(t, events(t, e, "custom.digest"), 125)
	e.clock.Advance(day)
	step(t, e, a)
	assert.Len(t, events(t, e, "custom.digest"), 250)
}
