package crm

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/crmkit/crmkit/store"
)

// TestBatchesFoldTheirCounters writes deals in batches of foldEvery or
// more: each batch adds one delta to every counter it changes and then
// folds every counter that has two, so no counter of the conversion
// aggregate is left with more than one delta, however many batches came
// before (counters a bulk load leaves behind may never be written again).
func TestBatchesFoldTheirCounters(t *testing.T) {
	ctx := context.Background()
	c := New(teststore.Open(t))
	w, err := c.CreateWorkspace(ctx, WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	for b := range 4 {
		ds := make([]Deal, foldEvery+8)
		for i := range ds {
			ds[i] = Deal{Name: fmt.Sprint("D", b, i), OwnerID: "ann", Amount: Money{Amount: 100, Currency: "EUR"}}
		}
		if _, err := w.Deals().CreateMany(ctx, ds); err != nil {
			t.Fatal(err)
		}
	}
	deltas := map[string]int{}
	err = c.st.View(ctx, func(tx store.Tx) error {
		prefix := w.deltaPrefix(w.countKey(kindDeal.code, convIndex))
		for e, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
			if err != nil {
				return err
			}
			deltas[string(e.Key[:len(e.Key)-8])]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range deltas {
		if n > 1 {
			t.Errorf("counter %s has %d deltas after batch writes", KeyString([]byte(k)), n)
		}
	}
}

// TestScanCountsMergesBasesAndDeltas writes counters at random as bases,
// deltas or both (some summing to zero, one base malformed) and compares
// scanCounts with the sums made by hand, in key order.
func TestScanCountsMergesBasesAndDeltas(t *testing.T) {
	ctx := context.Background()
	st := teststore.Open(t)
	w := &Workspace{prefix: key{nsSpace, 9}}
	prefix := w.countKey('d', "test")
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]int64{}
	bad := map[string]bool{}
	err := st.Update(ctx, func(tx store.Tx) error {
		for i := range 300 {
			k := prefix.str(fmt.Sprintf("c%03d", rng.IntN(1000)))
			switch i % 5 {
			case 0, 1: // a base
				n := int64(rng.IntN(7) - 3)
				if err := tx.Set(k, binary.BigEndian.AppendUint64(nil, uint64(n))); err != nil {
					return err
				}
				want[string(k)] = n + deltaSum(t, tx, w, k)
			default: // a delta
				d := int64(rng.IntN(9) - 4)
				dk := binary.BigEndian.AppendUint64(w.deltaPrefix(k), rng.Uint64())
				if err := tx.Set(dk, binary.AppendVarint(nil, d)); err != nil {
					return err
				}
				want[string(k)] += d
			}
		}
		k := prefix.str("c999x")
		bad[string(k)] = true
		return tx.Set(k, []byte{1, 2, 3})
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []counted
	err = st.View(ctx, func(tx store.Tx) error {
		got, err = scanCounts(tx, w, prefix)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k, n := range want {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	keys = append(keys, "")
	for k := range bad {
		keys[len(keys)-1] = k
	}
	slices.Sort(keys)
	if len(got) != len(keys) {
		t.Fatalf("%d counters, want %d", len(got), len(keys))
	}
	for i, c := range got {
		switch {
		case string(c.key) != keys[i]:
			t.Errorf("counter %d is %q, want %q", i, c.key, keys[i])
		case bad[keys[i]] && c.bad == nil:
			t.Errorf("%q: malformed base not reported", c.key)
		case !bad[keys[i]] && c.n != want[keys[i]]:
			t.Errorf("%q = %d, want %d", c.key, c.n, want[keys[i]])
		}
	}
}

// deltaSum sums the deltas of counter k.
func deltaSum(t *testing.T, tx store.Reader, w *Workspace, k key) int64 {
	t.Helper()
	var n int64
	p := w.deltaPrefix(k)
	for e, err := range tx.Scan(store.Range{Prefix: p}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Key) == len(p)+8 {
			d, _ := binary.Varint(e.Value)
			n += d
		}
	}
	return n
}
