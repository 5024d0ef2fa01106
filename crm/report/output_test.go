package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// csvOf writes a report with write and returns its lines.
func csvOf(t *testing.T, write func(io.Writer) error) [][]string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, write(&buf))
	recs, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs, "a header at least")
	return recs
}

// svgLabels decodes an SVG document with encoding/xml, failing the test
// unless it is well-formed with an <svg> root, and returns the text of
// its elements of class "label" and of its <title>s.
func svgLabels(t *testing.T, write func(io.Writer) error) []string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, write(&buf))
	d := xml.NewDecoder(&buf)
	var stack []xml.StartElement
	var out []string
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "well-formed XML")
		switch x := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = x.Name.Local
				assert.Equal(t, "http://www.w3.org/2000/svg", x.Name.Space)
			}
			stack = append(stack, x)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				continue
			}
			top := stack[len(stack)-1]
			isLabel := top.Name.Local == "title"
			for _, a := range top.Attr {
				isLabel = isLabel || (a.Name.Local == "class" && a.Value == "label")
			}
			if isLabel {
				out = append(out, string(x))
			}
		}
	}
	assert.Equal(t, "svg", root)
	assert.Empty(t, stack, "every element closed")
	return out
}

// salesFixture makes, in the default pipeline, whose Proposal stage it
// renames "Proposal & <review>" (a name that needs escaping), on 2 April:
//
//	won:  ann, 1000 EUR, created 2 April, won 12 April
//	lost: ann, 500 EUR, lost 12 April
//	neg:  ann, Negotiation, 2000 EUR, expected 20 May
//	prop: bob, Proposal, 1001 EUR, expected 3 April
func salesFixture(t *testing.T, e *crmtest.Env) (crm.Pipeline, map[string]string) {
	t.Helper()
	pl, st := crmtest.Sales(t, e)
	_, err := e.WS.Pipelines().RenameStage(e.Ctx, pl.ID, st["Proposal"], "Proposal & <review>")
	require.NoError(t, err)
	repClockTo(t, e, time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC))
	mk := func(name, owner, stage string, amount int64, close crm.Date) crm.Deal {
		d, err := e.WS.Deals().Create(e.Ctx, crm.Deal{Name: name, OwnerID: owner, StageID: st[stage], Amount: crm.Money{Amount: amount},
			CloseDate: close})
		require.NoError(t, err)
		return d
	}
	won := mk("won", "ann", "", 1000, crm.Date{})
	lost := mk("lost", "ann", "", 500, crm.Date{})
	mk("neg", "ann", "Negotiation", 2000, crm.Date{Year: 2026, Month: 5, Day: 20})
	mk("prop", "bob", "Proposal", 1001, crm.Date{Year: 2026, Month: 4, Day: 3})
	repClockTo(t, e, time.Date(2026, 4, 12, 9, 0, 0, 0, time.UTC))
	_, err = e.WS.Deals().Win(e.Ctx, won.ID)
	require.NoError(t, err)
	_, err = e.WS.Deals().Lose(e.Ctx, lost.ID, "price")
	require.NoError(t, err)
	return pl, st
}

