package crm_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
)

// The benchmarks below run the domain on PostgreSQL beside Badger in the
// same run (they need CRMKIT_TEST_POSTGRES):
//
//   - BenchmarkContactCreateStores: Create one contact per transaction
//     (Single), CreateMany of 1,000 (Bulk1000) and four goroutines creating
//     one contact per transaction, each in a workspace of its own
//     (Writers4), on Badger and then on PostgreSQL. Both commit durably:
//     Badger with its default synced writes, PostgreSQL with the server's
//     default synchronous_commit. The PostgreSQL side reports ratio = its
//     time per contact / Badger's. Only wall-clock time is compared: the
//     server's CPU time is not the benchmark process's.
//   - BenchmarkWatchLatency: how long after a commit a change-feed watcher
//     sees it, in the writing CRM instance (woken at once) and in another
//     instance over the same database (polling), p50 and p99.
//
// BENCHMARKS.md at the repository root has the commands and the figures.

// openStore opens the named backend for a benchmark: Badger in a temporary
// directory with durable commits, or PostgreSQL in a schema of its own.
func openStore(b *testing.B, backend string) store.Store {
	b.Helper()
	if backend == "postgres" {
		return teststore.SharedPostgres(b).Open(b)
	}
	st, err := badger.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st
}

// benchBackends are the backends the benchmarks compare, baseline first.
var benchBackends = []string{"badger", "postgres"}

// perContact is the wall-clock time per contact of b, in ns.
func perContact(b *testing.B, contacts int) float64 {
	return float64(b.Elapsed().Nanoseconds()) / float64(contacts)
}

// BenchmarkContactCreateStores compares creating contacts through the CRM
// on Badger and on PostgreSQL.
func BenchmarkContactCreateStores(b *testing.B) {
	teststore.SharedPostgres(b) // skip early without a server
	cases := []struct {
		name string
		run  func(b *testing.B, st store.Store) int // returns contacts created
	}{
		{"Single", func(b *testing.B, st store.Store) int {
			ws := newBenchCRM(b, st)
			in := benchContacts(0, b.N)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				if _, err := ws.Contacts().Create(ctx, in[i]); err != nil {
					b.Fatal(err)
				}
			}
			return b.N
		}},
		{"Bulk1000", func(b *testing.B, st store.Store) int {
			ws := newBenchCRM(b, st)
			ctx := context.Background()
			b.ResetTimer()
			for op := range b.N {
				b.StopTimer()
				in := benchContacts(op*1000, 1000)
				b.StartTimer()
				if _, err := ws.Contacts().CreateMany(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			return b.N * 1000
		}},
		{"Writers4", func(b *testing.B, st store.Store) int {
			const writers = 4
			ctx := context.Background()
			c := crm.New(st, crm.WithClock(func() time.Time { return benchEpoch }))
			var spaces []*crm.Workspace
			for w := range writers {
				ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: fmt.Sprint(benchWorkspace, w)})
				if err != nil {
					b.Fatal(err)
				}
				spaces = append(spaces, ws)
			}
			in := benchContacts(0, b.N)
			var next atomic.Int64
			errs := make(chan error, writers)
			var wg sync.WaitGroup
			b.ResetTimer()
			for _, ws := range spaces {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
						if _, err := ws.Contacts().Create(ctx, in[i]); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			return b.N
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var base float64
			for _, backend := range benchBackends {
				b.Run(backend, func(b *testing.B) {
					st := openStore(b, backend)
					n := tc.run(b, st)
					ns := perContact(b, n)
					b.ReportMetric(1e9/ns, "contacts/s")
					if backend == benchBackends[0] {
						base = ns
					} else if base > 0 {
						b.ReportMetric(ns/base, "ratio")
					}
				})
			}
		})
	}
}

// BenchmarkWatchLatency measures the time from a commit returning to a
// Watch of the same workspace yielding its event: in the writing instance
// (woken by the commit), and in a second instance over the same PostgreSQL
// database that polls every 10ms or 100ms, writing at a random point of the
// poll cycle. It reports p50-ms and p99-ms.
func BenchmarkWatchLatency(b *testing.B) {
	sh := teststore.SharedPostgres(b)
	for _, tc := range []struct {
		name  string
		other bool
		poll  time.Duration
	}{
		{"same-instance", false, time.Second},
		{"other-instance/poll=10ms", true, 10 * time.Millisecond},
		{"other-instance/poll=100ms", true, 100 * time.Millisecond},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			writer := crm.New(sh.Open(b))
			id := fmt.Sprintf("watch%d", time.Now().UnixNano())
			ws, err := writer.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: id})
			if err != nil {
				b.Fatal(err)
			}
			watcher := ws
			if tc.other {
				if watcher, err = crm.New(sh.Open(b)).Workspace(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			head, err := ws.OutboxHead(ctx)
			if err != nil {
				b.Fatal(err)
			}
			seen := make(chan time.Time, 1)
			go func() {
				for _, err := range watcher.Watch(ctx, head, tc.poll) {
					if err != nil {
						return
					}
					seen <- time.Now()
				}
			}()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				if tc.other {
					// Write at a random point of the watcher's poll cycle.
					b.StopTimer()
					time.Sleep(rand.N(tc.poll))
					b.StartTimer()
				}
				if _, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: fmt.Sprint("w", i)}); err != nil {
					b.Fatal(err)
				}
				committed := time.Now()
				at := <-seen
				lat = append(lat, max(0, at.Sub(committed)))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1e3, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1e3, "p99-ms")
		})
	}
}
