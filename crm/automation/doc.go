// Package automation runs a workspace's automation on crm: rules that
// act on records when events happen, at a time relative to a record's
// field, or on a schedule; routing of records to a team of reps; lead
// scoring; sequences of steps a contact is enrolled in; the recipes of
// common rules; and dry runs that show what a rule would do.
//
//	rule, err := automation.RulesOf(ws).Save(ctx, automation.Rule{
//		Name: "route new leads", Object: crm.KindContact,
//		Trigger: automation.Trigger{Event: crm.ContactCreated},
//		Actions: []automation.Action{{Type: automation.ActionAssignOwner,
//			Route: &automation.Route{Strategy: automation.RoundRobin}}},
//	})
//	a := automation.New(c)
//	go a.Run(ctx) // or a.Step(ctx) to do the pending work once
//
// RulesOf, TeamOf, ScoringOf and SequencesOf manage a workspace's
// configuration; an Automation (New) does the work of every workspace of
// a CRM: it reads the outbox through a crm.Dispatcher (at least once,
// with an idempotency key per event, rule and record written in the same
// transaction as the rule's changes) and fires durable timers in due
// order by the CRM's clock. Every change a rule makes goes through
// crm.Workspace.Update, so validation, before-hooks, history and events
// all happen, and carries the rule and the depth of the chain of
// rule-made changes behind it (crm.WithCause), which cuts loops.
//
// The engine keeps its state (rules, timers, routing turns, scoring
// models, sequences and enrolments, parked runs) in the workspace's
// crm.Space "automation", so it goes wherever the workspace goes (backup,
// restore, delete). Stores written before the package left crm keep their
// automation state where it was: that space is the keys crm reserved for
// automation then.
//
// Invalid rules, models, sequences and routes fail with a
// *crm.ValidationError naming each field ("trigger.time.offset",
// "actions[1].stage"); a missing rule or sequence matches crm.ErrNotFound.
//
// The package imports crm, crm/filter, store, store/tuple and the
// standard library, and uses nothing of crm that is not exported.
package automation
