package crm

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/crmkit/crmkit/store"
)

// timer is a durable timer: something to do for a record at a time. Its
// source says what: "rule:<id>" (a time trigger), "schedule:<id>" (a
// scheduled rule, Record empty), "sequence:<id>" (the next step of an
// enrolment), "task.due" and "task.overdue" (an open task's due time).
// A source has at most one timer per record; the last occurrence fired is
// kept beside it, so an occurrence fires once.
type timer struct {
	Source string    `msgpack:"source"`
	Record string    `msgpack:"record"`
	Object string    `msgpack:"object"`
	Due    time.Time `msgpack:"due"`
	// Step is a sequence step; After a schedule's progress through the
	// records of one occurrence.
	Step  int    `msgpack:"step,omitempty"`
	After string `msgpack:"after,omitempty"`
}

func (w *Workspace) timerKey(due time.Time, source, record string) key {
	return w.ak('t').time(due).str(source).str(record)
}

func (w *Workspace) timerIndexKey(source, record string) key {
	return w.ak('T').str(source).str(record)
}

func (w *Workspace) firedKey(source, record string) key { return w.ak('f').str(source).str(record) }

// getTimer returns the timer of a source and record, or nil.
func getTimer(tx store.Reader, w *Workspace, source, record string) (*timer, error) {
	b, err := tx.Get(w.timerIndexKey(source, record))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r := keyReader{b: b}
	due := r.time()
	if r.err != nil {
		return nil, r.err
	}
	b, err = tx.Get(w.timerKey(due, source, record))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errors.New("crm: timer index points at no timer")
	}
	if err != nil {
		return nil, err
	}
	tm := new(timer)
	return tm, decode(b, tm)
}

// setTimer stores tm in place of its source's timer for the record. It
// reports whether anything changed.
func setTimer(t *txn, tm timer) error {
	_, err := putTimer(t, tm)
	return err
}

func putTimer(t *txn, tm timer) (bool, error) {
	tm.Due = tm.Due.UTC()
	old, err := getTimer(t.tx, t.w, tm.Source, tm.Record)
	if err != nil {
		return false, err
	}
	if old != nil && *old == tm {
		return false, nil
	}
	if old != nil && !old.Due.Equal(tm.Due) {
		if err := t.tx.Delete(t.w.timerKey(old.Due, tm.Source, tm.Record)); err != nil {
			return false, err
		}
	}
	b, err := encode(&tm)
	if err != nil {
		return false, err
	}
	if err := t.tx.Set(t.w.timerKey(tm.Due, tm.Source, tm.Record), b); err != nil {
		return false, err
	}
	return true, t.tx.Set(t.w.timerIndexKey(tm.Source, tm.Record), key{}.time(tm.Due))
}

// clearTimer removes a source's timer for a record, reporting whether
// there was one.
func clearTimer(t *txn, source, record string) (bool, error) {
	old, err := getTimer(t.tx, t.w, source, record)
	if err != nil || old == nil {
		return false, err
	}
	if err := t.tx.Delete(t.w.timerKey(old.Due, source, record)); err != nil {
		return false, err
	}
	return true, t.tx.Delete(t.w.timerIndexKey(source, record))
}

func lastFired(tx store.Reader, w *Workspace, source, record string) (time.Time, error) {
	b, err := tx.Get(w.firedKey(source, record))
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	r := keyReader{b: b}
	at := r.time()
	return at, r.err
}

func setFired(t *txn, source, record string, due time.Time) error {
	return t.tx.Set(t.w.firedKey(source, record), key{}.time(due))
}

