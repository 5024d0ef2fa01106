package badger_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/crmkit/crmkit/store/storetest"
	dgbadger "github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/require"
)

// The benchmarks compare the store with raw Badger opened with the very
// same badger.Options (the store's default profile, captured through
// WithBadgerOptions), on the same keys and values. Commits are not synced
// (WithSyncWrites(false)) so that fsync latency, which is the same for
// both, does not drown the difference; BenchmarkOverhead/commit1-sync
// measures that case too.

// benchValue is the template of the values the benchmarks write: 200
// bytes.
var benchValue = func() []byte {
	v := make([]byte, 200)
	for i := range v {
		v[i] = byte(i*131 + 7)
	}
	return v
}()

func benchKey(i int) []byte { return fmt.Appendf(nil, "k%012d", i) }

// benchValueFor returns a new 200-byte value for key i, as an application
// builds one per record. (Passing raw Badger one shared buffer for every key
// would flatter it: the commit then copies the same cache-hot bytes each
// time, which no real workload does.)
func benchValueFor(i int) []byte {
	v := make([]byte, len(benchValue))
	copy(v, benchValue)
	binary.BigEndian.PutUint64(v, uint64(i))
	return v
}

// openPair opens a store and a raw Badger database with identical options,
// in fresh directories, closed when b ends.
func openPair(b *testing.B, opts ...badger.Option) (*badger.Store, *dgbadger.DB) {
	b.Helper()
	var captured dgbadger.Options
	opts = append(opts, badger.WithGCInterval(0),
		badger.WithBadgerOptions(func(o *dgbadger.Options) { captured = *o }))
	s, err := badger.Open(b.TempDir(), opts...)
	require.NoError(b, err)
	captured.Dir = b.TempDir()
	captured.ValueDir = captured.Dir
	db, err := dgbadger.Open(captured)
	require.NoError(b, err)
	b.Cleanup(func() {
		require.NoError(b, s.Close())
		require.NoError(b, db.Close())
	})
	return s, db
}

// pairOp is one operation done the raw way and the wrapped way.
type pairOp struct {
	raw, wrapped func(b *testing.B, i int)
}

