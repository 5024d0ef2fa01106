package report_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conversionFilters are conversion report options the aggregate answers,
// and some it leaves to the scan.
func conversionFilters(other crm.Pipeline) map[string]report.ConversionOptions {
	apr := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	return map[string]report.ConversionOptions{
		"all":                  {},
		"by owner":             {Filter: report.Filter{GroupBy: report.GroupOwner}},
		"by stage":             {Filter: report.Filter{GroupBy: report.GroupStage}},
		"by month":             {Filter: report.Filter{GroupBy: report.GroupMonth}},
		"by quarter":           {Filter: report.Filter{GroupBy: report.GroupQuarter}},
		"one pipeline":         {Filter: report.Filter{PipelineID: other.ID, GroupBy: report.GroupOwner}},
		"two owners":           {Filter: report.Filter{OwnerIDs: []string{"ann", "cem"}, GroupBy: report.GroupStage}},
		"no owner":             {Filter: report.Filter{OwnerIDs: []string{""}}},
		"usd":                  {Filter: report.Filter{Currency: "USD", GroupBy: report.GroupMonth}},
		"months":               {Filter: report.Filter{From: apr, To: apr.AddDate(0, 3, 0), GroupBy: report.GroupMonth}},
		"from a month":         {Filter: report.Filter{From: apr}},
		"stall factor 1":       {StallFactor: 1},
		"stall factor 5":       {StallFactor: 5, Filter: report.Filter{GroupBy: report.GroupOwner}},
		"one stalled":          {StalledLimit: 1},
		"three stalled of two": {StalledLimit: 3, Filter: report.Filter{OwnerIDs: []string{"ann", "bob"}, Currency: "EUR"}},
		"every stalled":        {StalledLimit: -1, StallFactor: 0.5},
		"stalled from april":   {StalledLimit: 2, Filter: report.Filter{From: apr}},
		"mid-month (scan)":     {Filter: report.Filter{From: apr.AddDate(0, 0, 10)}},
		"by week (scan)":       {Filter: report.Filter{GroupBy: report.GroupWeek}},
		"by source (scan)":     {Filter: report.Filter{GroupBy: report.GroupSource}},
		"berlin months (scan)": {Filter: report.Filter{GroupBy: report.GroupMonth, TimeZone: "Europe/Berlin"}},
		"berlin by owner":      {Filter: report.Filter{GroupBy: report.GroupOwner, TimeZone: "Europe/Berlin"}},
		"where (scan)":         {Filter: report.Filter{Where: `owner_id = "ann"`}},
	}
}

// assertConversionMatchesScan compares every filter's report with the one
// streamed from the deals, and returns how many stalled deals the
// reports counted and how many they listed.
func assertConversionMatchesScan(t *testing.T, e *crmtest.Env, other crm.Pipeline) (counted, listed int) {
	t.Helper()
	require.NoError(t, e.WS.View(e.Ctx, func(rt *crm.ReadTx) error {
		_, ok, err := rt.ConversionCounters()
		assert.True(t, ok, "the aggregate accounts for every deal")
		return err
	}))
	for name, o := range conversionFilters(other) {
		got, err := report.Conversion(e.Ctx, e.WS, o)
		require.NoError(t, err, name)
		want, err := report.ConversionByScan(e.Ctx, e.WS, o)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
		counted, listed = counted+int(got.StalledCount), listed+len(got.Stalled)
		if o.StalledLimit < 0 {
			assert.Len(t, got.Stalled, int(got.StalledCount), name)
		}
	}
	return counted, listed
}

