package crm_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/memory"
)

// The benchmarks below measure the domain on the embedded Badger backend,
// each next to a baseline that does the same storage work through the
// store interface directly, in the same run:
//
//   - BenchmarkContactCreate: Create (one contact per transaction),
//     CreateMany in batches of 1,000, and CreateMany of 100,000 contacts,
//     against raw Updates that write as many keys of the same sizes as the
//     CRM writes per contact, in as many transactions.
//   - BenchmarkContactGet: Get by ID and GetByEmail on a warm store of
//     CRMKIT_BENCH_CONTACTS contacts (default 1,000,000), against raw Views
//     that read the same keys; p50 and p99 latency.
//   - BenchmarkTimelinePage: a 50-entry timeline page of a contact with
//     10,000 activities, against a raw View that scans and reads the same
//     keys.
//
// Every "crm" sub-benchmark reports ratio = its time / the time of the
// "raw" sub-benchmark run just before it (total time for creates, median
// operation time for reads) and cpu-ratio, the same for the CPU time the
// whole process used (all goroutines, so Badger's flushes and compactions
// count; on Linux only). The CPU figures hold when other processes share
// the machine, which inflates wall-clock times. BENCHMARKS.md at the
// repository root has the commands and the figures.

// The benchmarks' data, clock, store and CPU meter are shared with the
// other packages' benchmarks (internal/crmtest).
var (
	benchEpoch      = crmtest.BenchEpoch
	benchContact    = crmtest.Contact
	benchContacts   = crmtest.Contacts
	processCPU      = crmtest.ProcessCPU
	openBenchBadger = crmtest.OpenBadger
)

// benchWorkspace is the workspace every benchmark writes to.
const benchWorkspace = "bench"

// waitIdle waits until the engine's background work after a load
// (memtable flushes, compactions) has finished, judged by the files in dir
// keeping their names and sizes for 3 seconds, and at most 5 minutes, so
// that lookups are measured on a settled store rather than next to a
// compaction.
func waitIdle(b *testing.B, dir string) {
	b.Helper()
	snapshot := func() string {
		var sb strings.Builder
		entries, err := os.ReadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range entries {
			if info, err := e.Info(); err == nil {
				fmt.Fprintf(&sb, "%s:%d;", e.Name(), info.Size())
			}
		}
		return sb.String()
	}
	start := time.Now()
	last, stable := snapshot(), 0
	for stable < 6 && time.Since(start) < 5*time.Minute {
		<-time.After(500 * time.Millisecond)
		cur := snapshot()
		if cur == last {
			stable++
		} else {
			last, stable = cur, 0
		}
	}
	b.Logf("store settled after %v", time.Since(start).Round(100*time.Millisecond))
}

// newBenchCRM returns a CRM over st with the benchmark workspace.
func newBenchCRM(b *testing.B, st store.Store) *crm.Workspace {
	b.Helper()
	c := crm.New(st, crm.WithClock(func() time.Time { return benchEpoch }))
	ws, err := c.CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: benchWorkspace, Name: "Benchmarks"})
	if err != nil {
		b.Fatal(err)
	}
	return ws
}

// --- A store that records what the CRM does with it -----------------------

// recordingStore wraps a store and records, while on, the shape of every
// Set (key and value length), every Get key and every Scan (range and the
// number of entries consumed), and counts Update calls. It is used to learn
// what one CRM call costs in storage terms, so the raw baselines can do the
// same storage work without the CRM.
type recordingStore struct {
	store.Store
	mu      sync.Mutex
	updates int
	sets    []benchWrite
	// split, if set, also records the writes of each Update in txns.
	split bool
	txns  [][]benchWrite
	gets  [][]byte
	scans []benchScan
}

type benchWrite struct{ key, value int }

type benchScan struct {
	r store.Range
	n int
}

// reset clears what was recorded.
func (s *recordingStore) reset() {
	s.mu.Lock()
	s.updates, s.sets, s.gets, s.scans, s.split, s.txns = 0, nil, nil, nil, false, nil
	s.mu.Unlock()
}

func (s *recordingStore) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(&recordingTx{tx, s}) })
}

func (s *recordingStore) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	s.mu.Lock()
	s.updates++
	from := len(s.sets)
	s.mu.Unlock()
	err := s.Store.Update(ctx, func(tx store.Tx) error { return fn(&recordingTx{tx, s}) })
	s.mu.Lock()
	if s.split && err == nil {
		s.txns = append(s.txns, slices.Clone(s.sets[from:]))
	}
	s.mu.Unlock()
	return err
}

