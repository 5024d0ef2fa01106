package report

import (
	"context"
	"errors"
	"iter"
	"slices"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// The report package keeps its state in the workspace's Space "report":
// every quota in one value at "quotas", each forecast snapshot at
// "snapshot/" + its ID.
const (
	spaceName      = "report"
	quotasKey      = "quotas"
	snapshotPrefix = "snapshot/"
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
	Amount crm.Money `msgpack:"amount" json:"amount"`
}

func (q Quota) sameSlot(o Quota) bool {
	return q.OwnerID == o.OwnerID && q.Team == o.Team && q.From.Equal(o.From) && q.To.Equal(o.To) && q.Amount.Currency == o.Amount.Currency
}

func loadQuotas(s crm.Space) ([]Quota, error) {
	b, err := s.Get([]byte(quotasKey))
	if errors.Is(err, crm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var qs []Quota
	return qs, crm.Unmarshal(b, &qs)
}

func saveQuotas(s crm.Space, qs []Quota) error {
	b, err := crm.Marshal(qs)
	if err != nil {
		return err
	}
	return s.Set([]byte(quotasKey), b)
}

// SetQuota stores a quota, replacing the one for the same owner or team,
// period and currency. It fails with a *crm.ValidationError naming the
// field when the quota is malformed.
func SetQuota(ctx context.Context, ws *crm.Workspace, q Quota) error {
	return ws.Update(ctx, func(tx *crm.Tx) error {
		ve := &crm.ValidationError{Kind: "quota"}
		q.OwnerID = crm.CheckText(ve, "owner_id", q.OwnerID)
		q.Team = crm.CheckText(ve, "team", q.Team)
		if (q.OwnerID == "") == (q.Team == "") {
			ve.Add("owner_id", "set exactly one of owner_id and team")
		}
		if q.OwnerID != "" && len(q.Members) > 0 {
			ve.Add("members", "only a team has members")
		}
		if q.Team != "" && len(q.Members) == 0 {
			ve.Add("members", "a team quota needs its members")
		}
		if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) {
			ve.Add("to", "the period needs a from before its to")
		}
		q.From, q.To = q.From.UTC(), q.To.UTC()
		q.Amount = crm.CheckMoney(ve, "amount", q.Amount, tx.Workspace().Currency)
		if err := ve.Err(); err != nil {
			return err
		}
		s := tx.Space(spaceName)
		qs, err := loadQuotas(s)
		if err != nil {
			return err
		}
		qs = slices.DeleteFunc(qs, q.sameSlot)
		return saveQuotas(s, append(qs, q))
	})
}

// DeleteQuota removes the quota for q's owner or team, period and
// currency; it is not an error if there is none.
func DeleteQuota(ctx context.Context, ws *crm.Workspace, q Quota) error {
	q.From, q.To = q.From.UTC(), q.To.UTC()
	return ws.Update(ctx, func(tx *crm.Tx) error {
		s := tx.Space(spaceName)
		qs, err := loadQuotas(s)
		if err != nil {
			return err
		}
		return saveQuotas(s, slices.DeleteFunc(qs, q.sameSlot))
	})
}

// Quotas streams the workspace's quotas in the order they were first set.
func Quotas(ctx context.Context, ws *crm.Workspace) iter.Seq2[Quota, error] {
	return func(yield func(Quota, error) bool) {
		var qs []Quota
		err := ws.View(ctx, func(rt *crm.ReadTx) error {
			var err error
			qs, err = loadQuotas(rt.Space(spaceName))
			return err
		})
		if err != nil {
			yield(Quota{}, err)
			return
		}
		for _, q := range qs {
			if !yield(q, nil) {
				return
			}
		}
	}
}
