package crm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/store"
)

// reschedule keeps the timers of the records an event touches in step:
// the time rules of the record's kind (and, for an activity, of the
// records it links to, whose last activity moved) and an activity's task
// due times.
func (a *Automation) reschedule(ctx context.Context, w *Workspace, cfg *automationConfig, ev *Event) error {
	op := strings.TrimPrefix(string(ev.Type), ev.Kind+".")
	if op == string(OpErased) {
		return a.forget(ctx, w, cfg, ev.Kind, ev.RecordID)
	}
	switch op {
	case string(OpCreated), string(OpUpdated), string(OpDeleted), string(OpRestored), string(OpErased), string(OpMerged):
	default:
		return nil // the change's own created or updated event covers it
	}
	type target struct{ object, id string }
	var targets []target
	if ev.Kind == "activity" || slices.ContainsFunc(cfg.timeRules[ev.Kind], func(r *compiledRule) bool { return moves(ev, r.Trigger.Time.Field) }) {
		targets = append(targets, target{ev.Kind, ev.RecordID})
	}
	if ev.Kind == "activity" && ev.After != nil {
		var act Activity
		if err := decode(ev.After, &act); err != nil {
			return err
		}
		for object, ids := range map[string][]string{"contact": act.ContactIDs, "company": act.CompanyIDs, "deal": act.DealIDs} {
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
	_, err := w.write(ctx, func(t *txn) error {
		changed := false
		for _, tg := range targets {
			rec, err := loadRecord(t.tx, t.w, tg.object, tg.id)
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
			if act, ok := rec.(*Activity); ok {
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
func (a *Automation) forget(ctx context.Context, w *Workspace, cfg *automationConfig, object, id string) error {
	var sources []string
	for _, r := range cfg.timeRules[object] {
		sources = append(sources, srcRule+r.ID)
	}
	switch object {
	case "activity":
		sources = append(sources, srcTaskDue, srcOverdue)
	case "contact":
		for sid := range cfg.sequences {
			sources = append(sources, srcSequence+sid)
		}
	}
	_, err := w.write(ctx, func(t *txn) error {
		for _, src := range sources {
			if _, err := clearTimer(t, src, id); err != nil {
				return err
			}
			if err := t.tx.Delete(t.w.firedKey(src, id)); err != nil {
				return err
			}
		}
		if object == "contact" {
			return deleteRange(t.tx, t.w.ak('e').str(id))
		}
		return nil
	})
	return err
}

// moves reports whether a change may have moved a time field: any change
// but an update, and updates of the field or of what it derives from.
func moves(ev *Event, field string) bool {
	if !strings.HasSuffix(string(ev.Type), "."+string(OpUpdated)) {
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
func (a *Automation) taskDue(act *Activity, src string) (time.Time, bool) {
	if act.Type != ActivityTask || act.Done || act.DueAt.IsZero() || act.Deleted() {
		return time.Time{}, false
	}
	if src == srcOverdue {
		return act.DueAt.Add(a.overdueAfter), true
	}
	return act.DueAt, true
}

// scheduleTask sets or clears a task's due and overdue timers.
func (a *Automation) scheduleTask(t *txn, act *Activity) (bool, error) {
	changed := false
	for _, src := range []string{srcTaskDue, srcOverdue} {
		due, ok := a.taskDue(act, src)
		var c bool
		var err error
		if ok {
			var fired time.Time
			if fired, err = lastFired(t.tx, t.w, src, act.ID); err != nil {
				return false, err
			}
			ok = due.After(fired)
		}
		if ok {
			c, err = putTimer(t, timer{Source: src, Record: act.ID, Object: "activity", Due: due})
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
func (a *Automation) fireTaskTimer(t *txn, tm *timer) error {
	act, err := get(t.tx, t.w, kindActivity, tm.Record)
	if errors.Is(err, ErrNotFound) {
		_, err := clearTimer(t, tm.Source, tm.Record)
		return err
	}
	if err != nil {
		return err
	}
	due, ok := a.taskDue(act, tm.Source)
	if !ok || !due.Equal(tm.Due) {
		_, err := a.scheduleTask(t, act)
		return err
	}
	et := TaskDue
	if tm.Source == srcOverdue {
		et = TaskOverdue
	}
	if err := emitOn(t, "activity", act, et, nil); err != nil {
		return err
	}
	if err := setFired(t, tm.Source, act.ID, due); err != nil {
		return err
	}
	return dropTimer(t, tm)
}

// emitOn emits an event about a record that no write caused (a task
// coming due, a custom event): it has a change ID of its own, with no
// history entry behind it.
func emitOn(t *txn, object string, rec any, et EventType, fields []FieldChange) error {
	b, err := encode(rec)
	if err != nil {
		return err
	}
	ch := Change{
		ID: t.newID("chg_"), Workspace: t.w.info.ID, Kind: object, RecordID: recordMeta(rec).ID,
		Actor: t.actor, Source: t.source, At: t.now, Fields: fields,
	}
	ch.Rule, ch.Depth = causeOf(t.ctx)
	return t.emit(&ch, []EventType{et}, nil, b, uint64(recordMeta(rec).Version), 0)
}

// fireSchedule runs a scheduled rule's occurrence over a slice of the
// object's records, keeping its progress in the timer, and sets the next
// occurrence when it has been through them all.
func (a *Automation) fireSchedule(t *txn, r *compiledRule, tm *timer) error {
	const perFiring = 200
	code := ruleObjects[r.Object]
	prefix := t.w.k(tagRecord).byte(code)
	rng := store.Range{Prefix: prefix}
	if tm.After != "" {
		rng.Start = append(prefix.str(tm.After), 0)
	}
	var ids []string
	for e, err := range t.tx.Scan(rng) {
		if err != nil {
			return err
		}
		rr := keyReader{b: e.Key[len(prefix):]}
		ids = append(ids, rr.str())
		if rr.err != nil {
			return rr.err
		}
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
	next.Due = nextScheduled(r.Trigger.Schedule, t.now)
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

func (w *Workspace) backfillKey(rule string) key { return w.ak('b').str(rule) }

// backfillRule sets the timers of a time rule for every record of its
// kind, a batch per transaction, keeping its place in the store so that
// an interrupted backfill resumes (resumeBackfills).
func backfillRule(ctx context.Context, w *Workspace, ruleID string) error {
	for {
		done := false
		_, err := w.write(ctx, func(t *txn) error {
			b, err := t.tx.Get(t.w.backfillKey(ruleID))
			if errors.Is(err, store.ErrNotFound) {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			cfgRule, err := getRule(t.tx, t.w, ruleID)
			if isNotFoundOrDeleted(err) || (err == nil && cfgRule.Trigger.Time == nil) {
				done = true
				return t.tx.Delete(t.w.backfillKey(ruleID))
			}
			if err != nil {
				return err
			}
			r := &compiledRule{Rule: cfgRule}
			prefix := t.w.k(tagRecord).byte(ruleObjects[r.Object])
			rng := store.Range{Prefix: prefix}
			if len(b) > 0 {
				rng.Start = append(prefix.str(string(b)), 0)
			}
			var last string
			n := 0
			for e, err := range t.tx.Scan(rng) {
				if err != nil {
					return err
				}
				rec, err := decodeKind(r.Object, e.Value)
				if err != nil {
					return err
				}
				if _, err := scheduleRule(t, r, rec); err != nil {
					return err
				}
				last = recordMeta(rec).ID
				if n++; n == 500 {
					break
				}
			}
			if n < 500 {
				done = true
				return t.tx.Delete(t.w.backfillKey(ruleID))
			}
			return t.tx.Set(t.w.backfillKey(ruleID), []byte(last))
		})
		if err != nil || done {
			return err
		}
	}
}

// resumeBackfills finishes backfills a crash interrupted.
func (a *Automation) resumeBackfills(ctx context.Context, w *Workspace) error {
	var rules []string
	err := w.read(ctx, func(tx store.Tx) error {
		prefix := w.ak('b')
		for e, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
			if err != nil {
				return err
			}
			r := keyReader{b: e.Key[len(prefix):]}
			rules = append(rules, r.str())
			if r.err != nil {
				return r.err
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
