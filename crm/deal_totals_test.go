package crm_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpenDealTotalsDriftIsCheckedAndRepaired changes the stored open-deal
// aggregate behind the CRM's back: OpenDealTotals shows the change, the
// check reports it, and the repair puts it right. Without the aggregate at
// all (a store from before it), OpenDealTotals says it cannot answer.
func TestOpenDealTotalsDriftIsCheckedAndRepaired(t *testing.T) {
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
	// total is the amount of the open deals, -1 if the aggregate cannot
	// say.
	total := func() int64 {
		var sum int64 = -1
		require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
			totals, ok, err := rt.OpenDealTotals()
			if ok {
				require.Len(t, totals, 2, "ann's and bob's")
				sum = 0
				for _, t := range totals {
					sum += t.Amount
				}
			}
			return err
		}))
		return sum
	}
	require.Equal(t, int64(3000), total())

	// A sum counter off by 500: the totals show it, the check finds it.
	require.NoError(t, crm.FoldCounters(e.ws))
	aggregate("pipe.sum", func(tx store.Tx, k, v []byte) error {
		if !bytes.Contains(k, []byte("ann")) {
			return nil
		}
		return tx.Set(k, binary.BigEndian.AppendUint64(nil, binary.BigEndian.Uint64(v)+500))
	})
	assert.Equal(t, int64(3500), total(), "the totals are the counters")
	rep, err := e.ws.Check(e.ctx, crm.CheckOptions{Repair: true})
	require.NoError(t, err)
	assert.Equal(t, int64(1), rep.Counts[crm.DriftCounter], "%v", rep.Issues)
	assert.Equal(t, int64(3000), total(), "repaired")

	// No aggregate (as in a store written before it): the counts do not
	// add up to the open deals, so the totals cannot answer.
	aggregate("pipe", func(tx store.Tx, k, _ []byte) error { return tx.Delete(k) })
	assert.Equal(t, int64(-1), total())
	rep, err = e.ws.Check(e.ctx, crm.CheckOptions{Repair: true})
	require.NoError(t, err)
	assert.NotZero(t, rep.Repaired)
	clean, err := e.ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, clean.Drifted(), "%v", clean.Issues)
	require.NoError(t, crm.FoldCounters(e.ws))
	aggregate("pipe.sum", func(tx store.Tx, k, v []byte) error {
		return tx.Set(k, binary.BigEndian.AppendUint64(nil, binary.BigEndian.Uint64(v)+1))
	})
	assert.Equal(t, int64(3002), total(), "the rebuilt aggregate is read again")
}
