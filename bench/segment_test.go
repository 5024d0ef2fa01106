package bench

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crmkit/bench/contactgen"
	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/crmkit/crmkit/store/postgres"
	_ "modernc.org/sqlite"
)

// The segment benchmarks load CRMKIT_SEGMENT_CONTACTS generated contacts
// (default 1,000,000) into the CRM on Badger (and, with
// CRMKIT_SEGMENT_POSTGRES set to a DSN, on PostgreSQL) and into SQLite
// with equivalent indexes, then run each segment on both in the same
// process and report the CRM's time as a ratio to SQLite's.
//
// CRMKIT_SEGMENT_DIR keeps the loaded stores in that directory between
// runs (the load takes minutes at a million contacts); without it they go
// to a temporary directory. CRMKIT_SEGMENT_COMPACT=1 compacts the Badger
// store (badger.Store.Compact) before the runs, as an application would
// after a bulk load.

// genNow is the generator's "now": contacts are created in the three
// years before it, and the segments' relative times resolve against it.
var genNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// segmentCase is one segment, as a CRM filter and as SQL.
type segmentCase struct {
	name   string
	filter string
	where  string
	args   func() []any
}

var segmentCases = []segmentCase{
	{
		name:   "Selective", // about 8,000 matches, counted from the composite index's counters
		filter: `address.country = "DE" AND lifecycle = "customer"`,
		where:  `country = 'DE' AND lifecycle = 'customer'`,
	},
	{
		name:   "Broad", // about 16,000 matches, from a range of the created_at index
		filter: `created_at >= now() - 30d AND custom.score > 50`,
		where:  `created_at >= ? AND score > 50`,
		args:   func() []any { return []any{genNow.Add(-30 * 24 * time.Hour).UnixMicro()} },
	},
	{
		name:   "Unindexed", // about 30,000 matches, a scan of every contact
		filter: `title CONTAINS "data"`,
		where:  `title LIKE '%data%'`,
	},
	{
		// Most contacts match, and no index helps: a scan of every
		// contact's column projection (title above is not projected).
		name:   "UnindexedColumns",
		filter: `lifecycle != "customer" AND address.country != "DE"`,
		where:  `lifecycle != 'customer' AND country != 'DE'`,
	},
}

// fixture is the loaded data, built once per process.
type fixture struct {
	n        int
	ws       *crm.Workspace
	pgWS     *crm.Workspace
	db       *sql.DB
	segments map[string]string // case name -> segment ID on Badger
	pgSegs   map[string]string
}

var (
	fixtureOnce sync.Once
	fixtureVal  *fixture
	fixtureErr  error
)

func benchContacts() int { return envCount("CRMKIT_SEGMENT_CONTACTS", 1_000_000) }

func loadFixture(b *testing.B) *fixture {
	b.Helper()
	fixtureOnce.Do(func() {
		fixtureVal, fixtureErr = buildFixture(b)
	})
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return fixtureVal
}

func buildFixture(b *testing.B) (*fixture, error) {
	ctx := context.Background()
	n := benchContacts()
	st, db, fresh, loaded, err := fixtureStores("CRMKIT_SEGMENT_DIR", n)
	if err != nil {
		return nil, err
	}
	f := &fixture{n: n, db: db}
	var rows []contactgen.Row
	if fresh {
		rows = contactgen.Generate(42, n, genNow)
	}
	start := time.Now()
	if f.ws, f.segments, err = loadCRM(ctx, st, rows, fresh, db); err != nil {
		return nil, err
	}
	if os.Getenv("CRMKIT_SEGMENT_COMPACT") == "1" {
		t := time.Now()
		if err := st.Compact(ctx); err != nil {
			return nil, err
		}
		b.Logf("compacted in %v", time.Since(t).Round(time.Second))
	}
	b.Logf("badger + sqlite ready in %v (%d contacts, fresh load %v)", time.Since(start).Round(time.Second), n, fresh)
	if fresh {
		if err := loaded(); err != nil {
			return nil, err
		}
	}
	if dsn := os.Getenv("CRMKIT_SEGMENT_POSTGRES"); dsn != "" {
		pg, err := postgres.Open(ctx, dsn, postgres.WithSchema("crmkit_segment_bench"))
		if err != nil {
			return nil, err
		}
		pgFresh := true
		if _, err := crm.New(pg).Workspace(ctx, "bench"); err == nil {
			pgFresh = false
		}
		if pgFresh && rows == nil {
			rows = contactgen.Generate(42, n, genNow)
		}
		start := time.Now()
		if f.pgWS, f.pgSegs, err = loadCRM(ctx, pg, rows, pgFresh, nil); err != nil {
			return nil, err
		}
		b.Logf("postgres ready in %v (fresh load %v)", time.Since(start).Round(time.Second), pgFresh)
	}
	return f, nil
}

