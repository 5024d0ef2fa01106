// Command automation runs a week of simulated time through crmkit's
// automation and prints what fired each day: new leads assigned round
// robin by a rule written in Go, and the built-in recipes as JSON rule
// documents (a follow-up task for deals idle for 14 days, onboarding when
// a deal is won, re-engagement of leads silent for 45 days, escalation of
// overdue tasks to the owner's manager). Time is a fake clock the program
// moves a day at a time; the engine's Step does the work that is due.
//
//	go run ./examples/automation
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/automation"
	"github.com/crmkit/crmkit/store/badger"
)

const day = 24 * time.Hour

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "automation:", err)
		os.Exit(1)
	}
}

// week is the simulation: a fake clock, the workspace and the engine.
type week struct {
	ctx   context.Context
	out   io.Writer
	now   time.Time
	ws    *crm.Workspace
	auto  *automation.Automation
	rules map[string]string // rule ID -> name
	seen  uint64            // outbox position printed up to
}

func run(ctx context.Context, out io.Writer) error {
	st, err := badger.Open("", badger.WithInMemory())
	if err != nil {
		return err
	}
	defer st.Close()
	wk := &week{ctx: ctx, out: out, now: time.Date(2026, 3, 1, 18, 0, 0, 0, time.UTC), rules: map[string]string{}}
	c := crm.New(st, crm.WithClock(func() time.Time { return wk.now }))
	if wk.ws, err = c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"}); err != nil {
		return err
	}
	ws := wk.ws
	err = automation.TeamOf(ws).Set(ctx, []automation.Rep{
		{ID: "ann", Manager: "maria"}, {ID: "bob", Manager: "maria"}, {ID: "cid", Manager: "maria"},
		{ID: "onboarding", Manager: "maria", Away: true}, // takes no new leads
	})
	if err != nil {
		return err
	}
	if err := wk.history(); err != nil {
		return err
	}
	if err := wk.saveRules(); err != nil {
		return err
	}
	wk.auto = automation.New(c)
	if err := wk.step(); err != nil {
		return err
	}
	fmt.Fprintln(out, "rules:", len(wk.rules))

	// The week: each morning people work, then the engine catches up.
	days := []func() error{
		func() error { // Monday: leads arrive
			for _, name := range []string{"Hedy Lamarr", "Alan Kay", "Barbara Liskov", "Ken Thompson"} {
				first, last, _ := strings.Cut(name, " ")
				if _, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: first, LastName: last, Lifecycle: "lead"}); err != nil {
					return err
				}
			}
			return nil
		},
		nil,
		func() error { // Wednesday: Initech signs, ann ticks off her follow-up
			if _, err := ws.Deals().Win(ctx, wk.dealID("Initech seats")); err != nil {
				return err
			}
			_, err := ws.Activities().Complete(ctx, wk.taskID("Follow up on Initech seats"), true)
			return err
		},
		nil, nil, nil, nil,
	}
	for i, work := range days {
		wk.now = wk.now.Add(day)
		fmt.Fprintf(out, "%s\n", wk.now.Format("Mon 2006-01-02"))
		if work != nil {
			if err := work(); err != nil {
				return err
			}
		}
		if err := wk.step(); err != nil {
			return fmt.Errorf("day %d: %w", i+1, err)
		}
	}
	return wk.parked()
}

// history sets up what happened before the week, with the clock moved
// back: two open deals, a won one, a lead gone quiet and an open task.
func (wk *week) history() error {
	ctx, ws, start := wk.ctx, wk.ws, wk.now
	defer func() { wk.now = start }()
	co, err := ws.Companies().Create(ctx, crm.Company{Name: "Initech", Domain: "initech.example"})
	if err != nil {
		return err
	}
	wk.now = start.Add(-43 * day)
	_, err = ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", LastName: "Lovelace", Lifecycle: "lead", OwnerID: "bob"})
	if err != nil {
		return err
	}
	wk.now = start.Add(-12 * day)
	peter, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Peter", LastName: "Gibbons", Lifecycle: "opportunity", OwnerID: "ann",
		Companies: []crm.CompanyRole{{CompanyID: co.ID}}})
	if err != nil {
		return err
	}
	deals := []crm.Deal{
		{Name: "Initech seats", OwnerID: "ann", CompanyID: co.ID, Contacts: []crm.ContactRole{{ContactID: peter.ID}}},
		{Name: "Globex renewal", OwnerID: "cid"},
	}
	for i, d := range deals {
		wk.now = start.Add(time.Duration(-12+i*3) * day)
		if _, err := ws.Deals().Create(ctx, d); err != nil {
			return err
		}
	}
	wk.now = start.Add(-day)
	_, err = ws.Activities().Log(ctx, crm.Activity{Type: crm.ActivityTask, Subject: "Send Peter the case study",
		ContactIDs: []string{peter.ID}, AssigneeID: "bob", DueAt: start.Add(2 * day)})
	return err
}

