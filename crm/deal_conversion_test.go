package crm_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// convDeals writes a few deals that move, win and lose over some days.
func convDeals(t *testing.T, e *env) {
	t.Helper()
	pl, stages := sales(t, e)
	for i, owner := range []string{"ann", "bob", "ann", "cem"} {
		d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: fmt.Sprint("D", i), PipelineID: pl.ID, OwnerID: owner,
			Amount: crm.Money{Amount: int64(1000 * (i + 1)), Currency: "EUR"}})
		require.NoError(t, err)
		e.clock.Advance(time.Duration(i+1) * day)
		_, err = e.ws.Deals().Move(e.ctx, d.ID, stages["Proposal"])
		require.NoError(t, err)
		e.clock.Advance(5 * time.Hour)
		switch i {
		case 1:
			_, err = e.ws.Deals().Win(e.ctx, d.ID)
		case 2:
			_, err = e.ws.Deals().Lose(e.ctx, d.ID, "price")
		}
		require.NoError(t, err)
	}
}

// convKeys calls fn on every key of the conversion aggregate whose
// rendering holds name, in one transaction, and fails the test if there
// is none.
func convKeys(t *testing.T, e *env, name string, fn func(tx store.Tx, k, v []byte) error) {
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

// conversionCounts returns the conversion aggregate; ok is false when it
// cannot answer.
func conversionCounts(t *testing.T, e *env) (c crm.ConversionCounts, ok bool) {
	t.Helper()
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) (err error) {
		c, ok, err = rt.ConversionCounters()
		return err
	}))
	return c, ok
}

// stayMillis sums the aggregate's completed stays.
func stayMillis(c crm.ConversionCounts) (n int64) {
	for _, s := range c.Stays {
		n += s.Millis
	}
	return n
}

// TestConversionCountersDriftIsCheckedAndRepaired changes the stored
// conversion aggregate behind the CRM's back: ConversionCounters shows
// the change, the check reports it, and the repair puts it right. Without
// the aggregate at all, ConversionCounters says it cannot answer until
// the repair rebuilds it.
func TestConversionCountersDriftIsCheckedAndRepaired(t *testing.T) {
	e := setup(t)
	convDeals(t, e)
	want, ok := conversionCounts(t, e)
	require.True(t, ok)
	require.NotEmpty(t, want.Cohorts)
	require.NotEmpty(t, want.Cycles, "one deal is won")
	ms := stayMillis(want)
	require.NotZero(t, ms)

	// A stay sum off by an hour: the counters show it, the check finds it.
	require.NoError(t, crm.FoldCounters(e.ws))
	drifted := false
	convKeys(t, e, "conv.stay.ms", func(tx store.Tx, k, v []byte) error {
		if drifted || len(v) != 8 {
			return nil
		}
		drifted = true
		return tx.Set(k, binary.BigEndian.AppendUint64(nil, binary.BigEndian.Uint64(v)+3_600_000))
	})
	got, ok := conversionCounts(t, e)
	require.True(t, ok, "a sum does not change the deals' count")
	assert.Equal(t, ms+3_600_000, stayMillis(got), "the counters are read")
	rep, err := e.ws.Check(e.ctx, crm.CheckOptions{Repair: true})
	require.NoError(t, err)
	assert.Equal(t, int64(1), rep.Counts[crm.DriftCounter], "%v", rep.Issues)
	got, _ = conversionCounts(t, e)
	assert.Equal(t, want, got, "repaired")

	// A cohort count off by one: the counts no longer add up to the
	// deals, so the aggregate cannot answer; the repair fixes it.
	require.NoError(t, crm.FoldCounters(e.ws))
	drifted = false
	convKeys(t, e, "conv", func(tx store.Tx, k, v []byte) error {
		if drifted || len(v) != 8 || strings.Contains(crm.KeyString(k), "conv.") {
			return nil
		}
		drifted = true
		return tx.Set(k, binary.BigEndian.AppendUint64(nil, binary.BigEndian.Uint64(v)+1))
	})
	_, ok = conversionCounts(t, e)
	assert.False(t, ok, "a cohort count that drifted")
	rep, err = e.ws.Check(e.ctx, crm.CheckOptions{Repair: true})
	require.NoError(t, err)
	assert.Equal(t, int64(1), rep.Counts[crm.DriftCounter], "%v", rep.Issues)
	got, ok = conversionCounts(t, e)
	assert.True(t, ok)
	assert.Equal(t, want, got)

	// No aggregate at all (entries and counters gone): it cannot answer;
	// the repair rebuilds it.
	convKeys(t, e, "conv", func(tx store.Tx, k, _ []byte) error { return tx.Delete(k) })
	_, ok = conversionCounts(t, e)
	assert.False(t, ok)
	rep, err = e.ws.Check(e.ctx, crm.CheckOptions{Repair: true})
	require.NoError(t, err)
	assert.NotZero(t, rep.Repaired)
	clean, err := e.ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, clean.Drifted(), "%v", clean.Issues)
	got, ok = conversionCounts(t, e)
	assert.True(t, ok)
	assert.Equal(t, want, got)
}

// TestConversionCountersBackfilledByFormatUpgrade opens a store of format
// 2, written before the aggregate existed: the upgrade to format 3 writes
// and counts every live deal's entries, and running it again (as after an
// interrupted upgrade) counts nothing twice.
func TestConversionCountersBackfilledByFormatUpgrade(t *testing.T) {
	e := setup(t)
	convDeals(t, e)
	pl, _ := sales(t, e)
	gone, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "gone", PipelineID: pl.ID})
	require.NoError(t, err)
	require.NoError(t, e.ws.Deals().Delete(e.ctx, gone.ID))
	want, ok := conversionCounts(t, e)
	require.True(t, ok)

	reopen := func() *env {
		t.Helper()
		c, err := crm.Open(e.ctx, e.st, crm.WithClock(e.clock.Now))
		require.NoError(t, err)
		ws, err := c.Workspace(e.ctx, "acme")
		require.NoError(t, err)
		return &env{ctx: e.ctx, st: e.st, crm: c, ws: ws, clock: e.clock}
	}
	convKeys(t, e, "conv", func(tx store.Tx, k, _ []byte) error { return tx.Delete(k) })
	require.NoError(t, crm.SetFormat(e.st, "acme", 2))
	_, ok = conversionCounts(t, e)
	require.False(t, ok, "a store without the aggregate")

	for range 2 {
		up := reopen()
		got, ok := conversionCounts(t, up)
		assert.True(t, ok)
		assert.Equal(t, want, got)
		rep, err := up.ws.Check(e.ctx, crm.CheckOptions{})
		require.NoError(t, err)
		assert.Zero(t, rep.Drifted(), "%v", rep.Issues)
		// As if the upgrade had stopped before writing the format.
		require.NoError(t, crm.SetFormat(e.st, "acme", 2))
	}
}