type recordingTx struct {
	store.Tx
	s *recordingStore
}

func (t *recordingTx) Get(key []byte) ([]byte, error) {
	t.s.mu.Lock()
	t.s.gets = append(t.s.gets, slices.Clone(key))
	t.s.mu.Unlock()
	return t.Tx.Get(key)
}

func (t *recordingTx) Set(key, value []byte) error {
	t.s.mu.Lock()
	t.s.sets = append(t.s.sets, benchWrite{len(key), len(value)})
	t.s.mu.Unlock()
	return t.Tx.Set(key, value)
}

// Append records an appended key (prefix and number) and forwards it.
func (t *recordingTx) Append(prefix, value []byte, seq *uint64) error {
	a, ok := t.Tx.(store.Appender)
	if !ok {
		return errors.ErrUnsupported
	}
	t.s.mu.Lock()
	t.s.sets = append(t.s.sets, benchWrite{len(prefix) + store.SeqSize, len(value)})
	t.s.mu.Unlock()
	return a.Append(prefix, value, seq)
}

func (t *recordingTx) Scan(r store.Range) iter.Seq2[store.Entry, error] {
	return func(yield func(store.Entry, error) bool) {
		rec := benchScan{r: store.Range{
			Prefix: slices.Clone(r.Prefix), Start: slices.Clone(r.Start), End: slices.Clone(r.End),
			Reverse: r.Reverse, KeysOnly: r.KeysOnly,
		}}
		defer func() {
			t.s.mu.Lock()
			t.s.scans = append(t.s.scans, rec)
			t.s.mu.Unlock()
		}()
		for e, err := range t.Tx.Scan(r) {
			rec.n++
			if !yield(e, err) {
				return
			}
		}
	}
}

// benchReads is the storage work of one read call: scans first, then gets.
type benchReads struct {
	gets  [][]byte
	scans []benchScan
}

// take returns what s recorded since the last reset.
func (s *recordingStore) take() benchReads {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := benchReads{gets: s.gets, scans: s.scans}
	s.gets, s.scans = nil, nil
	return r
}

// replay does r's reads in one View of st, consuming as many entries of
// each scan as the CRM did.
func (r benchReads) replay(ctx context.Context, st store.Store) error {
	return st.View(ctx, func(tx store.Tx) error {
		for _, sc := range r.scans {
			n := 0
			for _, err := range tx.Scan(sc.r) {
				if err != nil {
					return err
				}
				if n++; n == sc.n {
					break
				}
			}
		}
		for _, k := range r.gets {
			// A miss (a workspace without an access policy) is a read too.
			if _, err := tx.Get(k); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
}

// --- BenchmarkContactCreate ----------------------------------------------

// createShape is what creating contacts writes, learnt once on the memory
// store: the Sets of each of the first createShapeN contacts, and how many
// Updates CreateMany used for them.
type createShape struct {
	perContact [][]benchWrite
	// bulkPerTxn is how many contacts CreateMany puts in one transaction.
	bulkPerTxn  int
	keys, bytes float64 // mean keys and key+value bytes per contact
	// bulk holds the writes of CreateMany's transactions for createShapeN
	// contacts (it writes a counter once per transaction, not per
	// contact), and bulkBytes their key+value bytes per contact.
	bulk      [][]benchWrite
	bulkBytes float64
}

const createShapeN = 1000

var (
	createShapeOnce sync.Once
	createShapeVal  createShape
	createShapeErr  error
)

func learnCreateShape() (createShape, error) {
	createShapeOnce.Do(func() {
		ctx := context.Background()
		rec := &recordingStore{Store: memory.New()}
		defer rec.Close()
		c := crm.New(rec, crm.WithClock(func() time.Time { return benchEpoch }))
		ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: benchWorkspace, Name: "Benchmarks"})
		if err != nil {
			createShapeErr = err
			return
		}
		var sh createShape
		total := 0
		for i := range createShapeN {
			rec.reset()
			if _, err := ws.Contacts().Create(ctx, benchContact(i)); err != nil {
				createShapeErr = err
				return
			}
			sh.perContact = append(sh.perContact, rec.sets)
			for _, w := range rec.sets {
				total += w.key + w.value
			}
			sh.keys += float64(len(rec.sets))
		}
		sh.keys /= createShapeN
		sh.bytes = float64(total) / createShapeN

		// CreateMany must write the same keys per contact (checked on the
		// same contacts, in a second workspace); learn its transaction
		// size.
		bulk, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: benchWorkspace + "-bulk", Name: "Bulk"})
		if err != nil {
			createShapeErr = err
			return
		}
		rec.reset()
		rec.split = true
		if _, err := bulk.Contacts().CreateMany(ctx, benchContacts(0, createShapeN)); err != nil {
			createShapeErr = err
			return
		}
		if rec.updates == 0 || len(rec.txns) != rec.updates {
			createShapeErr = fmt.Errorf("CreateMany wrote %d transactions in %d updates for %d contacts", len(rec.txns), rec.updates, createShapeN)
			return
		}
		sh.bulk = rec.txns
		for _, tx := range rec.txns {
			for _, w := range tx {
				sh.bulkBytes += float64(w.key + w.value)
			}
		}
		sh.bulkBytes /= createShapeN
		sh.bulkPerTxn = (createShapeN + rec.updates - 1) / rec.updates
		createShapeVal = sh
	})
	return createShapeVal, createShapeErr
}

