package automation_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/automation"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRuleDocumentsRejectedWithPreciseErrors(t *testing.T) {
	e := setup(t)
	seg, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "VIP deals", Object: crm.KindDeal, Static: true})
	require.NoError(t, err)
	cases := []struct {
		name   string
		doc    string
		fields []string
		reason string
	}{
		{"unknown key", `{"name":"x","object":"deal","trigger":{"event":"deal.won"},"actions":[{"type":"log_note","subject":"a","colour":"red"}]}`,
			[]string{"document"}, `unknown field "colour"`},
		{"wrong type", `{"name":"x","object":"deal","trigger":{"event":"deal.won"},"actions":"none"}`,
			[]string{"document"}, "actions"},
		{"impossible condition", `{"name":"x","object":"deal","trigger":{"event":"deal.won"},"where":"amount > \"lots\"","actions":[{"type":"log_note","subject":"a"}]}`,
			[]string{"where"}, "amount"},
		{"unknown field in condition", `{"name":"x","object":"contact","trigger":{"event":"contact.created"},"where":{"field":"shoe_size","op":"=","value":42},"actions":[{"type":"log_note","subject":"a"}]}`,
			[]string{"where"}, "shoe_size"},
		{"action on the wrong object", `{"name":"x","object":"contact","trigger":{"event":"contact.created"},"actions":[{"type":"move_stage","stage":"Won"}]}`,
			[]string{"actions[0].type"}, "move_stage does not apply to contact records"},
		{"segment of another kind", fmt.Sprintf(`{"name":"x","object":"contact","trigger":{"event":"contact.created"},"actions":[{"type":"add_to_segment","segment":%q}]}`, seg.ID),
			[]string{"actions[0].segment"}, "holds deal records"},
		{"event of another kind", `{"name":"x","object":"contact","trigger":{"event":"deal.won"},"actions":[{"type":"log_note","subject":"a"}]}`,
			[]string{"trigger.event"}, "not an event of contact"},
		{"offset out of range", `{"name":"x","object":"deal","trigger":{"time":{"field":"close_date","offset":"4000d"}},"actions":[{"type":"log_note","subject":"a"}]}`,
			[]string{"document"}, "beyond"},
		{"not a time field", `{"name":"x","object":"deal","trigger":{"time":{"field":"name","offset":"1d"}},"actions":[{"type":"log_note","subject":"a"}]}`,
			[]string{"trigger.time.field"}, "not a date or time field"},
		{"field the action does not use", `{"name":"x","object":"deal","trigger":{"event":"deal.won"},"actions":[{"type":"log_note","subject":"a","stage":"Won"}]}`,
			[]string{"actions[0].stage"}, "not used by log_note"},
		{"no stage of that name", `{"name":"x","object":"deal","trigger":{"event":"deal.created"},"actions":[{"type":"move_stage","stage":"Heaven"}]}`,
			[]string{"actions[0].stage"}, "Heaven"},
		{"value of the wrong type", `{"name":"x","object":"company","trigger":{"event":"company.created"},"actions":[{"type":"set_field","field":"employees","value":"many"}]}`,
			[]string{"actions[0].value"}, "number"},
		{"two triggers and no name", `{"object":"deal","trigger":{"event":"deal.won","time":{"field":"close_date"}},"actions":[{"type":"log_note","subject":"a"}]}`,
			[]string{"name", "trigger"}, "exactly one"},
		{"unknown lifecycle", `{"name":"x","object":"deal","trigger":{"event":"deal.won"},"actions":[{"type":"set_lifecycle","target":"contacts","lifecycle":"royalty"}]}`,
			[]string{"actions[0].lifecycle"}, "royalty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := automation.RulesOf(e.ws).SaveJSON(e.ctx, []byte(tc.doc))
			require.Error(t, err)
			assert.ErrorIs(t, err, crm.ErrInvalid)
			assert.Equal(t, tc.fields, fieldErrors(t, err))
			assert.Contains(t, err.Error(), tc.reason)
		})
	}
	n := 0
	for _, err := range automation.RulesOf(e.ws).List(e.ctx) {
		require.NoError(t, err)
		n++
	}
	assert.Zero(t, n, "no rejected rule was saved")
}

