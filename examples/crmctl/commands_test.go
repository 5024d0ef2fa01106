package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCLI runs crmctl in this process, through run, with empty standard
// input, and returns its exit code and output.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// okCLI runs crmctl through run and requires exit code 0.
func okCLI(t *testing.T, args ...string) string {
	t.Helper()
	r := runCLI(t, args...)
	require.Equal(t, 0, r.code, "crmctl %v\nstdout: %s\nstderr: %s", args, r.stdout, r.stderr)
	return r.stdout
}

// fixture is a Badger store with workspace acme (EUR) and the IDs of
// its records.
type fixture struct {
	dir string
	// Contacts: Ada (lead, then opportunity) and AdaDup (lead, the same
	// Gmail mailbox written otherwise), Bob (lead, vip), Cy (customer,
	// then churned).
	ada, adaDup, bob, cy string
	// Companies: Acme Inc (acme.com) and ACME GmbH (eu.acme.com), the
	// same organisation, and Globex; all in software.
	acme, acmeEU, globex string
	// Deals in the default pipeline: Big (1000.00 EUR in Proposal, 50%,
	// ann, AdaDup's, closing 2026-05-20), Small (200.00 EUR in
	// Qualification, 10%, bob, Bob's, closing 2026-05-10) and Won
	// (500.00 EUR, ann, won on 2026-04-02).
	big, small, won string
}

// seed builds the fixture on the CRM's own API, with a clock that starts
// at 2026-04-02 09:00 UTC.
func seed(t *testing.T) fixture {
	t.Helper()
	f := fixture{dir: filepath.Join(t.TempDir(), "db")}
	now := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	withBadger(t, f.dir, func(st store.Store) {
		ctx := context.Background()
		c := crm.New(st, crm.WithClock(func() time.Time { return now }))
		ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})
		require.NoError(t, err)
		company := func(co crm.Company) string {
			co, err := ws.Companies().Create(ctx, co)
			require.NoError(t, err)
			return co.ID
		}
		f.acme = company(crm.Company{Name: "Acme Inc", Domain: "acme.com", Industry: "software"})
		f.acmeEU = company(crm.Company{Name: "ACME GmbH", Domain: "eu.acme.com", Industry: "software"})
		f.globex = company(crm.Company{Name: "Globex", Domain: "globex.com", Industry: "software"})
		contact := func(p crm.Contact) string {
			p, err := ws.Contacts().Create(ctx, p)
			require.NoError(t, err)
			return p.ID
		}
		f.ada = contact(crm.Contact{FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada.lovelace@gmail.com"}, Lifecycle: "lead", OwnerID: "ann"})
		f.adaDup = contact(crm.Contact{FirstName: "Ada", LastName: "King", Title: "Countess", Emails: []string{"adalovelace+crm@gmail.com"}, Lifecycle: "lead"})
		f.bob = contact(crm.Contact{FirstName: "Bob", LastName: "Baker", Emails: []string{"bob@example.com"}, Lifecycle: "lead", Tags: []string{"vip"}, OwnerID: "bob"})
		f.cy = contact(crm.Contact{FirstName: "Cy", LastName: "Young", Emails: []string{"cy@example.com"}, Lifecycle: "customer", OwnerID: "ann"})

		pl, err := ws.Pipelines().Default(ctx)
		require.NoError(t, err)
		stage := func(name string) string {
			st, ok := pl.StageByName(name)
			require.True(t, ok, name)
			return st.ID
		}
		deal := func(d crm.Deal) string {
			d, err := ws.Deals().Create(ctx, d)
			require.NoError(t, err)
			return d.ID
		}
		f.big = deal(crm.Deal{Name: "Big", StageID: stage("Proposal"), Amount: crm.Money{Amount: 100000}, OwnerID: "ann",
			CloseDate: crm.Date{Year: 2026, Month: 5, Day: 20}, Contacts: []crm.ContactRole{{ContactID: f.adaDup}}})
		f.small = deal(crm.Deal{Name: "Small", StageID: stage("Qualification"), Amount: crm.Money{Amount: 20000}, OwnerID: "bob",
			CloseDate: crm.Date{Year: 2026, Month: 5, Day: 10}, Contacts: []crm.ContactRole{{ContactID: f.bob}}})
		f.won = deal(crm.Deal{Name: "Won", Amount: crm.Money{Amount: 50000}, OwnerID: "ann"})
		_, err = ws.Deals().Win(ctx, f.won)
		require.NoError(t, err)

		_, err = ws.Activities().Log(ctx, crm.Activity{Type: crm.ActivityCall, Subject: "intro", ContactIDs: []string{f.ada}, OwnerID: "ann"})
		require.NoError(t, err)
		for _, p := range []crm.Purchase{
			{CompanyID: f.acme, Items: []crm.LineItem{{Product: "Widget", Quantity: 2, UnitPrice: crm.Money{Amount: 5000}}}},
			{CompanyID: f.globex, Items: []crm.LineItem{{Product: "Gadget", Quantity: 1, UnitPrice: crm.Money{Amount: 3000}}}},
		} {
			p.PurchasedAt = now
			_, err := ws.Purchases().Record(ctx, p)
			require.NoError(t, err)
		}

		now = now.Add(5 * 24 * time.Hour)
		lifecycle := func(id, stage string) {
			_, err := ws.Contacts().Update(ctx, id, func(c *crm.Contact) error { c.Lifecycle = stage; return nil })
			require.NoError(t, err)
		}
		lifecycle(f.ada, "opportunity")
		now = now.Add(5 * 24 * time.Hour)
		lifecycle(f.cy, "churned")
	})
	return f
}

