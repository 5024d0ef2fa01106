package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// svgTitle requires path to hold a well-formed SVG document and returns
// its title.
func svgTitle(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := xml.NewDecoder(strings.NewReader(string(data)))
	var root, title string
	inTitle := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "well-formed XML:\n%s", data)
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
				assert.Equal(t, "http://www.w3.org/2000/svg", tok.Name.Space)
			}
			inTitle = tok.Name.Local == "title"
		case xml.CharData:
			if inTitle && title == "" {
				title = string(tok)
			}
		case xml.EndElement:
			inTitle = false
		}
	}
	require.Equal(t, "svg", root)
	return title
}

func TestReportPipeline(t *testing.T) {
	f := seed(t)
	rep := append([]string{"--dir", f.dir}, "report", "pipeline", "--workspace", "acme")

	out := okCLI(t, rep...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	assert.Regexp(t, `^STAGE\s+PROBABILITY\s+DEALS\s+AMOUNT\s+WEIGHTED\s+SHARE$`, lines[0])
	assert.Regexp(t, `^Qualification\s+10%\s+1\s+200.00 EUR\s+20.00 EUR\s+50.0%$`, lines[1])
	assert.Regexp(t, `^Proposal\s+50%\s+1\s+1000.00 EUR\s+500.00 EUR\s+50.0%$`, lines[2])

	var pr report.PipelineReport
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(rep, "--format", "json")...)), &pr))
	require.Len(t, pr.Rows, 2)
	assert.Equal(t, int64(50000), pr.Rows[1].Weighted)

	// Filters: by owner, by expected close date, grouped.
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(rep, "--format", "json", "--owner", "bob,nobody")...)), &pr))
	require.Len(t, pr.Rows, 1)
	assert.Equal(t, "Qualification", pr.Rows[0].Stage)
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(rep, "--format", "json", "--from", "2026-05-15", "--to", "2026-06-01")...)), &pr))
	require.Len(t, pr.Rows, 1)
	assert.Equal(t, "Proposal", pr.Rows[0].Stage)
	csv := okCLI(t, append(rep, "--format", "csv", "--group-by", "owner")...)
	assert.True(t, strings.HasPrefix(csv, "group,pipeline_id,stage_id,stage,"), csv)
	assert.Contains(t, csv, "\nann,")
	assert.Contains(t, csv, "\nbob,")
	assert.Regexp(t, `(?m)^OWNER\s+STAGE`, okCLI(t, append(rep, "--group-by", "owner")...))

	svg := filepath.Join(t.TempDir(), "pipeline.svg")
	r := runCLI(t, append(rep, "--svg", svg)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, out, r.stdout, "the chart does not change the table")
	assert.Contains(t, r.stderr, "wrote the open pipeline by stage")
	assert.Equal(t, "Open pipeline by stage (EUR, minor units)", svgTitle(t, svg))
	data, err := os.ReadFile(svg)
	require.NoError(t, err)
	assert.Contains(t, string(data), "Proposal")
	okCLI(t, append(rep, "--group-by", "owner", "--svg", svg)...)
	assert.Equal(t, "Open pipeline (EUR, minor units)", svgTitle(t, svg), "grouped: stacked bars")
}

func TestReportForecast(t *testing.T) {
	f := seed(t)
	rep := append([]string{"--dir", f.dir}, "report", "forecast", "--workspace", "acme", "--from", "2026-04-01", "--to", "2026-07-01")
	var fr report.ForecastReport
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(rep, "--format", "json")...)), &fr))
	require.Len(t, fr.Rows, 2)
	ann := fr.Rows[0]
	assert.Equal(t, "ann", ann.Group)
	assert.Equal(t, int64(50000), ann.ClosedWon)
	assert.Equal(t, int64(50000), ann.Weighted)
	assert.Equal(t, int64(100000), ann.Forecast)
	assert.Equal(t, int64(50000), ann.Commit, "Proposal (50%) is below the commit probability")
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(rep, "--format", "json", "--commit-probability", "50")...)), &fr))
	assert.Equal(t, int64(150000), fr.Rows[0].Commit)

	out := okCLI(t, append(rep, "--owner", "ann")...)
	assert.Regexp(t, `(?m)^ann\s+500.00 EUR\s+1000.00 EUR\s+500.00 EUR\s+500.00 EUR\s+1500.00 EUR\s+1000.00 EUR\s+-\s+-$`, out)
	assert.NotContains(t, out, "bob")

	svg := filepath.Join(t.TempDir(), "forecast.svg")
	okCLI(t, append(rep, "--svg", svg)...)
	assert.Equal(t, "Forecast (EUR, minor units)", svgTitle(t, svg))
}