func TestRuleDocumentRoundTrip(t *testing.T) {
	e := setup(t)
	for _, name := range automation.Recipes() {
		doc, err := automation.Recipe(name)
		require.NoError(t, err)
		r, err := automation.RulesOf(e.ws).SaveJSON(e.ctx, doc)
		require.NoError(t, err, name)
		out, err := automation.MarshalRule(r)
		require.NoError(t, err)
		back, err := automation.ParseRule(out)
		require.NoError(t, err)
		again, err := automation.RulesOf(e.ws).Save(e.ctx, back)
		require.NoError(t, err)
		assert.Equal(t, r.ID, again.ID)
		assert.Equal(t, r.Actions, again.Actions, name)
		assert.Equal(t, r.Trigger, again.Trigger, name)
	}
	_, err := automation.Recipe("nope")
	assert.ErrorIs(t, err, crm.ErrNotFound)
	o, err := automation.ParseOffset("-3d")
	require.NoError(t, err)
	assert.Equal(t, automation.Offset(-3*day), o)
	assert.Equal(t, "2w", automation.Offset(14*day).String())
	for _, bad := range []string{"", "d", "3", "3y", "--3d", "99999w"} {
		_, err := automation.ParseOffset(bad)
		assert.Error(t, err, bad)
	}
}

func TestLoopIsCutAndReported(t *testing.T) {
	e, a := autoEnv(t, automation.WithMaxDepth(4))
	// Two rules that undo each other forever.
	for _, pair := range [][2]string{{"ping", "pong"}, {"pong", "ping"}} {
		_, err := automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
			Name: pair[0] + " to " + pair[1], Object: crm.KindContact,
			Trigger: automation.Trigger{Event: crm.ContactUpdated, Fields: []string{"title"}},
			Where:   fmt.Sprintf("title = %q", pair[0]),
			Actions: []automation.Action{{Type: automation.ActionSetField, Field: "title", Value: pair[1]}},
		})
		require.NoError(t, err)
	}
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	_, err = e.ws.Contacts().Update(e.ctx, c.ID, func(c *crm.Contact) error { c.Title = "ping"; return nil })
	require.NoError(t, err)
	step(t, e, a)

	var depths []int
	for ch, err := range e.ws.History(e.ctx, crm.Ref{Kind: crm.KindContact, ID: c.ID}) {
		require.NoError(t, err)
		depths = append(depths, ch.Depth)
	}
	assert.Equal(t, []int{4, 3, 2, 1, 0, 0}, depths, "four rule-made changes, newest first, then the person's")
	var parked []automation.Parked
	for p, err := range automation.RulesOf(e.ws).Parked(e.ctx) {
		require.NoError(t, err)
		parked = append(parked, p)
	}
	require.Len(t, parked, 1)
	assert.Equal(t, automation.ParkedLoop, parked[0].Kind)
	assert.Equal(t, c.ID, parked[0].Record.ID)
	assert.Equal(t, 4, parked[0].Event.Depth)
	assert.Contains(t, parked[0].Error, "depth 5 passes the limit of 4")
	require.NoError(t, automation.RulesOf(e.ws).Dismiss(e.ctx, parked[0].ID))
	assert.ErrorIs(t, automation.RulesOf(e.ws).Dismiss(e.ctx, parked[0].ID), crm.ErrNotFound)
}