// runPair runs op as three sub-benchmarks: raw, wrapped, and ratio, which
// times both in the same loop, alternating which goes first, and reports
// the wrapped/raw ratio of the median operation times as "ratio" (of the
// total times as "mean-ratio", and of the process CPU time as "cpu-ratio"),
// with the medians as raw-ns/op and wrapped-ns/op. keysPerOp, if positive, adds a keys/s metric.
func runPair(b *testing.B, setup func(b *testing.B) pairOp, keysPerOp int) {
	perSec := func(b *testing.B, d time.Duration, n int) {
		if keysPerOp > 0 && d > 0 {
			b.ReportMetric(float64(n*keysPerOp)/d.Seconds(), "keys/s")
		}
	}
	b.Run("raw", func(b *testing.B) {
		op := setup(b)
		b.ResetTimer()
		for i := range b.N {
			op.raw(b, i)
		}
		perSec(b, b.Elapsed(), b.N)
	})
	b.Run("wrapped", func(b *testing.B) {
		op := setup(b)
		b.ResetTimer()
		for i := range b.N {
			op.wrapped(b, i)
		}
		perSec(b, b.Elapsed(), b.N)
	})
	b.Run("ratio", func(b *testing.B) {
		op := setup(b)
		var raw, wrapped, rawCPU, wrappedCPU []time.Duration
		timed := func(f func(b *testing.B, i int), i int, wall, cpu *[]time.Duration) {
			c0 := cpuTime()
			t0 := time.Now()
			f(b, i)
			*wall = append(*wall, time.Since(t0))
			*cpu = append(*cpu, cpuTime()-c0)
		}
		b.ResetTimer()
		for i := range b.N {
			if i%2 == 0 {
				timed(op.raw, i, &raw, &rawCPU)
				timed(op.wrapped, i, &wrapped, &wrappedCPU)
			} else {
				timed(op.wrapped, i, &wrapped, &wrappedCPU)
				timed(op.raw, i, &raw, &rawCPU)
			}
		}
		b.StopTimer()
		// The median resists the outliers that preemption by other
		// processes puts in single operations; the mean is reported too,
		// and the ratio of the process's CPU time (user and system, all
		// goroutines), which preemption does not inflate.
		b.ReportMetric(float64(median(wrapped))/float64(median(raw)), "ratio")
		b.ReportMetric(float64(sum(wrapped))/float64(sum(raw)), "mean-ratio")
		b.ReportMetric(float64(sum(wrappedCPU))/float64(sum(rawCPU)), "cpu-ratio")
		b.ReportMetric(float64(median(raw).Nanoseconds()), "raw-ns/op")
		b.ReportMetric(float64(median(wrapped).Nanoseconds()), "wrapped-ns/op")
	})
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func sum(d []time.Duration) time.Duration {
	var t time.Duration
	for _, x := range d {
		t += x
	}
	return t
}

// commitOp commits transactions of n fresh keys.
func commitOp(n int, opts ...badger.Option) func(b *testing.B) pairOp {
	return func(b *testing.B) pairOp {
		s, db := openPair(b, opts...)
		ctx := context.Background()
		return pairOp{
			raw: func(b *testing.B, i int) {
				err := db.Update(func(txn *dgbadger.Txn) error {
					for j := range n {
						if err := txn.Set(benchKey(i*n+j), benchValueFor(i*n+j)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			},
			wrapped: func(b *testing.B, i int) {
				err := s.Update(ctx, func(tx store.Tx) error {
					for j := range n {
						if err := tx.Set(benchKey(i*n+j), benchValueFor(i*n+j)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			},
		}
	}
}

// getOp reads one of 100,000 keys per transaction.
func getOp(b *testing.B) pairOp {
	const n = 100_000
	s, db := openPair(b, badger.WithSyncWrites(false))
	ctx := context.Background()
	require.NoError(b, s.Batch(ctx, func(w store.Writer) error {
		for i := range n {
			if err := w.Set(benchKey(i), benchValue); err != nil {
				return err
			}
		}
		return nil
	}))
	wb := db.NewWriteBatch()
	for i := range n {
		require.NoError(b, wb.Set(benchKey(i), benchValue))
	}
	require.NoError(b, wb.Flush())
	return pairOp{
		raw: func(b *testing.B, i int) {
			err := db.View(func(txn *dgbadger.Txn) error {
				item, err := txn.Get(benchKey(i * 7919 % n))
				if err != nil {
					return err
				}
				v, err := item.ValueCopy(nil)
				if len(v) != len(benchValue) {
					return fmt.Errorf("value of %d bytes", len(v))
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		},
		wrapped: func(b *testing.B, i int) {
			err := s.View(ctx, func(tx store.Tx) error {
				v, err := tx.Get(benchKey(i * 7919 % n))
				if len(v) != len(benchValue) {
					return fmt.Errorf("value of %d bytes (%v)", len(v), err)
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		},
	}
}

// BenchmarkOverhead measures the store against raw Badger with the same
// options: single-key commits, 1,000-key transactions, and single-key
// reads. The goal is a ratio (wrapped/raw time) of at most 1.10.
func BenchmarkOverhead(b *testing.B) {
	nosync := badger.WithSyncWrites(false)
	b.Run("commit1", func(b *testing.B) { runPair(b, commitOp(1, nosync), 1) })
	b.Run("txn1000", func(b *testing.B) { runPair(b, commitOp(1000, nosync), 1000) })
	b.Run("get", func(b *testing.B) { runPair(b, getOp, 1) })
	b.Run("commit1-sync", func(b *testing.B) { runPair(b, commitOp(1), 1) })
}

// scanFixture is a store and a raw Badger database holding the same
// scanKeys keys, loaded once per process and removed by TestMain.
var scanFixture struct {
	once sync.Once
	s    *badger.Store
	db   *dgbadger.DB
	err  error
}

const scanKeys = 1_000_000

func loadScanFixture(b *testing.B) (*badger.Store, *dgbadger.DB) {
	f := &scanFixture
	f.once.Do(func() {
		dir, err := os.MkdirTemp("", "crmkit-badger-bench-")
		if err != nil {
			f.err = err
			return
		}
		atExit(func() { _ = os.RemoveAll(dir) })
		f.s, f.db, f.err = buildScanFixture(dir)
		if f.err == nil {
			atExit(func() {
				_ = f.s.Close()
				_ = f.db.Close()
			})
		}
	})
	require.NoError(b, f.err)
	return f.s, f.db
}

// buildScanFixture loads the same keys into a store and a raw database in
// dir, then closes both, compacting level 0, and reopens them, so that both
// LSM trees have the same settled shape when the scans start.
func buildScanFixture(dir string) (*badger.Store, *dgbadger.DB, error) {
	var captured dgbadger.Options
	storeDir := filepath.Join(dir, "store")
	opts := []badger.Option{badger.WithSyncWrites(false), badger.WithGCInterval(0),
		badger.WithBadgerOptions(func(o *dgbadger.Options) {
			o.CompactL0OnClose = true
			captured = *o
		})}
	s, err := badger.Open(storeDir, opts...)
	if err != nil {
		return nil, nil, err
	}
	err = s.Batch(context.Background(), func(w store.Writer) error {
		for i := range scanKeys {
			if err := w.Set(benchKey(i), benchValueFor(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, err
	}

	rawOpts := captured
	rawOpts.Dir = filepath.Join(dir, "raw")
	rawOpts.ValueDir = rawOpts.Dir
	db, err := dgbadger.Open(rawOpts)
	if err != nil {
		return nil, nil, err
	}
	wb := db.NewWriteBatch()
	wb.SetMaxPendingTxns(4) // as the store's Batch does
	for i := range scanKeys {
		if err = wb.Set(benchKey(i), benchValueFor(i)); err != nil {
			break
		}
	}
	if err == nil {
		err = wb.Flush()
	} else {
		wb.Cancel()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, err
	}

	if s, err = badger.Open(storeDir, opts...); err != nil {
		return nil, nil, err
	}
	if db, err = dgbadger.Open(rawOpts); err != nil {
		_ = s.Close()
		return nil, nil, err
	}
	return s, db, nil
}

// scanOp scans every key, with values or keys only.
func scanOp(keysOnly, prefetch bool) func(b *testing.B) pairOp {
	return func(b *testing.B) pairOp {
		s, db := loadScanFixture(b)
		ctx := context.Background()
		check := func(b *testing.B, n, bytes int) {
			want := 0
			if !keysOnly {
				want = scanKeys * len(benchValue)
			}
			if n != scanKeys || bytes != want {
				b.Fatalf("scanned %d keys, %d value bytes", n, bytes)
			}
		}
		return pairOp{
			raw: func(b *testing.B, _ int) {
				n, size := 0, 0
				err := db.View(func(txn *dgbadger.Txn) error {
					opts := dgbadger.IteratorOptions{PrefetchValues: false}
					if prefetch {
						opts = dgbadger.DefaultIteratorOptions
					}
					it := txn.NewIterator(opts)
					defer it.Close()
					for it.Rewind(); it.Valid(); it.Next() {
						item := it.Item()
						n++
						if keysOnly {
							continue
						}
						if err := item.Value(func(v []byte) error {
							size += len(v)
							return nil
						}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				check(b, n, size)
			},
			wrapped: func(b *testing.B, _ int) {
				n, size := 0, 0
				err := s.View(ctx, func(tx store.Tx) error {
					for e, err := range tx.Scan(store.Range{KeysOnly: keysOnly}) {
						if err != nil {
							return err
						}
						n++
						size += len(e.Value)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				check(b, n, size)
			},
		}
	}
}

// BenchmarkScan measures full scans of 1,000,000 keys with 200-byte values,
// in keys/s, for the store and raw Badger side by side. Raw Badger reads
// values one at a time as the store does ("values"); "values-prefetch" runs
// raw Badger with its default iterator options (prefetching values in
// goroutines) for reference.
func BenchmarkScan(b *testing.B) {
	b.Run("values", func(b *testing.B) { runPair(b, scanOp(false, false), scanKeys) })
	b.Run("keysonly", func(b *testing.B) { runPair(b, scanOp(true, false), scanKeys) })
	b.Run("values-prefetch", func(b *testing.B) { runPair(b, scanOp(false, true), scanKeys) })
}

// BenchmarkResidentMemory builds and runs internal/rsscheck, which writes
// 1,000,000 200-byte values in a process of its own and reports its resident
// memory: with the store's default profile (the goal is under 300 MB), and,
// as the baseline, with Badger's own DefaultOptions.
func BenchmarkResidentMemory(b *testing.B) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Skip("the go command is needed to build internal/rsscheck")
	}
	bin := filepath.Join(b.TempDir(), "rsscheck")
	build := exec.Command(goTool, "build", "-o", bin, "github.com/crmkit/crmkit/store/badger/internal/rsscheck")
	out, err := build.CombinedOutput()
	require.NoError(b, err, "build rsscheck: %s", out)

	for _, profile := range []struct {
		name string
		args []string
	}{
		{"profile=embedded", nil},
		{"profile=badger-defaults", []string{"-badger-defaults"}},
	} {
		b.Run(profile.name, func(b *testing.B) {
			var r struct {
				WriteSeconds float64 `json:"write_seconds"`
				AfterWrite   struct {
					RSS  float64 `json:"rss_mib"`
					Anon float64 `json:"anon_mib"`
					File float64 `json:"file_mib"`
				} `json:"after_write"`
				PeakRSS   float64 `json:"peak_rss_mib"`
				HeapInuse float64 `json:"heap_inuse_mib"`
			}
			for range b.N {
				args := append([]string{"-dir", filepath.Join(b.TempDir(), "db")}, profile.args...)
				cmd := exec.Command(bin, args...)
				cmd.Stderr = os.Stderr
				out, err := cmd.Output()
				require.NoError(b, err)
				require.NoError(b, json.Unmarshal(out, &r), "rsscheck output: %s", out)
			}
			b.ReportMetric(r.PeakRSS, "peak-RSS-MiB")
			b.ReportMetric(r.AfterWrite.RSS, "RSS-MiB")
			b.ReportMetric(r.AfterWrite.Anon, "anon-MiB")
			b.ReportMetric(r.AfterWrite.File, "file-MiB")
			b.ReportMetric(r.HeapInuse, "heap-MiB")
			b.ReportMetric(r.WriteSeconds, "write-s")
		})
	}
}

// BenchmarkStoretest runs the benchmarks shared by every backend.
func BenchmarkStoretest(b *testing.B) {
	storetest.Bench(b, diskBackend(badger.WithSyncWrites(false), badger.WithGCInterval(0)))
}
