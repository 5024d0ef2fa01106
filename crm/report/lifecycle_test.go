package report_test

import (
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repClockTo moves the test clock forward to t.
func repClockTo(t *testing.T, e *crmtest.Env, at time.Time) {
	t.Helper()
	d := at.Sub(e.Clock.Now())
	require.GreaterOrEqual(t, d, time.Duration(0), "the clock only moves forward")
	e.Clock.Advance(d)
}

// repContact creates a contact in a lifecycle stage, with an owner and a
// lead source.
func repContact(t *testing.T, e *crmtest.Env, name, stage, owner, source string) crm.Contact {
	t.Helper()
	c, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: name, Lifecycle: stage, OwnerID: owner, LeadSource: source})
	require.NoError(t, err)
	return c
}

// repStage changes a contact's lifecycle stage now.
func repStage(t *testing.T, e *crmtest.Env, c crm.Contact, stage string) {
	t.Helper()
	_, err := e.WS.Contacts().Update(e.Ctx, c.ID, func(c *crm.Contact) error { c.Lifecycle = stage; return nil })
	require.NoError(t, err)
}

func march(d int) time.Time { return time.Date(2026, 3, d, 9, 0, 0, 0, time.UTC) }

// leadFixture builds the contacts of the lead conversion tests. The
// clock starts on 2 March, 09:00 (t0); the default stages are subscriber,
// lead, marketing_qualified, sales_qualified, opportunity, customer,
// evangelist, churned.
//
//	a (web):   subscriber; lead at t0+2d; sales_qualified t0+6d; customer
//	           t0+10d (skips opportunity): converted after 8 days
//	b (web):   lead at t0; opportunity t0+5d (skips two): 5 days
//	c (web):   lead at t0, never converted
//	e (web):   created a customer: a lead and converted at t0, 0 days
//	f (web):   created churned: never a lead
//	d (event): subscriber, never a lead
//	h (event): subscriber; lead at t0+1d, never converted
//	g (event): created a lead on 11 April, outside March
func leadFixture(t *testing.T, e *crmtest.Env) map[string]crm.Contact {
	cs := map[string]crm.Contact{}
	for _, x := range [][3]string{
		{"a", "subscriber", "web"}, {"b", "lead", "web"}, {"c", "lead", "web"}, {"e", "customer", "web"},
		{"f", "churned", "web"}, {"d", "subscriber", "event"}, {"h", "subscriber", "event"},
	} {
		cs[x[0]] = repContact(t, e, x[0], x[1], "ann", x[2])
	}
	repClockTo(t, e, march(3))
	repStage(t, e, cs["h"], "lead")
	repClockTo(t, e, march(4))
	repStage(t, e, cs["a"], "lead")
	repClockTo(t, e, march(7))
	repStage(t, e, cs["b"], "opportunity")
	repClockTo(t, e, march(8))
	repStage(t, e, cs["a"], "sales_qualified")
	repClockTo(t, e, march(12))
	repStage(t, e, cs["a"], "customer")
	repClockTo(t, e, time.Date(2026, 4, 11, 9, 0, 0, 0, time.UTC))
	cs["g"] = repContact(t, e, "g", "lead", "bob", "event")
	return cs
}

func TestLeadConversion(t *testing.T) {
	e := crmtest.Setup(t)
	leadFixture(t, e)
	inMarch := report.Filter{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}

	t.Run("by source in March", func(t *testing.T) {
		f := inMarch
		f.GroupBy = report.GroupSource
		rep, err := report.LeadConversion(e.Ctx, e.WS, report.LifecycleOptions{Filter: f})
		require.NoError(t, err)
		require.Len(t, rep.Rows, 2)
		// event: h only (d never became a lead, g is in April).
		assert.Equal(t, report.LeadConversionRow{Group: "event", Leads: 1}, rep.Rows[0])
		// web: a, b, c, e are leads; a (8 days), b (5) and e (0) converted.
		web := rep.Rows[1]
		assert.Equal(t, "web", web.Group)
		assert.Equal(t, int64(4), web.Leads, "f went straight to churned and is no lead")
		assert.Equal(t, int64(3), web.Converted, "skipping opportunity or starting past it converts")
		assert.InDelta(t, 0.75, web.Rate, 1e-9)
		assert.InDelta(t, 13.0/3, web.AvgDays, 1e-9)
		assert.InDelta(t, 5.0, web.MedianDays, 1e-9)
		assert.Equal(t, "lead", rep.Options.Lead, "defaults are filled in")
	})

	t.Run("by month, all time", func(t *testing.T) {
		rep, err := report.LeadConversion(e.Ctx, e.WS, report.LifecycleOptions{Filter: report.Filter{GroupBy: report.GroupMonth}})
		require.NoError(t, err)
		require.Len(t, rep.Rows, 2)
		assert.Equal(t, "2026-03", rep.Rows[0].Group)
		assert.Equal(t, []int64{5, 3}, []int64{rep.Rows[0].Leads, rep.Rows[0].Converted})
		assert.Equal(t, report.LeadConversionRow{Group: "2026-04", Leads: 1}, rep.Rows[1], "g became a lead in April")
	})

	t.Run("by owner", func(t *testing.T) {
		rep, err := report.LeadConversion(e.Ctx, e.WS, report.LifecycleOptions{Filter: report.Filter{GroupBy: report.GroupOwner, OwnerIDs: []string{"bob"}}})
		require.NoError(t, err)
		require.Len(t, rep.Rows, 1)
		assert.Equal(t, report.LeadConversionRow{Group: "bob", Leads: 1}, rep.Rows[0])
	})

	t.Run("custom stages", func(t *testing.T) {
		// Counting from sales_qualified: a (8 March, converted by the
		// customer stage 4 days later), b (opportunity on 7 March is past
		// both: 0 days) and e (created a customer: 0 days).
		rep, err := report.LeadConversion(e.Ctx, e.WS, report.LifecycleOptions{Filter: inMarch, Lead: "sales_qualified"})
		require.NoError(t, err)
		require.Len(t, rep.Rows, 1)
		assert.Equal(t, []int64{3, 3}, []int64{rep.Rows[0].Leads, rep.Rows[0].Converted})
		assert.InDelta(t, 4.0/3, rep.Rows[0].AvgDays, 1e-9)
	})

	t.Run("errors", func(t *testing.T) {
		_, err := report.LeadConversion(e.Ctx, e.WS, report.LifecycleOptions{Filter: report.Filter{GroupBy: report.GroupStage}})
		assert.Equal(t, []string{"group_by"}, crmtest.FieldErrors(t, err))
	})
}

