package crm

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/crmkit/crmkit/store"
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
		w, err := a.handle(ctx, ws)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return total, err
		}
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
