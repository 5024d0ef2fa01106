package crm_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oracle holds what the brute-force evaluator needs: every live contact
// as a filter.MapRecord built here, field by field, without the CRM's
// record adapter, indexes or planner.
type oracle struct {
	e         *env
	companies map[string]crm.Company
}

func (o *oracle) records(t testing.TB) map[string]filter.MapRecord {
	t.Helper()
	var acts []crm.Activity
	for a, err := range o.e.ws.Activities().List(o.e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		acts = append(acts, a)
	}
	now := o.e.clock.Now()
	out := map[string]filter.MapRecord{}
	for c, err := range o.e.ws.Contacts().List(o.e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		m := filter.MapRecord{
			"id": c.ID, "first_name": c.FirstName, "lifecycle": c.Lifecycle, "lead_source": c.LeadSource,
			"address.country": c.Address.Country, "address.city": c.Address.City, "tags": c.Tags,
			"created_at": c.CreatedAt, "updated_at": c.UpdatedAt, "birthday": c.Birthday,
		}
		for _, f := range []string{"score", "tier", "vip", "note", "signup"} {
			if v, ok := c.Custom[f]; ok {
				m["custom."+f] = v
			}
		}
		if v, ok := c.Custom["revenue"].(crm.Money); ok {
			m["custom.revenue"] = v.Amount
		}
		if len(c.Companies) > 0 {
			if co, ok := o.companies[c.Companies[0].CompanyID]; ok {
				m["company.industry"] = co.Industry
			}
		}
		var emails int64
		var last time.Time
		for _, a := range acts {
			if !slices.Contains(a.ContactIDs, c.ID) {
				continue
			}
			if a.OccurredAt.After(last) {
				last = a.OccurredAt
			}
			if a.Type == crm.ActivityEmail && !a.OccurredAt.Before(now.Add(-30*24*time.Hour)) && !a.OccurredAt.After(now) {
				emails++
			}
		}
		m["activity_count.email.last_30d"] = emails
		m["last_activity_at"] = last
		out[c.ID] = m
	}
	return out
}

var (
	oracleCountries = []string{"DE", "AT", "FR", "US", "de"}
	oracleCities    = []string{"München", "MÜNCHEN", "münchen", "Köln", "KÖLN", "Berlin", "\u212Aiel", "kiel", ""}
	oracleTags      = []string{"vip", "σ", "ς", "Σ", "new", "ǅ", "ǆ", "b2b"}
	oracleSources   = []string{"Web", "web", "Paid Search", "paid search", "referral", ""}
	oracleNames     = []string{"Anna", "anna", "ANNA", "Ben", "Zoë", "zoë"}
	oracleTiers     = []string{"gold", "silver", "bronze"}
	oracleStages    = crm.DefaultLifecycleStages
)

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

func randomContact(r *rand.Rand, companies []string) crm.Contact {
	c := crm.Contact{FirstName: pick(r, oracleNames), LastName: "X"}
	if r.IntN(5) > 0 {
		c.Lifecycle = pick(r, oracleStages)
	}
	if r.IntN(6) > 0 {
		c.Address.Country = pick(r, oracleCountries)
	}
	c.Address.City = pick(r, oracleCities)
	c.LeadSource = pick(r, oracleSources)
	for range r.IntN(4) {
		c.Tags = append(c.Tags, pick(r, oracleTags))
	}
	if r.IntN(3) > 0 {
		c.Birthday = crm.Date{Year: 1960 + r.IntN(40), Month: time.Month(1 + r.IntN(12)), Day: 1 + r.IntN(28)}
	}
	c.Custom = crm.Custom{}
	if r.IntN(4) > 0 {
		c.Custom["score"] = float64(r.IntN(100)) + float64(r.IntN(2))/2
	}
	if r.IntN(3) > 0 {
		c.Custom["tier"] = pick(r, oracleTiers)
	}
	if r.IntN(3) > 0 {
		c.Custom["vip"] = r.IntN(2) == 0
	}
	if r.IntN(3) > 0 {
		// Up to crm.MaxAmount, 2^53, and just below the halves of it,
		// where float64 comparisons lose precision.
		c.Custom["revenue"] = crm.Money{Amount: int64(r.IntN(3))*(1<<53)/2 - int64(r.IntN(2)), Currency: "EUR"}
		if r.IntN(2) == 0 {
			c.Custom["revenue"] = crm.Money{Amount: int64(r.IntN(1000)), Currency: "EUR"}
		}
	}
	if r.IntN(2) > 0 {
		c.Custom["note"] = pick(r, oracleNames)
		if r.IntN(4) == 0 {
			// Too long for a column projection: the row is partial and
			// filters on custom fields read the record.
			c.Custom["note"] = strings.Repeat(pick(r, oracleNames), 40)
		}
	}
	if len(companies) > 0 && r.IntN(2) == 0 {
		c.Companies = []crm.CompanyRole{{CompanyID: pick(r, companies)}}
	}
	return c
}