func TestFailingRuleIsRetriedParkedAndRetried(t *testing.T) {
	e, a := autoEnv(t)
	seq, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Won deals", Object: crm.KindDeal, Static: true})
	require.NoError(t, err)
	rule, err := automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "escalate", Object: crm.KindDeal, Trigger: automation.Trigger{Event: crm.DealWon},
		Actions: []automation.Action{
			{Type: automation.ActionAddToSegment, Segment: seq.ID},
			{Type: automation.ActionCreateTask, Subject: "Thank {name}", Assignee: "manager"},
		},
	})
	require.NoError(t, err)
	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Big", OwnerID: "ann"})
	require.NoError(t, err)
	_, err = e.ws.Deals().Win(e.ctx, d.ID)
	require.NoError(t, err)
	step(t, e, a) // ann is in no team: no manager

	var parked []automation.Parked
	for p, err := range automation.RulesOf(e.ws).Parked(e.ctx) {
		require.NoError(t, err)
		parked = append(parked, p)
	}
	require.Len(t, parked, 1)
	p := parked[0]
	assert.Equal(t, automation.ParkedFailed, p.Kind)
	assert.Equal(t, rule.ID, p.Rule)
	assert.Equal(t, crm.Ref{Kind: crm.KindDeal, ID: d.ID}, p.Record)
	assert.Equal(t, crm.DealWon, p.Event.Type)
	assert.Equal(t, 2, p.Attempts)
	assert.Contains(t, p.Error, "actions[1] (create_task)")
	assert.Contains(t, p.Error, "ann is not in the team")
	in, err := e.ws.Segments().Contains(e.ctx, seq.ID, d.ID)
	require.NoError(t, err)
	assert.False(t, in, "a failed run leaves none of its actions behind")

	err = a.Retry(e.ctx, e.ws.ID(), p.ID)
	assert.ErrorContains(t, err, "not in the team", "still failing")
	setTeam(t, e, "ann")
	require.NoError(t, a.Retry(e.ctx, e.ws.ID(), p.ID))
	in, err = e.ws.Segments().Contains(e.ctx, seq.ID, d.ID)
	require.NoError(t, err)
	assert.True(t, in)
	got := tasks(t, e)
	require.Len(t, got, 1)
	assert.Equal(t, "boss", got[0].AssigneeID)
	for _, err := range automation.RulesOf(e.ws).Parked(e.ctx) {
		require.NoError(t, err)
		t.Error("the retried run is no longer parked")
	}
	assert.ErrorIs(t, a.Retry(e.ctx, e.ws.ID(), p.ID), crm.ErrNotFound)
}

func TestDryRunListsWhatARuleWouldDo(t *testing.T) {
	e := setup(t)
	co, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Initech"})
	require.NoError(t, err)
	a, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Open A", OwnerID: "ann", CompanyID: co.ID})
	require.NoError(t, err)
	b, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Won B"})
	require.NoError(t, err)
	_, err = e.ws.Deals().Win(e.ctx, b.ID)
	require.NoError(t, err)
	doc, err := automation.Recipe(automation.RecipeStalledDeal)
	require.NoError(t, err)
	r, err := automation.ParseRule(doc)
	require.NoError(t, err)
	items, err := automation.RulesOf(e.ws).DryRun(e.ctx, r, 0)
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, crm.Ref{Kind: crm.KindDeal, ID: a.ID}, items[0].Record)
	assert.Equal(t, e.clock.Now().Add(14*day), items[0].Due)
	assert.Equal(t, []string{`create task "Follow up on Open A" due in 1d for owner`}, items[0].Actions)

	won, err := automation.ParseRule(mustRecipe(t, automation.RecipeWonDeal))
	require.NoError(t, err)
	items, err = automation.RulesOf(e.ws).DryRun(e.ctx, won, 1)
	require.NoError(t, err)
	require.Len(t, items, 1)
	assert.Equal(t, []string{
		`create task "Onboard Open A" due in 2d for onboarding`,
		`set the lifecycle stage of the contacts to customer`,
		`log note "Deal won: Open AOnboarding has started." on the company`,
	}, items[0].Actions)

	_, err = automation.RulesOf(e.ws).DryRun(e.ctx, automation.Rule{Name: "bad", Object: crm.KindDeal}, 0)
	assert.ErrorIs(t, err, crm.ErrInvalid)
	n := 0
	for _, err := range e.ws.Activities().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		n++
	}
	assert.Zero(t, n, "a dry run changes nothing")
}

func mustRecipe(t testing.TB, name string) []byte {
	t.Helper()
	doc, err := automation.Recipe(name)
	require.NoError(t, err)
	return doc
}

