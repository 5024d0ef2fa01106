package report_test

import (
	"math"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReportsCutPeriodsInTheWorkspaceTimeZone creates a deal at 02:00 UTC
// on 1 March, which is still 28 February in New York: a workspace in New
// York puts it in February, a filter in UTC in March. An expected close
// date is a calendar date and stays in its month in every zone.
func TestReportsCutPeriodsInTheWorkspaceTimeZone(t *testing.T) {
	e := crmtest.Setup(t)
	_, err := e.CRM.UpdateWorkspace(e.Ctx, "acme", func(i *crm.WorkspaceInfo) error {
		i.TimeZone = "America/New_York"
		return nil
	})
	require.NoError(t, err)
	e.Clock.Set(time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC))
	_, err = e.WS.Deals().Create(e.Ctx, crm.Deal{Name: "Early", Amount: crm.Money{Amount: 100},
		CloseDate: crm.Date{Year: 2026, Month: time.March, Day: 1}})
	require.NoError(t, err)

	groups := func(f report.Filter) []string {
		t.Helper()
		rep, err := report.Conversion(e.Ctx, e.WS, report.ConversionOptions{Filter: f})
		require.NoError(t, err)
		var out []string
		for _, g := range rep.Groups {
			out = append(out, g.Group)
		}
		return out
	}
	assert.Equal(t, []string{"2026-02"}, groups(report.Filter{GroupBy: report.GroupMonth}), "the workspace's zone")
	assert.Equal(t, []string{"2026-03"}, groups(report.Filter{GroupBy: report.GroupMonth, TimeZone: "UTC"}), "the filter's zone")
	assert.Equal(t, []string{"2026-Q1"}, groups(report.Filter{GroupBy: report.GroupQuarter, TimeZone: "Asia/Tokyo"}))

	for _, zone := range []string{"", "UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"} {
		for _, scan := range []bool{false, true} {
			f := report.Filter{GroupBy: report.GroupMonth, TimeZone: zone}
			pipeline := report.Pipeline
			if scan {
				pipeline = report.PipelineByScan
			}
			rep, err := pipeline(e.Ctx, e.WS, f)
			require.NoError(t, err)
			require.Len(t, rep.Rows, 1)
			assert.Equal(t, "2026-03", rep.Rows[0].Group, "zone %q, scan %v: the close date's month", zone, scan)
			// Bounded to March in the zone: the deal is in.
			loc := time.UTC
			if zone != "" {
				loc, err = time.LoadLocation(zone)
				require.NoError(t, err)
			} else {
				loc, _ = time.LoadLocation("America/New_York")
			}
			f.From, f.To = time.Date(2026, 3, 1, 0, 0, 0, 0, loc), time.Date(2026, 4, 1, 0, 0, 0, 0, loc)
			rep, err = pipeline(e.Ctx, e.WS, f)
			require.NoError(t, err)
			assert.Len(t, rep.Rows, 1, "zone %q, scan %v: March bounds hold a 1 March close date", zone, scan)
		}
	}

	_, err = report.Pipeline(e.Ctx, e.WS, report.Filter{TimeZone: "Mars/Olympus_Mons"})
	assert.Equal(t, []string{"time_zone"}, crmtest.FieldErrors(t, err))
	_, err = e.CRM.UpdateWorkspace(e.Ctx, "acme", func(i *crm.WorkspaceInfo) error {
		i.TimeZone = "Local"
		return nil
	})
	assert.Equal(t, []string{"time_zone"}, crmtest.FieldErrors(t, err))
}

func TestFilterByCurrency(t *testing.T) {
	e := crmtest.Setup(t)
	for _, m := range []crm.Money{{Amount: 100, Currency: "EUR"}, {Amount: 200, Currency: "USD"}, {Amount: 300, Currency: "EUR"}, {}} {
		_, err := e.WS.Deals().Create(e.Ctx, crm.Deal{Name: "D", Amount: m})
		require.NoError(t, err)
	}
	for _, scan := range []bool{false, true} {
		pipeline := report.Pipeline
		if scan {
			pipeline = report.PipelineByScan
		}
		rep, err := pipeline(e.Ctx, e.WS, report.Filter{Currency: "eur"})
		require.NoError(t, err)
		require.Len(t, rep.Rows, 1)
		assert.Equal(t, "EUR", rep.Rows[0].Currency)
		assert.Equal(t, int64(2), rep.Rows[0].Count)
		assert.Equal(t, int64(400), rep.Rows[0].Amount)
	}
	_, err := report.Pipeline(e.Ctx, e.WS, report.Filter{Currency: "euro"})
	assert.Equal(t, []string{"currency"}, crmtest.FieldErrors(t, err))
}

// TestSumsPastInt64AreAnErrorNotANumber loads enough deals of the largest
// amount to pass 64 bits: the money reports say so instead of wrapping.
func TestSumsPastInt64AreAnErrorNotANumber(t *testing.T) {
	e := crmtest.Setup(t)
	_, err := e.WS.Deals().Create(e.Ctx, crm.Deal{Name: "Too big", Amount: crm.Money{Amount: math.MaxInt64 - 10}})
	assert.Contains(t, crmtest.FieldErrors(t, err), "amount.amount", "a single amount has a limit")

	n := math.MaxInt64/crm.MaxAmount + 1
	deals := make([]crm.Deal, n)
	for i := range deals {
		deals[i] = crm.Deal{Name: "Huge", Amount: crm.Money{Amount: crm.MaxAmount}, CloseDate: crm.Date{Year: 2026, Month: time.April, Day: 1}}
	}
	_, err = e.WS.Deals().CreateMany(e.Ctx, deals)
	require.NoError(t, err)
	_, err = report.Pipeline(e.Ctx, e.WS, report.Filter{})
	assert.ErrorIs(t, err, report.ErrOverflow, "the pipeline report, from the counters")
	_, err = report.PipelineByScan(e.Ctx, e.WS, report.Filter{})
	assert.ErrorIs(t, err, report.ErrOverflow, "the pipeline report, from the deals")
	_, err = report.Forecast(e.Ctx, e.WS, report.ForecastOptions{Filter: report.Filter{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}})
	assert.ErrorIs(t, err, report.ErrOverflow, "the forecast")
	// One owner's share fits: the report answers.
	rep, err := report.Pipeline(e.Ctx, e.WS, report.Filter{OwnerIDs: []string{"nobody"}})
	require.NoError(t, err)
	assert.Empty(t, rep.Rows)

	// Won, their amounts wrap the conversion aggregate's sum.
	var ids []string
	for d, err := range e.WS.Deals().List(e.Ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		ids = append(ids, d.ID)
	}
	_, won := crmtest.Sales(t, e)
	_, err = e.WS.Deals().UpdateMany(e.Ctx, ids, func(d *crm.Deal) error {
		d.StageID = won["Closed won"]
		return nil
	})
	require.NoError(t, err)
	_, err = report.Conversion(e.Ctx, e.WS, report.ConversionOptions{})
	assert.ErrorIs(t, err, report.ErrOverflow, "the conversion report, from the counters")
	_, err = report.ConversionByScan(e.Ctx, e.WS, report.ConversionOptions{})
	assert.ErrorIs(t, err, report.ErrOverflow, "the conversion report, from the deals")
}
