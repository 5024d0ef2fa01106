package postgres_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/storetest"
)

func BenchmarkStore(b *testing.B) {
	testDSN(b)
	storetest.Bench(b, backend())
}

// BenchmarkConcurrentWriters measures one-key Updates from 1 and 4
// goroutines, on disjoint keys (no conflicts) and on one shared counter
// (read-modify-write with retries), reporting committed writes/s and, for
// the counter, conflicts per committed write.
func BenchmarkConcurrentWriters(b *testing.B) {
	testDSN(b)
	for _, shared := range []bool{false, true} {
		for _, writers := range []int{1, 4} {
			name := fmt.Sprintf("disjoint/writers=%d", writers)
			if shared {
				name = fmt.Sprintf("counter/writers=%d", writers)
			}
			b.Run(name, func(b *testing.B) { benchWriters(b, writers, shared) })
		}
	}
}

func benchWriters(b *testing.B, writers int, shared bool) {
	s := openTest(b)
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
