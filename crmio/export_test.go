package crmio_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func exportString(t testing.TB, ws *crm.Workspace, object crm.Kind, format crmio.Format) string {
	t.Helper()
	var b bytes.Buffer
	_, err := crmio.Export(context.Background(), ws, &b, crmio.ExportOptions{Object: object, Format: format})
	require.NoError(t, err)
	return b.String()
}

func TestExportFormulaInjection(t *testing.T) {
	ws := newWorkspace(t, selected.open(t))
	payload := `=cmd|' /C calc'!A0`
	_, err := ws.Contacts().Create(context.Background(), crm.Contact{FirstName: payload, LastName: "@SUM(A1:A9)", Title: "-2+3", Tags: []string{"+tag"}})
	require.NoError(t, err)

	out := exportString(t, ws, crmio.ObjectContact, crmio.CSV)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 2)
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	assert.Equal(t, `'=cmd|' /C calc'!A0`, row["first_name"])
	assert.Equal(t, `'@SUM(A1:A9)`, row["last_name"])
	assert.Equal(t, `'-2+3`, row["title"])
	assert.Equal(t, `'+tag`, row["tags"])
	for _, rec := range recs {
		for _, cell := range rec {
			if cell != "" {
				assert.NotContains(t, "=+-@\t\r", cell[:1], "cell %q starts with a formula character", cell)
			}
		}
	}

	// JSON is not opened by spreadsheets: values are written as they are.
	assert.Contains(t, exportString(t, ws, crmio.ObjectContact, crmio.JSONL), `"first_name":"=cmd|' /C calc'!A0"`)

	// Importing the export gives the original values back.
	ws2 := newWorkspace(t, selected.open(t))
	res := importString(t, ws2, out, crmio.ImportOptions{Object: crmio.ObjectContact})
	require.Equal(t, 1, res.Created, "%v", res.Rejects)
	c := contacts(t, ws2)[0]
	assert.Equal(t, payload, c.FirstName)
	assert.Equal(t, "@SUM(A1:A9)", c.LastName)
	assert.Equal(t, "-2+3", c.Title)
}

// fixture fills a workspace with records of every kind using most fields.
type fixture struct {
	customPipeline crm.Pipeline
}

func defineFields(t testing.TB, ws *crm.Workspace) crm.Pipeline {
	ctx := context.Background()
	for _, d := range []crm.FieldDef{
		{Object: crm.KindContact, Name: "score", Type: crm.FieldNumber},
		{Object: crm.KindContact, Name: "langs", Type: crm.FieldMultiSelect, Options: []string{"en", "de", "fr"}},
		{Object: crm.KindContact, Name: "vip", Type: crm.FieldBool},
		{Object: crm.KindContact, Name: "first_order", Type: crm.FieldDate},
		{Object: crm.KindCompany, Name: "credit", Type: crm.FieldMoney},
		{Object: crm.KindCompany, Name: "tier", Type: crm.FieldSelect, Options: []string{"Gold", "Silver"}},
		{Object: crm.KindDeal, Name: "product", Type: crm.FieldText},
		{Object: crm.KindActivity, Name: "mood", Type: crm.FieldText},
		{Object: crm.KindPurchase, Name: "channel", Type: crm.FieldSelect, Options: []string{"web", "shop"}},
	} {
		_, err := ws.Fields().Define(ctx, d)
		require.NoError(t, err)
	}
	pl, err := ws.Pipelines().Create(ctx, crm.Pipeline{Name: "Partners", Currency: "USD", Stages: []crm.Stage{
		{Name: "Intro"}, {Name: "Contract", Probability: 60}, {Name: "Live", Kind: crm.StageWon}, {Name: "Gone", Kind: crm.StageLost},
	}})
	require.NoError(t, err)
	return pl
}

