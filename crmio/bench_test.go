package crmio_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/crmkit/crmkit/store/memory"
	"github.com/stretchr/testify/require"
)

// benchRows is the number of contacts BenchmarkImportContacts imports:
// CRMIO_BENCH_ROWS, default 20,000.
func benchRows(b *testing.B) int {
	n := 20_000
	if s := os.Getenv("CRMIO_BENCH_ROWS"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(b, err, "CRMIO_BENCH_ROWS")
		n = v
	}
	return n
}

// writeContactsFile writes n contacts as a CSV file the way a CRM export
// looks: names, email, phone, city, country, tags, a lead source.
func writeContactsFile(b *testing.B, n int) string {
	path := filepath.Join(b.TempDir(), "contacts.csv")
	f, err := os.Create(path)
	require.NoError(b, err)
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "First Name,Last Name,Email,Phone,City,Country,Tags,Lead Source")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "First%d,Last%d,Person.%d@Example.com,+49 30 %07d,Berlin,DE,t%d;vip,web\n", i, i, i, i, i%13)
	}
	require.NoError(b, w.Flush())
	require.NoError(b, f.Close())
	return path
}

// heapPeak samples the heap in use until stopped and returns the highest
// value seen.
type heapPeak struct {
	stop chan struct{}
	done chan uint64
}

func startHeapPeak() *heapPeak {
	h := &heapPeak{stop: make(chan struct{}), done: make(chan uint64)}
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-h.stop:
				h.done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapPeak) Stop() uint64 {
	close(h.stop)
	return <-h.done
}

// BenchmarkImportContacts imports a generated CSV of contacts into an
// empty workspace on each backend and reports rows per second, the peak
// heap in use during the import, and, as the baseline measured in the same
// run, the rate of the CRM's own CreateMany for the same contacts built in
// memory (so rows/s ÷ crm-rows/s is what the CSV path costs on top).
//
// badger-bulk is Badger opened the way crmio's doc advises for a bulk
// load, with a 64 MiB memtable.
func BenchmarkImportContacts(b *testing.B) {
	n := benchRows(b)
	path := writeContactsFile(b, n)
	ctx := context.Background()
	bulk := backend{"badger-bulk", func(t testing.TB) store.Store {
		st, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false), badger.WithMemTableSize(64<<20))
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}}
	stores := []backend{
		{"memory", func(t testing.TB) store.Store {
			st := memory.New()
			t.Cleanup(func() { _ = st.Close() })
			return st
		}},
		{"badger", func(t testing.TB) store.Store {
			st, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			return st
		}},
		bulk,
	}
	for _, be := range stores {
		b.Run(be.name, func(b *testing.B) {
			var rows, crmRows float64
			var peak uint64
			var elapsed, crmElapsed time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ws := newWorkspace(b, be.open(b))
				f, err := os.Open(path)
				require.NoError(b, err)
				runtime.GC()
				hp := startHeapPeak()
				start := time.Now()
				b.StartTimer()
				res, err := crmio.Import(ctx, ws, f, crmio.ImportOptions{Object: crmio.ObjectContact})
				b.StopTimer()
				elapsed += time.Since(start)
				peak = max(peak, hp.Stop())
				require.NoError(b, err)
				require.NoError(b, f.Close())
				require.Equal(b, n, res.Created, "%v", res.Rejects)
				rows += float64(n)

				// Baseline: the same contacts straight into CreateMany.
				ws2 := newWorkspace(b, be.open(b))
				start = time.Now()
				batch := make([]crm.Contact, 0, crmio.DefaultBatchSize)
				for j := 0; j < n; j++ {
					batch = append(batch, crm.Contact{FirstName: fmt.Sprintf("First%d", j), LastName: fmt.Sprintf("Last%d", j),
						Emails: []string{fmt.Sprintf("person.%d@example.com", j)}, Phones: []crm.Phone{{Number: fmt.Sprintf("+49 30 %07d", j)}},
						Address: crm.Address{City: "Berlin", Country: "DE"}, Tags: []string{fmt.Sprintf("t%d", j%13), "vip"}, LeadSource: "web"})
					if len(batch) == cap(batch) || j == n-1 {
						_, err := ws2.Contacts().CreateMany(ctx, batch)
						require.NoError(b, err)
						batch = batch[:0]
					}
				}
				crmElapsed += time.Since(start)
				crmRows += float64(n)
			}
			b.ReportMetric(rows/elapsed.Seconds(), "rows/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			b.ReportMetric(crmRows/crmElapsed.Seconds(), "crm-rows/s")
			b.ReportMetric(elapsed.Seconds()/rows*1e6/(crmElapsed.Seconds()/crmRows*1e6), "x-crm-time")
		})
	}
	// The CSV path alone: reading, mapping, converting and batching, with
	// the writes left out (a dry run).
	b.Run("dry-run", func(b *testing.B) {
		ws := newWorkspace(b, selected.open(b))
		var elapsed time.Duration
		for i := 0; i < b.N; i++ {
			f, err := os.Open(path)
			require.NoError(b, err)
			start := time.Now()
			res, err := crmio.Import(ctx, ws, f, crmio.ImportOptions{Object: crmio.ObjectContact, DryRun: true})
			elapsed += time.Since(start)
			require.NoError(b, err)
			require.NoError(b, f.Close())
			require.Equal(b, n, res.Created)
		}
		b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "rows/s")
	})
}
