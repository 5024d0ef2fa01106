package automation

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// reschedule keeps the timers of the records an event touches in step:
// the time rules of the record's kind (and, for an activity, of the
// records it links to, whose last activity moved) and an activity's task
// due times.
func (a *Automation) reschedule(ctx context.Context, w *crm.Workspace, cfg *automationConfig, ev *crm.Event) error {
	if ev.Type != crm.EventType(ev.Kind.String()+"."+string(ev.Op)) {
		return nil // not the change's own event: that one covers it
	}
	if ev.Op == crm.OpErased {
		return a.forget(ctx, w, cfg, ev.Kind, ev.RecordID)
	}
	type target struct {
		object crm.Kind
		id     string
	}
	var targets []target
	if ev.Kind == crm.KindActivity || slices.ContainsFunc(cfg.timeRules[ev.Kind], func(r *compiledRule) bool { return moves(ev, r.Trigger.Time.Field) }) {
		targets = append(targets, target{ev.Kind, ev.RecordID})
	}
	if ev.Kind == crm.KindActivity && ev.After != nil {
		var act crm.Activity
		if err := crm.Unmarshal(ev.After, &act); err != nil {
			return err
		}
		for object, ids := range map[crm.Kind][]string{crm.KindContact: act.ContactIDs, crm.KindCompany: act.CompanyIDs, crm.KindDeal: act.DealIDs} {
			if len(cfg.timeRules[object]) == 0 {
				continue
			}
			for _, id := range ids {
				targets = append(targets, target{object, id})
			}
		}
	}
	if len(targets) == 0 {
		return nil
	}
	err := w.Update(ctx, func(t *crm.Tx) error {
		changed := false
		for _, tg := range targets {
			rec, err := loadRecord(&t.ReadTx, tg.object, tg.id)
			if err != nil {
				return err
			}
			if rec == nil {
				continue // erased since: its own event forgets it
			}
			for _, r := range cfg.timeRules[tg.object] {
				c, err := scheduleRule(t, r, rec)
				if err != nil {
					return err
				}
				changed = changed || c
			}
			if act, ok := rec.(*crm.Activity); ok {
				c, err := a.scheduleTask(t, act)
				if err != nil {
					return err
				}
				changed = changed || c
			}
		}
		if !changed {
			return errSkip
		}
		return nil
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	return err
}

// forget removes what automation keeps about an erased record: its
// timers, the occurrences it fired and its enrolments.
func (a *Automation) forget(ctx context.Context, w *crm.Workspace, cfg *automationConfig, object crm.Kind, id string) error {
	var sources []string
	for _, r := range cfg.timeRules[object] {
		sources = append(sources, srcRule+r.ID)
	}
	switch object {
	case crm.KindActivity:
		sources = append(sources, srcTaskDue, srcOverdue)
	case crm.KindContact:
		for sid := range cfg.sequences {
			sources = append(sources, srcSequence+sid)
		}
	}
	return w.Update(ctx, func(t *crm.Tx) error {
		for _, src := range sources {
			if _, err := clearTimer(t, src, id); err != nil {
				return err
			}
			if err := t.Space(spaceName).Delete(firedKey(src, id)); err != nil {
				return err
			}
		}
		if object == crm.KindContact {
			return deletePrefix(t.Space(spaceName), ak('e').Str(id))
		}
		return nil
	})
}

// deletePrefix deletes the keys of sp that start with prefix.
func deletePrefix(sp crm.Space, prefix tuple.Key) error {
	var keys [][]byte
	for e, err := range sp.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
		if err != nil {
			return err
		}
		keys = append(keys, append([]byte(nil), e.Key...))
	}
	for _, k := range keys {
		if err := sp.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// moves reports whether a change may have moved a time field: any change
// but an update, and updates of the field or of what it derives from.
func moves(ev *crm.Event, field string) bool {
	if ev.Op != crm.OpUpdated {
		return true
	}
	var from []string
	switch field {
	case "idle_since", "stage_entered_at":
		from = []string{"stage_id", "pipeline_id"}
	case "updated_at":
		return true
	case "last_activity_at", "created_at":
	default:
		from = []string{field}
	}
	for _, f := range ev.Fields {
		if slices.Contains(from, f.Field) {
			return true
		}
	}
	return false
}

// taskDue returns when a task timer source is due for a task, or false.
func (a *Automation) taskDue(act *crm.Activity, src string) (time.Time, bool) {
	if act.Type != crm.ActivityTask || act.Done || act.DueAt.IsZero() || act.Deleted() {
		return time.Time{}, false
	}
	if src == srcOverdue {
		return act.DueAt.Add(a.overdueAfter), true
	}
	return act.DueAt, true
}

// scheduleTask sets or clears a task's due and overdue timers.
func (a *Automation) scheduleTask(t *crm.Tx, act *crm.Activity) (bool, error) {
	changed := false
	for _, src := range []string{srcTaskDue, srcOverdue} {
		due, ok := a.taskDue(act, src)
		var c bool
		var err error
		if ok {
			var fired time.Time
			if fired, err = lastFired(t.Space(spaceName), src, act.ID); err != nil {
				return false, err
			}
			ok = due.After(fired)
		}
		if ok {
			c, err = putTimer(t, timer{Source: src, Record: act.ID, Object: crm.KindActivity, Due: due})
		} else {
			c, err = clearTimer(t, src, act.ID)
		}
		if err != nil {
			return false, err
		}
		changed = changed || c
	}
	return changed, nil
}

// fireTaskTimer emits TaskDue or TaskOverdue for a task still open and
// due.
func (a *Automation) fireTaskTimer(t *crm.Tx, tm *timer) error {
	act, err := t.Activities().Get(tm.Record)
	if errors.Is(err, crm.ErrNotFound) {
		_, err := clearTimer(t, tm.Source, tm.Record)
		return err
	}
	if err != nil {
		return err
	}
	due, ok := a.taskDue(&act, tm.Source)
	if !ok || !due.Equal(tm.Due) {
		_, err := a.scheduleTask(t, &act)
		return err
	}
	et := crm.TaskDue
	if tm.Source == srcOverdue {
		et = crm.TaskOverdue
	}
	if err := t.Emit(crm.Ref{Kind: crm.KindActivity, ID: act.ID}, et); err != nil {
		return err
	}
	if err := setFired(t, tm.Source, act.ID, due); err != nil {
		return err
	}
	return dropTimer(t, tm)
}

// fireSchedule runs a scheduled rule's occurrence over a slice of the
// object's records, keeping its progress in the timer, and sets the next
// occurrence when it has been through them all.
func (a *Automation) fireSchedule(t *crm.Tx, r *compiledRule, tm *timer) error {
	const perFiring = 200
	var ids []string
	for rec, err := range t.Records(r.Object, tm.After) {
		if err != nil {
			return err
		}
		ids = append(ids, crm.MetaOf(rec).ID)
		if len(ids) == perFiring {
			break
		}
	}
	for _, id := range ids {
		if err := a.applyRule(t, r, id); err != nil {
			return err
		}
	}
	next := *tm
	if len(ids) == perFiring {
		next.After = ids[len(ids)-1]
		return setTimer(t, next)
	}
	next.After = ""
	next.Due = nextScheduled(r.Trigger.Schedule, t.Now())
	return setTimer(t, next)
}

// nextScheduled is a schedule's first occurrence after now. Occurrences
// missed while nothing ran are not made up one by one: the next one runs.
func nextScheduled(s *ScheduleSpec, now time.Time) time.Time {
	if now.Before(s.Start) {
		return s.Start
	}
	every := time.Duration(s.Every)
	return s.Start.Add((now.Sub(s.Start)/every + 1) * every)
}

func backfillKey(rule string) tuple.Key { return ak('b').Str(rule) }

// backfillRule sets the timers of a time rule for every record of its
// kind, a batch per transaction, keeping its place in the store so that
// an interrupted backfill resumes (resumeBackfills).
func backfillRule(ctx context.Context, w *crm.Workspace, ruleID string) error {
	for {
		done := false
		err := w.Update(ctx, func(t *crm.Tx) error {
			sp := t.Space(spaceName)
			b, err := sp.Get(backfillKey(ruleID))
			if errors.Is(err, crm.ErrNotFound) {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			cfgRule, err := getRule(sp, ruleID)
			if isNotFoundOrDeleted(err) || (err == nil && cfgRule.Trigger.Time == nil) {
				done = true
				return sp.Delete(backfillKey(ruleID))
			}
			if err != nil {
				return err
			}
			r := &compiledRule{Rule: cfgRule}
			// Collect the batch first: scheduling writes, and a scan is not
			// to see its own transaction's writes.
			var recs []any
			for rec, err := range t.Records(r.Object, string(b)) {
				if err != nil {
					return err
				}
				if recs = append(recs, rec); len(recs) == backfillBatch {
					break
				}
			}
			for _, rec := range recs {
				if _, err := scheduleRule(t, r, rec); err != nil {
					return err
				}
			}
			if len(recs) < backfillBatch {
				done = true
				return sp.Delete(backfillKey(ruleID))
			}
			return sp.Set(backfillKey(ruleID), []byte(crm.MetaOf(recs[len(recs)-1]).ID))
		})
		if err != nil || done {
			return err
		}
	}
}

// backfillBatch is how many records a backfill's transaction schedules.
const backfillBatch = 500

// resumeBackfills finishes backfills a crash interrupted.
func (a *Automation) resumeBackfills(ctx context.Context, w *crm.Workspace) error {
	var rules []string
	err := w.View(ctx, func(rt *crm.ReadTx) error {
		prefix := ak('b')
		for e, err := range rt.Space(spaceName).Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
			if err != nil {
				return err
			}
			r := tuple.NewReader(e.Key[len(prefix):])
			rules = append(rules, r.Str())
			if r.Err() != nil {
				return r.Err()
			}
		}
		return nil
	})
	for _, id := range rules {
		if err == nil {
			err = backfillRule(ctx, w, id)
		}
	}
	return err
}