// randomFilter returns a random filter over the contact fields the oracle
// knows; times come from times, so boundaries hit stored values exactly.
func randomFilter(r *rand.Rand, depth int, times []time.Time) filter.Expr {
	if depth < 3 && r.IntN(3) == 0 {
		n := 2 + r.IntN(2)
		kids := make([]filter.Expr, n)
		for i := range kids {
			kids[i] = randomFilter(r, depth+1, times)
		}
		switch r.IntN(5) {
		case 0:
			return filter.Or(kids...)
		case 1:
			return filter.Not(kids[0])
		}
		return filter.And(kids...)
	}
	text := func(f string, pool []string) filter.Expr {
		v := pick(r, pool)
		w := filter.Where(f)
		switch r.IntN(10) {
		case 0:
			return w.Ne(v)
		case 1:
			return w.In(v, pick(r, pool))
		case 2:
			return w.NotIn(v, pick(r, pool))
		case 3:
			return w.Lt(v)
		case 4:
			return w.Ge(v)
		case 5:
			return w.StartsWith(string([]rune(v + "x")[:1]))
		case 6:
			return w.IsSet()
		case 7:
			return w.IsNotSet()
		case 8:
			return w.Eq(nil)
		}
		return w.Eq(v)
	}
	list := func(f string, pool []string) filter.Expr {
		v := pick(r, pool)
		w := filter.Where(f)
		switch r.IntN(6) {
		case 0:
			return w.NotContains(v)
		case 1:
			return w.In(v, pick(r, pool))
		case 2:
			return w.StartsWith(string([]rune(v)[:1]))
		case 3:
			return w.IsSet()
		case 4:
			return w.Eq(v)
		}
		return w.Contains(v)
	}
	num := func(f string, v any) filter.Expr {
		w := filter.Where(f)
		switch r.IntN(7) {
		case 0:
			return w.Lt(v)
		case 1:
			return w.Le(v)
		case 2:
			return w.Gt(v)
		case 3:
			return w.Ge(v)
		case 4:
			return w.Between(v, v)
		case 5:
			return w.Ne(v)
		}
		return w.Eq(v)
	}
	tm := func() any {
		t := pick(r, times)
		switch r.IntN(4) {
		case 0:
			return t.Add(time.Microsecond)
		case 1:
			return t.Add(-time.Microsecond)
		case 2:
			return filter.Ago(time.Duration(r.IntN(40)) * filter.Day)
		}
		return t
	}
	switch r.IntN(16) {
	case 0:
		return text("lifecycle", append(oracleStages, "Customer", "LEAD"))
	case 1:
		return text("address.country", oracleCountries[:4])
	case 2:
		return text("address.city", oracleCities[:8])
	case 3:
		return list("tags", oracleTags)
	case 4:
		return text("lead_source", oracleSources[:5])
	case 5:
		return text("first_name", oracleNames)
	case 6:
		return num("created_at", tm())
	case 7:
		return num("updated_at", tm())
	case 8:
		return num("birthday", time.Date(1960+r.IntN(40), time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), 0, 0, 0, time.UTC))
	case 9:
		return num("custom.score", float64(r.IntN(100))+float64(r.IntN(2))/2)
	case 10:
		return text("custom.tier", append(oracleTiers, "GOLD"))
	case 11:
		if r.IntN(2) == 0 {
			return filter.Where("custom.vip").Eq(r.IntN(2) == 0)
		}
		return filter.Where("custom.vip").IsSet()
	case 12:
		return num("custom.revenue", float64(int64(r.IntN(5))*(1<<53)/2+int64(r.IntN(3)-1)))
	case 13:
		return text("custom.note", oracleNames)
	case 14:
		return text("company.industry", []string{"Software", "software", "retail"})
	}
	if r.IntN(2) == 0 {
		return num("activity_count.email.last_30d", float64(r.IntN(3)))
	}
	return num("last_activity_at", tm())
}

