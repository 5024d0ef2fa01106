package automation

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// ParkedKind says why a run was parked.
type ParkedKind string

// Why runs are parked.
const (
	// ParkedFailed is a run that still failed after its retries.
	ParkedFailed ParkedKind = "failed"
	// ParkedLoop is a run not made because its chain of rule-made changes
	// passed the depth limit (see WithMaxDepth).
	ParkedLoop ParkedKind = "loop"
)

// Parked is an automation run that did not happen: a rule, timer,
// scoring model or sequence step that kept failing, or a rule cut from a
// loop. It stays listed (Rules.Parked) with its error until it is retried
// (Automation.Retry) or dismissed.
type Parked struct {
	ID   string     `msgpack:"id" json:"id"`
	Kind ParkedKind `msgpack:"kind" json:"kind"`
	// Rule is the rule, scoring model or sequence that was to run.
	Rule   string  `msgpack:"rule" json:"rule"`
	Record crm.Ref `msgpack:"record" json:"record"`
	// Event is the event that triggered the run; Timer the timer that
	// fired it. One of them is set.
	Event    *EventRef `msgpack:"event,omitempty" json:"event,omitempty"`
	Timer    *TimerRef `msgpack:"timer,omitempty" json:"timer,omitempty"`
	Error    string    `msgpack:"error" json:"error"`
	Attempts int       `msgpack:"attempts,omitempty" json:"attempts,omitempty"`
	At       time.Time `msgpack:"at" json:"at"`
}

// EventRef names an outbox event.
type EventRef struct {
	Seq   uint64        `msgpack:"seq" json:"seq"`
	ID    string        `msgpack:"id" json:"id"`
	Type  crm.EventType `msgpack:"type" json:"type"`
	Depth int           `msgpack:"depth,omitempty" json:"depth,omitempty"`
}

// TimerRef names a timer occurrence.
type TimerRef struct {
	Source string    `msgpack:"source" json:"source"`
	Due    time.Time `msgpack:"due" json:"due"`
	Step   int       `msgpack:"step,omitempty" json:"step,omitempty"`
}

func eventRef(ev *crm.Event) *EventRef {
	return &EventRef{Seq: ev.Seq, ID: ev.ID, Type: ev.Type, Depth: ev.Depth}
}

func parkedKey(id string) tuple.Key { return ak('p').Str(id) }

// park records a run that did not happen.
func (a *Automation) park(ctx context.Context, w *crm.Workspace, p Parked) error {
	return w.Update(ctx, func(t *crm.Tx) error { return putParked(t, p) })
}

// putParked stores a parked run in t, with a new ID and t's time.
func putParked(t *crm.Tx, p Parked) error {
	p.ID, p.At = t.NewID("prk_"), t.Now()
	b, err := crm.Marshal(&p)
	if err != nil {
		return err
	}
	return t.Space(spaceName).Set(parkedKey(p.ID), b)
}

// Parked streams the workspace's parked automation runs, oldest first.
func (s *Rules) Parked(ctx context.Context) iter.Seq2[Parked, error] {
	return func(yield func(Parked, error) bool) {
		err := s.w.View(ctx, func(rt *crm.ReadTx) error {
			for e, err := range rt.Space(spaceName).Scan(store.Range{Prefix: ak('p')}) {
				if err != nil {
					return err
				}
				var p Parked
				if err := crm.Unmarshal(e.Value, &p); err != nil {
					return err
				}
				if !yield(p, nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil && err != errStop {
			yield(Parked{}, err)
		}
	}
}

// Dismiss forgets a parked run without running it.
func (s *Rules) Dismiss(ctx context.Context, id string) error {
	return s.w.Update(ctx, func(t *crm.Tx) error {
		sp := t.Space(spaceName)
		k := parkedKey(id)
		if _, err := sp.Get(k); errors.Is(err, crm.ErrNotFound) {
			return notFound("parked run", id)
		} else if err != nil {
			return err
		}
		return sp.Delete(k)
	})
}

// Retry runs a parked run again, now, and forgets it if it succeeds. A
// parked timer is put back as due, for the next FireDue or Step. A run
// cut from a loop runs despite the depth limit: retrying it is an
// operator's decision.
func (a *Automation) Retry(ctx context.Context, workspace, id string) error {
	ctx = crm.As(ctx, crm.System())
	w, err := a.c.Workspace(ctx, workspace)
	if err != nil {
		return err
	}
	var p Parked
	var cfg *automationConfig
	err = w.View(ctx, func(rt *crm.ReadTx) error {
		b, err := rt.Space(spaceName).Get(parkedKey(id))
		if errors.Is(err, crm.ErrNotFound) {
			return notFound("parked run", id)
		}
		if err != nil {
			return err
		}
		if err := crm.Unmarshal(b, &p); err != nil {
			return err
		}
		cfg, err = a.config(rt)
		return err
	})
	if err != nil {
		return err
	}
	if p.Timer != nil {
		return w.Update(ctx, func(t *crm.Tx) error {
			tm := timer{Source: p.Timer.Source, Record: p.Record.ID, Object: p.Record.Kind, Due: p.Timer.Due, Step: p.Timer.Step}
			if err := setTimer(t, tm); err != nil {
				return err
			}
			return t.Space(spaceName).Delete(parkedKey(id))
		})
	}
	r := cfg.rules[p.Rule]
	if r == nil || p.Event == nil {
		return notFound("rule", p.Rule)
	}
	if err := a.runEventRule(ctx, w, r, p.Event.Seq, p.Record.ID, nil, p.Event.Depth+1, p.Event.Depth+1); err != nil && !errors.Is(err, errSkip) {
		return err
	}
	return w.Update(ctx, func(t *crm.Tx) error { return t.Space(spaceName).Delete(parkedKey(id)) })
}
