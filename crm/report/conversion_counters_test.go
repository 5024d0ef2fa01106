package report_test

import (
	"fmt"
	"math/rand/v2"
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
