package crm

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/crmkit/crmkit/store"
)

// Quota is a sales target the host application sets for one owner, or for
// a team of owners, over a period [From, To) in one currency. Forecasts
// compare closed-won revenue with it.
type Quota struct {
	// OwnerID names the owner; Team names a team instead, whose Members
	// are its owners. Exactly one of OwnerID and Team is set.
	OwnerID string   `msgpack:"owner_id,omitempty" json:"owner_id,omitempty"`
	Team    string   `msgpack:"team,omitempty" json:"team,omitempty"`
	Members []string `msgpack:"members,omitempty" json:"members,omitempty"`
	// From and To bound the period: From inclusive, To exclusive.
	From   time.Time `msgpack:"from" json:"from"`
	To     time.Time `msgpack:"to" json:"to"`
	Amount Money     `msgpack:"amount" json:"amount"`
}

func (q Quota) sameSlot(o Quota) bool {
	return q.OwnerID == o.OwnerID && q.Team == o.Team && q.From.Equal(o.From) && q.To.Equal(o.To) && q.Amount.Currency == o.Amount.Currency
}

// quotasKey holds every quota of a workspace in one value.
func (w *Workspace) quotasKey() key { return w.k(tagMeta).str("quotas") }

func loadQuotas(tx store.Reader, w *Workspace) ([]Quota, error) {
	b, err := tx.Get(w.quotasKey())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var qs []Quota
	return qs, decode(b, &qs)
}

// Quotas manages a workspace's quotas.
type Quotas struct{ w *Workspace }

// Quotas returns the workspace's quota service.
func (w *Workspace) Quotas() *Quotas { return &Quotas{w} }

// Set stores a quota, replacing the one for the same owner or team,
// period and currency. It fails with a *ValidationError naming the field
// when the quota is malformed.
func (s *Quotas) Set(ctx context.Context, q Quota) error {
	_, err := s.w.write(ctx, func(t *txn) error {
		if err := t.checkWorkspace(); err != nil {
			return err
		}
		p := problems{kind: "quota"}
		q.OwnerID = cleanText(&p, "owner_id", q.OwnerID, maxShortText)
		q.Team = cleanText(&p, "team", q.Team, maxShortText)
		if (q.OwnerID == "") == (q.Team == "") {
			p.add("owner_id", "set exactly one of owner_id and team")
		}
		if q.OwnerID != "" && len(q.Members) > 0 {
			p.add("members", "only a team has members")
		}
		if q.Team != "" && len(q.Members) == 0 {
			p.add("members", "a team quota needs its members")
		}
		if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) {
			p.add("to", "the period needs a from before its to")
		}
		q.From, q.To = q.From.UTC(), q.To.UTC()
		q.Amount = checkMoney(&p, "amount", q.Amount, t.info.Currency, false)
		if q.Amount.Amount < 0 {
			p.add("amount", "must not be negative")
		}
		if err := p.err(); err != nil {
			return err
		}
		qs, err := loadQuotas(t.tx, t.w)
		if err != nil {
			return err
		}
		qs = slices.DeleteFunc(qs, q.sameSlot)
		qs = append(qs, q)
		b, err := encode(&qs)
		if err != nil {
			return err
		}
		return t.tx.Set(t.w.quotasKey(), b)
	})
	return err
}

// Delete removes the quota for q's owner or team, period and currency; it
// is not an error if there is none.
func (s *Quotas) Delete(ctx context.Context, q Quota) error {
	q.From, q.To = q.From.UTC(), q.To.UTC()
	_, err := s.w.write(ctx, func(t *txn) error {
		qs, err := loadQuotas(t.tx, t.w)
		if err != nil {
			return err
		}
		b, err := encode(slices.DeleteFunc(qs, q.sameSlot))
		if err != nil {
			return err
		}
		return t.tx.Set(t.w.quotasKey(), b)
	})
	return err
}

// List returns the workspace's quotas in the order they were first set.
func (s *Quotas) List(ctx context.Context) ([]Quota, error) {
	var qs []Quota
	err := s.w.read(ctx, func(tx store.Tx) error {
		var err error
		qs, err = loadQuotas(tx, s.w)
		return err
	})
	return qs, err
}