func TestReportConversion(t *testing.T) {
	f := seed(t)
	rep := append([]string{"--dir", f.dir}, "report", "conversion", "--workspace", "acme")
	var cr report.ConversionReport
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(rep, "--format", "json")...)), &cr))
	require.Len(t, cr.Groups, 1)
	assert.Equal(t, int64(3), cr.Groups[0].Deals)
	assert.Equal(t, int64(1), cr.Groups[0].Won)

	out := okCLI(t, rep...)
	for _, title := range []string{"Deals:", "Funnel:", "Velocity:", "Time in stage:", "Stalled deals:"} {
		assert.Contains(t, "\n"+out, "\n"+title+"\n")
	}
	assert.Regexp(t, `(?m)^3\s+2\s+1\s+0\s+100.0%\s+500.00 EUR`, out)
	assert.True(t, strings.HasPrefix(okCLI(t, append(rep, "--format", "csv", "--section", "funnel")...), "group,pipeline_id,stage_id,stage,entered,reached,conversion\n"))

	svg := filepath.Join(t.TempDir(), "funnel.svg")
	okCLI(t, append(rep, "--group-by", "owner", "--svg", svg, "--chart-group", "ann")...)
	assert.Equal(t, "Funnel: ann", svgTitle(t, svg))
}

func TestReportCustomersAndOperations(t *testing.T) {
	f := seed(t)
	rep := func(args ...string) []string {
		return append([]string{"--dir", f.dir, "report"}, append(args[:1:1], append([]string{"--workspace", "acme"}, args[1:]...)...)...)
	}

	var lc report.LeadConversionReport
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, rep("lead-conversion", "--format", "json", "--group-by", "owner")...)), &lc))
	var annRow *report.LeadConversionRow
	for i := range lc.Rows {
		if lc.Rows[i].Group == "ann" {
			annRow = &lc.Rows[i]
		}
	}
	require.NotNil(t, annRow, "%+v", lc.Rows)
	assert.Equal(t, int64(2), annRow.Converted, "Ada became an opportunity, Cy a customer")
	assert.InDelta(t, 2.5, annRow.AvgDays, 0.001, "after five days and none")

	var ch report.ChurnReport
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, rep("churn", "--from", "2026-04-05", "--to", "2026-05-01", "--format", "json")...)), &ch))
	require.Len(t, ch.Rows, 1)
	assert.Equal(t, int64(1), ch.Rows[0].AtStart, "Cy was a customer on 2026-04-05")
	assert.Equal(t, int64(1), ch.Rows[0].Churned)
	assert.Regexp(t, `(?m)^1\s+0\s+1\s+0\s+100.0%\s+0.0%$`, okCLI(t, rep("churn", "--from", "2026-04-05", "--to", "2026-05-01")...))

	out := okCLI(t, rep("revenue", "--group-by", "industry")...)
	assert.Regexp(t, `(?m)^software\s+130.00 EUR\s+2\s+2\s+65.00 EUR$`, out)
	assert.Regexp(t, `(?m)^INDUSTRY\s+REVENUE`, out)
	out = okCLI(t, rep("revenue", "--from", "2026-05-01")...)
	assert.Regexp(t, `(?m)^REVENUE.*\n\(none\)$`, strings.TrimSpace(out), "no purchase after May 1st")

	out = okCLI(t, rep("cross-sell", "--product", "Widget")...)
	assert.Regexp(t, `(?m)^company\s+`+f.globex+`\s+software\s+50.0%$`, out, "Globex has not bought what half its industry has")
	assert.NotContains(t, out, f.acme)

	var ops report.OperationsReport
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, rep("operations", "--format", "json")...)), &ops))
	require.Len(t, ops.Activities, 1)
	assert.Equal(t, report.ActivityVolume{Group: "ann", Type: crm.ActivityCall, Count: 1}, ops.Activities[0])
	assert.Equal(t, "group,type,count\nann,call,1\n", okCLI(t, rep("operations", "--format", "csv")...))
	svg := filepath.Join(t.TempDir(), "ops.svg")
	okCLI(t, rep("operations", "--svg", svg)...)
	assert.Equal(t, "Activities", svgTitle(t, svg))
}

