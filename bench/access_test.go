package bench

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store/badger"
)

// The access benchmarks load CRMKIT_ACCESS_DEALS deals (default
// 1,000,000) of 200 owners into the CRM on Badger and into SQLite with an
// index on (owner_id, id), and measure what a rep and a manager of ten
// reps get under an access policy: the first page of 50 of their deals
// and the count of them. Each is measured side by side with the same
// request without a policy (a query by owner) and with SQLite.
//
// CRMKIT_ACCESS_DIR keeps the loaded stores between runs.

const accessOwners = 200

func accessOwner(i int) string { return fmt.Sprintf("rep%03d", i) }

// accessPolicy: reps see their own deals; the manager of team t00 sees
// its ten reps'.
var accessPolicy = crm.Policy{Teams: []crm.TeamDef{{Name: "t00", Members: func() []string {
	var m []string
	for i := range 10 {
		m = append(m, accessOwner(i))
	}
	return m
}()}}}

type accessFixture struct {
	ws *crm.Workspace
	db *sql.DB
	n  int
}

var (
	accessOnce sync.Once
	accessVal  *accessFixture
	accessErr  error
)

func accessDeals() int { return envCount("CRMKIT_ACCESS_DEALS", 1_000_000) }

func loadAccess(b *testing.B) *accessFixture {
	b.Helper()
	accessOnce.Do(func() { accessVal, accessErr = buildAccess(b) })
	if accessErr != nil {
		b.Fatal(accessErr)
	}
	return accessVal
}

