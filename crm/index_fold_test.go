package crm

import (
	"context"
	"fmt"
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
