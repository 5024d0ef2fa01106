package report_test

import (
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReportsUnderPolicy: a report is computed over the records the
// principal may read, and a hidden amount adds nothing.
func TestReportsUnderPolicy(t *testing.T) {
	e := crmtest.Setup(t)
	sys := crm.As(e.Ctx, crm.System())
	_, err := e.WS.SetPolicy(sys, crm.Policy{Roles: []crm.Role{{
		Name:   "support",
		Grants: []crm.Grant{{Kind: crm.AnyKind, Actions: []crm.Action{crm.ActionRead}, Scope: crm.ScopeAll}},
		Fields: []crm.FieldRule{{Field: "deal.amount", Access: crm.FieldHidden}, {Field: "deal.source", Access: crm.FieldHidden}},
	}}})
	require.NoError(t, err)
	for i, owner := range []string{"bob", "bob", "carl", "carl", "carl"} {
		_, err := e.WS.Deals().Create(sys, crm.Deal{Name: "d", OwnerID: owner, Source: []string{"web", "ads"}[i%2], Amount: crm.Money{Amount: 100_00}})
		require.NoError(t, err)
	}
	total := func(p crm.Principal, g report.Group) (count, amount int64, groups map[string]bool) {
		r, err := report.Pipeline(crm.As(e.Ctx, p), e.WS, report.Filter{GroupBy: g})
		require.NoError(t, err)
		groups = map[string]bool{}
		for _, row := range r.Rows {
			count += row.Count
			amount += row.Amount
			groups[row.Group] = true
		}
		return count, amount, groups
	}
	n, amount, _ := total(crm.Principal{ID: "bob", Roles: []string{"rep"}}, report.GroupNone)
	assert.EqualValues(t, 2, n, "a rep's pipeline is the rep's")
	assert.EqualValues(t, 200_00, amount)
	n, amount, _ = total(crm.Principal{ID: "sue", Roles: []string{"support"}}, report.GroupNone)
	assert.EqualValues(t, 5, n)
	assert.Zero(t, amount, "the hidden amount adds nothing")
	_, _, groups := total(crm.Principal{ID: "sue", Roles: []string{"support"}}, report.GroupSource)
	assert.NotContains(t, groups, "web", "grouped by a hidden field, the values do not show")
	assert.NotContains(t, groups, "ads")
}

// TestConversionUnderPolicy: the conversion report from counters covers
// the deals the principal may read, as the streamed one does, and a
// principal the counters cannot serve (a hidden amount) is streamed.
func TestConversionUnderPolicy(t *testing.T) {
	e := crmtest.Setup(t)
	_, st := crmtest.Sales(t, e)
	sys := crm.As(e.Ctx, crm.System())
	_, err := e.WS.SetPolicy(sys, crm.Policy{Roles: []crm.Role{{
		Name:   "support",
		Grants: []crm.Grant{{Kind: crm.AnyKind, Actions: []crm.Action{crm.ActionRead}, Scope: crm.ScopeAll}},
		Fields: []crm.FieldRule{{Field: "deal.amount", Access: crm.FieldHidden}},
	}}})
	require.NoError(t, err)
	for i, owner := range []string{"bob", "bob", "carl", "carl", "carl"} {
		d, err := e.WS.Deals().Create(sys, crm.Deal{Name: "d", OwnerID: owner, Amount: crm.Money{Amount: 100_00}})
		require.NoError(t, err)
		e.Clock.Advance(crmtest.Day)
		_, err = e.WS.Deals().Move(sys, d.ID, st["Proposal"])
		require.NoError(t, err)
		if i%2 == 0 {
			e.Clock.Advance(crmtest.Day)
			_, err = e.WS.Deals().Win(sys, d.ID)
			require.NoError(t, err)
		}
	}
	e.Clock.Advance(30 * crmtest.Day)
	for _, p := range []crm.Principal{{ID: "bob", Roles: []string{"rep"}}, {ID: "sue", Roles: []string{"support"}}} {
		ctx := crm.As(e.Ctx, p)
		got, err := report.Conversion(ctx, e.WS, report.ConversionOptions{Filter: report.Filter{GroupBy: report.GroupOwner}})
		require.NoError(t, err, p.ID)
		want, err := report.ConversionByScan(ctx, e.WS, report.ConversionOptions{Filter: report.Filter{GroupBy: report.GroupOwner}})
		require.NoError(t, err, p.ID)
		assert.Equal(t, want, got, p.ID)
		require.NoError(t, e.WS.View(ctx, func(rt *crm.ReadTx) error {
			_, ok, err := rt.ConversionCounters()
			assert.Equal(t, p.ID == "bob", ok, "%s: the counters serve the rep, not who may not see amounts", p.ID)
			return err
		}))
		if p.ID == "bob" {
			require.Len(t, got.Groups, 1, "a rep's report is the rep's")
			assert.EqualValues(t, 2, got.Groups[0].Deals)
			assert.NotEmpty(t, got.Stalled)
		}
	}
}