func TestWonDealOnboardingRecipe(t *testing.T) {
	e, a := autoEnv(t)
	saveRecipe(t, e, automation.RecipeWonDeal)
	co, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Initech"})
	require.NoError(t, err)
	c1, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Peter", Lifecycle: "opportunity"})
	require.NoError(t, err)
	c2, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Milton", Lifecycle: "lead"})
	require.NoError(t, err)
	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Initech seats", CompanyID: co.ID,
		Contacts: []crm.ContactRole{{ContactID: c1.ID}, {ContactID: c2.ID}}})
	require.NoError(t, err)
	step(t, e, a)
	assert.Empty(t, tasks(t, e))
	_, err = e.ws.Deals().Win(e.ctx, d.ID)
	require.NoError(t, err)
	step(t, e, a)

	got := tasks(t, e)
	require.Len(t, got, 1)
	assert.Equal(t, "Onboard Initech seats", got[0].Subject)
	assert.Equal(t, "onboarding", got[0].AssigneeID)
	for _, id := range []string{c1.ID, c2.ID} {
		c, err := e.ws.Contacts().Get(e.ctx, id)
		require.NoError(t, err)
		assert.Equal(t, "customer", c.Lifecycle)
	}
	var notes []crm.Activity
	for act, err := range e.ws.Activities().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		if act.Type == crm.ActivityNote {
			notes = append(notes, act)
		}
	}
	require.Len(t, notes, 1)
	assert.Equal(t, []string{co.ID}, notes[0].CompanyIDs)
	assert.Equal(t, "Deal won: Initech seats", notes[0].Subject)
}

func TestSegmentTriggerAndRelatedEvents(t *testing.T) {
	e, a := autoEnv(t)
	seg, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Germans", Object: crm.KindContact, Filter: `address.country = "DE"`})
	require.NoError(t, err)
	_, err = automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "tag germans", Object: crm.KindContact,
		Trigger: automation.Trigger{Event: crm.SegmentEntered, Segment: seg.ID},
		Actions: []automation.Action{{Type: automation.ActionSetField, Field: "tags", Value: []any{"dach"}}},
	})
	require.NoError(t, err)
	_, err = automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "met", Object: crm.KindContact,
		Trigger: automation.Trigger{Event: crm.ActivityCreated},
		Actions: []automation.Action{{Type: automation.ActionSetField, Field: "lead_source", Value: "activity"}},
	})
	require.NoError(t, err)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Hans", Address: crm.Address{Country: "FR"}})
	require.NoError(t, err)
	_, err = e.ws.Contacts().Update(e.ctx, c.ID, func(c *crm.Contact) error { c.Address.Country = "DE"; return nil })
	require.NoError(t, err)
	_, err = e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityCall, ContactIDs: []string{c.ID}})
	require.NoError(t, err)
	step(t, e, a)
	got, err := e.ws.Contacts().Get(e.ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"dach"}, got.Tags)
	assert.Equal(t, "activity", got.LeadSource)
}

func TestDisabledAndDeletedRulesStop(t *testing.T) {
	e, a := autoEnv(t)
	r := saveRecipe(t, e, automation.RecipeColdLead)
	_, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada", Lifecycle: "lead"})
	require.NoError(t, err)
	step(t, e, a)
	_, err = automation.RulesOf(e.ws).SetDisabled(e.ctx, r.ID, true)
	require.NoError(t, err)
	e.clock.Advance(50 * day)
	step(t, e, a)
	assert.Empty(t, tasks(t, e), "a disabled rule keeps no timers")
	_, err = automation.RulesOf(e.ws).SetDisabled(e.ctx, r.ID, false)
	require.NoError(t, err)
	step(t, e, a)
	assert.Len(t, tasks(t, e), 1, "enabled again, the overdue occurrence fires")
	require.NoError(t, automation.RulesOf(e.ws).Delete(e.ctx, r.ID))
	_, err = automation.RulesOf(e.ws).Get(e.ctx, r.ID)
	assert.True(t, errors.Is(err, crm.ErrNotFound))
	e.clock.Advance(50 * day)
	step(t, e, a)
	assert.Len(t, tasks(t, e), 1)
	_ = time.Second
}

