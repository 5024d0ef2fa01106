package bench

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/crmkit/crmkit/bench/contactgen"
	"github.com/crmkit/crmkit/crm"
	"golang.org/x/text/unicode/norm"
)

// The search benchmark loads CRMKIT_SEARCH_CONTACTS generated contacts
// (default 1,000,000) into the CRM on Badger and into SQLite, where the
// folded first name, last name and email address each have an index, and
// types 2 to 4 letter prefixes of the contacts' names into both search
// boxes: the CRM's Search, and SQLite's union of three index ranges. It
// reports the latency percentiles of each.
//
// CRMKIT_SEARCH_DIR keeps the loaded stores between runs.

type searchFixture struct {
	ws      *crm.Workspace
	db      *sql.DB
	queries []string
}

var (
	searchOnce sync.Once
	searchVal  *searchFixture
	searchErr  error
)

func searchContacts() int { return envCount("CRMKIT_SEARCH_CONTACTS", 1_000_000) }

// foldText lower-cases s and drops its accents, as the CRM's search does.
func foldText(s string) string {
	var b strings.Builder
	for _, r := range norm.NFKD.String(strings.ToLower(s)) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func buildSearch(b *testing.B) (*searchFixture, error) {
	ctx := context.Background()
	n := searchContacts()
	st, db, fresh, loaded, err := fixtureStores("CRMKIT_SEARCH_DIR", n)
	if err != nil {
		return nil, err
	}
	c := crm.New(st)
	rows := contactgen.Generate(7, n, genNow)
	f := &searchFixture{db: db}
	r := rand.New(rand.NewPCG(3, 3))
	for range 300 {
		c := rows[r.IntN(len(rows))].Contact
		name := foldText([]string{c.FirstName, c.LastName}[r.IntN(2)])
		f.queries = append(f.queries, name[:min(len(name), 2+r.IntN(3))])
	}
	if !fresh {
		f.ws, err = c.Workspace(ctx, "bench")
		return f, err
	}
	start := time.Now()
	if f.ws, err = c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "bench", Name: "Benchmarks"}); err != nil {
		return nil, err
	}
	if _, err := f.ws.Fields().Define(ctx, contactgen.ScoreField); err != nil {
		return nil, err
	}
	for _, q := range []string{
		`CREATE TABLE contacts (id TEXT PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT,
			first_key TEXT, last_key TEXT, email_key TEXT, updated_at INTEGER)`,
		`CREATE INDEX contacts_first ON contacts (first_key)`,
		`CREATE INDEX contacts_last ON contacts (last_key)`,
		`CREATE INDEX contacts_email ON contacts (email_key)`,
	} {
		if _, err := db.Exec(q); err != nil {
			return nil, err
		}
	}
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	ins, err := tx.Prepare(`INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	for i := 0; i < n; i += 1000 {
		cs := make([]crm.Contact, 0, 1000)
		for _, row := range rows[i:min(i+1000, n)] {
			cs = append(cs, row.Contact)
		}
		made, err := f.ws.Contacts().CreateMany(ctx, cs)
		if err != nil {
			return nil, err
		}
		for _, m := range made {
			if _, err := ins.Exec(m.ID, m.FirstName, m.LastName, m.Emails[0],
				foldText(m.FirstName), foldText(m.LastName), strings.ToLower(m.Emails[0]), m.UpdatedAt.UnixMicro()); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if _, err := db.Exec(`ANALYZE`); err != nil {
		return nil, err
	}
	b.Logf("loaded %d contacts into badger and sqlite in %v", n, time.Since(start).Round(time.Second))
	return f, loaded()
}

// sqlSearch is SQLite's search box: 20 contacts whose folded first name,
// last name or email address starts with q, newest first.
func sqlSearch(db *sql.DB, q string) (int, error) {
	hi := q[:len(q)-1] + string(q[len(q)-1]+1)
	// As the CRM does: up to 200 candidates from each index range, the
	// newest 20 of them.
	rows, err := db.Query(`SELECT c.id, c.first_name, c.last_name, c.email FROM contacts c JOIN (
			SELECT id FROM (SELECT id FROM contacts WHERE first_key >= ?1 AND first_key < ?2 LIMIT 200)
			UNION SELECT id FROM (SELECT id FROM contacts WHERE last_key >= ?1 AND last_key < ?2 LIMIT 200)
			UNION SELECT id FROM (SELECT id FROM contacts WHERE email_key >= ?1 AND email_key < ?2 LIMIT 200)
		) m ON m.id = c.id ORDER BY c.updated_at DESC LIMIT 20`, q, hi)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, first, last, email string
		if err := rows.Scan(&id, &first, &last, &email); err != nil {
			return 0, err
		}
		n++
	}
	return n, rows.Err()
}

// BenchmarkSearch types the fixture's 2 to 4 letter prefixes into the
// CRM's search and SQLite's, reporting p50 and p99 latencies; the CRM's
// also as ratios to SQLite's.
func BenchmarkSearch(b *testing.B) {
	searchOnce.Do(func() { searchVal, searchErr = buildSearch(b) })
	if searchErr != nil {
		b.Fatal(searchErr)
	}
	f := searchVal
	ctx := context.Background()
	var base [2]float64
	run := func(b *testing.B, search func(q string) (int, error)) [2]float64 {
		var lat []time.Duration
		hits := 0
		i := 0
		for b.Loop() {
			q := f.queries[i%len(f.queries)]
			i++
			t0 := time.Now()
			n, err := search(q)
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
			hits += n
		}
		slices.Sort(lat)
		p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
		b.ReportMetric(float64(p50.Microseconds())/1e3, "p50-ms")
		b.ReportMetric(float64(p99.Microseconds())/1e3, "p99-ms")
		b.ReportMetric(float64(hits)/float64(len(lat)), "hits/query")
		return [2]float64{float64(p50), float64(p99)}
	}
	b.Run("sqlite", func(b *testing.B) {
		base = run(b, func(q string) (int, error) { return sqlSearch(f.db, q) })
	})
	b.Run("crm-badger", func(b *testing.B) {
		got := run(b, func(q string) (int, error) {
			hits, err := f.ws.Search(ctx, q, crm.SearchOptions{Kinds: []crm.Kind{crm.KindContact}})
			return len(hits), err
		})
		if base[0] > 0 {
			b.ReportMetric(got[0]/base[0], "p50-ratio")
			b.ReportMetric(got[1]/base[1], "p99-ratio")
		}
	})
}
