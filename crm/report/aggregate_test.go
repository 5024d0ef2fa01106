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

// pipelineFilters are report filters the aggregate answers, and some it
// leaves to the scan.
func pipelineFilters(other crm.Pipeline) map[string]report.Filter {
	may := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	return map[string]report.Filter{
		"all":              {},
		"by owner":         {GroupBy: report.GroupOwner},
		"by stage":         {GroupBy: report.GroupStage},
		"by month":         {GroupBy: report.GroupMonth},
		"by quarter":       {GroupBy: report.GroupQuarter},
		"one pipeline":     {PipelineID: other.ID, GroupBy: report.GroupMonth},
		"two owners":       {OwnerIDs: []string{"ann", "cem"}},
		"months":           {From: may, To: may.AddDate(0, 3, 0), GroupBy: report.GroupMonth},
		"from a month":     {From: may},
		"mid-month (scan)": {From: may.AddDate(0, 0, 10)},
		"by week (scan)":   {GroupBy: report.GroupWeek},
	}
}

// assertPipelineMatchesScan compares every filter's report with the one
// streamed from the deals.
func assertPipelineMatchesScan(t *testing.T, e *crmtest.Env, other crm.Pipeline) {
	t.Helper()
	for name, f := range pipelineFilters(other) {
		got, err := report.Pipeline(e.Ctx, e.WS, f)
		require.NoError(t, err, name)
		want, err := report.PipelineByScan(e.Ctx, e.WS, f)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
}

func TestPipelineAggregateFollowsEveryChange(t *testing.T) {
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

	rng := rand.New(rand.NewPCG(7, 11))
	randomDeal := func(d *crm.Deal) {
		pl := pipelines[rng.IntN(2)]
		d.PipelineID, d.StageID = pl.ID, pl.Stages[rng.IntN(len(pl.Stages))].ID
		d.OwnerID = owners[rng.IntN(len(owners))]
		d.Amount = crm.Money{}
		if rng.IntN(5) > 0 {
			d.Amount = crm.Money{Amount: int64(rng.IntN(100_000)), Currency: currencies[rng.IntN(2)]}
		}
		d.CloseDate = crm.Date{}
		if rng.IntN(4) > 0 {
			d.CloseDate = crm.Date{Year: 2026, Month: time.Month(1 + rng.IntN(12)), Day: 1 + rng.IntN(28)}
		}
	}
	var ids []string
	for i := range 120 {
		d := crm.Deal{Name: fmt.Sprint("Deal ", i)}
		randomDeal(&d)
		created, err := e.WS.Deals().Create(e.Ctx, d)
		require.NoError(t, err)
		ids = append(ids, created.ID)
	}
	assertPipelineMatchesScan(t, e, other)

	// Every kind of change, at random: moves, wins, losses and reopenings,
	// new amounts, owners and dates, deletions, restores and erasures.
	deleted := map[string]bool{}
	for range 400 {
		id := ids[rng.IntN(len(ids))]
		switch op := rng.IntN(8); {
		case deleted[id] && op < 6:
			require.NoError(t, e.WS.Deals().Restore(e.Ctx, id))
			deleted[id] = false
		case deleted[id]:
			continue
		case op == 0:
			_, err = e.WS.Deals().Win(e.Ctx, id)
		case op == 1:
			_, err = e.WS.Deals().Lose(e.Ctx, id, "price")
		case op == 2:
			err = e.WS.Deals().Delete(e.Ctx, id)
			deleted[id] = true
		case op == 3 && rng.IntN(4) == 0:
			err = e.WS.Deals().Erase(e.Ctx, id)
			ids = removeID(ids, id)
		default:
			_, err = e.WS.Deals().Update(e.Ctx, id, func(d *crm.Deal) error { randomDeal(d); return nil })
		}
		require.NoError(t, err)
	}
	_, err = e.WS.Pipelines().RemoveStage(e.Ctx, other.ID, other.Stages[0].ID, other.Stages[1].ID)
	require.NoError(t, err)
	assertPipelineMatchesScan(t, e, other)

	report, err := e.WS.Check(e.Ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, report.Drifted(), "%v", report.Issues)
}

func removeID(ids []string, id string) []string {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
