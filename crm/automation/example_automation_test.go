package automation_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/automation"
	"github.com/crmkit/crmkit/store/memory"
)

// automationWorkspace opens a workspace over the in-memory store with a
// clock the example moves by hand.
func automationWorkspace() (*crm.CRM, *crm.Workspace, *time.Time) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(memory.New(), crm.WithClock(func() time.Time { return now }))
	ws, err := c.CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "acme"})
	if err != nil {
		panic(err)
	}
	return c, ws, &now
}

// A rule from Go: new leads are assigned round robin. The automation
// engine reads the outbox; Step does the pending work once (Run keeps
// doing it).
func ExampleRules_Save() {
	c, ws, _ := automationWorkspace()
	ctx := context.Background()
	_ = automation.TeamOf(ws).Set(ctx, []automation.Rep{{ID: "ann"}, {ID: "bob"}})
	_, err := automation.RulesOf(ws).Save(ctx, automation.Rule{
		Name:    "Route new leads",
		Object:  crm.KindContact,
		Trigger: automation.Trigger{Event: crm.ContactCreated},
		Where:   `lifecycle = "lead" AND owner_id IS NOT SET`,
		Actions: []automation.Action{{Type: automation.ActionAssignOwner, Route: &automation.Route{Strategy: automation.RoundRobin}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	a := automation.New(c)
	var ids []string
	for _, name := range []string{"Ada", "Grace", "Linus"} {
		ct, _ := ws.Contacts().Create(ctx, crm.Contact{FirstName: name, Lifecycle: "lead"})
		ids = append(ids, ct.ID)
	}
	if _, err := a.Step(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for _, id := range ids {
		ct, _ := ws.Contacts().Get(ctx, id)
		fmt.Println(ct.FirstName, "->", ct.OwnerID, "by", ct.UpdatedBy[:5])
	}
	// Output:
	// Ada -> ann by rule:
	// Grace -> bob by rule:
	// Linus -> ann by rule:
}

// Rules are also JSON documents, checked on save with an error that names
// each problem.
func ExampleRules_SaveJSON() {
	_, ws, _ := automationWorkspace()
	_, err := automation.RulesOf(ws).SaveJSON(context.Background(), []byte(`{
	  "name": "Bad rule",
	  "object": "contact",
	  "trigger": {"time": {"field": "close_date", "offset": "3d"}},
	  "where": "employees > 10",
	  "actions": [{"type": "move_stage", "stage": "Proposal"}]
	}`))
	fmt.Println(errors.Is(err, crm.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// crm: invalid rule: trigger.time.field: "close_date" is not a date or time field of contact; where: field "employees": unknown field; actions[0].type: move_stage does not apply to contact records
}

// A time rule with a built-in recipe: a deal with no activity for 14 days
// gets a follow-up task for its owner. Time comes from the CRM's clock.
// The next day the task's own due timer fires (task.due, for rules and
// plugins).
func ExampleAutomation_Step() {
	c, ws, now := automationWorkspace()
	ctx := context.Background()
	doc, _ := automation.Recipe(automation.RecipeStalledDeal)
	if _, err := automation.RulesOf(ws).SaveJSON(ctx, doc); err != nil {
		fmt.Println(err)
		return
	}
	_, _ = ws.Deals().Create(ctx, crm.Deal{Name: "Globex renewal", OwnerID: "ann"})
	a := automation.New(c)
	for day := 1; day <= 15; day++ {
		*now = now.Add(24 * time.Hour)
		rep, err := a.Step(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		if rep.Timers > 0 {
			fmt.Printf("day %d: %d timer fired\n", day, rep.Timers)
		}
	}
	for act, err := range ws.Activities().List(ctx, crm.ListOptions{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %q for %s, due %s\n", act.Type, act.Subject, act.AssigneeID, act.DueAt.Format(time.DateOnly))
	}
	// Output:
	// day 14: 1 timer fired
	// day 15: 1 timer fired
	// task: "Follow up on Globex renewal" for ann, due 2026-03-17
}

// A dry run lists what a rule would do to the records there are now,
// without doing it.
func ExampleRules_DryRun() {
	_, ws, _ := automationWorkspace()
	ctx := context.Background()
	_, _ = ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Lifecycle: "lead"})
	_, _ = ws.Contacts().Create(ctx, crm.Contact{FirstName: "Grace", Lifecycle: "customer"})
	doc, _ := automation.Recipe(automation.RecipeColdLead)
	r, _ := automation.ParseRule(doc)
	items, err := automation.RulesOf(ws).DryRun(ctx, r, 10)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range items {
		fmt.Println(it.Name, it.Due.Format(time.DateOnly), it.Actions)
	}
	// Output:
	// Ada 2026-04-16 [create task "Re-engage Ada" due in 2d for owner emit custom.lead.reengage]
}

// Routing by hand: weighted shares, spread evenly.
func ExampleTeam_Assign() {
	_, ws, _ := automationWorkspace()
	ctx := context.Background()
	_ = automation.TeamOf(ws).Set(ctx, []automation.Rep{{ID: "ann", Weight: 2}, {ID: "bob", Weight: 1}})
	for i := range 6 {
		ct, _ := ws.Contacts().Create(ctx, crm.Contact{FirstName: fmt.Sprint("Lead ", i)})
		owner, err := automation.TeamOf(ws).Assign(ctx, automation.Route{Strategy: automation.Weighted}, crm.Ref{Kind: crm.KindContact, ID: ct.ID})
		fmt.Print(owner, " ", err, "; ")
	}
	fmt.Println()
	// Output:
	// ann <nil>; bob <nil>; ann <nil>; ann <nil>; bob <nil>; ann <nil>;
}

// A sequence: a task on day 0 and an email on day 3, stopped when the
// contact replies.
func ExampleSequences_Enrol() {
	c, ws, now := automationWorkspace()
	ctx := context.Background()
	seq, err := automation.SequencesOf(ws).Save(ctx, automation.Sequence{Name: "Follow-up", Steps: []automation.SequenceStep{
		{Action: automation.Action{Type: automation.ActionCreateTask, Subject: "Call {name}"}},
		{After: automation.Offset(3 * 24 * time.Hour), Action: automation.Action{Type: automation.ActionLogActivity, ActivityType: crm.ActivityEmail, Subject: "Checking in"}},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	ada, _ := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada"})
	_ = automation.SequencesOf(ws).Enrol(ctx, seq.ID, ada.ID)
	a := automation.New(c)
	_, _ = a.Step(ctx)
	*now = now.Add(24 * time.Hour)
	_, _ = ws.Activities().Log(ctx, crm.Activity{Type: crm.ActivityEmail, Direction: "inbound", Subject: "Re: hello", ContactIDs: []string{ada.ID}})
	*now = now.Add(3 * 24 * time.Hour)
	_, _ = a.Step(ctx)
	en, _ := automation.SequencesOf(ws).Enrolment(ctx, seq.ID, ada.ID)
	fmt.Println(en.Status, en.Reason, "after step", en.Step)
	// Output:
	// stopped replied after step 1
}
