package crm_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// BenchmarkDealWrite measures the deal writes the pipeline and conversion
// aggregates follow, one per transaction on Badger: Create makes a deal
// with an owner and an amount in its pipeline's first stage; Move moves
// one of 1,000 such deals a stage on, or back to the first open stage
// from the last (so histories grow by one entry per move), or to the won
// stage every fifth move. Run it on two commits to see what an aggregate
// costs a write.
func BenchmarkDealWrite(b *testing.B) {
	deal := func(i int) crm.Deal {
		return crm.Deal{Name: fmt.Sprint("Deal ", i), OwnerID: fmt.Sprint("owner", i%50),
			Amount: crm.Money{Amount: int64(1000 + i%997*10), Currency: []string{"EUR", "USD"}[i%2]}}
	}
	b.Run("Create", func(b *testing.B) {
		st, _ := openBenchBadger(b)
		ws := newBenchCRM(b, st)
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			if _, err := ws.Deals().Create(ctx, deal(i)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/write")
	})
	b.Run("Move", func(b *testing.B) {
		st, _ := openBenchBadger(b)
		ws := newBenchCRM(b, st)
		ctx := context.Background()
		pl, err := ws.Pipelines().Default(ctx)
		if err != nil {
			b.Fatal(err)
		}
		const pool = 1000
		ds := make([]crm.Deal, pool)
		for i := range ds {
			ds[i] = deal(i)
		}
		created, err := ws.Deals().CreateMany(ctx, ds)
		if err != nil {
			b.Fatal(err)
		}
		stage := make([]int, pool)
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			k := i % pool
			next := (stage[k] + 1) % 4 // the four open stages, round
			to := pl.Stages[next].ID
			if i%5 == 4 {
				to, next = pl.Stages[4].ID, -1 // won; reopened by the next move
			}
			if _, err := ws.Deals().Move(ctx, created[k].ID, to); err != nil {
				b.Fatal(err)
			}
			stage[k] = next
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/write")
	})
}
