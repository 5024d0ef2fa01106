package automation

import (
	"fmt"
	"slices"

	"github.com/crmkit/crmkit/crm"
)

// Built-in recipes: ready rule documents for common follow-ups. Load one
// with Recipe, adjust it (assignees, offsets) and save it with
// Rules.Save, or hand the document to a rule editor.
const (
	// RecipeStalledDeal reminds a deal's owner with a task when an open
	// deal has had no activity and no stage change for 14 days.
	RecipeStalledDeal = "stalled-deal-reminder"
	// RecipeColdLead creates a re-engagement task for the owner of a lead
	// silent for 45 days and emits custom.lead.reengage for plugins.
	RecipeColdLead = "cold-lead-reengagement"
	// RecipeWonDeal starts onboarding when a deal is won: a task for the
	// onboarding team, the deal's contacts become customers, and a note
	// on the company.
	RecipeWonDeal = "won-deal-onboarding"
	// RecipeOverdueTask escalates a task overdue (see WithOverdueAfter)
	// to its assignee's manager in the team, once: the escalation task
	// is not escalated again.
	RecipeOverdueTask = "overdue-task-escalation"
)

var recipes = map[string]string{
	RecipeStalledDeal: `{
  "name": "Stalled deal reminder",
  "object": "deal",
  "trigger": {"time": {"field": "idle_since", "offset": "14d"}},
  "where": "status = \"open\"",
  "actions": [
    {"type": "create_task", "subject": "Follow up on {name}", "body": "No activity for 14 days.", "due": "1d", "assignee": "owner"}
  ]
}`,
	RecipeColdLead: `{
  "name": "Cold lead re-engagement",
  "object": "contact",
  "trigger": {"time": {"field": "idle_since", "offset": "45d"}},
  "where": "lifecycle = \"lead\"",
  "actions": [
    {"type": "create_task", "subject": "Re-engage {name}", "due": "2d", "assignee": "owner"},
    {"type": "emit_event", "event": "lead.reengage"}
  ]
}`,
	RecipeWonDeal: `{
  "name": "Won deal onboarding",
  "object": "deal",
  "trigger": {"event": "deal.won"},
  "actions": [
    {"type": "create_task", "subject": "Onboard {name}", "due": "2d", "assignee": "onboarding"},
    {"type": "set_lifecycle", "target": "contacts", "lifecycle": "customer"},
    {"type": "log_note", "target": "company", "subject": "Deal won: {name}", "body": "Onboarding has started."}
  ]
}`,
	RecipeOverdueTask: `{
  "name": "Overdue task escalation",
  "object": "activity",
  "trigger": {"event": "task.overdue"},
  "where": "NOT subject STARTS WITH \"Overdue:\"",
  "actions": [
    {"type": "create_task", "subject": "Overdue: {name}", "due": "1d", "assignee": "manager"}
  ]
}`,
}

// Recipes lists the names of the built-in recipes.
func Recipes() []string {
	names := make([]string, 0, len(recipes))
	for n := range recipes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Recipe returns a built-in recipe's rule document.
func Recipe(name string) ([]byte, error) {
	doc, ok := recipes[name]
	if !ok {
		return nil, fmt.Errorf("crm: recipe %q: %w", name, crm.ErrNotFound)
	}
	return []byte(doc), nil
}