func buildAccess(b *testing.B) (*accessFixture, error) {
	ctx := context.Background()
	n := accessDeals()
	st, db, fresh, loaded, err := fixtureStores("CRMKIT_ACCESS_DIR", n, badger.WithMemTableSize(64<<20))
	if err != nil {
		return nil, err
	}
	c := crm.New(st)
	f := &accessFixture{db: db, n: n}
	if !fresh {
		f.ws, err = c.Workspace(ctx, "bench")
		return f, err
	}
	start := time.Now()
	if f.ws, err = c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "bench", Name: "Benchmarks", Currency: "EUR"}); err != nil {
		return nil, err
	}
	for _, q := range []string{
		`CREATE TABLE deals (id TEXT PRIMARY KEY, name TEXT, pipeline_id TEXT, stage_id TEXT, amount INTEGER,
			currency TEXT, owner_id TEXT, status TEXT, created_at INTEGER, updated_at INTEGER)`,
		`CREATE INDEX deals_owner ON deals (owner_id, id)`,
	} {
		if _, err := db.Exec(q); err != nil {
			return nil, err
		}
	}
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	ins, err := tx.Prepare(`INSERT INTO deals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	const chunk = 1000
	for i := 0; i < n; i += chunk {
		ds := make([]crm.Deal, min(chunk, n-i))
		for j := range ds {
			k := i + j
			ds[j] = crm.Deal{Name: fmt.Sprintf("Deal %d", k), OwnerID: accessOwner(k * 7919 % accessOwners), Amount: crm.Money{Amount: int64(k%5000) * 100}}
		}
		made, err := f.ws.Deals().CreateMany(ctx, ds)
		if err != nil {
			return nil, err
		}
		for _, d := range made {
			if _, err := ins.Exec(d.ID, d.Name, d.PipelineID, d.StageID, d.Amount.Amount, d.Amount.Currency, d.OwnerID, d.Status,
				d.CreatedAt.UnixMicro(), d.UpdatedAt.UnixMicro()); err != nil {
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
	b.Logf("loaded %d deals into badger and sqlite in %v", n, time.Since(start).Round(time.Second))
	return f, loaded()
}

// sqlDealsPage reads the first 50 deals of owners in ID order, every
// column, and returns how many it read.
func sqlDealsPage(db *sql.DB, owners []string) (int, error) {
	args := make([]any, len(owners))
	for i, o := range owners {
		args[i] = o
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(owners)), ",")
	rows, err := db.Query(`SELECT * FROM deals WHERE owner_id IN (`+in+`) ORDER BY id LIMIT 50`, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	var id, name, pl, stage, cur, owner, status string
	var amount, created, updated int64
	for rows.Next() {
		if err := rows.Scan(&id, &name, &pl, &stage, &amount, &cur, &owner, &status, &created, &updated); err != nil {
			return 0, err
		}
		n++
	}
	return n, rows.Err()
}

func sqlDealsCount(db *sql.DB, owners []string) (int64, error) {
	args := make([]any, len(owners))
	for i, o := range owners {
		args[i] = o
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(owners)), ",")
	var n int64
	err := db.QueryRow(`SELECT count(*) FROM deals WHERE owner_id IN (`+in+`)`, args...).Scan(&n)
	return n, err
}

// BenchmarkAccess measures, for a rep (own scope, one owner) and a
// manager (team scope, ten owners), the first page of 50 of their deals
// and the count of them: under the policy (List and the seam's Count as
// the principal), without one (a query by owner_id, as a host would
// write it before policies existed), and in SQLite. The policy runs
// report their time as a ratio to the run without a policy
// (ratio-nopolicy) and to SQLite's (ratio-sqlite).
func BenchmarkAccess(b *testing.B) {
	ctx := context.Background()
	f := loadAccess(b)
	sys := crm.As(ctx, crm.System())
	var times sync.Map
	measure := func(b *testing.B, name string, fn func() (int64, error)) {
		var n int64
		start := time.Now()
		for b.Loop() {
			var err error
			if n, err = fn(); err != nil {
				b.Fatal(err)
			}
		}
		ns := float64(time.Since(start).Nanoseconds()) / float64(b.N)
		times.Store(name, ns)
		b.ReportMetric(ns/1e3, "µs/op")
		b.ReportMetric(float64(n), "rows")
		group, _, _ := strings.Cut(name, "/")
		if base, ok := times.Load(group + "/nopolicy"); ok && !strings.HasSuffix(name, "/nopolicy") {
			b.ReportMetric(ns/base.(float64), "ratio-nopolicy")
		}
		if base, ok := times.Load(group + "/sqlite"); ok && !strings.HasSuffix(name, "/sqlite") {
			b.ReportMetric(ns/base.(float64), "ratio-sqlite")
		}
	}
	principals := []struct {
		name   string
		p      crm.Principal
		owners []string
	}{
		{"Rep", crm.Principal{ID: accessOwner(7), Roles: []string{"rep"}}, []string{accessOwner(7)}},
		{"Manager", crm.Principal{ID: accessOwner(0), Roles: []string{"manager"}}, accessPolicy.Teams[0].Members},
	}
	for _, pr := range principals {
		vals := make([]any, len(pr.owners))
		for i, o := range pr.owners {
			vals[i] = o
		}
		byOwner := f.ws.Query(crm.KindDeal, filter.Where("owner_id").In(vals...))
		as := crm.As(ctx, pr.p)
		want, err := sqlDealsCount(f.db, pr.owners)
		if err != nil {
			b.Fatal(err)
		}
		check := func(n int64, err error, what string) (int64, error) {
			if err == nil && n != want && n != 50 {
				err = fmt.Errorf("%s: %d rows, want %d (or a page of 50)", what, n, want)
			}
			return n, err
		}

		if err := f.ws.ClearPolicy(sys); err != nil {
			b.Fatal(err)
		}
		b.Run(pr.name+"FirstPage/sqlite", func(b *testing.B) {
			measure(b, pr.name+"FirstPage/sqlite", func() (int64, error) {
				n, err := sqlDealsPage(f.db, pr.owners)
				return check(int64(n), err, "sqlite page")
			})
		})
		b.Run(pr.name+"FirstPage/nopolicy", func(b *testing.B) {
			measure(b, pr.name+"FirstPage/nopolicy", func() (int64, error) {
				pg, err := byOwner.Page(ctx, crm.MemberOptions{Limit: 50})
				return check(int64(len(pg.Items)), err, "query page")
			})
		})
		b.Run(pr.name+"Count/sqlite", func(b *testing.B) {
			measure(b, pr.name+"Count/sqlite", func() (int64, error) {
				n, err := sqlDealsCount(f.db, pr.owners)
				return check(n, err, "sqlite count")
			})
		})
		b.Run(pr.name+"Count/nopolicy", func(b *testing.B) {
			measure(b, pr.name+"Count/nopolicy", func() (int64, error) {
				n, err := byOwner.Count(ctx)
				return check(n, err, "query count")
			})
		})

		if _, err := f.ws.SetPolicy(sys, accessPolicy); err != nil {
			b.Fatal(err)
		}
		b.Run(pr.name+"FirstPage/policy", func(b *testing.B) {
			measure(b, pr.name+"FirstPage/policy", func() (int64, error) {
				pg, err := f.ws.Deals().Page(as, crm.ListOptions{Limit: 50})
				if err == nil && len(pg.Items) > 0 && !slices.Contains(pr.owners, pg.Items[len(pg.Items)-1].OwnerID) {
					err = fmt.Errorf("a deal of %s in %s's page", pg.Items[len(pg.Items)-1].OwnerID, pr.p.ID)
				}
				return check(int64(len(pg.Items)), err, "list page")
			})
		})
		b.Run(pr.name+"Count/policy", func(b *testing.B) {
			measure(b, pr.name+"Count/policy", func() (int64, error) {
				var n int64
				err := f.ws.View(as, func(rt *crm.ReadTx) error {
					var err error
					n, err = rt.Count(crm.KindDeal, nil)
					return err
				})
				return check(n, err, "seam count")
			})
		})
	}
	if err := f.ws.ClearPolicy(sys); err != nil {
		b.Fatal(err)
	}
}
