package automation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// consume is the rules' outbox consumer: one workspace's events in
// commit order.
func (a *Automation) consume(ctx context.Context, events []crm.Event) error {
	if len(events) == 0 {
		return nil
	}
	w, err := a.c.Workspace(ctx, events[0].Workspace)
	if err != nil {
		return err
	}
	var cfg *automationConfig
	err = w.View(ctx, func(rt *crm.ReadTx) error {
		var err error
		cfg, err = a.config(rt)
		return err
	})
	if err != nil {
		return err
	}
	if err := a.pruneRuns(ctx, w, events[0].Seq); err != nil {
		return err
	}
	for i := range events {
		if err := a.onEvent(ctx, w, cfg, &events[i]); err != nil {
			return err
		}
	}
	return nil
}

// pruneRuns forgets the idempotency keys of events before seq: the
// dispatcher acknowledged them, so they are not delivered again.
func (a *Automation) pruneRuns(ctx context.Context, w *crm.Workspace, seq uint64) error {
	prefix := ak('k')
	var keys [][]byte
	err := w.View(ctx, func(rt *crm.ReadTx) error {
		for e, err := range rt.Space(spaceName).Scan(store.Range{Prefix: prefix, End: prefix.Uint(seq), KeysOnly: true}) {
			if err != nil {
				return err
			}
			keys = append(keys, append([]byte(nil), e.Key...))
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	return w.Update(ctx, func(t *crm.Tx) error {
		sp := t.Space(spaceName)
		for _, k := range keys {
			if err := sp.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// onEvent does everything one event calls for: timers of the records it
// touches, the rules it triggers, scores and sequence stops.
func (a *Automation) onEvent(ctx context.Context, w *crm.Workspace, cfg *automationConfig, ev *crm.Event) error {
	if err := a.reschedule(ctx, w, cfg, ev); err != nil {
		return err
	}
	var snap any // the event's record, decoded once for every rule
	for _, r := range cfg.byEvent[ev.Type] {
		if ev.Seq <= r.Since || !triggered(r, ev) {
			continue
		}
		ids, err := targetsOf(ev, r.Object)
		if err != nil {
			return err
		}
		var own any
		if ev.Kind == r.Object && ev.After != nil {
			if snap == nil {
				if snap, err = ev.Record(); err != nil {
					return err
				}
			}
			own = snap
		}
		for _, id := range ids {
			if err := a.fire(ctx, w, r, ev, id, own); err != nil {
				return err
			}
		}
	}
	if err := a.scoreOn(ctx, w, cfg, ev); err != nil {
		return err
	}
	return a.stopSequencesOn(ctx, w, cfg, ev)
}

// triggered checks an event trigger's narrowing: changed fields or the
// segment.
func triggered(r *compiledRule, ev *crm.Event) bool {
	tr := &r.Trigger
	if tr.Segment != "" && (len(ev.Fields) != 1 || ev.Fields[0].New != tr.Segment) {
		return false
	}
	if len(tr.Fields) == 0 {
		return true
	}
	for _, f := range ev.Fields {
		for _, want := range tr.Fields {
			if f.Field == want || f.Field == "custom."+want || (want == "address."+f.Field) {
				return true
			}
		}
	}
	return false
}

// targetsOf returns the records of kind object an event is about: its own
// record, or the records an activity or purchase links to.
func targetsOf(ev *crm.Event, object crm.Kind) ([]string, error) {
	if ev.Kind == object {
		return []string{ev.RecordID}, nil
	}
	r, err := ev.Record()
	if err != nil || r == nil {
		return nil, err
	}
	switch x := r.(type) {
	case *crm.Activity:
		switch object {
		case crm.KindContact:
			return x.ContactIDs, nil
		case crm.KindCompany:
			return x.CompanyIDs, nil
		case crm.KindDeal:
			return x.DealIDs, nil
		}
	case *crm.Purchase:
		id := x.ContactID
		if object == crm.KindCompany {
			id = x.CompanyID
		}
		if id != "" {
			return []string{id}, nil
		}
	}
	return nil, nil
}

// runKey is the idempotency key of a rule's run for an event and record.
func runKey(seq uint64, rule, id string) tuple.Key { return ak('k').Uint(seq).Str(rule).Str(id) }

// fire runs an event rule on one record, with retries, parking it when it
// keeps failing or when the chain it belongs to is too deep. snap is the
// record as the event left it, when the event is the record's own.
func (a *Automation) fire(ctx context.Context, w *crm.Workspace, r *compiledRule, ev *crm.Event, id string, snap any) error {
	if snap != nil && r.where != nil {
		// Most events match few rules: rule the others out without a
		// write transaction.
		ok, err := a.precheck(ctx, w, r, snap)
		if err == nil && !ok {
			return nil
		}
	}
	depth := ev.Depth + 1
	err := a.retry(ctx, func() error { return a.runEventRule(ctx, w, r, ev.Seq, id, snap, depth, a.maxDepth) })
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return store.ContextError(ctx)
	}
	p := Parked{Kind: ParkedFailed, Rule: r.ID, Record: crm.Ref{Kind: r.Object, ID: id}, Event: eventRef(ev), Error: err.Error(), Attempts: a.attempts}
	if errors.Is(err, errLoop) {
		a.c.Logger().Warn("crm: rule chain cut", "workspace", w.Info().ID, "rule", r.ID, "depth", depth, "record", id)
		p.Kind, p.Attempts = ParkedLoop, 0
		p.Error = fmt.Sprintf("rule chain cut: depth %d passes the limit of %d", depth, a.maxDepth)
	} else {
		a.c.Logger().Warn("crm: rule parked", "workspace", w.Info().ID, "rule", r.ID, "record", id, "err", err)
	}
	return a.park(ctx, w, p)
}

// precheck evaluates a rule's condition on an event's snapshot of the
// record, without a transaction when the condition reads stored fields
// only.
func (a *Automation) precheck(ctx context.Context, w *crm.Workspace, r *compiledRule, snap any) (bool, error) {
	if r.stored {
		return matchStored(r.where, snap, a.c.Now())
	}
	var ok bool
	err := w.View(ctx, func(rt *crm.ReadTx) error {
		var err error
		ok, err = matchRecord(rt, r.where, snap)
		return err
	})
	return ok, err
}

// retry runs fn up to the rule attempts with backoff; errSkip is success.
func (a *Automation) retry(ctx context.Context, fn func() error) error {
	wait := a.backoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || errors.Is(err, errSkip) {
			return nil
		}
		if attempt >= a.attempts || ctx.Err() != nil || errors.Is(err, errLoop) {
			return err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return store.ContextError(ctx)
		case <-timer.C:
		}
		wait *= 2
	}
}

// ruleContext attributes a write to a rule at a depth, made as the
// rule's RunAs principal (System when nil).
func ruleContext(ctx context.Context, rule string, runAs *crm.Principal, depth int) context.Context {
	p := crm.System()
	if runAs != nil {
		p = *runAs
	}
	return crm.WithCause(crm.WithSource(crm.WithActor(crm.As(ctx, p), "rule:"+rule), "automation"), rule, depth)
}

// runEventRule runs a rule once on a record for an event, in one
// transaction with its idempotency key. The condition reads the record as
// the event left it (snap, when the event is the record's own) and the
// actions change it as it is now. A run that would act deeper than limit
// fails with errLoop.
func (a *Automation) runEventRule(ctx context.Context, w *crm.Workspace, r *compiledRule, seq uint64, id string, snap any, depth, limit int) error {
	return w.Update(ruleContext(ctx, r.ID, r.RunAs, depth), func(t *crm.Tx) error {
		sp := t.Space(spaceName)
		k := runKey(seq, r.ID, id)
		if _, err := sp.Get(k); err == nil {
			return errSkip // ran before the event was redelivered
		} else if !errors.Is(err, crm.ErrNotFound) {
			return err
		}
		rec, err := loadRecord(&t.ReadTx, r.Object, id)
		if err != nil {
			return err
		}
		if rec == nil || crm.MetaOf(rec).Deleted() {
			return errSkip
		}
		cond := rec
		if snap != nil {
			cond = snap
		}
		ok, err := matchRecord(&t.ReadTx, r.where, cond)
		if err != nil {
			return err
		}
		if !ok {
			return errSkip
		}
		if depth > limit {
			return errLoop
		}
		if err := a.runActions(t, r.ID, r.Object, r.Actions, rec); err != nil {
			return err
		}
		return sp.Set(k, nil)
	})
}

// applyRule runs r's actions on record id inside t if the record is live
// and matches the rule's condition now.
func (a *Automation) applyRule(t *crm.Tx, r *compiledRule, id string) error {
	rec, err := loadRecord(&t.ReadTx, r.Object, id)
	if err != nil || rec == nil || crm.MetaOf(rec).Deleted() {
		return err
	}
	ok, err := matchRecord(&t.ReadTx, r.where, rec)
	if err != nil || !ok {
		return err
	}
	return a.runActions(t, r.ID, r.Object, r.Actions, rec)
}
