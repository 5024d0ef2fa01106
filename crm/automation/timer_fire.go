package automation

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// timersLease is the lease that decides which process fires timers.
const timersLease = "automation/timers"

// FireDue fires every timer due by the CRM's clock, oldest first, in
// every workspace, if this instance holds the timer lease (another
// instance may be firing them), and returns how many fired. A timer is
// removed in the transaction of its actions: a crash before the commit
// leaves it due, to fire on the next call, and never twice.
func (a *Automation) FireDue(ctx context.Context) (int, error) {
	ctx = crm.As(ctx, crm.System())
	var workspaces []string
	for info, err := range a.c.Workspaces(ctx) {
		if err != nil {
			return 0, err
		}
		workspaces = append(workspaces, info.ID)
	}
	total := 0
	for _, ws := range workspaces {
		w, err := a.c.Workspace(ctx, ws)
		if errors.Is(err, crm.ErrNotFound) {
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
		var from tuple.Key
		for {
			held, err := a.d.Lease(ctx, timersLease)
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
func (a *Automation) dueTimers(ctx context.Context, w *crm.Workspace, from tuple.Key) ([]timer, tuple.Key, error) {
	now := a.c.Now()
	var out []timer
	next := from
	err := w.View(ctx, func(rt *crm.ReadTx) error {
		prefix := ak('t')
		rng := store.Range{Prefix: prefix, End: prefix.Time(now.Add(time.Nanosecond))}
		if from != nil {
			rng.Start = from
		}
		for e, err := range rt.Space(spaceName).Scan(rng) {
			if err != nil {
				return err
			}
			var tm timer
			if err := crm.Unmarshal(e.Value, &tm); err != nil {
				return err
			}
			out = append(out, tm)
			next = append(append(tuple.Key{}, e.Key...), 0)
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
func (a *Automation) fireBatch(ctx context.Context, w *crm.Workspace, batch []timer) (int, error) {
	var cfg *automationConfig
	err := w.Update(ctx, func(t *crm.Tx) error {
		var err error
		if cfg, err = a.config(&t.ReadTx); err != nil {
			return err
		}
		base := t.Context()
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
			err := w.Update(ctx, func(t *crm.Tx) error {
				cfg, err := a.config(&t.ReadTx)
				if err != nil {
					return err
				}
				return a.fireTimer(t, t.Context(), cfg, tm)
			})
			return err
		})
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return 0, store.ContextError(ctx)
		}
		a.c.Logger().Warn("crm: timer parked", "workspace", w.Info().ID, "source", tm.Source, "record", tm.Record, "err", err)
		if err := a.parkTimer(ctx, w, tm, err); err != nil {
			return 0, err
		}
	}
	return len(batch), nil
}

// parkTimer removes a failing timer and parks it, in one transaction.
func (a *Automation) parkTimer(ctx context.Context, w *crm.Workspace, tm *timer, cause error) error {
	_, rule, _ := strings.Cut(tm.Source, ":")
	p := Parked{
		Kind: ParkedFailed, Rule: rule,
		Record: crm.Ref{Kind: tm.Object, ID: tm.Record}, Timer: &TimerRef{Source: tm.Source, Due: tm.Due, Step: tm.Step},
		Error: cause.Error(), Attempts: a.attempts,
	}
	return w.Update(ctx, func(t *crm.Tx) error {
		if _, err := clearTimer(t, tm.Source, tm.Record); err != nil {
			return err
		}
		return putParked(t, p)
	})
}

// fireTimer fires one timer inside t, unless another instance fired it
// meanwhile. base is the context writes are attributed from.
func (a *Automation) fireTimer(t *crm.Tx, base context.Context, cfg *automationConfig, tm *timer) error {
	if _, err := t.Space(spaceName).Get(timerKey(tm.Due, tm.Source, tm.Record)); errors.Is(err, crm.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	t.Attribute(crm.WithSource(base, "automation"))
	switch src := tm.Source; {
	case strings.HasPrefix(src, srcRule):
		r := cfg.rules[strings.TrimPrefix(src, srcRule)]
		if r == nil || r.Disabled || r.Trigger.Time == nil {
			_, err := clearTimer(t, src, tm.Record)
			return err
		}
		t.Attribute(ruleContext(base, r.ID, r.RunAs, 1))
		return a.fireRuleTimer(t, r, tm)
	case strings.HasPrefix(src, srcSchedule):
		r := cfg.rules[strings.TrimPrefix(src, srcSchedule)]
		if r == nil || r.Disabled || r.Trigger.Schedule == nil {
			_, err := clearTimer(t, src, tm.Record)
			return err
		}
		t.Attribute(ruleContext(base, r.ID, r.RunAs, 1))
		return a.fireSchedule(t, r, tm)
	case strings.HasPrefix(src, srcSequence):
		id := strings.TrimPrefix(src, srcSequence)
		t.Attribute(ruleContext(base, id, nil, 1))
		return a.fireSequenceStep(t, cfg.sequences[id], tm)
	case src == srcTaskDue || src == srcOverdue:
		return a.fireTaskTimer(t, tm)
	}
	_, err := clearTimer(t, tm.Source, tm.Record)
	return err
}

// fireRuleTimer fires a time trigger's occurrence if it is still due.
func (a *Automation) fireRuleTimer(t *crm.Tx, r *compiledRule, tm *timer) error {
	src := srcRule + r.ID
	rec, err := loadRecord(&t.ReadTx, r.Object, tm.Record)
	if err != nil {
		return err
	}
	if rec == nil || crm.MetaOf(rec).Deleted() {
		_, err := clearTimer(t, src, tm.Record)
		return err
	}
	var due time.Time
	if tt := r.Trigger.Time; tt.Yearly {
		d, ok, err := nextOccurrence(&t.ReadTx, tt, src, rec)
		if err != nil {
			return err
		}
		if !ok || d.After(t.Now()) {
			_, err := scheduleRule(t, r, rec) // the date moved
			return err
		}
		due = d
	} else {
		// The timer's occurrence is still due if the field has not moved:
		// it was set only if it came after the last one fired.
		base, ok, err := timeOf(&t.ReadTx, rec, tt.Field)
		if err != nil {
			return err
		}
		if !ok || !base.Add(time.Duration(tt.Offset)).Equal(tm.Due) {
			_, err := scheduleRule(t, r, rec) // the record moved on
			return err
		}
		due = tm.Due
	}
	match, err := matchRecord(&t.ReadTx, r.where, rec)
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
	if rec, err = loadRecord(&t.ReadTx, r.Object, tm.Record); err != nil || rec == nil {
		return err
	}
	_, err = scheduleRule(t, r, rec)
	return err
}
