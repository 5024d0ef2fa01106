package storetest

import (
	"context"
	"testing"

	"github.com/crmkit/crmkit/store"
)

// DefaultScanKeys is the number of keys BenchScan loads when Bench runs it.
const DefaultScanKeys = 100_000

// Bench runs the shared benchmarks as sub-benchmarks of b: a single-key
// Update, a 1,000-key Update, a 10,000-key Batch, a warm Get and a full
// scan of DefaultScanKeys keys. Throughput is reported as keys/s.
func Bench(b *testing.B, bk Backend) {
	b.Run("UpdateOneKey", func(b *testing.B) { benchUpdate(b, bk, 1) })
	b.Run("Update1000Keys", func(b *testing.B) { benchUpdate(b, bk, 1000) })
	b.Run("Batch10000Keys", func(b *testing.B) { benchBatch(b, bk, 10_000) })
	b.Run("GetWarm", func(b *testing.B) { benchGet(b, bk) })
	b.Run("Scan", func(b *testing.B) { BenchScan(b, bk, DefaultScanKeys) })
}

// benchValue is the 100-byte value the benchmarks write.
var benchValue = []byte(filler[:100])

// benchUpdate commits one Update of n fresh keys per iteration.
func benchUpdate(b *testing.B, bk Backend, n int) {
	s := open(b, bk)
	ctx := context.Background()
	var key []byte
	next := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		err := s.Update(ctx, func(tx store.Tx) error {
			for range n {
				key = appendSeqKey(key[:0], "u/", next)
				next++
				if err := tx.Set(key, benchValue); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "keys/s")
}

// benchBatch writes n fresh keys through Batch per iteration.
func benchBatch(b *testing.B, bk Backend, n int) {
	s := open(b, bk)
	ctx := context.Background()
	var key []byte
	next := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		err := s.Batch(ctx, func(w store.Writer) error {
			for range n {
				key = appendSeqKey(key[:0], "b/", next)
				next++
				if err := w.Set(key, benchValue); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "keys/s")
}

// load writes n keys "k/00000000".. with benchValue through Batch.
func load(b *testing.B, s store.Store, n int) {
	b.Helper()
	var key []byte
	err := s.Batch(context.Background(), func(w store.Writer) error {
		for i := range n {
			key = appendSeqKey(key[:0], "k/", i)
			if err := w.Set(key, benchValue); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// benchGet runs one View with one Get of a present key per iteration.
func benchGet(b *testing.B, bk Backend) {
	const n = 10_000
	s := open(b, bk)
	load(b, s, n)
	ctx := context.Background()
	var key []byte
	// Warm the engine's caches.
	for i := range n {
		key = appendSeqKey(key[:0], "k/", i)
		if err := s.View(ctx, func(tx store.Tx) error { _, err := tx.Get(key); return err }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		key = appendSeqKey(key[:0], "k/", (i*7919)%n)
		err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.Get(key)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
}

// BenchScan loads n keys with 100-byte values and measures full forward
// scans over them, with values and keys only, reporting keys/s. Backends
// call it directly to measure larger stores than Bench does.
func BenchScan(b *testing.B, bk Backend, n int) {
	s := open(b, bk)
	load(b, s, n)
	for _, keysOnly := range []bool{false, true} {
		name := "Values"
		if keysOnly {
			name = "KeysOnly"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				count := 0
				err := s.View(ctx, func(tx store.Tx) error {
					for _, err := range tx.Scan(store.Range{Prefix: []byte("k/"), KeysOnly: keysOnly}) {
						if err != nil {
							return err
						}
						count++
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				if count != n {
					b.Fatalf("scan saw %d keys, want %d", count, n)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}