// TestQueryOracle checks counts and member lists of random filters over
// random contacts, changed in every way a write can change them, against
// a brute-force evaluation of every live contact.
func TestQueryOracle(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	n := 150
	if testing.Short() {
		n = 60
	}
	e, recs := oracleData(t, r, n)
	var times []time.Time
	for _, m := range recs {
		times = append(times, m["created_at"].(time.Time), m["updated_at"].(time.Time))
	}
	queries := 400
	if testing.Short() {
		queries = 100
	}
	columns := 0
	for range queries {
		if checkQuery(t, e, recs, randomFilter(r, 0, times)) {
			columns++
		}
	}
	// The filters over projected fields are checked on projections: the
	// oracle must have tested them.
	t.Logf("%d of %d plans read column projections", columns, queries)
	assert.Greater(t, columns, queries/10, "plans that read column projections")

	// A backup restored into another store answers the same: its column
	// projections came with it.
	var file bytes.Buffer
	_, err := e.crm.Backup(e.ctx, &file, crm.BackupOptions{})
	require.NoError(t, err)
	dst := teststore.Open(t)
	c2 := crm.New(dst, crm.WithClock(e.clock.Now))
	_, err = c2.Restore(e.ctx, &file, crm.RestoreOptions{})
	require.NoError(t, err)
	ws2, err := c2.Workspace(e.ctx, e.ws.ID())
	require.NoError(t, err)
	e2 := &env{ctx: e.ctx, st: dst, crm: c2, ws: ws2, clock: e.clock}
	for range queries / 4 {
		checkQuery(t, e2, recs, randomFilter(r, 0, times))
	}
}

// oracleData makes n random contacts, changes them in every way a write
// can, and returns the brute-force oracle's view of the live ones.
func oracleData(t testing.TB, r *rand.Rand, n int) (*env, map[string]filter.MapRecord) {
	e := setup(t)
	for _, d := range []crm.FieldDef{
		{Object: crm.KindContact, Name: "score", Type: crm.FieldNumber, Indexed: true},
		{Object: crm.KindContact, Name: "tier", Type: crm.FieldSelect, Options: oracleTiers, Indexed: true},
		{Object: crm.KindContact, Name: "vip", Type: crm.FieldBool, Indexed: true},
		{Object: crm.KindContact, Name: "revenue", Type: crm.FieldMoney, Indexed: true},
		{Object: crm.KindContact, Name: "note", Type: crm.FieldText},
	} {
		_, err := e.ws.Fields().Define(e.ctx, d)
		require.NoError(t, err)
	}
	_, err := e.ws.Indexes().Define(e.ctx, crm.IndexDef{Object: crm.KindContact, Fields: []string{"address.country", "lifecycle"}})
	require.NoError(t, err)

	o := &oracle{e: e, companies: map[string]crm.Company{}}
	var companyIDs []string
	for i, ind := range []string{"Software", "software", "Retail", ""} {
		co, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: fmt.Sprint("Co ", i), Industry: ind})
		require.NoError(t, err)
		companyIDs = append(companyIDs, co.ID)
		o.companies[co.ID] = co
	}
	var ids []string
	for range n {
		e.clock.Advance(time.Duration(r.IntN(3*24*3600)) * time.Second / 2)
		c, err := e.ws.Contacts().Create(e.ctx, randomContact(r, companyIDs))
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	// A batch with invalid contacts among valid ones.
	batch := []crm.Contact{randomContact(r, nil), {LastName: "Bad", Lifecycle: "nope"}, randomContact(r, nil)}
	made, err := e.ws.Contacts().CreateMany(e.ctx, batch)
	require.Error(t, err)
	ids = append(ids, made[0].ID, made[2].ID)
	for i := range n / 2 {
		id := pick(r, ids)
		e.clock.Advance(time.Duration(r.IntN(3600)) * time.Second)
		switch i % 7 {
		case 0, 1:
			_, err = e.ws.Contacts().Update(e.ctx, id, func(c *crm.Contact) error {
				nc := randomContact(r, companyIDs)
				c.Lifecycle, c.Tags, c.Address, c.Custom, c.LeadSource = nc.Lifecycle, nc.Tags, nc.Address, nc.Custom, nc.LeadSource
				return nil
			})
		case 2:
			err = e.ws.Contacts().Delete(e.ctx, id)
		case 3:
			err = e.ws.Contacts().Restore(e.ctx, id)
		case 4:
			err = e.ws.Contacts().Erase(e.ctx, id)
			ids = slices.DeleteFunc(ids, func(s string) bool { return s == id })
		case 6:
			other := pick(r, ids)
			if other == id {
				continue
			}
			_, err = e.ws.Contacts().Merge(e.ctx, id, other, crm.MergeOptions{})
			if err == nil {
				ids = slices.DeleteFunc(ids, func(s string) bool { return s == other })
			}
		case 5:
			_, err = e.ws.Activities().Log(e.ctx, crm.Activity{Type: pick(r, []crm.ActivityType{crm.ActivityEmail, crm.ActivityCall}),
				ContactIDs: []string{id}, OccurredAt: e.clock.Now().Add(-time.Duration(r.IntN(60*24)) * time.Hour)})
		}
		if err != nil && !errors.Is(err, crm.ErrInvalid) && !errors.Is(err, crm.ErrNotFound) && !assert.ErrorIs(t, err, crm.ErrDeleted) {
			t.FailNow()
		}
	}
	return e, o.records(t)
}