// churnFixture builds the customers of the churn tests, for the period
// 10 to 20 March:
//
//	k1: a customer throughout (retained)
//	k2: a customer, churned 12 March (churned)
//	k3: a lead, a customer 15 March (new)
//	k4: a customer, churned 5 March, before the period (not counted)
//	k5: a customer, an evangelist 12 March (a later stage: retained)
//	k6: a lead, a customer 25 March, after the period (not counted)
//	k7: created a customer 12 March (new)
//	k8: a customer, churned 12 March, back 14 March (churned, and a
//	    customer at the end)
func churnFixture(t *testing.T, e *crmtest.Env) {
	cs := map[string]crm.Contact{}
	for _, x := range [][3]string{
		{"k1", "customer", "ann"}, {"k2", "customer", "ann"}, {"k3", "lead", "bob"}, {"k4", "customer", "bob"},
		{"k5", "customer", "bob"}, {"k6", "lead", "bob"}, {"k8", "customer", "bob"},
	} {
		cs[x[0]] = repContact(t, e, x[0], x[1], x[2], "")
	}
	repClockTo(t, e, march(5))
	repStage(t, e, cs["k4"], "churned")
	repClockTo(t, e, march(12))
	repStage(t, e, cs["k2"], "churned")
	repStage(t, e, cs["k5"], "evangelist")
	repStage(t, e, cs["k8"], "churned")
	repContact(t, e, "k7", "customer", "bob", "")
	repClockTo(t, e, march(14))
	repStage(t, e, cs["k8"], "customer")
	repClockTo(t, e, march(15))
	repStage(t, e, cs["k3"], "customer")
	repClockTo(t, e, march(25))
	repStage(t, e, cs["k6"], "customer")
}

func TestChurn(t *testing.T) {
	e := crmtest.Setup(t)
	churnFixture(t, e)
	period := func(from, to time.Time, g report.Group) report.LifecycleOptions {
		return report.LifecycleOptions{Filter: report.Filter{From: from, To: to, GroupBy: g}}
	}
	from, to := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)

	rep, err := report.Churn(e.Ctx, e.WS, period(from, to, report.GroupNone))
	require.NoError(t, err)
	require.Len(t, rep.Rows, 1)
	// At start: k1 k2 k5 k8; churned: k2 k8; new: k3 k7; at end: k1 k3
	// k5 k7 k8.
	assert.Equal(t, report.ChurnRow{AtStart: 4, New: 2, Churned: 2, AtEnd: 5, ChurnRate: 0.5, Retention: 0.5}, rep.Rows[0])

	rep, err = report.Churn(e.Ctx, e.WS, period(from, to, report.GroupOwner))
	require.NoError(t, err)
	require.Len(t, rep.Rows, 2)
	assert.Equal(t, report.ChurnRow{Group: "ann", AtStart: 2, Churned: 1, AtEnd: 1, ChurnRate: 0.5, Retention: 0.5}, rep.Rows[0])
	assert.Equal(t, report.ChurnRow{Group: "bob", AtStart: 2, New: 2, Churned: 1, AtEnd: 4, ChurnRate: 0.5, Retention: 0.5}, rep.Rows[1])

	// A quiet later period: six customers, nobody churns.
	rep, err = report.Churn(e.Ctx, e.WS, period(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC), report.GroupNone))
	require.NoError(t, err)
	require.Len(t, rep.Rows, 1)
	assert.Equal(t, report.ChurnRow{AtStart: 6, AtEnd: 6, Retention: 1}, rep.Rows[0])

	// A period before any contact existed has no rows.
	rep, err = report.Churn(e.Ctx, e.WS, period(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), report.GroupNone))
	require.NoError(t, err)
	assert.Empty(t, rep.Rows)
	assert.NotNil(t, rep.Rows, "an empty report marshals as []")

	_, err = report.Churn(e.Ctx, e.WS, report.LifecycleOptions{})
	assert.Equal(t, []string{"from"}, crmtest.FieldErrors(t, err))
	_, err = report.Churn(e.Ctx, e.WS, period(from, to, report.GroupMonth))
	assert.Equal(t, []string{"group_by"}, crmtest.FieldErrors(t, err))
}
