package automation_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/automation"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// autoEnv is an env with an automation engine whose retries do not wait.
func autoEnv(t testing.TB, opts ...automation.Option) (*env, *automation.Automation) {
	e := setup(t)
	opts = append([]automation.Option{automation.WithRuleRetries(2, time.Millisecond)}, opts...)
	return e, automation.New(e.crm, opts...)
}

func step(t testing.TB, e *env, a *automation.Automation) automation.StepReport {
	t.Helper()
	rep, err := a.Step(e.ctx)
	require.NoError(t, err)
	return rep
}

func setTeam(t testing.TB, e *env, ids ...string) {
	t.Helper()
	var reps []automation.Rep
	for _, id := range ids {
		reps = append(reps, automation.Rep{ID: id, Manager: "boss"})
	}
	require.NoError(t, automation.TeamOf(e.ws).Set(e.ctx, reps))
}

func TestEventRuleAssignsAndIsAttributed(t *testing.T) {
	e, a := autoEnv(t)
	setTeam(t, e, "ann", "bob")
	before, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Old"})
	require.NoError(t, err)
	rule, err := automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "route new leads", Object: crm.KindContact,
		Trigger: automation.Trigger{Event: crm.ContactCreated},
		Where:   `owner_id IS NOT SET`,
		Actions: []automation.Action{{Type: automation.ActionAssignOwner, Route: &automation.Route{Strategy: automation.RoundRobin}}},
	})
	require.NoError(t, err)
	var ids []string
	for i := range 4 {
		c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: fmt.Sprint("Lead", i)})
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	step(t, e, a)

	var owners []string
	for _, id := range ids {
		c, err := e.ws.Contacts().Get(e.ctx, id)
		require.NoError(t, err)
		owners = append(owners, c.OwnerID)
		assert.Equal(t, "rule:"+rule.ID, c.UpdatedBy)
	}
	assert.Equal(t, []string{"ann", "bob", "ann", "bob"}, owners)
	old, err := e.ws.Contacts().Get(e.ctx, before.ID)
	require.NoError(t, err)
	assert.Empty(t, old.OwnerID, "events before the rule was saved do not trigger it")

	var last crm.Change
	for ch, err := range e.ws.History(e.ctx, crm.Ref{Kind: crm.KindContact, ID: ids[0]}) {
		require.NoError(t, err)
		last = ch
		break
	}
	assert.Equal(t, rule.ID, last.Rule)
	assert.Equal(t, 1, last.Depth)
	assert.Equal(t, "automation", last.Source)

	// Another step finds nothing new to do.
	rep := step(t, e, a)
	assert.Zero(t, rep.Timers)
}

func TestEventRuleRunsOnceWhenRedelivered(t *testing.T) {
	e, a := autoEnv(t)
	_, err := automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "welcome task", Object: crm.KindContact, Trigger: automation.Trigger{Event: crm.ContactCreated},
		Actions: []automation.Action{{Type: automation.ActionCreateTask, Subject: "Welcome {name}", Due: automation.Offset(24 * time.Hour)}},
	})
	require.NoError(t, err)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	require.Positive(t, automation.DeliverWithoutAck(t, a, e.ws.ID()))
	step(t, e, a)
	n := 0
	for act, err := range e.ws.Activities().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		if act.Type == crm.ActivityTask {
			n++
			assert.Equal(t, "Welcome Ada", act.Subject)
			assert.Equal(t, []string{c.ID}, act.ContactIDs)
			assert.Equal(t, e.clock.Now().Add(24*time.Hour), act.DueAt)
		}
	}
	assert.Equal(t, 1, n, "a redelivered event must not create the task twice")
}

func TestRunActsUntilCancelled(t *testing.T) {
	e, _ := autoEnv(t)
	a := automation.New(e.crm, automation.WithPoll(10*time.Millisecond))
	_, err := automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "tag", Object: crm.KindContact, Trigger: automation.Trigger{Event: crm.ContactCreated},
		Actions: []automation.Action{{Type: automation.ActionSetField, Field: "tags", Value: []any{"new"}}},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := e.ws.Contacts().Get(e.ctx, c.ID)
		return err == nil && len(got.Tags) == 1
	}, 10*time.Second, 5*time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}