func fill(t testing.TB, ws *crm.Workspace) {
	ctx := context.Background()
	pl := defineFields(t, ws)
	sales, err := ws.Pipelines().Default(ctx)
	require.NoError(t, err)
	co := func(c crm.Company) crm.Company {
		out, err := ws.Companies().Create(ctx, c)
		require.NoError(t, err)
		return out
	}
	acme := co(crm.Company{Name: "Acme", Domain: "acme.com", Industry: "Tools", Employees: 1200,
		AnnualRevenue: crm.Money{Amount: 123456789, Currency: "EUR"}, Address: crm.Address{Street: "1 Road", City: "Berlin", Region: "BE", PostalCode: "10115", Country: "DE"},
		OwnerID: "u1", Tags: []string{"key", "eu"}, ExternalIDs: map[string]string{"sf": "001", "hubspot": "h1"},
		Custom: crm.Custom{"credit": crm.Money{Amount: 500000, Currency: "EUR"}, "tier": "Gold"}})
	sub := co(crm.Company{Name: "Acme Labs; R&D", ParentID: acme.ID, Custom: crm.Custom{"tier": "Silver"}})
	globex := co(crm.Company{Name: "Globex", Domain: "globex.example"})
	ct := func(c crm.Contact) crm.Contact {
		out, err := ws.Contacts().Create(ctx, c)
		require.NoError(t, err)
		return out
	}
	ada := ct(crm.Contact{FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada@acme.com", "ada@home.example"},
		Phones: []crm.Phone{{Number: "+44 20 7946 0000", Label: "work"}, {Number: "(030) 12345678", Region: "DE"}}, Title: "Analyst",
		Address: crm.Address{City: "London", Country: "GB"}, Birthday: crm.Date{Year: 1815, Month: 12, Day: 10}, PreferredChannel: "email",
		Interests: []string{"engines", "poetry"}, LeadSource: "referral", Lifecycle: "customer", OwnerID: "u1", Tags: []string{"vip"},
		ExternalIDs: map[string]string{"hubspot": "42"}, Companies: []crm.CompanyRole{{CompanyID: acme.ID, Role: "buyer"}, {CompanyID: sub.ID}},
		Custom: crm.Custom{"score": 9.75, "langs": []string{"en", "fr"}, "vip": true, "first_order": crm.Date{Year: 2024, Month: 1, Day: 2}}})
	grace := ct(crm.Contact{FirstName: "Grace", Emails: []string{"grace@globex.example"}, Companies: []crm.CompanyRole{{CompanyID: globex.ID, Role: "cto"}}, Custom: crm.Custom{"vip": false}})
	ct(crm.Contact{LastName: "NoEmail", Title: "=1+1"})

	dl := func(d crm.Deal) crm.Deal {
		out, err := ws.Deals().Create(ctx, d)
		require.NoError(t, err)
		return out
	}
	stage := func(p crm.Pipeline, name string) string { s, _ := p.StageByName(name); return s.ID }
	dl(crm.Deal{Name: "Big", PipelineID: pl.ID, StageID: stage(pl, "Contract"), Amount: crm.Money{Amount: 1250000, Currency: "USD"},
		CloseDate: crm.Date{Year: 2025, Month: 3, Day: 31}, OwnerID: "u2", CompanyID: acme.ID,
		Contacts: []crm.ContactRole{{ContactID: ada.ID}, {ContactID: grace.ID}}, Source: "web", Custom: crm.Custom{"product": "GTX"}})
	lost := dl(crm.Deal{Name: "Lost one", PipelineID: sales.ID, Amount: crm.Money{Amount: 999, Currency: "EUR"}, CompanyID: globex.ID})
	_, err = ws.Deals().Lose(ctx, lost.ID, "too expensive")
	require.NoError(t, err)
	dl(crm.Deal{Name: "Won", PipelineID: sales.ID, StageID: stage(sales, "Closed won")})

	act := func(a crm.Activity) {
		_, err := ws.Activities().Log(ctx, a)
		require.NoError(t, err)
	}
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	act(crm.Activity{Type: crm.ActivityCall, Subject: "Intro", Body: "Line one\nLine two, \"quoted\"", OccurredAt: at,
		ContactIDs: []string{ada.ID}, CompanyIDs: []string{acme.ID}, OwnerID: "u1", Direction: "outbound", Duration: 90 * time.Second,
		Outcome: "connected", Custom: crm.Custom{"mood": "good"}})
	act(crm.Activity{Type: crm.ActivityTask, Subject: "Send deck", OccurredAt: at, ContactIDs: []string{grace.ID},
		DueAt: at.Add(48 * time.Hour), AssigneeID: "u2", Done: true, RemindAt: at.Add(24 * time.Hour)})
	act(crm.Activity{Type: crm.ActivityTicket, Subject: "Broken", OccurredAt: at, CompanyIDs: []string{globex.ID}, Status: "pending", Priority: "high"})

	pur := func(p crm.Purchase) {
		_, err := ws.Purchases().Record(ctx, p)
		require.NoError(t, err)
	}
	pur(crm.Purchase{ContactID: ada.ID, CompanyID: acme.ID, PurchasedAt: at, PaymentMethod: "card", Custom: crm.Custom{"channel": "web"}, Items: []crm.LineItem{
		{Product: "Widget", Quantity: 2, UnitPrice: crm.Money{Amount: 1000, Currency: "EUR"}, Discount: crm.Money{Amount: 100, Currency: "EUR"}},
		{Product: "Gadget", Quantity: 1, UnitPrice: crm.Money{Amount: 550, Currency: "EUR"}},
	}})
	pur(crm.Purchase{ContactID: grace.ID, PurchasedAt: at, Items: []crm.LineItem{{Product: "Thing", Quantity: 3, UnitPrice: crm.Money{Amount: 5, Currency: "USD"}}}})
	pur(crm.Purchase{CompanyID: globex.ID, PurchasedAt: at, Items: []crm.LineItem{{Product: "Bulk", Quantity: 100, UnitPrice: crm.Money{Amount: 1, Currency: "EUR"}}}})
}