func TestConversionCountersFollowEveryChange(t *testing.T) {
	e := crmtest.Setup(t)
	sales, _ := crmtest.Sales(t, e)
	other, err := e.WS.Pipelines().Create(e.Ctx, crm.Pipeline{Name: "Renewals", Stages: []crm.Stage{
		{Name: "Due", Probability: 30, Kind: crm.StageOpen}, {Name: "Quoted", Probability: 70, Kind: crm.StageOpen},
		{Name: "Renewed", Probability: 100, Kind: crm.StageWon}, {Name: "Lapsed", Kind: crm.StageLost},
	}})
	require.NoError(t, err)
	pipelines := []crm.Pipeline{sales, other}
	owners := []string{"", "ann", "bob", "cem"}
	currencies := []string{"EUR", "USD"}
	rng := rand.New(rand.NewPCG(3, 5))

	// tick moves the clock by minutes to months, so stays and cycles fall
	// in hour, day and 30-day buckets and deals in several cohort months.
	tick := func() {
		switch rng.IntN(10) {
		case 0:
			e.Clock.Advance(time.Duration(rng.IntN(600)) * time.Minute)
		case 1:
			e.Clock.Advance(time.Duration(30+rng.IntN(400)) * crmtest.Day)
		default:
			e.Clock.Advance(time.Duration(rng.IntN(72*60)) * time.Minute)
		}
	}
	amount := func() crm.Money {
		if rng.IntN(5) == 0 {
			return crm.Money{}
		}
		return crm.Money{Amount: int64(rng.IntN(100_000)), Currency: currencies[rng.IntN(2)]}
	}
	var ids []string
	create := func(i int) {
		pl := pipelines[rng.IntN(2)]
		d := crm.Deal{Name: fmt.Sprint("Deal ", i), PipelineID: pl.ID, OwnerID: owners[rng.IntN(len(owners))], Amount: amount(),
			Source: []string{"web", "ads"}[rng.IntN(2)]}
		if rng.IntN(3) == 0 {
			d.StageID = pl.Stages[rng.IntN(len(pl.Stages))].ID
		}
		created, err := e.WS.Deals().Create(e.Ctx, d)
		require.NoError(t, err)
		ids = append(ids, created.ID)
	}
	for i := range 60 {
		create(i)
		tick()
	}
	assertConversionMatchesScan(t, e, other)

	// Every kind of change, at random: moves back and forth, wins, losses
	// and reopenings, pipeline, owner and amount changes, deletions,
	// restores and erasures.
	deleted := map[string]bool{}
	for i := range 500 {
		tick()
		id := ids[rng.IntN(len(ids))]
		switch op := rng.IntN(12); {
		case op == 0:
			create(1000 + i)
		case deleted[id] && op < 6:
			require.NoError(t, e.WS.Deals().Restore(e.Ctx, id))
			deleted[id] = false
		case deleted[id]:
			continue
		case op == 1:
			_, err = e.WS.Deals().Win(e.Ctx, id)
		case op == 2:
			_, err = e.WS.Deals().Lose(e.Ctx, id, "price")
		case op == 3:
			err = e.WS.Deals().Delete(e.Ctx, id)
			deleted[id] = true
		case op == 4 && rng.IntN(3) == 0:
			err = e.WS.Deals().Erase(e.Ctx, id)
			ids = removeID(ids, id)
		case op == 5:
			pl := pipelines[rng.IntN(2)]
			_, err = e.WS.Deals().Update(e.Ctx, id, func(d *crm.Deal) error {
				d.PipelineID, d.StageID = pl.ID, pl.Stages[rng.IntN(len(pl.Stages))].ID
				return nil
			})
		case op == 6:
			_, err = e.WS.Deals().Update(e.Ctx, id, func(d *crm.Deal) error {
				d.OwnerID, d.Amount = owners[rng.IntN(len(owners))], amount()
				return nil
			})
		default:
			// A move within the pipeline: on, back, or to a closed stage
			// and out of it again.
			_, err = e.WS.Deals().Update(e.Ctx, id, func(d *crm.Deal) error {
				pl := pipelines[0]
				if d.PipelineID == other.ID {
					pl = other
				}
				d.StageID = pl.Stages[rng.IntN(len(pl.Stages))].ID
				return nil
			})
		}
		require.NoError(t, err)
	}
	e.Clock.Advance(20 * crmtest.Day)
	counted, listed := assertConversionMatchesScan(t, e, other)
	assert.NotZero(t, listed, "the data has stalled deals, read from the index")
	assert.Greater(t, counted, listed, "some reports list fewer stalled deals than they count")

	_, err = e.WS.Pipelines().RemoveStage(e.Ctx, other.ID, other.Stages[0].ID, other.Stages[1].ID)
	require.NoError(t, err)
	assertConversionMatchesScan(t, e, other)

	rep, err := e.WS.Check(e.Ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, rep.Drifted(), "%v", rep.Issues)
}