// loadCRM loads rows into a workspace "bench" of st (if fresh), with the
// score field and the (country, lifecycle) composite index, creating
// contacts 256 per transaction at their sign-up times, and the same rows
// into db (if not nil). It returns the workspace and the segments of
// segmentCases.
func loadCRM(ctx context.Context, st store.Store, rows []contactgen.Row, fresh bool, db *sql.DB) (*crm.Workspace, map[string]string, error) {
	// IDs are minted from the clock and never go back in time: start it
	// at the first sign-up, so that IDs follow created_at as they do in
	// life.
	var clock atomic.Int64
	clock.Store(genNow.UnixNano())
	if len(rows) > 0 {
		clock.Store(rows[0].CreatedAt.UnixNano())
	}
	c := crm.New(st, crm.WithClock(func() time.Time { return time.Unix(0, clock.Load()) }))
	segs := map[string]string{}
	if !fresh {
		ws, err := c.Workspace(ctx, "bench")
		if err != nil {
			return nil, nil, err
		}
		for s, err := range ws.Segments().List(ctx) {
			if err != nil {
				return nil, nil, err
			}
			segs[s.Name] = s.ID
		}
		return ws, segs, nil
	}
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "bench", Name: "Benchmarks", Currency: "EUR"})
	if err != nil {
		return nil, nil, err
	}
	if _, err := ws.Fields().Define(ctx, contactgen.ScoreField); err != nil {
		return nil, nil, err
	}
	if _, err := ws.Indexes().Define(ctx, crm.IndexDef{Object: crm.KindContact, Fields: []string{"address.country", "lifecycle"}}); err != nil {
		return nil, nil, err
	}
	for _, sc := range segmentCases {
		s, err := ws.Segments().Create(ctx, crm.Segment{Name: sc.name, Object: crm.KindContact, Filter: sc.filter})
		if err != nil {
			return nil, nil, err
		}
		segs[sc.name] = s.ID
	}
	var sqlTx *sql.Tx
	var ins *sql.Stmt
	if db != nil {
		if err := createTable(db); err != nil {
			return nil, nil, err
		}
		if sqlTx, err = db.Begin(); err != nil {
			return nil, nil, err
		}
		if ins, err = sqlTx.Prepare(`INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
			return nil, nil, err
		}
	}
	// Contacts of one transaction share its time: small chunks keep the
	// sign-up times spread as generated (256 per chunk at a million is
	// about 7 hours apart).
	chunk := min(256, max(1, len(rows)/4000))
	for i := 0; i < len(rows); i += chunk {
		part := rows[i:min(i+chunk, len(rows))]
		clock.Store(part[0].CreatedAt.UnixNano())
		cs := make([]crm.Contact, len(part))
		for j, r := range part {
			cs[j] = r.Contact
		}
		made, err := ws.Contacts().CreateMany(ctx, cs)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range made {
			if ins == nil {
				continue
			}
			if _, err := ins.Exec(m.ID, m.FirstName, m.LastName, m.Emails[0], m.Title, m.Address.Country, m.Address.City,
				m.Lifecycle, m.LeadSource, m.PreferredChannel, m.OwnerID, strings.Join(m.Tags, ","),
				m.Custom["score"], m.CreatedAt.UnixMicro(), m.UpdatedAt.UnixMicro()); err != nil {
				return nil, nil, err
			}
		}
	}
	clock.Store(genNow.UnixNano())
	if sqlTx != nil {
		if err := sqlTx.Commit(); err != nil {
			return nil, nil, err
		}
		if _, err := db.Exec(`ANALYZE`); err != nil {
			return nil, nil, err
		}
	}
	return ws, segs, nil
}

// createTable makes the SQLite table with the indexes the CRM keeps for
// the same fields: single-column ones and (country, lifecycle).
func createTable(db *sql.DB) error {
	for _, q := range []string{
		`CREATE TABLE contacts (id TEXT PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT UNIQUE, title TEXT,
			country TEXT, city TEXT, lifecycle TEXT, lead_source TEXT, preferred_channel TEXT, owner_id TEXT,
			tags TEXT, score REAL, created_at INTEGER, updated_at INTEGER)`,
		`CREATE INDEX contacts_country_lifecycle ON contacts (country, lifecycle)`,
		`CREATE INDEX contacts_lifecycle ON contacts (lifecycle)`,
		`CREATE INDEX contacts_country ON contacts (country)`,
		`CREATE INDEX contacts_city ON contacts (city)`,
		`CREATE INDEX contacts_lead_source ON contacts (lead_source)`,
		`CREATE INDEX contacts_channel ON contacts (preferred_channel)`,
		`CREATE INDEX contacts_owner ON contacts (owner_id)`,
		`CREATE INDEX contacts_score ON contacts (score)`,
		`CREATE INDEX contacts_created ON contacts (created_at)`,
		`CREATE INDEX contacts_updated ON contacts (updated_at)`,
	} {
		if _, err := db.Exec(q); err != nil {
			return err
		}
	}
	return nil
}

func sqlArgs(sc segmentCase) []any {
	if sc.args == nil {
		return nil
	}
	return sc.args()
}

// sqlPage reads the first 50 matching rows, every column.
func sqlPage(db *sql.DB, sc segmentCase) (int, error) {
	rows, err := db.Query(`SELECT * FROM contacts WHERE `+sc.where+` LIMIT 50`, sqlArgs(sc)...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, first, last, email, title, country, city, lc, src, ch, owner, tags string
		var score float64
		var created, updated int64
		if err := rows.Scan(&id, &first, &last, &email, &title, &country, &city, &lc, &src, &ch, &owner, &tags, &score, &created, &updated); err != nil {
			return 0, err
		}
		n++
	}
	return n, rows.Err()
}

// baselines holds SQLite's ns/op per case, for the CRM runs' ratios.
var baselines sync.Map

// BenchmarkSegment runs each segment case: Count and the first Page of 50
// members, on SQLite first and then on the CRM, reporting ratio = CRM
// time / SQLite time.
func BenchmarkSegment(b *testing.B) {
	ctx := context.Background()
	f := loadFixture(b)
	for _, sc := range segmentCases {
		b.Run(sc.name+"/Count/sqlite", func(b *testing.B) {
			var n int64
			start := time.Now()
			for b.Loop() {
				if err := f.db.QueryRow(`SELECT count(*) FROM contacts WHERE `+sc.where, sqlArgs(sc)...).Scan(&n); err != nil {
					b.Fatal(err)
				}
			}
			baselines.Store(sc.name+"/Count", float64(time.Since(start).Nanoseconds())/float64(b.N))
			b.ReportMetric(float64(n), "matches")
		})
		countCRM := func(ws *crm.Workspace, segs map[string]string) func(b *testing.B) {
			return func(b *testing.B) {
				var n int64
				start := time.Now()
				for b.Loop() {
					var err error
					if n, err = ws.Segments().Count(ctx, segs[sc.name]); err != nil {
						b.Fatal(err)
					}
				}
				reportRatio(b, sc.name+"/Count", start)
				b.ReportMetric(float64(n), "matches")
				var want int64
				if err := f.db.QueryRow(`SELECT count(*) FROM contacts WHERE `+sc.where, sqlArgs(sc)...).Scan(&want); err != nil {
					b.Fatal(err)
				}
				if n != want {
					b.Fatalf("%s: the CRM counts %d, SQLite %d", sc.name, n, want)
				}
			}
		}
		b.Run(sc.name+"/Count/crm-badger", countCRM(f.ws, f.segments))
		if f.pgWS != nil {
			b.Run(sc.name+"/Count/crm-postgres", countCRM(f.pgWS, f.pgSegs))
		}
		b.Run(sc.name+"/FirstPage/sqlite", func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				if n, err := sqlPage(f.db, sc); err != nil || n != 50 {
					b.Fatal(n, err)
				}
			}
			baselines.Store(sc.name+"/FirstPage", float64(time.Since(start).Nanoseconds())/float64(b.N))
		})
		pageCRM := func(ws *crm.Workspace, segs map[string]string) func(b *testing.B) {
			return func(b *testing.B) {
				start := time.Now()
				for b.Loop() {
					pg, err := ws.Segments().Page(ctx, segs[sc.name], crm.MemberOptions{Limit: 50})
					if err != nil || len(pg.Items) != 50 {
						b.Fatal(len(pg.Items), err)
					}
				}
				reportRatio(b, sc.name+"/FirstPage", start)
			}
		}
		b.Run(sc.name+"/FirstPage/crm-badger", pageCRM(f.ws, f.segments))
		if f.pgWS != nil {
			b.Run(sc.name+"/FirstPage/crm-postgres", pageCRM(f.pgWS, f.pgSegs))
		}
	}
	for _, sc := range segmentCases {
		plan, err := f.ws.Segments().Explain(ctx, f.segments[sc.name])
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("plan of %s:\n%s", sc.name, plan)
	}
}

func reportRatio(b *testing.B, name string, start time.Time) {
	ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns/1e3, "µs/op")
	if base, ok := baselines.Load(name); ok {
		b.ReportMetric(ns/base.(float64), "ratio")
	}
}

// TestSegmentsAgreeWithSQLite loads a few thousand contacts into the CRM
// (on memory-backed Badger) and SQLite and checks that every benchmark
// segment selects the same contacts in both.
func TestSegmentsAgreeWithSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := badger.Open(filepath.Join(dir, "badger"), badger.WithSyncWrites(false))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db, err := sql.Open("sqlite", filepath.Join(dir, "sqlite.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ws, segs, err := loadCRM(ctx, st, contactgen.Generate(7, 3000, genNow), true, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range segmentCases {
		want := map[string]bool{}
		rows, err := db.Query(`SELECT id FROM contacts WHERE `+sc.where, sqlArgs(sc)...)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			want[id] = true
		}
		rows.Close()
		got := map[string]bool{}
		for m, err := range ws.Segments().Members(ctx, segs[sc.name], "") {
			if err != nil {
				t.Fatal(err)
			}
			got[m.ID] = true
		}
		n, err := ws.Segments().Count(ctx, segs[sc.name])
		if err != nil {
			t.Fatal(err)
		}
		if len(want) < 10 || len(got) != len(want) || int(n) != len(want) {
			t.Fatalf("%s: SQLite selects %d, the CRM lists %d and counts %d", sc.name, len(want), len(got), n)
		}
		for id := range want {
			if !got[id] {
				t.Fatalf("%s: SQLite selects %s, the CRM does not", sc.name, id)
			}
		}
	}
}
