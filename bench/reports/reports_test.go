package reports

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/store/badger"
	_ "github.com/mattn/go-sqlite3"
)

// dealCount is the number of deals, from REPORTS_BENCH_DEALS (default 1M).
func dealCount() int {
	if n, err := strconv.Atoi(os.Getenv("REPORTS_BENCH_DEALS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

type fixture struct {
	ws  *crm.Workspace
	db  *sql.DB
	pl  crm.Pipeline
	n   int
	dir string
	err error
}

var (
	once sync.Once
	fx   fixture
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fx.dir != "" {
		os.RemoveAll(fx.dir)
	}
	os.Exit(code)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// load fills a Badger-backed workspace and a SQLite database with the same
// deals: every deal enters the first stage and moves through up to four
// more (so it has one to five stage entries), in two currencies and 50
// owners; SQLite gets the deals table with the stage, owner and close
// date indexes crm's reports would need.
//
// REPORTS_BENCH_DIR keeps the loaded stores in that directory between
// runs (a million deals take most of an hour to load); without it they go
// to a temporary directory that TestMain removes. REPORTS_BENCH_COMPACT=1
// compacts the Badger store (badger.Store.Compact) before the runs, as
// an application would after a bulk load: the load leaves a tombstone
// for every counter delta it folded, which counter reads step over until
// Badger compacts them away by itself.
func load(b *testing.B) *fixture {
	once.Do(func() { fx.err = fx.load(dealCount()) })
	if fx.err != nil {
		b.Fatal(fx.err)
	}
	return &fx
}

// loadedClock is the clock's time once n deals are loaded: the load
// starts at loadStart and moves it a day for each of the four moves of
// every batch.
func loadedClock(n int) time.Time {
	return loadStart.Add(time.Duration(4*((n+loadBatch-1)/loadBatch)) * 24 * time.Hour)
}

var loadStart = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const loadBatch = 1000

func (f *fixture) load(n int) error {
	ctx := context.Background()
	dir := os.Getenv("REPORTS_BENCH_DIR")
	if dir == "" {
		// The fixture outlives the benchmark that loads it: its
		// directory is removed by TestMain, not by that benchmark's
		// cleanup.
		d, err := os.MkdirTemp("", "reports-bench-")
		if err != nil {
			return err
		}
		f.dir, dir = d, d
	}
	dir = filepath.Join(dir, strconv.Itoa(n))
	done := filepath.Join(dir, "loaded")
	_, statErr := os.Stat(done)
	fresh := statErr != nil
	if fresh {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	st, err := badger.Open(filepath.Join(dir, "badger"), badger.WithSyncWrites(false), badger.WithMemTableSize(64<<20))
	if err != nil {
		return err
	}
	clk := &clock{t: loadStart}
	if !fresh {
		clk.t = loadedClock(n)
		if os.Getenv("REPORTS_BENCH_COMPACT") == "1" {
			if err := st.Compact(ctx); err != nil {
				return err
			}
		}
	}
	c := crm.New(st, crm.WithClock(clk.Now))
	db, err := sql.Open("sqlite3", filepath.Join(dir, "deals.db")+"?_journal_mode=OFF&_synchronous=OFF")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	f.db, f.n = db, n
	if !fresh {
		if f.ws, err = c.Workspace(ctx, "bench"); err != nil {
			return err
		}
		f.pl, err = f.ws.Pipelines().Default(ctx)
		return err
	}
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "bench", Currency: "EUR"})
	if err != nil {
		return err
	}
	pl, err := ws.Pipelines().Default(ctx)
	if err != nil {
		return err
	}
	f.ws, f.pl = ws, pl
	if _, err := db.Exec(`CREATE TABLE deals (id TEXT PRIMARY KEY, pipeline_id TEXT, stage_id TEXT, status TEXT, owner_id TEXT,
		currency TEXT, amount INTEGER, probability INTEGER, close_date TEXT);
		CREATE TABLE stage_entries (deal_id TEXT, stage_id TEXT, entered_at INTEGER, left_at INTEGER);`); err != nil {
		return err
	}
	for start := 0; start < n; start += loadBatch {
		ds := make([]crm.Deal, 0, loadBatch)
		for i := start; i < min(n, start+loadBatch); i++ {
			cur := "EUR"
			if i%5 == 0 {
				cur = "USD"
			}
			ds = append(ds, crm.Deal{Name: "deal " + strconv.Itoa(i), OwnerID: "owner" + strconv.Itoa(i%50),
				Amount:    crm.Money{Amount: int64(1000 + i%997*10), Currency: cur},
				CloseDate: crm.Date{Year: 2025, Month: time.Month(1 + i%12), Day: 1 + i%28}})
		}
		out, err := ws.Deals().CreateMany(ctx, ds)
		if err != nil {
			return err
		}
		// Move each deal i%5 stages on, a day at a time (4 lands in
		// won, and every 7th deal of those in lost instead).
		for step := 1; step <= 4; step++ {
			clk.mu.Lock()
			clk.t = clk.t.Add(24 * time.Hour)
			clk.mu.Unlock()
			var ids []string
			var at []int
			for k, d := range out {
				if (start+k)%5 < step {
					continue
				}
				ids, at = append(ids, d.ID), append(at, k)
			}
			stage := func(i int) string {
				if step == 4 && i%7 == 0 {
					return pl.Stages[5].ID
				}
				return pl.Stages[step].ID
			}
			byID := map[string]string{}
			for j, id := range ids {
				byID[id] = stage(start + at[j])
			}
			moved, err := ws.Deals().UpdateMany(ctx, ids, func(d *crm.Deal) error {
				d.StageID = byID[d.ID]
				return nil
			})
			if err != nil {
				return err
			}
			for j, k := range at {
				out[k] = moved[j]
			}
		}
		if err := insertSQLite(db, pl, out); err != nil {
			return err
		}
	}
	if _, err := db.Exec(`CREATE INDEX deals_stage ON deals (status, pipeline_id, stage_id, currency, amount, probability);
		CREATE INDEX deals_owner ON deals (owner_id); CREATE INDEX deals_close ON deals (close_date);
		CREATE INDEX entries_stage ON stage_entries (stage_id, deal_id); ANALYZE;`); err != nil {
		return err
	}
	if os.Getenv("REPORTS_BENCH_COMPACT") == "1" {
		if err := st.Compact(ctx); err != nil {
			return err
		}
	}
	return os.WriteFile(done, nil, 0o644)
}

// insertSQLite inserts deals and their stage entries into db.
func insertSQLite(db *sql.DB, pl crm.Pipeline, deals []crm.Deal) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.Prepare(`INSERT INTO deals VALUES (?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	hist, err := tx.Prepare(`INSERT INTO stage_entries VALUES (?,?,?,?)`)
	if err != nil {
		return err
	}
	for _, d := range deals {
		s, _ := pl.Stage(d.StageID)
		if _, err := ins.Exec(d.ID, d.PipelineID, d.StageID, string(d.Status), d.OwnerID, d.Amount.Currency, d.Amount.Amount, s.Probability, d.CloseDate.String()); err != nil {
			return err
		}
		for _, e := range d.StageHistory {
			if _, err := hist.Exec(d.ID, e.StageID, e.EnteredAt.UnixNano(), e.LeftAt.UnixNano()); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// pipelineSQL is the pipeline report's aggregation: open deals per stage
// and currency, count, amount and amount × probability.
const pipelineSQL = `SELECT pipeline_id, stage_id, currency, count(*), sum(amount), sum(amount*probability)
	FROM deals WHERE status = 'open' GROUP BY pipeline_id, stage_id, currency`

func sqlitePipeline(b *testing.B, db *sql.DB) int {
	rows, err := db.Query(pipelineSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var p, s, c string
		var cnt, amt, w int64
		if err := rows.Scan(&p, &s, &c, &cnt, &amt, &w); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return n
}

// BenchmarkPipelineReport runs crm's pipeline report and the same
// aggregation in SQLite, side by side; ratio is crm's time ÷ SQLite's.
func BenchmarkPipelineReport(b *testing.B) {
	f := load(b)
	ctx := context.Background()
	var crmNs, sqlNs time.Duration
	var peak uint64
	for b.Loop() {
		t0 := time.Now()
		rep, err := report.Pipeline(ctx, f.ws, report.Filter{})
		if err != nil {
			b.Fatal(err)
		}
		crmNs += time.Since(t0)
		t1 := time.Now()
		if n := sqlitePipeline(b, f.db); n != len(rep.Rows) {
			b.Fatalf("sqlite has %d rows, crm %d", n, len(rep.Rows))
		}
		sqlNs += time.Since(t1)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	b.ReportMetric(crmNs.Seconds()*1e3/float64(b.N), "crm-ms/op")
	b.ReportMetric(sqlNs.Seconds()*1e3/float64(b.N), "sqlite-ms/op")
	b.ReportMetric(float64(crmNs)/float64(sqlNs), "ratio")
	b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(f.n), "deals")
}

// BenchmarkFunnel runs crm's conversion report (funnel, win rate, cycles,
// stage times, stalled deals) beside a SQLite funnel count over the stage
// entries table; ratio is crm's time ÷ SQLite's. The report reads the
// conversion aggregate (the benchmark fails if it cannot) and its stalled
// deals from the index of open deals by stage entry: in this data most
// open deals have stalled (they were moved days apart long ago), so the
// report is also run with a stall factor no deal reaches (nostall), which
// is the aggregate alone. The report counts every stalled deal and lists
// the 100 stalled longest (its default).
func BenchmarkFunnel(b *testing.B) {
	f := load(b)
	ctx := context.Background()
	err := f.ws.View(ctx, func(rt *crm.ReadTx) error {
		_, ok, err := rt.ConversionCounters()
		if err == nil && !ok {
			b.Fatal("the conversion aggregate does not answer")
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	var crmNs, quietNs, sqlNs time.Duration
	var stalled int64
	listed := 0
	for b.Loop() {
		t0 := time.Now()
		rep, err := report.Conversion(ctx, f.ws, report.ConversionOptions{})
		if err != nil {
			b.Fatal(err)
		}
		crmNs += time.Since(t0)
		stalled, listed = rep.StalledCount, len(rep.Stalled)
		t0 = time.Now()
		if _, err := report.Conversion(ctx, f.ws, report.ConversionOptions{StallFactor: 1e9}); err != nil {
			b.Fatal(err)
		}
		quietNs += time.Since(t0)
		t1 := time.Now()
		rows, err := f.db.Query(`SELECT stage_id, count(DISTINCT deal_id) FROM stage_entries GROUP BY stage_id`)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		rows.Close()
		sqlNs += time.Since(t1)
	}
	b.ReportMetric(crmNs.Seconds()*1e3/float64(b.N), "crm-ms/op")
	b.ReportMetric(quietNs.Seconds()*1e3/float64(b.N), "crm-nostall-ms/op")
	b.ReportMetric(sqlNs.Seconds()*1e3/float64(b.N), "sqlite-ms/op")
	b.ReportMetric(float64(crmNs)/float64(sqlNs), "ratio")
	b.ReportMetric(float64(quietNs)/float64(sqlNs), "ratio-nostall")
	b.ReportMetric(float64(stalled), "stalled")
	b.ReportMetric(float64(listed), "listed")
	b.ReportMetric(float64(f.n), "deals")
}