func TestDealReportsCSVJSONAndSVG(t *testing.T) {
	e := crmtest.Setup(t)
	pl, st := salesFixture(t, e)

	pipe, err := report.Pipeline(e.Ctx, e.WS, report.Filter{GroupBy: report.GroupOwner})
	require.NoError(t, err)
	recs := csvOf(t, pipe.WriteCSV)
	assert.Equal(t, []string{"group", "pipeline_id", "stage_id", "stage", "probability", "currency", "count", "amount", "weighted", "share"}, recs[0])
	assert.Equal(t, []string{"ann", pl.ID, st["Negotiation"], "Negotiation", "75", "EUR", "1", "2000", "1500", "1.0000"}, recs[1])
	assert.Len(t, recs, 3)

	labels := svgLabels(t, func(w io.Writer) error { return pipe.StageBarsSVG(w, "EUR") })
	assert.Contains(t, labels, "Proposal & <review>", "escaped in the SVG, the name as it was after decoding")
	assert.Contains(t, labels, "Negotiation")
	byMonth, err := report.Pipeline(e.Ctx, e.WS, report.Filter{GroupBy: report.GroupMonth})
	require.NoError(t, err)
	labels = svgLabels(t, func(w io.Writer) error { return byMonth.PeriodBarsSVG(w, "EUR") })
	assert.Contains(t, labels, "2026-04")
	assert.Contains(t, labels, "2026-05")

	// The cohort: won (cycle 10 days) and lost; the open deals too.
	conv, err := report.Conversion(e.Ctx, e.WS, report.ConversionOptions{Filter: report.Filter{GroupBy: report.GroupOwner}})
	require.NoError(t, err)
	recs = csvOf(t, conv.WriteCSV)
	assert.Equal(t, []string{"group", "deals", "open", "won", "lost", "win_rate", "currency", "won_amount", "avg_cycle_days", "median_cycle_days"}, recs[0])
	assert.Equal(t, []string{"ann", "3", "1", "1", "1", "0.5000", "EUR", "1000", "10.0000", "10.0000"}, recs[1])
	assert.Equal(t, []string{"bob", "1", "1", "0", "0", "0.0000", "", "0", "0.0000", "0.0000"}, recs[2], "no won deal: one line without a currency")
	recs = csvOf(t, conv.WriteFunnelCSV)
	assert.Equal(t, []string{"group", "pipeline_id", "stage_id", "stage", "entered", "reached", "conversion"}, recs[0])
	// ann's won and lost deals entered Qualification, neg started in
	// Negotiation: three reached Qualification, two (won, which skipped
	// to Closed won, and neg) got further.
	assert.Equal(t, []string{"ann", pl.ID, st["Qualification"], "Qualification", "2", "3", "0.6667"}, recs[1])
	assert.Equal(t, []string{"ann", pl.ID, st["Needs analysis"], "Needs analysis", "0", "2", "1.0000"}, recs[2])

	labels = svgLabels(t, func(w io.Writer) error { return conv.FunnelSVG(w, "ann") })
	for _, s := range []string{"Qualification", "Needs analysis", "Proposal & <review>", "Negotiation", "Closed won"} {
		assert.Contains(t, labels, s)
	}
	assert.NotContains(t, labels, "Closed lost", "lost stages are not funnel steps")
	assert.ErrorIs(t, conv.FunnelSVG(io.Discard, "nobody"), crm.ErrNotFound)

	// JSON keeps every figure and nothing else: it reads back equal.
	b, err := json.Marshal(conv)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"win_rate":0.5`)
	assert.Contains(t, string(b), `"stage":"Proposal \u0026 \u003creview\u003e"`)
	var back report.ConversionReport
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, *conv, back)

	// The forecast for Q2, on 12 April: won 1000; neg (75%) is commit,
	// prop (50%) is not.
	q2 := report.Filter{From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}
	require.NoError(t, report.SetQuota(e.Ctx, e.WS, report.Quota{OwnerID: "ann", From: q2.From, To: q2.To, Amount: crm.Money{Amount: 5000}}))
	sn, err := report.TakeSnapshot(e.Ctx, e.WS, report.ForecastOptions{Filter: q2})
	require.NoError(t, err)
	recs = csvOf(t, sn.Report.WriteCSV)
	assert.Equal(t, []string{"group", "team", "currency", "closed_won", "pipeline", "weighted", "commit", "best_case", "forecast", "quota", "attainment"}, recs[0])
	assert.Equal(t, []string{"ann", "false", "EUR", "1000", "2000", "1500", "3000", "3000", "2500", "5000", "0.2000"}, recs[1])
	assert.Equal(t, []string{"bob", "false", "EUR", "0", "1001", "501", "0", "1001", "501", "0", "0.0000"}, recs[2])
	labels = svgLabels(t, func(w io.Writer) error { return sn.Report.SVG(w, "EUR") })
	assert.Contains(t, labels, "ann")
	assert.Contains(t, labels, "bob")

	acc, err := report.ForecastAccuracy(e.Ctx, e.WS, sn.ID)
	require.NoError(t, err)
	recs = csvOf(t, acc.WriteCSV)
	assert.Equal(t, []string{"group", "team", "currency", "forecast", "commit", "actual", "error", "abs_pct_error"}, recs[0])
	assert.Equal(t, []string{"ann", "false", "EUR", "2500", "3000", "1000", "-1500", "1.5000"}, recs[1])
}

func TestCustomerReportsCSV(t *testing.T) {
	e := crmtest.Setup(t)
	purchaseFixture(t, e)
	rev, err := report.Revenue(e.Ctx, e.WS, report.Filter{GroupBy: report.GroupProduct})
	require.NoError(t, err)
	recs := csvOf(t, rev.WriteCSV)
	assert.Equal(t, []string{"group", "currency", "revenue", "purchases", "customers", "lifetime_value"}, recs[0])
	assert.Equal(t, []string{"gadget", "EUR", "400", "2", "2", "200.0000"}, recs[1])
	b, err := json.Marshal(rev)
	require.NoError(t, err)
	assert.Contains(t, string(b), `{"group":"gadget","currency":"EUR","revenue":400,"purchases":2,"customers":2,"lifetime_value":200}`)

	cs, err := report.CrossSell(e.Ctx, e.WS, report.CrossSellOptions{Product: "widget"})
	require.NoError(t, err)
	recs = csvOf(t, cs.WriteCSV)
	assert.Equal(t, []string{"kind", "id", "group", "share"}, recs[0])
	assert.Equal(t, []string{"company", cs.Candidates[0].ID, "retail", "0.6667"}, recs[1])

	// Lifecycle reports over contacts made now (2 March, 09:00).
	lead := repContact(t, e, "l", "lead", "ann", "web")
	cust := repContact(t, e, "c", "customer", "ann", "web")
	repClockTo(t, e, march(4))
	repStage(t, e, lead, "opportunity")
	repStage(t, e, cust, "churned")
	lc, err := report.LeadConversion(e.Ctx, e.WS, report.LifecycleOptions{Filter: report.Filter{GroupBy: report.GroupSource}})
	require.NoError(t, err)
	recs = csvOf(t, lc.WriteCSV)
	assert.Equal(t, []string{"group", "leads", "converted", "rate", "avg_days", "median_days"}, recs[0])
	// cust was a lead (a customer is past lead) and converted at once.
	assert.Equal(t, []string{"web", "2", "2", "1.0000", "1.0000", "1.0000"}, recs[1])

	churn, err := report.Churn(e.Ctx, e.WS, report.LifecycleOptions{Filter: report.Filter{From: march(2), To: march(9)}})
	require.NoError(t, err)
	recs = csvOf(t, churn.WriteCSV)
	assert.Equal(t, []string{"group", "at_start", "new", "churned", "at_end", "churn_rate", "retention"}, recs[0])
	assert.Equal(t, []string{"", "1", "0", "1", "0", "1.0000", "0.0000"}, recs[1])
}

func TestOperationsCSVAndSVG(t *testing.T) {
	e := crmtest.Setup(t)
	opsFixture(t, e)
	rep, err := report.Operations(e.Ctx, e.WS, report.Filter{OwnerIDs: []string{"ann", "bob"}})
	require.NoError(t, err)
	recs := csvOf(t, rep.WriteCSV)
	assert.Equal(t, []string{"group", "type", "count"}, recs[0])
	assert.Equal(t, []string{"ann", "call", "2"}, recs[1])
	recs = csvOf(t, rep.WriteAdoptionCSV)
	assert.Equal(t, [][]string{{"period", "active_users", "updates", "per_user"}, {"2026-03", "2", "5", "2.5000"}}, recs)
	labels := svgLabels(t, rep.SVG)
	assert.Contains(t, labels, "ann")
	assert.Contains(t, labels, "bob")
}
