package automation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// DryRunItem is what a rule would do to one record.
type DryRunItem struct {
	Record crm.Ref `json:"record"`
	Name   string  `json:"name"`
	// Due is when a time rule would fire for the record (at once if it
	// is not after the time of the dry run); zero for other rules.
	Due time.Time `json:"due,omitzero"`
	// Actions describe the actions, in order.
	Actions []string `json:"actions"`
}

// DryRun evaluates a rule, saved or not, against the workspace's live
// records without changing anything, and lists what it would do to each
// record that matches its conditions: an event rule when its event comes,
// a time rule at its next occurrence, a scheduled rule at its next run. It
// returns at most limit items (0: 100), and the rule's *ValidationError if
// it would not save.
func (s *Rules) DryRun(ctx context.Context, r Rule, limit int) ([]DryRunItem, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []DryRunItem
	err := s.w.View(ctx, func(t *crm.ReadTx) error {
		e, err := checkRule(t, &r)
		if err != nil {
			return err
		}
		cr := &compiledRule{Rule: r, where: e}
		for rec, err := range t.Records(r.Object, "") {
			if err != nil {
				return err
			}
			ok, err := matchRecord(t, cr.where, rec)
			if err != nil || !ok {
				if err != nil {
					return err
				}
				continue
			}
			item := DryRunItem{Record: crm.Ref{Kind: r.Object, ID: crm.MetaOf(rec).ID}, Name: recordName(rec)}
			if r.Trigger.Time != nil {
				due, ok, err := nextOccurrence(t, r.Trigger.Time, srcRule+r.ID, rec)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				item.Due = due
			}
			for _, a := range r.Actions {
				item.Actions = append(item.Actions, describe(&a, rec))
			}
			out = append(out, item)
			if len(out) == limit {
				return errStop
			}
		}
		return nil
	})
	if err == errStop {
		err = nil
	}
	return out, err
}

// describe says in words what an action would do to a record.
func describe(a *Action, rec any) string {
	to := ""
	if a.Target != "" {
		to = " on the " + a.Target
	}
	switch a.Type {
	case ActionSetField:
		return fmt.Sprintf("set %s to %v", a.Field, a.Value)
	case ActionAssignOwner:
		if a.Route != nil {
			return fmt.Sprintf("assign the owner by %s routing", a.Route.Strategy)
		}
		return fmt.Sprintf("assign the owner %s", a.Owner)
	case ActionMoveStage:
		return fmt.Sprintf("move to stage %q", a.Stage)
	case ActionCreateTask:
		s := fmt.Sprintf("create task %q%s", fillText(a.Subject, rec), to)
		if a.Due != 0 {
			s += fmt.Sprintf(" due in %s", a.Due)
		}
		if a.Assignee != "" {
			s += " for " + a.Assignee
		}
		return s
	case ActionLogNote:
		return fmt.Sprintf("log note %q%s", fillText(a.Subject+a.Body, rec), to)
	case ActionLogActivity:
		return fmt.Sprintf("log %s %q%s", a.ActivityType, fillText(a.Subject, rec), to)
	case ActionAddToSegment:
		return "add to segment " + a.Segment
	case ActionRemoveFromSegment:
		return "remove from segment " + a.Segment
	case ActionSetLifecycle:
		return fmt.Sprintf("set the lifecycle stage%s to %s", strings.Replace(to, " on the", " of the", 1), a.Lifecycle)
	case ActionEmitEvent:
		return "emit " + crm.CustomEvent + a.Event
	case ActionEnrol:
		return fmt.Sprintf("enrol%s in sequence %s", strings.Replace(to, " on the", " the", 1), a.Sequence)
	}
	return string(a.Type)
}