// TestConversionMediansAreBucketed pins the documented precision: stays
// of 5h, 30h and 50h have the median 30h, which reads one day (its
// bucket's start); the mean is exact.
func TestConversionMediansAreBucketed(t *testing.T) {
	e := crmtest.Setup(t)
	_, st := crmtest.Sales(t, e)
	for _, h := range []int{5, 30, 50} {
		d, err := e.WS.Deals().Create(e.Ctx, crm.Deal{Name: fmt.Sprint(h), StageID: st["Qualification"]})
		require.NoError(t, err)
		e.Clock.Advance(time.Duration(h) * time.Hour)
		_, err = e.WS.Deals().Move(e.Ctx, d.ID, "Proposal")
		require.NoError(t, err)
	}
	for _, read := range []func() (*report.ConversionReport, error){
		func() (*report.ConversionReport, error) {
			return report.Conversion(e.Ctx, e.WS, report.ConversionOptions{})
		},
		func() (*report.ConversionReport, error) {
			return report.ConversionByScan(e.Ctx, e.WS, report.ConversionOptions{})
		},
	} {
		rep, err := read()
		require.NoError(t, err)
		require.NotEmpty(t, rep.StageTimes)
		lead := rep.StageTimes[0] // the first stage
		require.Equal(t, "Qualification", lead.Stage)
		assert.Equal(t, int64(3), lead.Stays)
		assert.InDelta(t, 85.0/3/24, lead.AvgDays, 1e-9)
		assert.Equal(t, 1.0, lead.MedianDays)
	}
	assert.Equal(t, time.Duration(0), crm.DurationBucketStart(crm.DurationBucket(59*time.Minute)))
	assert.Equal(t, 23*time.Hour, crm.DurationBucketStart(crm.DurationBucket(23*time.Hour+59*time.Minute)))
	assert.Equal(t, 365*crmtest.Day, crm.DurationBucketStart(crm.DurationBucket(365*crmtest.Day+23*time.Hour)))
	assert.Equal(t, 366*crmtest.Day, crm.DurationBucketStart(crm.DurationBucket(395*crmtest.Day)))
	assert.Equal(t, 396*crmtest.Day, crm.DurationBucketStart(crm.DurationBucket(396*crmtest.Day)))
}

