package crm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/crmkit/crmkit/store"
)

// openStaysEnv writes deals over a year and a half that move, win, lose
// and change owner at random, so that open deals entered their stages in
// many months.
func openStaysEnv(t *testing.T) (context.Context, store.Store, func() time.Time, *Workspace) {
	t.Helper()
	ctx := context.Background()
	st := teststore.Open(t)
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c, err := Open(ctx, st, WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.CreateWorkspace(ctx, WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := w.Pipelines().Default(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 9))
	owners, currencies := []string{"", "ann", "bob"}, []string{"EUR", "USD"}
	var ids []string
	for i := range 300 {
		mu.Lock()
		now = now.Add(time.Duration(rng.IntN(48*60)) * time.Minute)
		mu.Unlock()
		if i < 60 || rng.IntN(4) == 0 {
			d, err := w.Deals().Create(ctx, Deal{Name: fmt.Sprint("deal ", i), OwnerID: owners[rng.IntN(3)],
				Amount: Money{Amount: int64(rng.IntN(9000)), Currency: currencies[rng.IntN(2)]}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, d.ID)
			continue
		}
		_, err := w.Deals().Update(ctx, ids[rng.IntN(len(ids))], func(d *Deal) error {
			if rng.IntN(5) == 0 {
				d.OwnerID = owners[rng.IntN(3)]
			} else {
				d.StageID = pl.Stages[rng.IntN(len(pl.Stages))].ID
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ctx, st, clock, w
}

// openStayCounts reads every stage's OpenStayCounts.
func openStayCounts(t *testing.T, ctx context.Context, w *Workspace) []OpenStayCount {
	t.Helper()
	pl, err := w.Pipelines().Default(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []OpenStayCount
	err = w.View(ctx, func(rt *ReadTx) error {
		for _, s := range pl.Stages {
			got, ok, err := rt.OpenStayCounts(pl.ID, s.ID)
			if err != nil || !ok {
				return fmt.Errorf("stage %s: ok %v, %w", s.Name, ok, err)
			}
			out = append(out, got...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenStayCountsMatchTheDeals compares the counters of open deals by
// stage entry with the same counts made from the deals.
func TestOpenStayCountsMatchTheDeals(t *testing.T) {
	ctx, _, _, w := openStaysEnv(t)
	want := map[OpenStayCount]int64{}
	months := map[time.Time]bool{}
	for d, err := range w.Deals().List(ctx, ListOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != StatusOpen {
			continue
		}
		cur := d.StageHistory[len(d.StageHistory)-1]
		m := time.Date(cur.EnteredAt.Year(), cur.EnteredAt.Month(), 1, 0, 0, 0, 0, time.UTC)
		s := CohortStart(&d)
		k := OpenStayCount{PipelineID: d.PipelineID, StageID: d.StageID, Month: m, OwnerID: d.OwnerID, Currency: d.Amount.Currency,
			NoAmount: d.Amount.IsZero(), CohortMonth: time.Date(s.Year(), s.Month(), 1, 0, 0, 0, 0, time.UTC)}
		want[k]++
		months[m] = true
	}
	if len(months) < 6 {
		t.Fatalf("open deals entered their stages in %d months; the test wants more", len(months))
	}
	got := map[OpenStayCount]int64{}
	for _, oc := range openStayCounts(t, ctx, w) {
		n := oc.Count
		oc.Count = 0
		got[oc] += n
	}
	if len(got) != len(want) {
		t.Errorf("%d counters, want %d", len(got), len(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%+v: %d, want %d", k, got[k], n)
		}
	}
}

// TestFormatUpgradeCountsOpenStays turns a workspace back into format 4,
// whose index of open deals by stage entry was "conv.open" without
// counters, and requires the upgrade to move the entries, count them,
// delete the old ones (also one no deal accounts for), and count each once
// when it runs again (as after an interruption).
func TestFormatUpgradeCountsOpenStays(t *testing.T) {
	ctx, st, clock, w := openStaysEnv(t)
	want := openStayCounts(t, ctx, w)
	if len(want) == 0 {
		t.Fatal("no open deals")
	}
	for round := range 2 {
		downgrade(t, ctx, st, 4, func(tx store.Tx) error {
			t := &txn{w: w, ctx: ctx, tx: tx}
			for kv, err := range tx.Scan(store.Range{Prefix: w.k(tagRecord).byte(kindDeal.code)}) {
				if err != nil {
					return err
				}
				var d Deal
				if err := decode(kv.Value, &d); err != nil {
					return err
				}
				if d.Deleted() || d.Status != StatusOpen {
					continue
				}
				now, _ := openStayEntry(w, convOpenIndex, &d)
				old, _ := openStayEntry(w, convOpenIndexV3, &d)
				if err := tx.Delete(now.key); err != nil {
					return err
				}
				if err := tx.Set(old.key, old.value); err != nil {
					return err
				}
			}
			if err := t.deleteCounters(w.countKey('d', convOpenIndex)); err != nil {
				return err
			}
			// An entry no deal accounts for (drift) goes too.
			return tx.Set(w.indexKey('d', convOpenIndexV3).str("stray").str("deal"), []byte("deal"))
		})
		for range 2 {
			up := reopen(t, ctx, st, WithClock(clock))
			if got := openStayCounts(t, ctx, up); !slices.Equal(got, want) {
				t.Errorf("round %d: counters after the upgrade differ:\n got %v\nwant %v", round, got, want)
			}
			if rep, err := up.Check(ctx, CheckOptions{}); err != nil || rep.Drifted() != 0 {
				t.Errorf("round %d: check after the upgrade: %v %v", round, err, rep)
			}
			leftover := 0
			err := st.View(ctx, func(tx store.Tx) error {
				for kv, err := range tx.Scan(store.Range{Prefix: w.k(tagIndex)}) {
					if err != nil {
						return err
					}
					if strings.Contains(KeyString(kv.Key), convOpenIndexV3) {
						leftover++
					}
				}
				return nil
			})
			if err != nil || leftover != 0 {
				t.Errorf("round %d: %d entries of %s left, %v", round, leftover, convOpenIndexV3, err)
			}
			// As if the upgrade had stopped before writing the format.
			if err := SetFormat(st, "acme", 4); err != nil {
				t.Fatal(err)
			}
		}
	}
}