// saveRules saves the routing rule from Go and the recipes as documents.
func (wk *week) saveRules() error {
	r, err := automation.RulesOf(wk.ws).Save(wk.ctx, automation.Rule{
		Name: "Route new leads", Object: crm.KindContact,
		Trigger: automation.Trigger{Event: crm.ContactCreated},
		Where:   `lifecycle = "lead" AND owner_id IS NOT SET`,
		Actions: []automation.Action{{Type: automation.ActionAssignOwner, Route: &automation.Route{Strategy: automation.RoundRobin}}},
	})
	if err != nil {
		return err
	}
	wk.rules[r.ID] = r.Name
	for _, name := range automation.Recipes() {
		doc, err := automation.Recipe(name)
		if err != nil {
			return err
		}
		r, err := automation.RulesOf(wk.ws).SaveJSON(wk.ctx, doc)
		if err != nil {
			return fmt.Errorf("recipe %s: %w", name, err)
		}
		wk.rules[r.ID] = r.Name
	}
	return nil
}

// step runs the engine and prints what the automation did.
func (wk *week) step() error {
	if _, err := wk.auto.Step(wk.ctx); err != nil {
		return err
	}
	for ev, err := range wk.ws.Changes(wk.ctx, wk.seen) {
		if err != nil {
			return err
		}
		wk.seen = ev.Seq
		if line := wk.describe(&ev); line != "" {
			fmt.Fprintln(wk.out, "  "+line)
		}
	}
	return nil
}

// describe says what an automated event did, or "" for the rest.
func (wk *week) describe(ev *crm.Event) string {
	by := ""
	if ev.Rule != "" {
		by = fmt.Sprintf(" [%s]", wk.rules[ev.Rule])
	}
	rec, err := ev.Record()
	if err != nil || rec == nil {
		return ""
	}
	switch r := rec.(type) {
	case *crm.Activity:
		switch {
		case ev.Type == crm.TaskOverdue:
			return fmt.Sprintf("task overdue: %q (%s)", r.Subject, r.AssigneeID)
		case ev.Type == crm.ActivityCreated && by != "":
			if r.Type == crm.ActivityTask {
				return fmt.Sprintf("new task %q for %s, due %s%s", r.Subject, r.AssigneeID, r.DueAt.Format("Mon"), by)
			}
			return fmt.Sprintf("new %s %q%s", r.Type, r.Subject, by)
		}
	case *crm.Contact:
		switch {
		case ev.Type == crm.ContactOwnerAssigned && by != "":
			return fmt.Sprintf("%s assigned to %s%s", r.Name(), r.OwnerID, by)
		case ev.Type == crm.LifecycleChanged && by != "":
			return fmt.Sprintf("%s is now a %s%s", r.Name(), r.Lifecycle, by)
		case strings.HasPrefix(string(ev.Type), crm.CustomEvent):
			return fmt.Sprintf("event %s on %s%s", ev.Type, r.Name(), by)
		}
	case *crm.Deal:
		if ev.Type == crm.DealWon {
			return fmt.Sprintf("deal won: %s", r.Name)
		}
	}
	return ""
}

func (wk *week) dealID(name string) string {
	for d, err := range wk.ws.Deals().List(wk.ctx, crm.ListOptions{}) {
		if err == nil && d.Name == name {
			return d.ID
		}
	}
	return ""
}

func (wk *week) taskID(subject string) string {
	for a, err := range wk.ws.Activities().List(wk.ctx, crm.ListOptions{}) {
		if err == nil && a.Subject == subject {
			return a.ID
		}
	}
	return ""
}

// parked prints the runs that failed or were cut from loops.
func (wk *week) parked() error {
	n := 0
	for p, err := range automation.RulesOf(wk.ws).Parked(wk.ctx) {
		if err != nil {
			return err
		}
		n++
		fmt.Fprintf(wk.out, "parked: %s: %s\n", wk.rules[p.Rule], p.Error)
	}
	fmt.Fprintf(wk.out, "parked runs: %d\n", n)
	return nil
}
