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
func load(b *testing.B) *fixture {
	once.Do(func() {
		n := dealCount()
		// The fixture outlives the benchmark that loads it: its directory
		// is removed by TestMain, not by that benchmark's cleanup.
		dir, err := os.MkdirTemp("", "reports-bench-")
		if err != nil {
			fx.err = err
			return
		}
		fx.dir = dir
		ctx := context.Background()
		st, err := badger.Open(filepath.Join(dir, "badger"), badger.WithSyncWrites(false), badger.WithMemTableSize(64<<20))
		if err != nil {
			fx.err = err
			return
		}
		clk := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
		c := crm.New(st, crm.WithClock(clk.Now))
		ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "bench", Currency: "EUR"})
		if err != nil {
			fx.err = err
			return
		}
		pl, err := ws.Pipelines().Default(ctx)
		if err != nil {
			fx.err = err
			return
		}
		db, err := sql.Open("sqlite3", filepath.Join(dir, "deals.db")+"?_journal_mode=OFF&_synchronous=OFF")
		if err != nil {
			fx.err = err
			return
		}
		db.SetMaxOpenConns(1)
		if _, err := db.Exec(`CREATE TABLE deals (id TEXT PRIMARY KEY, pipeline_id TEXT, stage_id TEXT, status TEXT, owner_id TEXT,
			currency TEXT, amount INTEGER, probability INTEGER, close_date TEXT);
			CREATE TABLE stage_entries (deal_id TEXT, stage_id TEXT, entered_at INTEGER, left_at INTEGER);`); err != nil {
			fx.err = err
			return
		}
		const batch = 1000
		for start := 0; start < n; start += batch {
			ds := make([]crm.Deal, 0, batch)
			for i := start; i < min(n, start+batch); i++ {
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
				fx.err = err
				return
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
					fx.err = err
					return
				}
				for j, k := range at {
					out[k] = moved[j]
				}
			}
			tx, _ := db.Begin()
			ins, _ := tx.Prepare(`INSERT INTO deals VALUES (?,?,?,?,?,?,?,?,?)`)
			hist, _ := tx.Prepare(`INSERT INTO stage_entries VALUES (?,?,?,?)`)
			for _, d := range out {
				s, _ := pl.Stage(d.StageID)
				if _, err := ins.Exec(d.ID, d.PipelineID, d.StageID, string(d.Status), d.OwnerID, d.Amount.Currency, d.Amount.Amount, s.Probability, d.CloseDate.String()); err != nil {
					fx.err = err
					return
				}
				for _, e := range d.StageHistory {
					if _, err := hist.Exec(d.ID, e.StageID, e.EnteredAt.UnixNano(), e.LeftAt.UnixNano()); err != nil {
						fx.err = err
						return
					}
				}
			}
			if err := tx.Commit(); err != nil {
				fx.err = err
				return
			}
		}
		if _, err := db.Exec(`CREATE INDEX deals_stage ON deals (status, pipeline_id, stage_id, currency, amount, probability);
			CREATE INDEX deals_owner ON deals (owner_id); CREATE INDEX deals_close ON deals (close_date);
			CREATE INDEX entries_stage ON stage_entries (stage_id, deal_id); ANALYZE;`); err != nil {
			fx.err = err
			return
		}
		fx = fixture{ws: ws, db: db, pl: pl, n: n}
	})
	if fx.err != nil {
		b.Fatal(fx.err)
	}
	return &fx
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
// is the aggregate alone.
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
	stalled := 0
	for b.Loop() {
		t0 := time.Now()
		rep, err := report.Conversion(ctx, f.ws, report.ConversionOptions{})
		if err != nil {
			b.Fatal(err)
		}
		crmNs += time.Since(t0)
		stalled = len(rep.Stalled)
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
	b.ReportMetric(float64(f.n), "deals")
}