func TestNewCommandsUsageErrors(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	cases := map[string][]string{
		"duplicates without workspace":   {"duplicates", "--object", "contact"},
		"duplicates of deals":            {"duplicates", "--workspace", "acme", "--object", "deal"},
		"duplicates bad score":           {"duplicates", "--workspace", "acme", "--object", "contact", "--min-score", "2"},
		"duplicates bad format":          {"duplicates", "--workspace", "acme", "--object", "contact", "--format", "xml"},
		"merge without workspace":        {"merge", "--object", "contact", "--keep", f.ada, "--drop", f.adaDup},
		"merge without drop":             {"merge", "--workspace", "acme", "--keep", f.ada},
		"merge field both ways":          {"merge", "--workspace", "acme", "--keep", f.ada, "--drop", f.adaDup, "--prefer-drop", "title", "--prefer-keep", "title"},
		"privacy export without ws":      {"privacy", "export", "--id", f.bob},
		"privacy export without id":      {"privacy", "export", "--workspace", "acme"},
		"privacy erase without ws":       {"privacy", "erase", "--id", f.bob, "--yes"},
		"privacy erase without yes":      {"privacy", "erase", "--workspace", "acme", "--id", f.bob},
		"privacy unknown":                {"privacy", "forget", "--workspace", "acme"},
		"segment query without ws":       {"segment", "query", "--object", "contact", "--where", `lifecycle = "lead"`},
		"segment query without where":    {"segment", "query", "--workspace", "acme", "--object", "contact"},
		"segment query bad object":       {"segment", "query", "--workspace", "acme", "--object", "activity", "--where", `type = "call"`},
		"segment query syntax":           {"segment", "query", "--workspace", "acme", "--object", "contact", "--where", "lifecycle = "},
		"segment query unknown field":    {"segment", "query", "--workspace", "acme", "--object", "contact", "--where", `colour = "red"`},
		"segment query type mismatch":    {"segment", "query", "--workspace", "acme", "--object", "deal", "--where", `amount > "lots"`, "--count"},
		"segment list without ws":        {"segment", "list"},
		"segment members without ws":     {"segment", "members", "--segment", "x"},
		"segment members without seg":    {"segment", "members", "--workspace", "acme"},
		"segment create without name":    {"segment", "create", "--workspace", "acme", "--object", "contact", "--where", `lifecycle = "lead"`},
		"segment create unknown field":   {"segment", "create", "--workspace", "acme", "--name", "x", "--object", "contact", "--where", `colour = "red"`},
		"report without name":            {"report", "--workspace", "acme"},
		"unknown report":                 {"report", "nonsense", "--workspace", "acme"},
		"report name after flags":        {"report", "--workspace", "acme", "pipeline"},
		"report without workspace":       {"report", "pipeline"},
		"report bad format":              {"report", "pipeline", "--workspace", "acme", "--format", "xml"},
		"report bad date":                {"report", "pipeline", "--workspace", "acme", "--from", "01/04/2026"},
		"report to before from":          {"report", "pipeline", "--workspace", "acme", "--from", "2026-05-01", "--to", "2026-04-01"},
		"report bad grouping":            {"report", "pipeline", "--workspace", "acme", "--group-by", "colour"},
		"churn grouped by period":        {"report", "churn", "--workspace", "acme", "--from", "2026-04-01", "--to", "2026-05-01", "--group-by", "month"},
		"forecast without period":        {"report", "forecast", "--workspace", "acme"},
		"churn without period":           {"report", "churn", "--workspace", "acme", "--from", "2026-04-01"},
		"cross-sell without product":     {"report", "cross-sell", "--workspace", "acme"},
		"revenue has no chart":           {"report", "revenue", "--workspace", "acme", "--svg", "x.svg"},
		"revenue takes no owner":         {"report", "revenue", "--workspace", "acme", "--owner", "ann"},
		"conversion bad section":         {"report", "conversion", "--workspace", "acme", "--format", "csv", "--section", "bogus"},
		"conversion unknown chart group": {"report", "conversion", "--workspace", "acme", "--svg", filepath.Join(t.TempDir(), "f.svg"), "--chart-group", "nobody"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, append(d, args...)...)
			assert.Equal(t, exitUsage, r.code, "stderr: %s", r.stderr)
			assert.NotEmpty(t, r.stderr)
			assert.Empty(t, r.stdout)
		})
	}
	// Nothing was erased without --yes.
	okCLI(t, "--dir", f.dir, "get", "--workspace", "acme", "--id", f.bob)
}

// The new commands read a PostgreSQL store as they read Badger.
func TestNewCommandsPostgres(t *testing.T) {
	pgs := teststore.SharedPostgres(t)
	f := seed(t)
	file := filepath.Join(t.TempDir(), "acme.crmbk")
	okCLI(t, "--dir", f.dir, "backup", "--out", file)
	pg := []string{"--postgres", pgs.DSN, "--schema", pgs.Schema}
	okCLI(t, append(pg, "restore", file)...)
	for _, args := range [][]string{
		{"report", "pipeline", "--workspace", "acme", "--format", "json"},
		{"segment", "query", "--workspace", "acme", "--object", "contact", "--where", `lifecycle = "lead"`},
		{"duplicates", "--workspace", "acme", "--object", "company", "--format", "json"},
	} {
		assert.Equal(t, okCLI(t, append([]string{"--dir", f.dir}, args...)...), okCLI(t, append(pg, args...)...), "%v", args)
	}
}
