package crmhttp_test

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// salesDeals makes open deals of ann (Qualified, 1000 EUR, closing 20
// March) and bob (Proposal, 3000 EUR, closing 20 April), and a deal of
// ann's won on 9 March (500 EUR), all created at crmtest.Start.
func salesDeals(t *testing.T, e *env) {
	t.Helper()
	sys := crm.As(e.Ctx, crm.System())
	_, st := crmtest.Sales(t, e.Env)
	mk := func(name, owner, stage string, amount int64, close crm.Date) crm.Deal {
		d, err := e.WS.Deals().Create(sys, crm.Deal{Name: name, OwnerID: owner, StageID: st[stage],
			Amount: crm.Money{Amount: amount, Currency: "EUR"}, CloseDate: close})
		require.NoError(t, err)
		return d
	}
	mk("ann open", "ann", "Qualified", 1000, crm.Date{Year: 2026, Month: 3, Day: 20})
	mk("bob open", "bob", "Proposal", 3000, crm.Date{Year: 2026, Month: 4, Day: 20})
	won := mk("ann won", "ann", "Qualified", 500, crm.Date{Year: 2026, Month: 3, Day: 9})
	e.Clock.Advance(7 * 24 * time.Hour)
	_, err := e.WS.Deals().Win(sys, won.ID)
	require.NoError(t, err)
}

// svgRoot decodes an SVG answer, failing unless it is well-formed XML
// with an <svg> root, and returns its text.
func svgRoot(t *testing.T, r reply) string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "image/svg+xml", r.Header.Get("Content-Type"))
	d := xml.NewDecoder(bytes.NewReader(r.Body))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "well-formed XML: %s", r.Body)
		if s, ok := tok.(xml.StartElement); ok && root == "" {
			root = s.Name.Local
		}
	}
	assert.Equal(t, "svg", root)
	return string(r.Body)
}

func csvLines(t *testing.T, r reply) [][]string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "text/csv; charset=utf-8", r.Header.Get("Content-Type"))
	recs, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	return recs
}

func TestPipelineReport(t *testing.T) {
	e := setup(t)
	salesDeals(t, e)
	c := e.admin(t)

	r := c.do("GET", "/reports/pipeline?group=owner", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	var rep report.PipelineReport
	r.decode(t, &rep)
	assert.Equal(t, report.GroupOwner, rep.Filter.GroupBy)
	amounts := map[string]int64{}
	for _, row := range rep.Rows {
		assert.Equal(t, "EUR", row.Currency)
		amounts[row.Group] += row.Amount
	}
	assert.Equal(t, map[string]int64{"ann": 1000, "bob": 3000}, amounts)

	// The same rows as CSV, by parameter or by Accept.
	for _, r := range []reply{c.do("GET", "/reports/pipeline?group=owner&format=csv", nil),
		c.do("GET", "/reports/pipeline?group=owner", nil, "Accept", "text/csv")} {
		assert.Len(t, csvLines(t, r), 1+len(rep.Rows))
	}
	// The chart, by parameter or by Accept; the stages are its labels.
	for _, path := range []string{"/reports/pipeline?format=svg", "/reports/pipeline?group=month&format=svg"} {
		svg := svgRoot(t, c.do("GET", path, nil))
		assert.Contains(t, svg, "Proposal", path)
		assert.Contains(t, svg, "EUR", path)
	}
	svgRoot(t, c.do("GET", "/reports/pipeline", nil, "Accept", "text/html, image/svg+xml;q=0.9, application/json;q=0.5"))

	// A filter by period, in dates of the workspace.
	r = c.do("GET", "/reports/pipeline?from=2026-03-01&to=2026-04-01", nil)
	rep = report.PipelineReport{}
	r.decode(t, &rep)
	require.Len(t, rep.Rows, 1, "%s", r.Body)
	assert.Equal(t, int64(1000), rep.Rows[0].Amount)
	assert.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), rep.Filter.From.UTC())
}