func TestReportNames(t *testing.T) {
	r := runCLI(t, "report", "nonsense")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `unknown report "nonsense": one of pipeline, forecast, conversion, lead-conversion, churn, revenue, cross-sell, operations`)
	out := okCLI(t, "report", "--help")
	assert.Contains(t, out, "Run a report: pipeline")
	for _, name := range reportNames {
		assert.Contains(t, okCLI(t, "report", name, "--help"), "Usage: crmctl report "+name+" --workspace ID")
	}
}

func TestReportSegments(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	okCLI(t, append(d, "segment", "create", "--workspace", "acme", "--name", "Ann's deals", "--object", "deal", "--where", `owner_id = "ann"`)...)
	rep := append(d, "report", "pipeline", "--workspace", "acme", "--format", "json")

	var pr report.PipelineReport
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(rep, "--segment", "ann's deals")...)), &pr))
	require.Len(t, pr.Rows, 1, "the segment, by name, holds Ann's open deal")
	assert.Equal(t, "Proposal", pr.Rows[0].Stage)
	assert.NotEmpty(t, pr.Filter.Segment)
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(rep, "--where", `owner_id = "bob"`)...)), &pr))
	require.Len(t, pr.Rows, 1)
	assert.Equal(t, "Qualification", pr.Rows[0].Stage)
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(rep, "--segment", "Ann's deals", "--where", `owner_id = "bob"`)...)), &pr))
	assert.Empty(t, pr.Rows, "a deal must pass both")

	var rr report.RevenueReport
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(d, "report", "revenue", "--workspace", "acme", "--format", "json",
		"--where", `name = "Globex"`, "--where-object", "company")...)), &rr))
	require.Len(t, rr.Rows, 1)
	assert.Equal(t, int64(3000), rr.Rows[0].Revenue, "Globex's purchase only")

	for name, c := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"segment of the wrong kind":    {[]string{"report", "lead-conversion", "--workspace", "acme", "--segment", "Ann's deals"}, exitUsage, "uses segments of contacts"},
		"where needs its kind":         {[]string{"report", "revenue", "--workspace", "acme", "--where", `name = "Globex"`}, exitUsage, "where_object"},
		"where that does not fit":      {[]string{"report", "pipeline", "--workspace", "acme", "--where", `colour = "red"`}, exitUsage, "colour"},
		"where that does not parse":    {[]string{"report", "pipeline", "--workspace", "acme", "--where", `owner_id =`}, exitUsage, "--where: filter: 1:11"},
		"no such segment":              {[]string{"report", "pipeline", "--workspace", "acme", "--segment", "nope"}, exitFailure, "not found"},
		"cross-sell of a deal segment": {[]string{"report", "cross-sell", "--workspace", "acme", "--product", "Widget", "--segment", "Ann's deals"}, exitUsage, "segment"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, append(d, c.args...)...)
			assert.Equal(t, c.code, r.code, r.stderr)
			assert.Contains(t, r.stderr, c.msg)
			assert.Empty(t, r.stdout)
		})
	}
}