// volatile are the columns that differ between a workspace and its copy:
// IDs and the times the CRM sets.
var volatile = map[string]bool{"id": true, "created_at": true, "updated_at": true, "closed_at": true, "done_at": true, "opened_at": true, "resolved_at": true}

// stable drops the volatile columns of an export, whatever its format.
func stable(t testing.TB, out string, format crmio.Format) []string {
	t.Helper()
	var rows []string
	if format == crmio.JSONL {
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &m), line)
			for k := range m {
				if volatile[k] {
					delete(m, k)
				}
			}
			b, _ := json.Marshal(m)
			rows = append(rows, string(b))
		}
		return rows
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	for _, rec := range recs {
		var keep []string
		for i, c := range rec {
			if !volatile[recs[0][i]] {
				keep = append(keep, c)
			}
		}
		rows = append(rows, fmt.Sprintf("%q", keep))
	}
	return rows
}

var objectsInOrder = []crm.Kind{crmio.ObjectCompany, crmio.ObjectContact, crmio.ObjectDeal, crmio.ObjectActivity, crmio.ObjectPurchase}

func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	onBackends(t, func(t *testing.T, b backend) {
		st := b.open(t)
		c := crm.New(st)
		src, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "src", Currency: "EUR"})
		require.NoError(t, err)
		fill(t, src)
		wantRows := map[crm.Kind]int{crmio.ObjectCompany: 3, crmio.ObjectContact: 3, crmio.ObjectDeal: 3, crmio.ObjectActivity: 3, crmio.ObjectPurchase: 4}
		for _, format := range []crmio.Format{crmio.CSV, crmio.JSONL} {
			t.Run(format.String(), func(t *testing.T) {
				dst, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "dst-" + format.String(), Currency: "EUR"})
				require.NoError(t, err)
				defineFields(t, dst)
				for _, obj := range objectsInOrder {
					out := exportString(t, src, obj, format)
					res := importString(t, dst, out, crmio.ImportOptions{Object: obj, Format: format})
					assert.Empty(t, res.Rejects, obj)
					assert.Equal(t, wantRows[obj], res.Created, obj)
					back := exportString(t, dst, obj, format)
					assert.Equal(t, stable(t, out, format), stable(t, back, format), "%s: export, import elsewhere, export again", obj)
					assert.Len(t, stable(t, out, format), wantRows[obj]+map[bool]int{true: 1}[format == crmio.CSV])
				}
				// Spot checks on the copy, field by field.
				var ada crm.Contact
				for _, ct := range contacts(t, dst) {
					if ct.FirstName == "Ada" {
						ada = ct
					}
				}
				assert.Equal(t, []string{"ada@acme.com", "ada@home.example"}, ada.Emails)
				assert.Equal(t, []crm.Phone{{Number: "+44 20 7946 0000", Label: "work", E164: "+442079460000"}, {Number: "+493012345678", E164: "+493012345678"}}, ada.Phones, "a national number travels in E.164")
				assert.Equal(t, crm.Custom{"score": 9.75, "langs": []string{"en", "fr"}, "vip": true, "first_order": crm.Date{Year: 2024, Month: 1, Day: 2}}, ada.Custom)
				require.Len(t, ada.Companies, 2)
				assert.Equal(t, "buyer", ada.Companies[0].Role)
				labs, err := dst.Companies().Get(ctx, ada.Companies[1].CompanyID)
				require.NoError(t, err)
				assert.Equal(t, "Acme Labs; R&D", labs.Name, "a name with a separator in it")
				acme, err := dst.Companies().GetByDomain(ctx, "acme.com")
				require.NoError(t, err)
				assert.Equal(t, acme.ID, labs.ParentID)
				assert.Equal(t, crm.Money{Amount: 123456789, Currency: "EUR"}, acme.AnnualRevenue)
				assert.Equal(t, map[string]string{"sf": "001", "hubspot": "h1"}, acme.ExternalIDs)
			})
		}

		t.Run("same workspace by id changes nothing", func(t *testing.T) {
			for _, obj := range objectsInOrder {
				for _, format := range []crmio.Format{crmio.CSV, crmio.JSONL} {
					out := exportString(t, src, obj, format)
					res := importString(t, src, out, crmio.ImportOptions{Object: obj, Format: format, UpsertBy: "id"})
					assert.Empty(t, res.Rejects, obj)
					assert.Equal(t, wantRows[obj], res.Skipped, "%s %s: %+v", obj, format, res)
					assert.Equal(t, out, exportString(t, src, obj, format), "%s %s unchanged", obj, format)
				}
			}
		})
	})
}

