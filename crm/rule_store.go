package crm

import (
	"context"
	"errors"
	"iter"

	"github.com/crmkit/crmkit/store"
)

// Rules manages a workspace's automation rules. Saved rules take effect
// for events committed after the save; time rules set their timers for
// the records already there at once.
type Rules struct{ w *Workspace }

// Rules returns the workspace's rule service.
func (w *Workspace) Rules() *Rules { return &Rules{w} }

func (w *Workspace) ruleKey(id string) key { return w.ak('r').str(id) }

func getRule(tx store.Reader, w *Workspace, id string) (Rule, error) {
	var r Rule
	if id == "" {
		return r, notFound("rule", `""`)
	}
	b, err := tx.Get(w.ruleKey(id))
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrKeyTooLarge) {
		return r, notFound("rule", id)
	}
	if err != nil {
		return r, err
	}
	return r, decode(b, &r)
}

// Save validates and stores a rule: a new one when its ID is empty,
// otherwise in place of the rule with that ID. A rule that does not pass
// validation (unknown fields, conditions that do not fit the object's
// fields, actions on the wrong kind of record, offsets out of range) is
// rejected with a *ValidationError naming each problem, and nothing is
// saved.
func (s *Rules) Save(ctx context.Context, r Rule) (Rule, error) {
	_, err := s.w.write(ctx, func(t *txn) error {
		if r.ID != "" {
			o, err := getRule(t.tx, t.w, r.ID)
			if err != nil {
				return err
			}
			r.CreatedAt = o.CreatedAt
		}
		if _, err := checkRule(t, &r); err != nil {
			return err
		}
		if r.ID == "" {
			r.ID, r.CreatedAt = t.newID("rul_"), t.now
		}
		r.UpdatedAt = t.now
		var err error
		if r.Since, err = outboxHead(t.tx, t.w); err != nil {
			return err
		}
		b, err := encode(&r)
		if err != nil {
			return err
		}
		if err := t.tx.Set(t.w.ruleKey(r.ID), b); err != nil {
			return err
		}
		if err := s.resetTimers(t, &r); err != nil {
			return err
		}
		return bumpVersion(t)
	})
	if err != nil {
		return Rule{}, err
	}
	return r, s.settle(ctx, &r)
}

// resetTimers prepares the timers of a saved rule: a schedule's first
// occurrence, a time rule's backfill (run by settle).
func (s *Rules) resetTimers(t *txn, r *Rule) error {
	if sc := r.Trigger.Schedule; sc != nil && !r.Disabled {
		return setTimer(t, timer{Source: srcSchedule + r.ID, Object: r.Object, Due: nextScheduled(sc, t.now.Add(-1))})
	}
	if r.Trigger.Time != nil && !r.Disabled {
		return t.tx.Set(t.w.backfillKey(r.ID), []byte{})
	}
	return nil
}

// settle clears the timers a saved rule no longer has and sets or moves
// those it has, for every record.
func (s *Rules) settle(ctx context.Context, r *Rule) error {
	if r.Trigger.Schedule == nil || r.Disabled {
		if err := clearSource(ctx, s.w, srcSchedule+r.ID); err != nil {
			return err
		}
	}
	if r.Trigger.Time == nil || r.Disabled {
		return clearSource(ctx, s.w, srcRule+r.ID)
	}
	return backfillRule(ctx, s.w, r.ID)
}

// SaveJSON parses a rule document (see ParseRule) and saves it.
func (s *Rules) SaveJSON(ctx context.Context, doc []byte) (Rule, error) {
	r, err := ParseRule(doc)
	if err != nil {
		return Rule{}, err
	}
	return s.Save(ctx, r)
}

// Get returns a rule.
func (s *Rules) Get(ctx context.Context, id string) (Rule, error) {
	var r Rule
	err := s.w.read(ctx, func(tx store.Tx) error {
		var err error
		r, err = getRule(tx, s.w, id)
		return err
	})
	return r, err
}

// List streams the workspace's rules in ID (creation) order.
func (s *Rules) List(ctx context.Context) iter.Seq2[Rule, error] {
	return func(yield func(Rule, error) bool) {
		err := s.w.read(ctx, func(tx store.Tx) error {
			for e, err := range tx.Scan(store.Range{Prefix: s.w.ak('r')}) {
				if err != nil {
					return err
				}
				var r Rule
				if err := decode(e.Value, &r); err != nil {
					return err
				}
				if !yield(r, nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil && err != errStop {
			yield(Rule{}, err)
		}
	}
}

// SetDisabled turns a rule off (it neither fires nor keeps timers) or back
// on.
func (s *Rules) SetDisabled(ctx context.Context, id string, disabled bool) (Rule, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return Rule{}, err
	}
	r.Disabled = disabled
	return s.Save(ctx, r)
}

// Delete removes a rule and its timers.
func (s *Rules) Delete(ctx context.Context, id string) error {
	_, err := s.w.write(ctx, func(t *txn) error {
		if _, err := getRule(t.tx, t.w, id); err != nil {
			return err
		}
		if err := t.tx.Delete(t.w.ruleKey(id)); err != nil {
			return err
		}
		if err := t.tx.Delete(t.w.backfillKey(id)); err != nil {
			return err
		}
		return bumpVersion(t)
	})
	if err != nil {
		return err
	}
	if err := clearSource(ctx, s.w, srcSchedule+id); err != nil {
		return err
	}
	return clearSource(ctx, s.w, srcRule+id)
}