// clearSource removes every timer and fired mark of a source, in batches.
func clearSource(ctx context.Context, w *Workspace, source string) error {
	for {
		n := 0
		_, err := w.write(ctx, func(t *txn) error {
			n = 0
			var records []string
			prefix := t.w.timerIndexKey(source, "")
			prefix = prefix[:len(prefix)-2] // the source, without the empty record
			for e, err := range t.tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
				if err != nil {
					return err
				}
				r := keyReader{b: e.Key[len(prefix):]}
				records = append(records, r.str())
				if r.err != nil {
					return r.err
				}
				if len(records) == 1000 {
					break
				}
			}
			for _, id := range records {
				if _, err := clearTimer(t, source, id); err != nil {
					return err
				}
				if err := t.tx.Delete(t.w.firedKey(source, id)); err != nil {
					return err
				}
			}
			n = len(records)
			return nil
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

const (
	srcRule     = "rule:"
	srcSchedule = "schedule:"
	srcSequence = "sequence:"
	srcTaskDue  = "task.due"
	srcOverdue  = "task.overdue"
)

// timersLease is the lease that decides which process fires timers.
const timersLease = "automation/timers"

// FireDue fires every timer due by the CRM's clock, oldest first, in
// every workspace, if this instance holds the timer lease (another
// instance may be firing them), and returns how many fired. A timer is
// removed in the transaction of its actions: a crash before the commit
// leaves it due, to fire on the next call, and never twice.
func (a *Automation) FireDue(ctx context.Context) (int, error) {
	var workspaces []string
	for info, err := range a.c.Workspaces(ctx) {
		if err != nil {
			return 0, err
		}
		workspaces = append(workspaces, info.ID)
	}
	total := 0
	for _, ws := range workspaces {
		w := a.handle(ws)
		if err := a.resumeBackfills(ctx, w); err != nil {
			return total, err
		}
		// Each batch reads on from the last one's end, never back over
		// the timers just removed. A timer set behind it meanwhile waits
		// for the next call.
		var from key
		for {
			held, err := a.d.lease(ctx, timersLease)
			if err != nil || !held {
				return total, err
			}
			var batch []timer
			batch, from, err = a.dueTimers(ctx, w, from)
			if err != nil || len(batch) == 0 {
				if err != nil {
					return total, err
				}
				break
			}
			n, err := a.fireBatch(ctx, w, batch)
			total += n
			if err != nil {
				return total, err
			}
			for _, tm := range batch {
				if strings.HasPrefix(tm.Source, srcSchedule) {
					from = nil // a schedule in progress stays due: read it again
				}
			}
		}
	}
	return total, nil
}

// dueTimers reads the next batch of due timers after the key from (nil:
// from the first), and returns the key to read on from.
func (a *Automation) dueTimers(ctx context.Context, w *Workspace, from key) ([]timer, key, error) {
	now := a.c.now()
	var out []timer
	next := from
	err := w.read(ctx, func(tx store.Tx) error {
		prefix := w.ak('t')
		rng := store.Range{Prefix: prefix, End: prefix.time(now.Add(time.Nanosecond))}
		if from != nil {
			rng.Start = from
		}
		for e, err := range tx.Scan(rng) {
			if err != nil {
				return err
			}
			var tm timer
			if err := decode(e.Value, &tm); err != nil {
				return err
			}
			out = append(out, tm)
			next = append(append(key{}, e.Key...), 0)
			if len(out) == a.timerBatch {
				break
			}
		}
		return nil
	})
	return out, next, err
}

// fireBatch fires a batch of timers in one transaction; if that fails, it
// fires them one by one with retries and parks those that keep failing.
func (a *Automation) fireBatch(ctx context.Context, w *Workspace, batch []timer) (int, error) {
	var cfg *automationConfig
	_, err := w.write(ctx, func(t *txn) error {
		var err error
		if cfg, err = a.config(t.tx, t.w); err != nil {
			return err
		}
		base := t.ctx
		for i := range batch {
			if err := a.fireTimer(t, base, cfg, &batch[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return len(batch), nil
	}
	if ctx.Err() != nil {
		return 0, store.ContextError(ctx)
	}
	for i := range batch {
		tm := &batch[i]
		err := a.retry(ctx, func() error {
			_, err := w.write(ctx, func(t *txn) error {
				cfg, err := a.config(t.tx, t.w)
				if err != nil {
					return err
				}
				return a.fireTimer(t, t.ctx, cfg, tm)
			})
			return err
		})
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return 0, store.ContextError(ctx)
		}
		a.c.log.Warn("crm: timer parked", "workspace", w.info.ID, "source", tm.Source, "record", tm.Record, "err", err)
		if err := a.parkTimer(ctx, w, tm, err); err != nil {
			return 0, err
		}
	}
	return len(batch), nil
}

// parkTimer removes a failing timer and parks it, in one transaction.
func (a *Automation) parkTimer(ctx context.Context, w *Workspace, tm *timer, cause error) error {
	_, rule, _ := strings.Cut(tm.Source, ":")
	p := Parked{
		ID: a.c.ids.next("prk_", a.c.now()), Kind: ParkedFailed, Rule: rule,
		Record: Ref{Kind: tm.Object, ID: tm.Record}, Timer: &TimerRef{Source: tm.Source, Due: tm.Due, Step: tm.Step},
		Error: cause.Error(), Attempts: a.attempts, At: a.c.now(),
	}
	b, err := encode(&p)
	if err != nil {
		return err
	}
	_, err = w.write(ctx, func(t *txn) error {
		if _, err := clearTimer(t, tm.Source, tm.Record); err != nil {
			return err
		}
		return t.tx.Set(t.w.parkedKey(p.ID), b)
	})
	return err
}

// fireTimer fires one timer inside t, unless another instance fired it
// meanwhile. base is the context writes are attributed from.
func (a *Automation) fireTimer(t *txn, base context.Context, cfg *automationConfig, tm *timer) error {
	if _, err := t.tx.Get(t.w.timerKey(tm.Due, tm.Source, tm.Record)); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	attribute(t, WithSource(base, "automation"))
	switch src := tm.Source; {
	case strings.HasPrefix(src, srcRule):
		r := cfg.rules[strings.TrimPrefix(src, srcRule)]
		if r == nil || r.Disabled || r.Trigger.Time == nil {
			_, err := clearTimer(t, src, tm.Record)
			return err
		}
		attribute(t, ruleContext(base, r.ID, 1))
		return a.fireRuleTimer(t, r, tm)
	case strings.HasPrefix(src, srcSchedule):
		r := cfg.rules[strings.TrimPrefix(src, srcSchedule)]
		if r == nil || r.Disabled || r.Trigger.Schedule == nil {
			_, err := clearTimer(t, src, tm.Record)
			return err
		}
		attribute(t, ruleContext(base, r.ID, 1))
		return a.fireSchedule(t, r, tm)
	case strings.HasPrefix(src, srcSequence):
		id := strings.TrimPrefix(src, srcSequence)
		attribute(t, ruleContext(base, id, 1))
		return a.fireSequenceStep(t, cfg.sequences[id], tm)
	case src == srcTaskDue || src == srcOverdue:
		return a.fireTaskTimer(t, tm)
	}
	_, err := clearTimer(t, tm.Source, tm.Record)
	return err
}

// attribute makes the rest of t's writes come from ctx's actor, source
// and rule.
func attribute(t *txn, ctx context.Context) {
	t.ctx, t.actor, t.source = ctx, actorOf(ctx), sourceOf(ctx)
}

// fireRuleTimer fires a time trigger's occurrence if it is still due.
func (a *Automation) fireRuleTimer(t *txn, r *compiledRule, tm *timer) error {
	src := srcRule + r.ID
	rec, err := loadRecord(t.tx, t.w, r.Object, tm.Record)
	if err != nil {
		return err
	}
	if rec == nil || recordMeta(rec).Deleted() {
		_, err := clearTimer(t, src, tm.Record)
		return err
	}
	var due time.Time
	if tt := r.Trigger.Time; tt.Yearly {
		d, ok, err := nextOccurrence(t, tt, src, rec)
		if err != nil {
			return err
		}
		if !ok || d.After(t.now) {
			_, err := scheduleRule(t, r, rec) // the date moved
			return err
		}
		due = d
	} else {
		// The timer's occurrence is still due if the field has not moved:
		// it was set only if it came after the last one fired.
		base, ok, err := timeOf(t.tx, t.w, t.now, rec, tt.Field)
		if err != nil {
			return err
		}
		if !ok || !base.Add(time.Duration(tt.Offset)).Equal(tm.Due) {
			_, err := scheduleRule(t, r, rec) // the record moved on
			return err
		}
		due = tm.Due
	}
	match, err := matchRecord(t.tx, t.w, t.now, r.where, rec)
	if err != nil {
		return err
	}
	if match {
		if err := a.runActions(t, r.ID, r.Object, r.Actions, rec); err != nil {
			return err
		}
	}
	if err := setFired(t, src, tm.Record, due); err != nil {
		return err
	}
	if err := dropTimer(t, tm); err != nil {
		return err
	}
	if !r.Trigger.Time.Yearly {
		// The next occurrence needs the field to move, and the change
		// that moves it reschedules the timer.
		return nil
	}
	if rec, err = loadRecord(t.tx, t.w, r.Object, tm.Record); err != nil || rec == nil {
		return err
	}
	_, err = scheduleRule(t, r, rec)
	return err
}

// dropTimer removes a timer known to be stored.
func dropTimer(t *txn, tm *timer) error {
	if err := t.tx.Delete(t.w.timerKey(tm.Due, tm.Source, tm.Record)); err != nil {
		return err
	}
	return t.tx.Delete(t.w.timerIndexKey(tm.Source, tm.Record))
}

// nextOccurrence is the due time of a time trigger's next occurrence for
// a record: after the last one fired and, for yearly triggers, not before
// today.
func nextOccurrence(t *txn, tt *TimeTrigger, src string, rec any) (time.Time, bool, error) {
	base, ok, err := timeOf(t.tx, t.w, t.now, rec, tt.Field)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	fired, err := lastFired(t.tx, t.w, src, recordMeta(rec).ID)
	if err != nil {
		return time.Time{}, false, err
	}
	off := time.Duration(tt.Offset)
	if !tt.Yearly {
		due := base.Add(off)
		return due, due.After(fired), nil
	}
	today := time.Date(t.now.Year(), t.now.Month(), t.now.Day(), 0, 0, 0, 0, time.UTC)
	for y := max(base.Year(), t.now.Year()-1); y <= t.now.Year()+2; y++ {
		due := time.Date(y, base.Month(), base.Day(), 0, 0, 0, 0, time.UTC).Add(off)
		if due.After(fired) && !due.Before(today) {
			return due, true, nil
		}
	}
	return time.Time{}, false, nil
}

// scheduleRule sets or clears a time rule's timer for a record, reporting
// whether it changed.
func scheduleRule(t *txn, r *compiledRule, rec any) (bool, error) {
	src, id := srcRule+r.ID, recordMeta(rec).ID
	if r.Disabled || recordMeta(rec).Deleted() {
		return clearTimer(t, src, id)
	}
	due, ok, err := nextOccurrence(t, r.Trigger.Time, src, rec)
	if err != nil {
		return false, err
	}
	if !ok {
		return clearTimer(t, src, id)
	}
	return putTimer(t, timer{Source: src, Record: id, Object: r.Object, Due: due})
}