func TestExportOptions(t *testing.T) {
	ctx := context.Background()
	ws := newWorkspace(t, selected.open(t))
	fill(t, ws)
	cols, err := crmio.Columns(ctx, ws, crmio.ObjectCompany)
	require.NoError(t, err)
	assert.Equal(t, []string{"id", "name", "domain", "industry", "employees", "annual_revenue", "address.street", "address.city",
		"address.region", "address.postal_code", "address.country", "parent", "owner_id", "tags", "external_ids", "custom.credit", "custom.tier",
		"created_at", "updated_at"}, cols)

	var b bytes.Buffer
	n, err := crmio.Export(ctx, ws, &b, crmio.ExportOptions{Object: crmio.ObjectCompany, Columns: []string{"domain", "name", "custom.tier"}, Comma: ';',
		List: crm.ListOptions{Sort: crm.SortName}})
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, "domain;name;custom.tier\nacme.com;Acme;Gold\n;\"Acme Labs; R&D\";Silver\nglobex.example;Globex;\n", b.String())

	_, err = crmio.Export(ctx, ws, &b, crmio.ExportOptions{Object: crmio.ObjectCompany, Columns: []string{"nope"}})
	assert.ErrorIs(t, err, crmio.ErrOptions)
	_, err = crmio.Export(ctx, ws, &b, crmio.ExportOptions{Object: crm.KindPipeline})
	assert.ErrorIs(t, err, crmio.ErrOptions)
	_, err = crmio.Columns(ctx, ws, crm.KindPipeline)
	assert.ErrorIs(t, err, crmio.ErrOptions)
}

func TestExportStoreFailure(t *testing.T) {
	st := selected.open(t)
	ws := newWorkspace(t, st)
	fill(t, ws)
	require.NoError(t, st.Close())
	_, err := crmio.Export(context.Background(), ws, &bytes.Buffer{}, crmio.ExportOptions{Object: crmio.ObjectContact})
	assert.ErrorIs(t, err, store.ErrClosed)
	_, err = crmio.Import(context.Background(), ws, strings.NewReader(contactCSV(3)), crmio.ImportOptions{Object: crmio.ObjectContact})
	assert.ErrorIs(t, err, store.ErrClosed)
}

func TestWriteRejects(t *testing.T) {
	ws := newWorkspace(t, selected.open(t))
	in := "first_name,email,note\nAda,ada@example.com,=x\nBob,bob@bad,\"multi\nline\"\nCarl,carl@example.com,ok,extra\n"
	res := importString(t, ws, in, crmio.ImportOptions{Object: crm.KindContact})
	require.Equal(t, 2, res.Rejected)
	var b bytes.Buffer
	require.NoError(t, res.WriteRejects(&b))
	// The CRM's reason is checked by its start; the file holds it whole.
	bob := res.Rejects[0].Error()
	assert.True(t, strings.HasPrefix(bob, `email: "bob@bad" is not a valid email address`), bob)
	assert.Equal(t, "first_name,email,note,_line,_error\n"+
		"Bob,bob@bad,\"multi\nline\",3,\""+strings.ReplaceAll(bob, `"`, `""`)+"\"\n"+
		"Carl,carl@example.com,ok,5,\"the row has 4 fields, the header has 3\",extra\n", b.String())

	// Fixed, the rejects file imports; _line and _error are skipped
	// quietly (not reported as ignored columns).
	fixed := strings.Replace(strings.Replace(b.String(), "bob@bad", "bob@example.com", 1), ",extra\n", "\n", 1)
	res2 := importString(t, ws, fixed, crmio.ImportOptions{Object: crm.KindContact})
	assert.Equal(t, 2, res2.Created, "%v", res2.Rejects)
	assert.Equal(t, []string{"note"}, res2.Ignored)

	// JSON Lines rejects keep the object and add _line and _error.
	res = importString(t, ws, "{\"first_name\":\"X\",\"emails\":[\"x@bad\"]}\nnot json\n", crmio.ImportOptions{Object: crm.KindContact, Format: crmio.JSONL})
	b.Reset()
	require.NoError(t, res.WriteRejects(&b))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 2)
	x := res.Rejects[0].Error()
	assert.True(t, strings.HasPrefix(x, `emails: "x@bad" is not a valid email address`), x)
	xq, err := json.Marshal(x)
	require.NoError(t, err)
	assert.JSONEq(t, `{"first_name":"X","emails":["x@bad"],"_line":1,"_error":`+string(xq)+`}`, lines[0])
	assert.JSONEq(t, `{"_raw":"not json","_line":2,"_error":"not a JSON object: invalid character 'o' in literal null (expecting 'u')"}`, lines[1])
}