// rawWriter writes keys of given shapes with random content: the first 8
// bytes of a key are a bijective hash of a counter (so keys are unique and
// spread over the key space), the rest and the values come from a random
// pool.
type rawWriter struct {
	next uint64
	pool []byte
	key  []byte
}

func newRawWriter(seed uint64) *rawWriter {
	r := rand.New(rand.NewPCG(seed, 0xbe7c4))
	pool := make([]byte, 1<<20)
	for i := 0; i+8 <= len(pool); i += 8 {
		binary.LittleEndian.PutUint64(pool[i:], r.Uint64())
	}
	return &rawWriter{next: seed << 40, pool: pool}
}

// splitmix64 is a bijective mix of x.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// write sets one key of each shape.
func (w *rawWriter) write(tx store.Writer, shapes []benchWrite) error {
	for _, s := range shapes {
		w.next++
		h := splitmix64(w.next)
		off := int(h % uint64(len(w.pool)-4096))
		w.key = binary.BigEndian.AppendUint64(w.key[:0], h)
		if s.key > 8 {
			w.key = append(w.key, w.pool[off:off+s.key-8]...)
		}
		if err := tx.Set(w.key, w.pool[off+64:off+64+s.value]); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkContactCreate measures creating realistic contacts on Badger,
// one per transaction (Single), 1,000 per CreateMany call (Bulk1000) and
// 100,000 per CreateMany call (Bulk100k), each after a raw baseline that
// writes the same number of keys of the same sizes in the same number of
// transactions.
func BenchmarkContactCreate(b *testing.B) {
	sh, err := learnCreateShape()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("a contact create writes %.2f keys, %.0f bytes; CreateMany puts %d contacts in a transaction",
		sh.keys, sh.bytes, sh.bulkPerTxn)

	b.Run("Single", func(b *testing.B) {
		var raw *benchResult
		b.Run("raw", func(b *testing.B) {
			st, _ := openBenchBadger(b)
			w := newRawWriter(1)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			for i := range b.N {
				err := st.Update(ctx, func(tx store.Tx) error { return w.write(tx, sh.perContact[i%len(sh.perContact)]) })
				if err != nil {
					b.Fatal(err)
				}
			}
			raw = reportCreate(b, b.N, cpu.used(), sh, nil)
		})
		b.Run("crm", func(b *testing.B) {
			st, _ := openBenchBadger(b)
			ws := newBenchCRM(b, st)
			in := benchContacts(0, b.N)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU()
			for i := range b.N {
				if _, err := ws.Contacts().Create(ctx, in[i]); err != nil {
					b.Fatal(err)
				}
			}
			reportCreate(b, b.N, cpu.used(), sh, raw)
		})
	})

	for _, size := range []struct {
		name string
		n    int
	}{{"Bulk1000", 1000}, {"Bulk100k", 100_000}} {
		b.Run(size.name, func(b *testing.B) {
			var raw *benchResult
			b.Run("raw", func(b *testing.B) {
				st, _ := openBenchBadger(b)
				w := newRawWriter(2)
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				// The transactions CreateMany wrote for createShapeN
				// contacts, replayed as often as size.n needs.
				for range b.N {
					for range size.n / createShapeN {
						for _, writes := range sh.bulk {
							if err := st.Update(ctx, func(tx store.Tx) error { return w.write(tx, writes) }); err != nil {
								b.Fatal(err)
							}
						}
					}
				}
				raw = reportCreate(b, b.N*size.n, cpu.used(), sh, nil)
				b.ReportMetric(sh.bulkBytes, "bulk-B/contact")
			})
			b.Run("crm", func(b *testing.B) {
				st, _ := openBenchBadger(b)
				ws := newBenchCRM(b, st)
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				for op := range b.N {
					b.StopTimer()
					cpu.pause()
					in := benchContacts(op*size.n, size.n)
					cpu.resume()
					b.StartTimer()
					if _, err := ws.Contacts().CreateMany(ctx, in); err != nil {
						b.Fatal(err)
					}
				}
				reportCreate(b, b.N*size.n, cpu.used(), sh, raw)
			})
		})
	}
}

// reportCreate reports contacts/s (and s/100k for large batches), the CPU
// time per contact and, against the baseline raw if given, ratio and
// cpu-ratio. It returns the figures per contact.
func reportCreate(b *testing.B, contacts int, cpu time.Duration, sh createShape, raw *benchResult) *benchResult {
	r := &benchResult{
		wall: float64(b.Elapsed().Nanoseconds()) / float64(contacts),
		cpu:  float64(cpu.Nanoseconds()) / float64(contacts),
	}
	b.ReportMetric(1e9/r.wall, "contacts/s")
	if contacts/b.N >= 100_000 {
		b.ReportMetric(r.wall*100_000/1e9, "s/100k")
	}
	if raw == nil {
		b.ReportMetric(sh.keys, "keys/contact")
		b.ReportMetric(sh.bytes, "B/contact")
	} else {
		b.ReportMetric(r.wall/raw.wall, "ratio")
	}
	reportCPU(b, r.cpu, "cpu-µs/contact", raw)
	return r
}

// benchResult is what a sub-benchmark measured, per contact, lookup or
// page, in ns.
type benchResult struct {
	wall float64 // mean wall-clock time
	p50  float64 // median wall-clock time of one operation, if timed
	cpu  float64 // mean process CPU time, 0 where it cannot be read
}

// reportCPU reports cpu (ns per unit) in µs under name and, against raw,
// cpu-ratio; nothing where the CPU time cannot be read.
func reportCPU(b *testing.B, cpu float64, name string, raw *benchResult) {
	if cpu <= 0 {
		return
	}
	b.ReportMetric(cpu/1e3, name)
	if raw != nil && raw.cpu > 0 {
		b.ReportMetric(cpu/raw.cpu, "cpu-ratio")
	}
}

// cpuMeter measures the CPU time the process uses, less paused spans.
type cpuMeter struct {
	start, pausedAt, paused time.Duration
	ok                      bool
}

func startCPU() *cpuMeter {
	t, ok := processCPU()
	return &cpuMeter{start: t, ok: ok}
}

func (m *cpuMeter) pause()  { m.pausedAt, _ = processCPU() }
func (m *cpuMeter) resume() { t, _ := processCPU(); m.paused += t - m.pausedAt }

// used returns the CPU time used since startCPU outside pauses, or 0 where
// it cannot be read.
func (m *cpuMeter) used() time.Duration {
	t, ok := processCPU()
	if !ok || !m.ok {
		return 0
	}
	return t - m.start - m.paused
}

// --- BenchmarkContactGet -------------------------------------------------

// benchContactCount is how many contacts BenchmarkContactGet loads:
// CRMKIT_BENCH_CONTACTS, or 1,000,000.
func benchContactCount(b *testing.B) int {
	s := os.Getenv("CRMKIT_BENCH_CONTACTS")
	if s == "" {
		return 1_000_000
	}
	n, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
	if err != nil || n < 1 {
		b.Fatalf("CRMKIT_BENCH_CONTACTS=%q: want a positive number", s)
	}
	return n
}

// getSampleSize is how many of the loaded contacts the lookups visit, in a
// random order: enough that the working set exceeds Badger's block cache.
const getSampleSize = 100_000

// BenchmarkContactGet measures Get by ID and GetByEmail on a warm Badger
// store of benchContactCount contacts, with p50 and p99 latency, each after
// a raw baseline that reads the same keys in one View per lookup. The store
// is built once for all sub-benchmarks (with CreateMany) and removed at the
// end; with -count above 1 it is built again for each count.
func BenchmarkContactGet(b *testing.B) {
	n := benchContactCount(b)
	ctx := context.Background()
	st, dir := openBenchBadger(b)
	rec := &recordingStore{Store: st}
	ws := newBenchCRM(b, st)
	// A second handle on the same store and workspace, that records.
	recWS, err := crm.New(rec).Workspace(ctx, benchWorkspace)
	if err != nil {
		b.Fatal(err)
	}

	start := time.Now()
	ids := make([]string, n)
	emails := make([]string, n)
	const chunk = 10_000
	for from := 0; from < n; from += chunk {
		out, err := ws.Contacts().CreateMany(ctx, benchContacts(from, min(chunk, n-from)))
		if err != nil {
			b.Fatal(err)
		}
		for i, c := range out {
			ids[from+i], emails[from+i] = c.ID, c.Emails[0]
		}
	}
	b.Logf("loaded %d contacts in %v", n, time.Since(start).Round(time.Millisecond))
	waitIdle(b, dir)

	// Pick the sample, record the keys each lookup reads (which warms the
	// store), and check the lookups find the right contacts.
	r := rand.New(rand.NewPCG(7, 7))
	sample := make([]int, min(getSampleSize, n))
	for i := range sample {
		sample[i] = r.IntN(n)
	}
	byID := make([]benchReads, len(sample))
	byEmail := make([]benchReads, len(sample))
	for i, k := range sample {
		rec.take()
		c, err := recWS.Contacts().Get(ctx, ids[k])
		if err != nil || c.ID != ids[k] {
			b.Fatalf("get %s: %v", ids[k], err)
		}
		byID[i] = rec.take()
		c, err = recWS.Contacts().GetByEmail(ctx, emails[k])
		if err != nil || c.ID != ids[k] {
			b.Fatalf("get by email %s: %v (got %s, want %s)", emails[k], err, c.ID, ids[k])
		}
		byEmail[i] = rec.take()
	}

	lookups := []struct {
		name string
		raw  []benchReads
		get  func(ctx context.Context, i int) (crm.Contact, error)
	}{
		{"ByID", byID, func(ctx context.Context, i int) (crm.Contact, error) { return ws.Contacts().Get(ctx, ids[i]) }},
		{"ByEmail", byEmail, func(ctx context.Context, i int) (crm.Contact, error) {
			return ws.Contacts().GetByEmail(ctx, emails[i])
		}},
	}
	for _, l := range lookups {
		b.Run(l.name, func(b *testing.B) {
			var raw *benchResult
			b.Run("raw", func(b *testing.B) {
				lat := make([]time.Duration, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				for i := range b.N {
					t0 := time.Now()
					if err := l.raw[i%len(sample)].replay(ctx, st); err != nil {
						b.Fatal(err)
					}
					lat[i] = time.Since(t0)
				}
				b.StopTimer()
				raw = reportLatency(b, lat, cpu.used(), n, nil)
			})
			b.Run("crm", func(b *testing.B) {
				lat := make([]time.Duration, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				for i := range b.N {
					k := sample[i%len(sample)]
					t0 := time.Now()
					c, err := l.get(ctx, k)
					lat[i] = time.Since(t0)
					if err != nil || c.ID != ids[k] {
						b.Fatalf("lookup %d: %v", k, err)
					}
				}
				b.StopTimer()
				reportLatency(b, lat, cpu.used(), n, raw)
			})
		})
	}
}

// reportLatency reports the p50 and p99 of lat in µs, the CPU time per
// operation, the store's size and, against the baseline raw if given, ratio
// (of the medians), mean-ratio and cpu-ratio. It returns the figures per
// operation.
func reportLatency(b *testing.B, lat []time.Duration, cpu time.Duration, contacts int, raw *benchResult) *benchResult {
	r := reportTimes(b, lat, cpu, raw)
	slices.Sort(lat)
	b.ReportMetric(float64(lat[int(0.99*float64(len(lat)-1))])/1e3, "p99-µs")
	b.ReportMetric(float64(contacts), "contacts")
	return r
}

// reportTimes reports the median of lat in µs and the CPU time per
// operation, and against raw: ratio (of the medians, which resist the
// outliers preemption by other processes puts in single operations),
// mean-ratio and cpu-ratio.
func reportTimes(b *testing.B, lat []time.Duration, cpu time.Duration, raw *benchResult) *benchResult {
	sorted := slices.Clone(lat)
	slices.Sort(sorted)
	r := &benchResult{
		wall: float64(b.Elapsed().Nanoseconds()) / float64(b.N),
		p50:  float64(sorted[len(sorted)/2]),
		cpu:  float64(cpu.Nanoseconds()) / float64(b.N),
	}
	b.ReportMetric(r.p50/1e3, "p50-µs")
	if raw != nil {
		b.ReportMetric(r.p50/raw.p50, "ratio")
		b.ReportMetric(r.wall/raw.wall, "mean-ratio")
	}
	reportCPU(b, r.cpu, "cpu-µs/op", raw)
	return r
}

// --- BenchmarkTimelinePage -----------------------------------------------

// timelineActivities is how many activities the timeline benchmark's
// contact has.
const timelineActivities = 10_000

// BenchmarkTimelinePage measures a 50-entry page of the timeline of a
// contact with 10,000 activities on Badger: the newest page, and a page
// 5,000 entries deep reached with a cursor. Each runs after a raw baseline
// that does the page's scan and reads in one View.
func BenchmarkTimelinePage(b *testing.B) {
	ctx := context.Background()
	st, dir := openBenchBadger(b)
	rec := &recordingStore{Store: st}
	ws := newBenchCRM(b, st)
	recWS, err := crm.New(rec).Workspace(ctx, benchWorkspace)
	if err != nil {
		b.Fatal(err)
	}
	ada, err := ws.Contacts().Create(ctx, benchContact(0))
	if err != nil {
		b.Fatal(err)
	}
	types := []crm.ActivityType{crm.ActivityCall, crm.ActivityEmail, crm.ActivityMeeting, crm.ActivityNote}
	body := strings.Repeat("Discussed the renewal, the seat count and the onboarding plan. ", 4)
	for from := 0; from < timelineActivities; from += 1000 {
		acts := make([]crm.Activity, 0, 1000)
		for i := from; i < from+1000; i++ {
			a := crm.Activity{
				Type:       types[i%len(types)],
				Subject:    fmt.Sprintf("Touchpoint %d", i),
				Body:       body,
				OccurredAt: benchEpoch.Add(-time.Duration(timelineActivities-i) * time.Hour),
				ContactIDs: []string{ada.ID},
				OwnerID:    "u_1",
			}
			if a.Type == crm.ActivityCall || a.Type == crm.ActivityMeeting {
				a.Direction, a.Duration, a.Outcome = "outbound", 20*time.Minute, "connected"
			}
			acts = append(acts, a)
		}
		if _, err := ws.Activities().LogMany(ctx, acts); err != nil {
			b.Fatal(err)
		}
	}

	waitIdle(b, dir)
	const pageSize = 50
	ref := crm.Ref{Kind: crm.KindContact, ID: ada.ID}
	deep := ""
	for range timelineActivities / 2 / pageSize {
		pg, err := ws.Timeline(ctx, ref, deep, pageSize)
		if err != nil {
			b.Fatal(err)
		}
		deep = pg.Next
	}
	for _, p := range []struct{ name, after string }{{"Newest", ""}, {"Deep", deep}} {
		rec.take()
		pg, err := recWS.Timeline(ctx, ref, p.after, pageSize)
		if err != nil || len(pg.Items) != pageSize || pg.Next == "" {
			b.Fatalf("timeline page %s: %d entries, %v", p.name, len(pg.Items), err)
		}
		reads := rec.take()
		b.Run(p.name, func(b *testing.B) {
			var raw *benchResult
			b.Run("raw", func(b *testing.B) {
				lat := make([]time.Duration, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				for i := range b.N {
					t0 := time.Now()
					if err := reads.replay(ctx, st); err != nil {
						b.Fatal(err)
					}
					lat[i] = time.Since(t0)
				}
				b.StopTimer()
				raw = reportPage(b, lat, cpu.used(), nil)
			})
			b.Run("crm", func(b *testing.B) {
				lat := make([]time.Duration, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				cpu := startCPU()
				for i := range b.N {
					t0 := time.Now()
					pg, err := ws.Timeline(ctx, ref, p.after, pageSize)
					lat[i] = time.Since(t0)
					if err != nil || len(pg.Items) != pageSize {
						b.Fatalf("timeline: %d entries, %v", len(pg.Items), err)
					}
				}
				b.StopTimer()
				reportPage(b, lat, cpu.used(), raw)
			})
		})
	}
}

// reportPage reports the mean µs/page and what reportTimes reports.
func reportPage(b *testing.B, lat []time.Duration, cpu time.Duration, raw *benchResult) *benchResult {
	r := reportTimes(b, lat, cpu, raw)
	b.ReportMetric(r.wall/1e3, "µs/page")
	return r
}
