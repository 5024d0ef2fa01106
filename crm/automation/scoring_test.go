package automation_test

import (
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/automation"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLeadScoringWithDecayAndThresholds(t *testing.T) {
	e, a := autoEnv(t)
	_, err := e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "score", Type: crm.FieldNumber})
	require.NoError(t, err)
	m, err := automation.ScoringOf(e.ws).Save(e.ctx, automation.ScoringModel{
		Name: "inbound", Field: "score", HalfLife: automation.Offset(30 * day),
		Attributes: []automation.ScorePoints{{Where: `title CONTAINS "head"`, Points: 10}, {Where: `address.country = "DE"`, Points: 5}},
		Behaviours: []automation.ScorePoints{
			{Where: `type = "email" AND outcome = "opened"`, Points: 4},
			{Where: `type = "meeting"`, Points: 20},
			{Where: `type = "note" AND subject = "demo requested"`, Points: 25},
			{Where: `type = "note" AND subject = "pricing page visited"`, Points: 8},
		},
		Thresholds: []automation.ScoreThreshold{{Score: 30, Lifecycle: "marketing_qualified"}, {Score: 60, Lifecycle: "sales_qualified"}},
	})
	require.NoError(t, err)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada", Title: "Head of Ops", Lifecycle: "lead"})
	require.NoError(t, err)
	scoreOf := func() (int64, string) {
		t.Helper()
		step(t, e, a)
		got, err := e.ws.Contacts().Get(e.ctx, c.ID)
		require.NoError(t, err)
		n, _ := got.Custom["score"].(float64) // number fields hold float64
		return int64(n), got.Lifecycle
	}
	n, lc := scoreOf()
	assert.Equal(t, int64(10), n)
	assert.Equal(t, "lead", lc)

	for _, act := range []crm.Activity{
		{Type: crm.ActivityEmail, Outcome: "opened", ContactIDs: []string{c.ID}},
		{Type: crm.ActivityNote, Subject: "pricing page visited", ContactIDs: []string{c.ID}},
		{Type: crm.ActivityEmail, Outcome: "bounced", ContactIDs: []string{c.ID}},
	} {
		_, err := e.ws.Activities().Log(e.ctx, act)
		require.NoError(t, err)
	}
	n, lc = scoreOf()
	assert.Equal(t, int64(22), n)
	assert.Equal(t, "lead", lc)

	_, err = e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityNote, Subject: "demo requested", ContactIDs: []string{c.ID}})
	require.NoError(t, err)
	n, lc = scoreOf()
	assert.Equal(t, int64(47), n)
	assert.Equal(t, "marketing_qualified", lc, "over 30 moves the stage forward")

	// Thirty days on, behaviour points have halved: 10 + 37/2.
	e.clock.Advance(30 * day)
	require.NoError(t, automation.ScoringOf(e.ws).Recompute(e.ctx, c.ID))
	n, lc = scoreOf()
	assert.Equal(t, int64(29), n)
	assert.Equal(t, "marketing_qualified", lc, "the stage never moves back")

	var last crm.Change
	for ch, err := range e.ws.History(e.ctx, crm.Ref{Kind: crm.KindContact, ID: c.ID}) {
		require.NoError(t, err)
		last = ch
		break
	}
	assert.Equal(t, m.ID, last.Rule)

	_, err = automation.ScoringOf(e.ws).Save(e.ctx, automation.ScoringModel{Name: "bad", Field: "nope",
		Behaviours: []automation.ScorePoints{{Where: `kind = "x"`}}, Thresholds: []automation.ScoreThreshold{{Lifecycle: "king"}}})
	assert.Equal(t, []string{"field", "behaviours[0].where", "thresholds[0].lifecycle"}, fieldErrors(t, err))
}

func TestSequenceStepsAndStops(t *testing.T) {
	e, a := autoEnv(t)
	seq, err := automation.SequencesOf(e.ws).Save(e.ctx, automation.Sequence{Name: "new lead follow-up", Steps: []automation.SequenceStep{
		{After: 0, Action: automation.Action{Type: automation.ActionCreateTask, Subject: "Call {name}", Due: automation.Offset(day), Assignee: "owner"}},
		{After: automation.Offset(3 * day), Action: automation.Action{Type: automation.ActionLogActivity, ActivityType: crm.ActivityEmail, Subject: "Checking in"}},
		{After: automation.Offset(7 * day), Action: automation.Action{Type: automation.ActionCreateTask, Subject: "Second call with {name}", Assignee: "owner"}},
	}})
	require.NoError(t, err)
	_, err = automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "enrol leads", Object: crm.KindContact, Trigger: automation.Trigger{Event: crm.ContactCreated}, Where: `lifecycle = "lead"`,
		Actions: []automation.Action{{Type: automation.ActionEnrol, Sequence: seq.ID}},
	})
	require.NoError(t, err)
	quiet, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Quiet", Lifecycle: "lead", OwnerID: "ann"})
	require.NoError(t, err)
	replier, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Replier", Lifecycle: "lead", OwnerID: "bob"})
	require.NoError(t, err)
	mover, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Mover", Lifecycle: "customer"})
	require.NoError(t, err)
	step(t, e, a)
	require.NoError(t, automation.SequencesOf(e.ws).Enrol(e.ctx, seq.ID, mover.ID)) // by hand
	step(t, e, a)
	assert.Len(t, tasks(t, e), 3, "day 0 for each")

	e.clock.Advance(day)
	_, err = e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityEmail, Direction: "inbound", Subject: "Re: hi", ContactIDs: []string{replier.ID}})
	require.NoError(t, err)
	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Mover deal", Contacts: []crm.ContactRole{{ContactID: mover.ID}}})
	require.NoError(t, err)
	_, err = e.ws.Deals().Move(e.ctx, d.ID, stageID(t, e, "Needs analysis"))
	require.NoError(t, err)
	e.clock.Advance(7 * day)
	step(t, e, a)

	var subjects []string
	for act, err := range e.ws.Activities().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		if act.ContactIDs[0] == quiet.ID {
			subjects = append(subjects, string(act.Type)+": "+act.Subject)
		}
	}
	assert.Equal(t, []string{"task: Call Quiet", "email: Checking in", "task: Second call with Quiet"}, subjects)
	for id, want := range map[string]string{quiet.ID: "completed/", replier.ID: "stopped/replied", mover.ID: "stopped/deal moved"} {
		en, err := automation.SequencesOf(e.ws).Enrolment(e.ctx, seq.ID, id)
		require.NoError(t, err)
		assert.Equal(t, want, en.Status+"/"+en.Reason)
	}
	assert.Len(t, tasks(t, e), 4)
	assert.ErrorIs(t, automation.SequencesOf(e.ws).Unenrol(e.ctx, seq.ID, quiet.ID), crm.ErrNotFound)

	_, err = automation.SequencesOf(e.ws).Save(e.ctx, automation.Sequence{Name: "bad", Steps: []automation.SequenceStep{
		{After: automation.Offset(2 * day), Action: automation.Action{Type: automation.ActionMoveStage, Stage: "x"}},
		{After: automation.Offset(day), Action: automation.Action{Type: automation.ActionCreateTask}},
	}})
	assert.Equal(t, []string{"steps[0].action.type", "steps[1].after", "steps[1].action.subject"}, fieldErrors(t, err))
}

// stageID returns the ID of a stage of the default pipeline.
func stageID(t testing.TB, e *env, name string) string {
	t.Helper()
	pl, err := e.ws.Pipelines().Default(e.ctx)
	require.NoError(t, err)
	st, ok := pl.StageByName(name)
	require.True(t, ok, name)
	return st.ID
}