// TestStalledDealsAtBoundaries puts open deals at the edges the counter
// path cuts at (several at one instant, the last nanosecond of a month,
// the first of the next) and moves the clock so that the stall threshold
// falls on each of them, a nanosecond or a second either side, and on
// month starts: the counter path must count and list what streaming the
// deals does, under limits that fall inside a group of ties, filters,
// another time zone and a rep's principal.
func TestStalledDealsAtBoundaries(t *testing.T) {
	e := crmtest.Setup(t)
	pl, st := crmtest.Sales(t, e)
	sys := crm.As(e.Ctx, crm.System())
	imp := crm.WithImportedHistory(sys)
	utc := func(y int, m time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, m, d, h, mi, s, ns, time.UTC)
	}
	// Won deals whose 200 days in Proposal make its median.
	for i := range 5 {
		t0 := utc(2024, 6, 1+i, 0, 0, 0, 0)
		_, err := e.WS.Deals().Create(imp, crm.Deal{Name: "won", PipelineID: pl.ID, StageID: st["Closed won"], OwnerID: "ann",
			Amount:       crm.Money{Amount: 5, Currency: "EUR"},
			StageHistory: []crm.StageEntry{{StageID: st["Proposal"], EnteredAt: t0}, {StageID: st["Closed won"], EnteredAt: t0.Add(200 * crmtest.Day)}}})
		require.NoError(t, err)
	}
	owners := []string{"ann", "bob", "cem"}
	times := []time.Time{
		utc(2025, 11, 15, 0, 0, 0, 0), utc(2025, 11, 15, 0, 0, 0, 0), utc(2025, 11, 15, 0, 0, 0, 0), utc(2025, 11, 15, 0, 0, 0, 0), utc(2025, 11, 15, 0, 0, 0, 0),
		utc(2025, 11, 30, 23, 59, 59, 999999999), utc(2025, 11, 30, 23, 59, 59, 999999999),
		utc(2025, 12, 1, 0, 0, 0, 0), utc(2025, 12, 1, 0, 0, 0, 0), utc(2025, 12, 1, 0, 0, 0, 0),
		utc(2025, 12, 31, 23, 59, 59, 500000000), utc(2026, 1, 1, 0, 0, 0, 0), utc(2026, 1, 1, 0, 0, 0, 0),
		utc(2026, 1, 31, 23, 59, 59, 0), utc(2026, 2, 1, 0, 0, 0, 0), utc(2026, 2, 1, 0, 0, 0, 1),
		utc(2026, 2, 10, 0, 0, 0, 0), utc(2026, 2, 20, 0, 0, 0, 0),
	}
	for i, tm := range times {
		// Cohorts start up to 80 days before the stage entry.
		cs := tm.Add(-time.Duration(i%3) * 40 * crmtest.Day)
		h := []crm.StageEntry{{StageID: st["Qualification"], EnteredAt: cs}, {StageID: st["Proposal"], EnteredAt: tm}}
		if cs.Equal(tm) {
			h = h[1:]
		}
		_, err := e.WS.Deals().Create(imp, crm.Deal{Name: fmt.Sprintf("open %02d", len(times)-i), PipelineID: pl.ID, StageID: st["Proposal"],
			OwnerID: owners[i%3], Amount: crm.Money{Amount: int64(i), Currency: []string{"EUR", "USD"}[i%2]}, StageHistory: h})
		require.NoError(t, err)
	}
	rep, err := report.Conversion(sys, e.WS, report.ConversionOptions{StallFactor: 1})
	require.NoError(t, err)
	var median time.Duration
	for _, s := range rep.StageTimes {
		if s.StageID == st["Proposal"] {
			median = time.Duration(s.MedianDays * 24 * float64(time.Hour))
		}
	}
	require.Equal(t, 200*crmtest.Day, median)

	var nows []time.Time
	for _, tm := range times {
		for _, d := range []time.Duration{-time.Second, -1, 0, 1, time.Second} {
			nows = append(nows, tm.Add(median+d))
		}
	}
	for _, m := range []time.Time{utc(2025, 12, 1, 0, 0, 0, 0), utc(2026, 1, 1, 0, 0, 0, 0), utc(2026, 2, 1, 0, 0, 0, 0)} {
		for _, d := range []time.Duration{-time.Second - 1, -time.Second, -time.Second + 1, 0, 1} {
			nows = append(nows, m.Add(median+d))
		}
	}
	slices.SortFunc(nows, time.Time.Compare)
	var opts []report.ConversionOptions
	for _, limit := range []int{-1, 1, 3, 5, 8} {
		for _, f := range []report.Filter{
			{},
			{OwnerIDs: []string{"ann", "cem"}},
			{Currency: "USD"},
			{From: utc(2025, 11, 1, 0, 0, 0, 0), To: utc(2026, 1, 1, 0, 0, 0, 0)},
			{TimeZone: "Pacific/Kiritimati", From: utc(2025, 12, 1, 0, 0, 0, 0)},
		} {
			opts = append(opts, report.ConversionOptions{StallFactor: 1, StalledLimit: limit, Filter: f})
		}
	}
	rep2 := crm.As(e.Ctx, crm.Principal{ID: "bob", Roles: []string{"rep"}})
	for _, now := range nows {
		require.False(t, now.Before(e.Clock.Now()))
		e.Clock.Advance(now.Sub(e.Clock.Now()))
		for i, o := range opts {
			for _, ctx := range []context.Context{sys, rep2} {
				if ctx == rep2 && i%5 != 0 {
					continue
				}
				got, err := report.Conversion(ctx, e.WS, o)
				require.NoError(t, err)
				want, err := report.ConversionByScan(ctx, e.WS, o)
				require.NoError(t, err)
				require.Equal(t, want.StalledCount, got.StalledCount, "at %v, options %+v", now, o)
				require.Equal(t, want.Stalled, got.Stalled, "at %v, options %+v", now, o)
			}
		}
	}
}