func TestForecastAndConversionReports(t *testing.T) {
	e := setup(t)
	salesDeals(t, e)
	c := e.admin(t)

	r := c.do("GET", "/reports/forecast?from=2026-03-01&to=2026-04-01T00:00:00Z", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var fc report.ForecastReport
	r.decode(t, &fc)
	won := map[string]int64{}
	for _, row := range fc.Rows {
		won[row.Group] += row.ClosedWon
	}
	assert.Equal(t, int64(500), won["ann"])
	svg := svgRoot(t, c.do("GET", "/reports/forecast?from=2026-03-01&to=2026-04-01&format=svg", nil))
	assert.Contains(t, svg, "ann")
	csvLines(t, c.do("GET", "/reports/forecast?from=2026-03-01&to=2026-04-01&format=csv", nil))

	r = c.do("GET", "/reports/conversion?group=owner", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var conv report.ConversionReport
	r.decode(t, &conv)
	require.Len(t, conv.Groups, 2)
	// ann's open deal has been in Qualified as long as the won one was:
	// past half the median, so it stalls; it is counted and listed.
	r = c.do("GET", "/reports/conversion?stall_factor=0.5&stalled_limit=1", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	conv = report.ConversionReport{}
	r.decode(t, &conv)
	assert.Equal(t, int64(1), conv.StalledCount)
	require.Len(t, conv.Stalled, 1)
	assert.Equal(t, "ann open", conv.Stalled[0].Name)
	svgRoot(t, c.do("GET", "/reports/conversion?format=svg", nil))
	svg = svgRoot(t, c.do("GET", "/reports/conversion?group=owner&funnel=bob&format=svg", nil))
	assert.Contains(t, svg, "bob")
	p := c.do("GET", "/reports/conversion?group=owner&funnel=zed&format=svg", nil).problem(t)
	assert.Equal(t, []string{"funnel"}, fields(p))
	csvLines(t, c.do("GET", "/reports/conversion?format=csv", nil))

	// An empty cohort still draws a (blank) funnel.
	svgRoot(t, c.do("GET", "/reports/conversion?from=2020-01-01&to=2020-02-01&format=svg", nil))
}

func TestOtherReports(t *testing.T) {
	e := setup(t)
	salesDeals(t, e)
	c := e.admin(t)
	for _, path := range []string{"/reports/lead-conversion", "/reports/churn?from=2026-01-01&to=2026-04-01",
		"/reports/revenue?group=month", "/reports/operations"} {
		r := c.do("GET", path, nil)
		assert.Equal(t, http.StatusOK, r.Status, "%s: %s", path, r.Body)
		csvLines(t, c.do("GET", path, nil, "Accept", "text/csv"))
	}
	svgRoot(t, c.do("GET", "/reports/operations?format=svg", nil))

	// A report without a chart is not acceptable as SVG, and an Accept
	// that takes JSON too gets JSON.
	p := c.do("GET", "/reports/revenue?format=svg", nil).problem(t)
	assert.Equal(t, http.StatusNotAcceptable, p.Status)
	p = c.do("GET", "/reports/revenue", nil, "Accept", "image/svg+xml").problem(t)
	assert.Equal(t, http.StatusNotAcceptable, p.Status)
	r := c.do("GET", "/reports/revenue", nil, "Accept", "image/svg+xml, application/json;q=0.1")
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
}

func TestReportParams(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	tests := []struct {
		name, query string
		field       string
	}{
		{"unknown group", "/reports/pipeline?group=colour", "group"},
		{"group the report has not", "/reports/churn?from=2026-01-01&to=2026-02-01&group=stage", "group"},
		{"malformed from", "/reports/pipeline?from=yesterday", "from"},
		{"to before from", "/reports/pipeline?from=2026-03-01&to=2026-02-01", "to"},
		{"unknown time zone", "/reports/pipeline?tz=Mars/Olympus", "tz"},
		{"bad currency", "/reports/pipeline?currency=EURO", "currency"},
		{"unknown format", "/reports/pipeline?format=pdf", "format"},
		{"bad filter", "/reports/pipeline?where=" + url.QueryEscape(`amount >`), "where"},
		{"filter of an unknown field", "/reports/pipeline?where=" + url.QueryEscape(`shoe_size > 3`), "where"},
		{"unknown segment", "/reports/pipeline?segment=seg_nope", "segment"},
		{"forecast without a period", "/reports/forecast", "from"},
		{"commit probability", "/reports/forecast?from=2026-03-01&to=2026-04-01&commit_probability=0", "commit_probability"},
		{"stall factor", "/reports/conversion?stall_factor=-1", "stall_factor"},
		{"stalled limit", "/reports/conversion?stalled_limit=0", "stalled_limit"},
		{"stalled limit too high", "/reports/conversion?stalled_limit=10001", "stalled_limit"},
		{"unknown where object", "/reports/pipeline?where_object=lead&where=" + url.QueryEscape(`name IS SET`), "where_object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			p := c.do("GET", tt.query, nil).problem(t)
			assert.Equal(t, http.StatusBadRequest, p.Status, "%+v", p)
			assert.Contains(t, fields(p), tt.field, "%+v", p)
		})
	}
}

func TestReportsAccess(t *testing.T) {
	e := setup(t)
	salesDeals(t, e)
	withPolicy(t, e)
	var rep report.PipelineReport
	r := e.as(t, "bob", "rep").do("GET", "/reports/pipeline?group=owner", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.decode(t, &rep)
	require.NotEmpty(t, rep.Rows)
	for _, row := range rep.Rows {
		assert.Equal(t, "bob", row.Group, "a rep's report holds their own deals")
	}
	p := e.as(t, "eve", "nobody").do("GET", "/reports/pipeline", nil).problem(t)
	assert.Equal(t, http.StatusForbidden, p.Status)
	assert.Equal(t, http.StatusUnauthorized, e.as(t, "", "").do("GET", "/reports/pipeline", nil).problem(t).Status)
}
