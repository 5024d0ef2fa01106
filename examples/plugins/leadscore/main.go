// Command leadscore is an example crmkit plugin reacting to committed
// events: it scores contacts from their attributes and activities, and
// writes the score to the contact's "score" custom field (a number field
// the host application defines) through the host.
package main

import (
	"context"
	"encoding/json"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/sdk"
)

type scorer struct{}

func (scorer) Manifest() sdk.Manifest {
	return sdk.Manifest{
		Name: "leadscore", Version: "1.0.0",
		Events:       []string{"contact.created", "contact.updated", "activity.created"},
		Capabilities: []string{"write:contact", "read:activity"},
	}
}

func (scorer) Handle(ctx context.Context, ev *sdk.Event, h *sdk.Host) error {
	if ev.Source == "plugin:leadscore" || ev.Redacted {
		return nil // our own write
	}
	ids := []string{ev.RecordID}
	if ev.Kind == "activity" {
		var a crm.Activity
		if err := ev.Decode(&a); err != nil {
			return err
		}
		ids = a.ContactIDs
	}
	for _, id := range ids {
		if err := rescore(ctx, h, id); err != nil {
			return err
		}
	}
	return nil
}

// rescore computes a contact's score and saves it if it changed.
func rescore(ctx context.Context, h *sdk.Host, id string) error {
	var c crm.Contact
	if err := h.Get(ctx, "contact", id, &c); err != nil {
		return err
	}
	score := 0
	for _, has := range []bool{len(c.Emails) > 0, len(c.Phones) > 0, c.Title != "", len(c.Companies) > 0} {
		if has {
			score += 10
		}
	}
	entries, _, err := h.Timeline(ctx, "contact", id, "", 100)
	if err != nil {
		return err
	}
	for _, raw := range entries {
		var e crm.TimelineEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		if e.Activity != nil && score < 100 {
			score = min(100, score+5)
		}
	}
	if old, ok := c.Custom["score"].(float64); ok && int(old) == score {
		return nil
	}
	return h.Update(ctx, "contact", id, map[string]any{"custom.score": score}, nil)
}

func main() { sdk.Serve(scorer{}) }
