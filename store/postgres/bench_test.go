package postgres_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/crmkit/crmkit/store/storetest"
	"github.com/stretchr/testify/require"
)

// The benchmarks run each measurement on Badger (the embedded default,
// with its default durable commits) and then on PostgreSQL (with the
// server's default synchronous_commit), in the same run, and report on
// the PostgreSQL side ratio = PostgreSQL's time per operation / Badger's.
// BENCHMARKS.md at the repository root has the commands and the figures.

// badgerBackend opens Badger stores with their default, durable commits.
func badgerBackend() storetest.Backend {
	return storetest.Backend{Open: func(t testing.TB) store.Store {
		s, err := badger.Open(t.TempDir())
		require.NoError(t, err)
		return s
	}}
}

// baselines holds Badger's time per operation, in ns, by benchmark name
// with the backend's element removed, for the PostgreSQL side's ratio.
type baselines struct {
	mu sync.Mutex
	ns map[string]float64
}

// caseName is b's name without the element naming the backend.
func caseName(b testing.TB, backendName string) string {
	parts := strings.Split(b.Name(), "/")
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return strings.HasPrefix(p, backendName) }), "/")
}

// record remembers b's time per operation as the baseline of its case. It
// runs from a cleanup of the benchmark, which the testing package calls
// after each run of the function, so the last run's figure stays.
func (bl *baselines) record(b *testing.B) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	bl.ns[caseName(b, "badger")] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
}

// report reports b's time per operation over its case's baseline, from a
// cleanup, which runs before the testing package collects the metrics.
func (bl *baselines) report(b *testing.B) {
	bl.mu.Lock()
	base := bl.ns[caseName(b, "postgres")]
	bl.mu.Unlock()
	if base > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/base, "ratio")
	}
}

// timed wraps bk so that every benchmark opening a store records (base
// side) or reports (other side) its time per operation. Benchmarks with
// sub-benchmarks (the scans) open their store in the parent, whose metrics
// are not printed: their ratio is read off the two keys/s figures.
func timed(bk storetest.Backend, bl *baselines, base bool) storetest.Backend {
	open := bk.Open
	bk.Open = func(t testing.TB) store.Store {
		if b, ok := t.(*testing.B); ok {
			if base {
				b.Cleanup(func() { bl.record(b) })
			} else {
				b.Cleanup(func() { bl.report(b) })
			}
		}
		return open(t)
	}
	return bk
}

// BenchmarkStore runs the shared store benchmarks (storetest.Bench: a
// one-key Update, a 1,000-key Update, a 10,000-key Batch, a warm Get and
// full scans of 100,000 keys) on Badger and then on PostgreSQL.
func BenchmarkStore(b *testing.B) {
	testDSN(b)
	bl := &baselines{ns: map[string]float64{}}
	b.Run("badger", func(b *testing.B) { storetest.Bench(b, timed(badgerBackend(), bl, true)) })
	b.Run("postgres", func(b *testing.B) { storetest.Bench(b, timed(backend(), bl, false)) })
}

// BenchmarkConcurrentWriters measures one-key Updates from 1 and 4
// goroutines, on disjoint keys (no conflicts) and on one shared counter
// (read-modify-write with retries), on Badger and then on PostgreSQL
// without and with WithNotifications, reporting committed writes/s, ratio
// and, for the counter, conflicts per committed write.
func BenchmarkConcurrentWriters(b *testing.B) {
	testDSN(b)
	bl := &baselines{ns: map[string]float64{}}
	for _, shared := range []bool{false, true} {
		for _, writers := range []int{1, 4} {
			name := fmt.Sprintf("disjoint/writers=%d", writers)
			if shared {
				name = fmt.Sprintf("counter/writers=%d", writers)
			}
			b.Run(name, func(b *testing.B) {
				b.Run("badger", func(b *testing.B) {
					benchWriters(b, storetest.Backend{Open: badgerBackend().Open}, writers, shared)
					bl.record(b)
				})
				b.Run("postgres", func(b *testing.B) {
					benchWriters(b, backend(), writers, shared)
					bl.report(b)
				})
				b.Run("postgres-notify", func(b *testing.B) {
					benchWriters(b, backend(postgres.WithNotifications()), writers, shared)
					bl.report(b)
				})
			})
		}
	}
}

// BenchmarkNotifyLatency measures how long after an Update of one store
// returns another store on the same tables, with its own pool as in
// another process, sees Committed fire; both have WithNotifications. It
// reports p50-µs and p99-µs. The notification can arrive before the
// writer has read the server's reply to its COMMIT, which counts as zero.
func BenchmarkNotifyLatency(b *testing.B) {
	testDSN(b)
	prefix := uniqueName("t") + "_"
	dropPrefix(b, prefix)
	writer := openPrefix(b, prefix, postgres.WithNotifications())
	defer writer.Close()
	watcher := openPrefix(b, prefix, postgres.WithNotifications())
	defer watcher.Close()
	<-watcher.Committed() // the listener is connected
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		ch := watcher.Committed()
		err := writer.Update(ctx, func(tx store.Tx) error { return tx.Set(fmt.Appendf(nil, "k%d", i), benchValue) })
		if err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		<-ch
		lat = append(lat, time.Since(committed))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// benchValue is the value BenchmarkNotifyLatency writes.
var benchValue = []byte("value")

func benchWriters(b *testing.B, bk storetest.Backend, writers int, shared bool) {
	s := bk.Open(b)
	b.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	var next, conflicts atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	b.ResetTimer()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Appendf(nil, "w%d", w)
			if shared {
				key = []byte("counter")
			}
			for next.Add(1) <= int64(b.N) {
				for {
					err := s.Update(ctx, func(tx store.Tx) error {
						var n uint64
						v, err := tx.Get(key)
						switch {
						case errors.Is(err, store.ErrNotFound):
						case err != nil:
							return err
						default:
							n = binary.BigEndian.Uint64(v)
						}
						return tx.Set(key, binary.BigEndian.AppendUint64(nil, n+1))
					})
					if errors.Is(err, store.ErrConflict) {
						conflicts.Add(1)
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
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
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
	if shared {
		b.ReportMetric(float64(conflicts.Load())/float64(b.N), "conflicts/write")
	}
}
