package crm_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// BenchmarkHookDispatch measures what lifecycle hooks cost a write: one
// contact Create per transaction on Badger, through four CRMs over one
// store that differ only in their hooks. "off" skips hook dispatch
// altogether (the baseline); "0", "1" and "10" have that many trivial
// handlers bound to BeforeContact and as many to After. Every iteration
// times one write of each CRM, in an order that rotates, so the four share
// the machine's state; each variant reports ratio, its median write time
// over the baseline's, and mean-ratio, the same for the mean.
func BenchmarkHookDispatch(b *testing.B) {
	st, _ := openBenchBadger(b)
	ctx := context.Background()
	variants := []struct {
		name     string
		handlers int
		off      bool
	}{{"off", 0, true}, {"0", 0, false}, {"1", 1, false}, {"10", 10, false}}
	var afterCalls atomic.Int64
	spaces := make([]*crm.Workspace, len(variants))
	for i, v := range variants {
		c := crm.New(st, crm.WithClock(func() time.Time { return benchEpoch }))
		if v.off {
			crm.DisableHooks(c)
		}
		for range v.handlers {
			c.Hooks().BeforeContact.BindFunc(func(context.Context, *crm.Before[crm.Contact]) error { return nil })
			c.Hooks().After.BindFunc(func(context.Context, *crm.Event) error { afterCalls.Add(1); return nil })
		}
		ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "hooks-" + v.name})
		if err != nil {
			b.Fatal(err)
		}
		spaces[i] = ws
	}
	afterCalls.Store(0) // the workspaces' default pipelines
	lat := make([][]time.Duration, len(variants))
	for i := range lat {
		lat[i] = make([]time.Duration, 0, b.N)
	}
	b.ResetTimer()
	for n := range b.N {
		for j := range variants {
			i := (n + j) % len(variants)
			contact := benchContact(n*len(variants) + i)
			start := time.Now()
			if _, err := spaces[i].Contacts().Create(ctx, contact); err != nil {
				b.Fatal(err)
			}
			lat[i] = append(lat[i], time.Since(start))
		}
	}
	b.StopTimer()
	if want := int64(b.N * 2 * 11); afterCalls.Load() != want { // 2 events per contact
		b.Fatalf("after-hooks ran %d times, want %d", afterCalls.Load(), want)
	}
	median := func(d []time.Duration) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[len(s)/2])
	}
	mean := func(d []time.Duration) float64 {
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		return float64(sum) / float64(len(d))
	}
	base, baseMean := median(lat[0]), mean(lat[0])
	b.ReportMetric(base/1e3, "off-p50-µs")
	for i, v := range variants[1:] {
		b.ReportMetric(median(lat[i+1])/1e3, fmt.Sprintf("h%s-p50-µs", v.name))
		b.ReportMetric(median(lat[i+1])/base, fmt.Sprintf("h%s-ratio", v.name))
		b.ReportMetric(mean(lat[i+1])/baseMean, fmt.Sprintf("h%s-mean-ratio", v.name))
	}
}

// BenchmarkOutboxDelivery measures how fast a Dispatcher delivers a
// workspace's outbox to an in-process consumer: 100,000 events (50,000
// contact creates, two events each) are written once; every operation then
// drains all of them to a new consumer, which starts at the beginning, in
// batches of the default size. The "scan" sub-benchmark is the baseline:
// one read transaction over the same events through Changes, with no
// cursor or acknowledgement.
func BenchmarkOutboxDelivery(b *testing.B) {
	const contacts = 50_000
	st, _ := openBenchBadger(b)
	ctx := context.Background()
	c := crm.New(st, crm.WithClock(func() time.Time { return benchEpoch }))
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: benchWorkspace})
	if err != nil {
		b.Fatal(err)
	}
	for from := 0; from < contacts; from += 1000 {
		if _, err := ws.Contacts().CreateMany(ctx, benchContacts(from, 1000)); err != nil {
			b.Fatal(err)
		}
	}
	head, err := ws.OutboxHead(ctx)
	if err != nil {
		b.Fatal(err)
	}
	events := int(head) - 1 // the default pipeline's event comes first
	if events < 2*contacts {
		b.Fatalf("outbox holds %d events, want at least %d", events, 2*contacts)
	}

	var scanPerEvent float64
	b.Run("scan", func(b *testing.B) {
		for range b.N {
			n := 0
			for _, err := range ws.Changes(ctx, 1) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != events {
				b.Fatalf("read %d events, want %d", n, events)
			}
		}
		scanPerEvent = float64(b.Elapsed().Nanoseconds()) / float64(b.N*events)
		b.ReportMetric(float64(b.N*events)/b.Elapsed().Seconds(), "events/s")
	})
	consumers := 0 // every consumer has a new name, so starts at the beginning
	b.Run("dispatch", func(b *testing.B) {
		for range b.N {
			consumers++
			d := c.NewDispatcher()
			got := 0
			var last uint64
			if err := d.Subscribe(fmt.Sprintf("bench-%d", consumers), func(_ context.Context, batch []crm.Event) error {
				for _, ev := range batch {
					if ev.Seq <= last {
						return fmt.Errorf("event %d after %d", ev.Seq, last)
					}
					last = ev.Seq
				}
				got += len(batch)
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			delivered, err := d.Drain(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if delivered != events+1 || got != events+1 {
				b.Fatalf("delivered %d (consumer saw %d), want %d", delivered, got, events+1)
			}
		}
		perEvent := float64(b.Elapsed().Nanoseconds()) / float64(b.N*(events+1))
		b.ReportMetric(1e9/perEvent, "events/s")
		if scanPerEvent > 0 {
			b.ReportMetric(perEvent/scanPerEvent, "ratio")
		}
	})
}
