package crm

import (
	"context"
	"fmt"
	"time"
)

type importedHistoryKey struct{}

// WithImportedHistory returns a context under which deals created keep
// the StageHistory and ClosedAt they are given, instead of starting their
// history at the time of the write: for migrating deals from another
// system, so that cycle lengths, stage durations and won dates report as
// they happened. A ClosedAt alone (a won or lost deal) becomes a history
// of one entry starting then. The history is checked: entries in time
// order, none in the future, each leaving when the next enters, the last
// one the deal's stage, every stage one of the deal's pipeline; an open
// deal has no ClosedAt. Updates are not affected: the CRM keeps the
// history from then on.
func WithImportedHistory(ctx context.Context) context.Context {
	return context.WithValue(ctx, importedHistoryKey{}, true)
}

func importsHistory(ctx context.Context) bool {
	v, _ := ctx.Value(importedHistoryKey{}).(bool)
	return v
}

// keepImportedHistory checks and completes the history a new deal was
// given under WithImportedHistory; st is the deal's current stage.
func keepImportedHistory(p *problems, d *Deal, pl *Pipeline, st Stage, now time.Time) {
	if st.Kind == StageOpen && !d.ClosedAt.IsZero() {
		p.add("closed_at", "an open deal has no close time")
		return
	}
	if len(d.StageHistory) == 0 {
		d.StageHistory = []StageEntry{{EnteredAt: d.ClosedAt}}
	}
	h := d.StageHistory
	for i := range h {
		e := &h[i]
		f := fmt.Sprintf("stage_history[%d]", i)
		if e.PipelineID == "" {
			e.PipelineID = d.PipelineID
		}
		if i == len(h)-1 && e.StageID == "" {
			e.StageID = d.StageID
		}
		e.EnteredAt, e.LeftAt = e.EnteredAt.UTC(), e.LeftAt.UTC()
		switch {
		case e.PipelineID != d.PipelineID:
			p.add(f+".pipeline_id", "is %s, not the deal's pipeline %s", e.PipelineID, d.PipelineID)
		case !hasStage(pl, e.StageID):
			p.add(f+".stage_id", "no stage %q in pipeline %q; its stages are %s", e.StageID, pl.Name, stageList(pl))
		case e.EnteredAt.IsZero() || e.EnteredAt.After(now):
			p.add(f+".entered_at", "must be set and not in the future")
		case e.EnteredAt.Year() < minYear:
			p.add(f+".entered_at", "%s is before the year %d", e.EnteredAt.Format(time.RFC3339), minYear)
		case i > 0 && e.EnteredAt.Before(h[i-1].EnteredAt):
			p.add(f+".entered_at", "comes before the entry ahead of it")
		}
		if i > 0 && h[i-1].LeftAt.IsZero() {
			h[i-1].LeftAt = e.EnteredAt
		} else if i > 0 && !h[i-1].LeftAt.Equal(e.EnteredAt) {
			p.add(fmt.Sprintf("stage_history[%d].left_at", i-1), "must be when the next entry entered")
		}
	}
	last := &h[len(h)-1]
	if !last.LeftAt.IsZero() {
		p.add(fmt.Sprintf("stage_history[%d].left_at", len(h)-1), "the current stage has not been left")
	}
	if last.StageID != d.StageID {
		p.add(fmt.Sprintf("stage_history[%d].stage_id", len(h)-1), "the last entry must be the deal's stage %s", d.StageID)
	}
	if st.Kind == StageOpen {
		return
	}
	switch {
	case d.ClosedAt.IsZero():
		d.ClosedAt = last.EnteredAt
	case d.ClosedAt.Before(last.EnteredAt) || d.ClosedAt.After(now):
		p.add("closed_at", "must be between entering the stage it closed in and now")
	}
	d.ClosedAt = d.ClosedAt.UTC()
}

func hasStage(pl *Pipeline, id string) bool {
	_, ok := pl.Stage(id)
	return ok
}
