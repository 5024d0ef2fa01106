package crm_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pipelineFilters are report filters the aggregate answers, and some it
// leaves to the scan.
func pipelineFilters(other crm.Pipeline) map[string]crm.ReportFilter {
	may := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	return map[string]crm.ReportFilter{
		"all":              {},
		"by owner":         {GroupBy: crm.GroupOwner},
		"by stage":         {GroupBy: crm.GroupStage},
		"by month":         {GroupBy: crm.GroupMonth},
		"by quarter":       {GroupBy: crm.GroupQuarter},
		"one pipeline":     {PipelineID: other.ID, GroupBy: crm.GroupMonth},
		"two owners":       {OwnerIDs: []string{"ann", "cem"}},
		"months":           {From: may, To: may.AddDate(0, 3, 0), GroupBy: crm.GroupMonth},
		"from a month":     {From: may},
		"mid-month (scan)": {From: may.AddDate(0, 0, 10)},
		"by week (scan)":   {GroupBy: crm.GroupWeek},
	}
}

// assertPipelineMatchesScan compares every filter's report with the one
// streamed from the deals.
func assertPipelineMatchesScan(t *testing.T, e *env, other crm.Pipeline) {
	t.Helper()
	for name, f := range pipelineFilters(other) {
		got, err := e.ws.Pipeline(e.ctx, f)
		require.NoError(t, err, name)
		want, err := crm.PipelineByScan(e.ctx, e.ws, f)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
}

func TestPipelineAggregateFollowsEveryChange(t *testing.T) {
	e := setup(t)
	sales, _ := sales(t, e)
	other, err := e.ws.Pipelines().Create(e.ctx, crm.Pipeline{Name: "Renewals", Stages: []crm.Stage{
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
		created, err := e.ws.Deals().Create(e.ctx, d)
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
			require.NoError(t, e.ws.Deals().Restore(e.ctx, id))
			deleted[id] = false
		case deleted[id]:
			continue
		case op == 0:
			_, err = e.ws.Deals().Win(e.ctx, id)
		case op == 1:
			_, err = e.ws.Deals().Lose(e.ctx, id, "price")
		case op == 2:
			err = e.ws.Deals().Delete(e.ctx, id)
			deleted[id] = true
		case op == 3 && rng.IntN(4) == 0:
			err = e.ws.Deals().Erase(e.ctx, id)
			ids = removeID(ids, id)
		default:
			_, err = e.ws.Deals().Update(e.ctx, id, func(d *crm.Deal) error { randomDeal(d); return nil })
		}
		require.NoError(t, err)
	}
	_, err = e.ws.Pipelines().RemoveStage(e.ctx, other.ID, other.Stages[0].ID, other.Stages[1].ID)
	require.NoError(t, err)
	assertPipelineMatchesScan(t, e, other)

	report, err := e.ws.Check(e.ctx, crm.CheckOptions{})
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

// TestPipelineAggregateDriftIsCheckedAndRepaired changes the stored
// aggregate behind the CRM's back: the report shows the change (it reads
// the aggregate), the check reports it, and the repair puts it right.
// Without the aggregate at all (a store from before it), the report
// streams the deals instead.
func TestPipelineAggregateDriftIsCheckedAndRepaired(t *testing.T) {
	e := setup(t)
	pl, stages := sales(t, e)
	for i, owner := range []string{"ann", "bob", "ann"} {
		_, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: fmt.Sprint("D", i), PipelineID: pl.ID, StageID: stages["Proposal"],
			OwnerID: owner, Amount: crm.Money{Amount: 1000, Currency: "EUR"}})
		require.NoError(t, err)
	}
	aggregate := func(name string, fn func(tx store.Tx, k, v []byte) error) {
		t.Helper()
		n := 0
		require.NoError(t, e.st.Update(e.ctx, func(tx store.Tx) error {
			var keys, vals [][]byte
			for en, err := range tx.Scan(store.Range{}) {
				if err != nil {
					return err
				}
				if strings.Contains(crm.KeyString(en.Key), name) {
					keys, vals = append(keys, bytes.Clone(en.Key)), append(vals, bytes.Clone(en.Value))
				}
			}
			for i := range keys {
				n++
				if err := fn(tx, keys[i], vals[i]); err != nil {
					return err
				}
			}
			return nil
		}))
		require.NotZero(t, n, "no %s keys", name)
	}
	total := func() int64 {
		r, err := e.ws.Pipeline(e.ctx, crm.ReportFilter{})
		require.NoError(t, err)
		require.Len(t, r.Rows, 1)
		return r.Rows[0].Amount
	}
	require.Equal(t, int64(3000), total())

	// A sum counter off by 500: the report reads it, the check finds it.
	require.NoError(t, crm.FoldCounters(e.ws))
	aggregate("pipe.sum", func(tx store.Tx, k, v []byte) error {
		if !bytes.Contains(k, []byte("ann")) {
			return nil
		}
		return tx.Set(k, binary.BigEndian.AppendUint64(nil, binary.BigEndian.Uint64(v)+500))
	})
	assert.Equal(t, int64(3500), total(), "the report reads the aggregate")
	report, err := e.ws.Check(e.ctx, crm.CheckOptions{Repair: true})
	require.NoError(t, err)
	assert.Equal(t, int64(1), report.Counts[crm.DriftCounter], "%v", report.Issues)
	assert.Equal(t, int64(3000), total(), "repaired")

	// No aggregate (as in a store written before it): the counts do not
	// add up to the open deals, so the report streams the deals.
	aggregate("pipe", func(tx store.Tx, k, _ []byte) error { return tx.Delete(k) })
	assert.Equal(t, int64(3000), total())
	report, err = e.ws.Check(e.ctx, crm.CheckOptions{Repair: true})
	require.NoError(t, err)
	assert.NotZero(t, report.Repaired)
	clean, err := e.ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, clean.Drifted(), "%v", clean.Issues)
	require.NoError(t, crm.FoldCounters(e.ws))
	aggregate("pipe.sum", func(tx store.Tx, k, v []byte) error {
		return tx.Set(k, binary.BigEndian.AppendUint64(nil, binary.BigEndian.Uint64(v)+1))
	})
	assert.Equal(t, int64(3002), total(), "the rebuilt aggregate is read again")
}