func TestDealAndPurchaseActions(t *testing.T) {
	e, a := autoEnv(t)
	seg, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Prospects", Object: crm.KindContact, Static: true})
	require.NoError(t, err)
	_, err = automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "big deals to proposal", Object: crm.KindDeal, Trigger: automation.Trigger{Event: crm.DealCreated}, Where: `amount > 100000`,
		Actions: []automation.Action{{Type: automation.ActionMoveStage, Stage: "Proposal"}, {Type: automation.ActionSetField, Field: "close_date", Value: "2026-06-30"}},
	})
	require.NoError(t, err)
	_, err = automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "prospects", Object: crm.KindContact, Trigger: automation.Trigger{Event: crm.ContactCreated},
		Actions: []automation.Action{{Type: automation.ActionAddToSegment, Segment: seg.ID}},
	})
	require.NoError(t, err)
	_, err = automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "buyers", Object: crm.KindContact, Trigger: automation.Trigger{Event: crm.PurchaseCreated},
		Actions: []automation.Action{{Type: automation.ActionRemoveFromSegment, Segment: seg.ID}, {Type: automation.ActionSetField, Field: "tags", Value: []any{"buyer"}}},
	})
	require.NoError(t, err)
	big, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Big", Amount: crm.Money{Amount: 500000}})
	require.NoError(t, err)
	small, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Small", Amount: crm.Money{Amount: 500}})
	require.NoError(t, err)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	step(t, e, a)
	in, err := e.ws.Segments().Contains(e.ctx, seg.ID, c.ID)
	require.NoError(t, err)
	assert.True(t, in)
	_, err = e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: c.ID, Items: []crm.LineItem{{Product: "Seat", Quantity: 1, UnitPrice: crm.Money{Amount: 100}}}})
	require.NoError(t, err)
	step(t, e, a)

	got, err := e.ws.Deals().Get(e.ctx, big.ID)
	require.NoError(t, err)
	assert.Equal(t, stageID(t, e, "Proposal"), got.StageID)
	assert.Equal(t, crm.Date{Year: 2026, Month: 6, Day: 30}, got.CloseDate)
	got, err = e.ws.Deals().Get(e.ctx, small.ID)
	require.NoError(t, err)
	assert.Equal(t, stageID(t, e, "Qualification"), got.StageID)
	in, err = e.ws.Segments().Contains(e.ctx, seg.ID, c.ID)
	require.NoError(t, err)
	assert.False(t, in)
	ct, err := e.ws.Contacts().Get(e.ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"buyer"}, ct.Tags)
}

func TestErasedRecordLeavesNoAutomationKeys(t *testing.T) {
	e, a := autoEnv(t)
	saveRecipe(t, e, automation.RecipeColdLead)
	seq, err := automation.SequencesOf(e.ws).Save(e.ctx, automation.Sequence{Name: "s", Steps: []automation.SequenceStep{
		{After: automation.Offset(5 * day), Action: automation.Action{Type: automation.ActionCreateTask, Subject: "Call"}},
	}})
	require.NoError(t, err)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada", Lifecycle: "lead"})
	require.NoError(t, err)
	require.NoError(t, automation.SequencesOf(e.ws).Enrol(e.ctx, seq.ID, c.ID))
	step(t, e, a)
	mentions := func() int {
		n := 0
		for _, kv := range automation.Keys(t, e.ws) {
			if bytes.Contains(kv, []byte(c.ID)) {
				n++
			}
		}
		return n
	}
	require.Positive(t, mentions(), "timers and the enrolment name the contact")
	require.NoError(t, e.ws.Contacts().Erase(e.ctx, c.ID))
	step(t, e, a)
	assert.Zero(t, mentions())
}

func FuzzParseRule(f *testing.F) {
	for _, name := range automation.Recipes() {
		doc, err := automation.Recipe(name)
		require.NoError(f, err)
		f.Add(doc)
	}
	f.Add([]byte(`{"name":"x","object":"contact","trigger":{"time":{"field":"birthday","yearly":true,"offset":"-9h"}},"where":{"field":"tags","op":"CONTAINS","value":"vip"},"actions":[{"type":"set_field","field":"custom.n","value":1.5}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, err := automation.ParseRule(doc)
		if err != nil {
			require.ErrorIs(t, err, crm.ErrInvalid)
			return
		}
		out, err := automation.MarshalRule(r)
		require.NoError(t, err)
		back, err := automation.ParseRule(out)
		require.NoError(t, err)
		assert.Equal(t, r.Trigger, back.Trigger)
		assert.Equal(t, r.Where, back.Where)
		assert.Equal(t, len(r.Actions), len(back.Actions))
	})
}
