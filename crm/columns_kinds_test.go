package crm_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestColumnsAgreeWithRecordsForDealsAndCompanies runs random filters
// over the projected fields of deals and companies, which the planner
// checks on column projections, and requires every count and member list
// to equal the records that match one by one (Contains reads the
// record), after creates, moves, wins, updates, deletes and restores.
func TestColumnsAgreeWithRecordsForDealsAndCompanies(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 11))
	e := setup(t)
	_, err := e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindDeal, Name: "weight", Type: crm.FieldNumber})
	require.NoError(t, err)
	pl, err := e.ws.Pipelines().Default(e.ctx)
	require.NoError(t, err)
	owners := []string{"ann", "bob", ""}
	industries := []string{"Software", "software", "Retail", ""}
	countries := []string{"DE", "FR", ""}
	var deals, companies []string
	for i := range 40 {
		e.clock.Advance(time.Duration(r.IntN(48)) * time.Hour)
		co, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: fmt.Sprint("Co ", i), Industry: pick(r, industries),
			OwnerID: pick(r, owners), Address: crm.Address{Country: pick(r, countries)}})
		require.NoError(t, err)
		companies = append(companies, co.ID)
		d := crm.Deal{Name: fmt.Sprint("Deal ", i), OwnerID: pick(r, owners), Custom: crm.Custom{}}
		if r.IntN(4) > 0 {
			d.Amount = crm.Money{Amount: int64(r.IntN(5)) * 1000, Currency: "EUR"}
		}
		if r.IntN(3) > 0 {
			d.CloseDate = crm.Date{Year: 2026, Month: time.Month(1 + r.IntN(12)), Day: 1 + r.IntN(28)}
		}
		if r.IntN(2) > 0 {
			d.Custom["weight"] = float64(r.IntN(10))
		}
		dl, err := e.ws.Deals().Create(e.ctx, d)
		require.NoError(t, err)
		deals = append(deals, dl.ID)
	}
	for range 40 {
		e.clock.Advance(time.Hour)
		id := pick(r, deals)
		switch r.IntN(5) {
		case 0:
			_, err = e.ws.Deals().Move(e.ctx, id, pick(r, pl.Stages).ID)
		case 1:
			_, err = e.ws.Deals().Win(e.ctx, id)
		case 2:
			_, err = e.ws.Deals().Update(e.ctx, id, func(d *crm.Deal) error {
				d.Amount, d.OwnerID = crm.Money{Amount: int64(r.IntN(5)) * 1000, Currency: "EUR"}, pick(r, owners)
				return nil
			})
		case 3:
			err = e.ws.Deals().Delete(e.ctx, id)
		case 4:
			err = e.ws.Deals().Restore(e.ctx, id)
		}
		if err != nil && !strings.Contains(err.Error(), "deleted") && !strings.Contains(err.Error(), "not deleted") {
			require.NoError(t, err)
		}
		coID := pick(r, companies)
		if r.IntN(3) == 0 {
			err = e.ws.Companies().Delete(e.ctx, coID)
		} else {
			_, err = e.ws.Companies().Update(e.ctx, coID, func(c *crm.Company) error {
				c.Industry = pick(r, industries)
				return nil
			})
		}
		if err != nil && !strings.Contains(err.Error(), "deleted") {
			require.NoError(t, err)
		}
	}
	now := e.clock.Now()
	dealFilter := func() filter.Expr {
		switch r.IntN(8) {
		case 0:
			return filter.Where("stage_id").Ne(pick(r, pl.Stages).ID)
		case 1:
			return filter.Where("status").Ne(pick(r, []string{"open", "won", "lost"}))
		case 2:
			return filter.Where("amount").Ge(float64(r.IntN(5) * 1000))
		case 3:
			return filter.Where("amount").IsNotSet()
		case 4:
			return filter.Where("close_date").Lt(time.Date(2026, time.Month(1+r.IntN(12)), 1, 0, 0, 0, 0, time.UTC))
		case 5:
			return filter.Where("owner_id").Ne(pick(r, owners))
		case 6:
			return filter.Where("custom.weight").Gt(float64(r.IntN(10)))
		}
		return filter.Where("updated_at").Ge(now.Add(-time.Duration(r.IntN(60)) * time.Hour))
	}
	companyFilter := func() filter.Expr {
		switch r.IntN(4) {
		case 0:
			return filter.Where("industry").Ne(pick(r, industries))
		case 1:
			return filter.Where("address.country").NotIn(pick(r, countries), "XX")
		case 2:
			return filter.Where("owner_id").IsNotSet()
		}
		return filter.Where("created_at").Lt(now.Add(-time.Duration(r.IntN(1000)) * time.Hour))
	}
	columns := 0
	for range 150 {
		object, ids, f := crm.KindDeal, deals, dealFilter()
		if r.IntN(3) == 0 {
			object, ids, f = crm.KindCompany, companies, companyFilter()
		} else if r.IntN(2) == 0 {
			f = filter.And(f, dealFilter())
		}
		q := e.ws.Query(object, f)
		var want []string
		for _, id := range ids {
			in, err := q.Contains(e.ctx, id)
			require.NoError(t, err)
			if in {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		plan, err := q.Explain(e.ctx)
		require.NoError(t, err)
		if strings.Contains(plan, "column projection") {
			columns++
		}
		n, err := q.Count(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(len(want)), n, "count of %s %s\n%s", object, f, plan)
		var got []string
		for m, err := range q.Members(e.ctx, "") {
			require.NoError(t, err)
			got = append(got, m.ID)
		}
		slices.Sort(got)
		assert.Equal(t, want, got, "members of %s %s\n%s", object, f, plan)
	}
	assert.Greater(t, columns, 75, "plans that read column projections")
}
