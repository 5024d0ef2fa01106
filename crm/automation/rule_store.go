package automation

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// Rules manages a workspace's automation rules. Saved rules take effect
// for events committed after the save; time rules set their timers for
// the records already there at once.
type Rules struct{ w *crm.Workspace }

// RulesOf returns the rule service of a workspace.
func RulesOf(w *crm.Workspace) *Rules { return &Rules{w} }

func ruleKey(id string) tuple.Key { return ak('r').Str(id) }

func getRule(sp crm.Space, id string) (Rule, error) {
	var r Rule
	if id == "" || len(id) > crm.MaxIDLength {
		return r, notFound("rule", fmt.Sprintf("%.64q", id))
	}
	b, err := sp.Get(ruleKey(id))
	if errors.Is(err, crm.ErrNotFound) {
		return r, notFound("rule", id)
	}
	if err != nil {
		return r, err
	}
	return r, crm.Unmarshal(b, &r)
}

// Save validates and stores a rule: a new one when its ID is empty,
// otherwise in place of the rule with that ID. A rule that does not pass
// validation (unknown fields, conditions that do not fit the object's
// fields, actions on the wrong kind of record, offsets out of range) is
// rejected with a *ValidationError naming each problem, and nothing is
// saved.
//
// Under an access policy, saving a rule needs the "workspace" kind's
// update action: a rule acts for the whole workspace.
func (s *Rules) Save(ctx context.Context, r Rule) (Rule, error) {
	if err := s.w.Can(ctx, crm.KindWorkspace, crm.ActionUpdate); err != nil {
		return Rule{}, err
	}
	err := s.w.Update(ctx, func(t *crm.Tx) error {
		if r.ID != "" {
			o, err := getRule(t.Space(spaceName), r.ID)
			if err != nil {
				return err
			}
			r.CreatedAt = o.CreatedAt
		}
		if _, err := checkRule(&t.ReadTx, &r); err != nil {
			return err
		}
		if r.ID == "" {
			r.ID, r.CreatedAt = t.NewID("rul_"), t.Now()
		}
		r.UpdatedAt = t.Now()
		var err error
		if r.Since, err = t.LastEvent(); err != nil {
			return err
		}
		b, err := crm.Marshal(&r)
		if err != nil {
			return err
		}
		if err := t.Space(spaceName).Set(ruleKey(r.ID), b); err != nil {
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
func (s *Rules) resetTimers(t *crm.Tx, r *Rule) error {
	if sc := r.Trigger.Schedule; sc != nil && !r.Disabled {
		return setTimer(t, timer{Source: srcSchedule + r.ID, Object: r.Object, Due: nextScheduled(sc, t.Now().Add(-1))})
	}
	if r.Trigger.Time != nil && !r.Disabled {
		return t.Space(spaceName).Set(backfillKey(r.ID), []byte{})
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
	err := s.w.View(ctx, func(rt *crm.ReadTx) error {
		var err error
		r, err = getRule(rt.Space(spaceName), id)
		return err
	})
	return r, err
}

// List streams the workspace's rules in ID (creation) order.
func (s *Rules) List(ctx context.Context) iter.Seq2[Rule, error] {
	return func(yield func(Rule, error) bool) {
		err := s.w.View(ctx, func(rt *crm.ReadTx) error {
			for e, err := range rt.Space(spaceName).Scan(store.Range{Prefix: ak('r')}) {
				if err != nil {
					return err
				}
				var r Rule
				if err := crm.Unmarshal(e.Value, &r); err != nil {
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
	err := s.w.Update(ctx, func(t *crm.Tx) error {
		sp := t.Space(spaceName)
		if _, err := getRule(sp, id); err != nil {
			return err
		}
		if err := sp.Delete(ruleKey(id)); err != nil {
			return err
		}
		if err := sp.Delete(backfillKey(id)); err != nil {
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