// checkQuery requires the query's count, members and membership test to
// agree with a brute-force evaluation of f on every live contact, and
// reports whether the plan read column projections.
func checkQuery(t testing.TB, e *env, recs map[string]filter.MapRecord, f filter.Expr) bool {
	t.Helper()
	now := e.clock.Now()
	var want []string
	for id, m := range recs {
		ok, err := filter.Eval(f, m, now)
		require.NoError(t, err, f.String())
		if ok {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	q := e.ws.Query(crm.KindContact, f)
	got, err := q.Count(e.ctx)
	require.NoError(t, err, f.String())
	plan, err := q.Explain(e.ctx)
	require.NoError(t, err)
	if !assert.Equal(t, int64(len(want)), got, "count of %s\n%s", f, plan) {
		return false
	}
	var members []string
	after := ""
	for {
		pg, err := q.Page(e.ctx, crm.MemberOptions{After: after, Limit: 7})
		require.NoError(t, err, f.String())
		for _, m := range pg.Items {
			members = append(members, m.ID)
		}
		if pg.Next == "" {
			break
		}
		require.NotEqual(t, after, pg.Next, "%s\n%s", f, plan)
		after = pg.Next
	}
	slices.Sort(members)
	assert.Equal(t, want, members, "members of %s\n%s", f, plan)
	if len(want) > 0 {
		in, err := q.Contains(e.ctx, want[0])
		require.NoError(t, err)
		assert.True(t, in)
	}
	return strings.Contains(plan, "column projection")
}

// FuzzQuery runs fuzzed filters (text form) over a fixed set of random
// contacts and requires the planner's answers to equal brute force.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		`lifecycle = "customer" AND address.country IN ("DE", "AT")`,
		`tags CONTAINS "σ" OR tags STARTS WITH "ǅ"`,
		`NOT (custom.score >= 50 AND custom.vip = true) OR address.city = "münchen"`,
		`created_at >= now() - 10d AND custom.revenue > 4503599627370495`,
		`birthday BETWEEN 1970-01-01 AND 1980-12-31 OR custom.tier != "gold"`,
		`lead_source IS NOT SET OR first_name MATCHES "a*"`,
		`activity_count.email.last_30d >= 1 OR company.industry = "software"`,
	} {
		f.Add(s)
	}
	e, recs := oracleData(f, rand.New(rand.NewPCG(1, 2)), 80)
	schema, err := e.ws.Schema(e.ctx, crm.KindContact)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, text string) {
		expr, err := filter.Parse(text)
		if err != nil || filter.Check(expr, schema) != nil {
			return
		}
		checkQuery(t, e, recs, expr)
	})
}
