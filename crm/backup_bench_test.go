package crm_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
)

// benchBackupContacts is the size of the backup benchmarks' workspace:
// CRMKIT_BENCH_BACKUP_CONTACTS, default 20,000.
func benchBackupContacts(b *testing.B) int {
	if s := os.Getenv("CRMKIT_BENCH_BACKUP_CONTACTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("CRMKIT_BENCH_BACKUP_CONTACTS=%q: want a positive number", s)
		}
		return n
	}
	return 20_000
}

// peakHeap samples the heap in use every millisecond until stopped, and
// reports the peak above what was in use when it started.
type peakHeap struct {
	stop chan struct{}
	done chan uint64
}

func startPeakHeap() *peakHeap {
	runtime.GC()
	h := &peakHeap{stop: make(chan struct{}), done: make(chan uint64)}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	go func() {
		var ms runtime.MemStats
		var peak uint64
		defer func() { h.done <- peak - min(peak, base) }()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *peakHeap) Stop() uint64 { close(h.stop); return <-h.done }

// BenchmarkBackup backs up, restores and checks a Badger workspace of
// contacts. Each is measured beside its baseline in the same run: backup
// and check beside a raw scan of the workspace's keys and values, restore
// beside a raw scan of the source written with store.Batch; "ratio" is the time
// over the baseline's. Backup and restore also report how far the heap in
// use grew above where it stood, which must not grow with the workspace
// (the file is streamed).
func BenchmarkBackup(b *testing.B) {
	ctx := context.Background()
	st, _ := openBenchBadger(b)
	ws := newBenchCRM(b, st)
	n := benchBackupContacts(b)
	for from := 0; from < n; from += 1000 {
		if _, err := ws.Contacts().CreateMany(ctx, benchContacts(from, min(1000, n-from))); err != nil {
			b.Fatal(err)
		}
	}
	c := crm.New(st)
	prefix, err := crm.KeySpace(st, benchWorkspace)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "bench.crmbk")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	file, err := c.Backup(ctx, f, crm.BackupOptions{Workspaces: []string{benchWorkspace}})
	if err != nil || f.Close() != nil {
		b.Fatal(err)
	}
	b.Logf("%d contacts, %d keys, backup file %.1f MB", n, file.Keys, float64(file.Bytes)/1e6)
	// rawScan reads every key and value of the workspace, handing them
	// to fn: the baseline of a backup (fn nil) and of a restore.
	rawScan := func(fn func(k, v []byte) error) error {
		return st.View(ctx, func(tx store.Tx) error {
			for e, err := range tx.Scan(store.Range{Prefix: prefix}) {
				if err != nil {
					return err
				}
				if fn != nil {
					if err := fn(e.Key, e.Value); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	// measure runs fn and returns its time and how far the heap grew.
	measure := func(fn func() error) (time.Duration, uint64) {
		h := startPeakHeap()
		start := time.Now()
		err := fn()
		d := time.Since(start)
		grew := h.Stop()
		if err != nil {
			b.Fatal(err)
		}
		return d, grew
	}
	report := func(b *testing.B, got, base time.Duration, heap, baseHeap uint64) {
		b.ReportMetric(float64(file.Keys)*float64(b.N)/got.Seconds(), "keys/s")
		b.ReportMetric(float64(file.Bytes)*float64(b.N)/got.Seconds()/1e6, "MB/s")
		b.ReportMetric(float64(heap)/1e6, "heap-growth-MB")
		b.ReportMetric(float64(baseHeap)/1e6, "raw-heap-growth-MB")
		b.ReportMetric(got.Seconds()/base.Seconds(), "ratio")
	}
	b.Run("backup", func(b *testing.B) {
		var base, got time.Duration
		var heap, baseHeap uint64
		for b.Loop() {
			d, hb := measure(func() error { return rawScan(nil) })
			base, baseHeap = base+d, max(baseHeap, hb)
			d, h := measure(func() error {
				_, err := c.Backup(ctx, io.Discard, crm.BackupOptions{Workspaces: []string{benchWorkspace}})
				return err
			})
			got, heap = got+d, max(heap, h)
		}
		report(b, got, base, heap, baseHeap)
	})
	b.Run("restore", func(b *testing.B) {
		var base, got time.Duration
		var heap, baseHeap uint64
		for b.Loop() {
			b.StopTimer()
			raw, err := badger.Open(b.TempDir(), badger.WithSyncWrites(false))
			if err != nil {
				b.Fatal(err)
			}
			dst, err := badger.Open(b.TempDir(), badger.WithSyncWrites(false))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			d, hb := measure(func() error {
				return raw.Batch(ctx, func(w store.Writer) error { return rawScan(w.Set) })
			})
			base, baseHeap = base+d, max(baseHeap, hb)
			d, h := measure(func() error {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				defer f.Close()
				_, err = crm.New(dst).Restore(ctx, f, crm.RestoreOptions{})
				return err
			})
			got, heap = got+d, max(heap, h)
			b.StopTimer()
			_ = raw.Close()
			_ = dst.Close()
			b.StartTimer()
		}
		report(b, got, base, heap, baseHeap)
	})
	b.Run("check", func(b *testing.B) {
		var base, got time.Duration
		var records int64
		for b.Loop() {
			d, _ := measure(func() error { return rawScan(nil) })
			base += d
			d, _ = measure(func() error {
				rep, err := ws.Check(ctx, crm.CheckOptions{})
				if err == nil && rep.Drifted() != 0 {
					b.Fatalf("drift in a clean workspace: %v", rep.Issues)
				}
				if rep != nil {
					records = rep.Records
				}
				return err
			})
			got += d
		}
		b.ReportMetric(float64(records)*float64(b.N)/got.Seconds(), "records/s")
		b.ReportMetric(got.Seconds()/base.Seconds(), "ratio")
	})
}
