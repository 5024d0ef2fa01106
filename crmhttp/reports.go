package crmhttp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/crm/report"
)

// reportOut is a computed report and the ways it can be answered: as
// JSON (the report itself), as CSV, and as an SVG chart (nil for a
// report without one).
type reportOut struct {
	v   any
	csv func(io.Writer) error
	svg func(io.Writer) error
}

// reportDef is one report of package crm/report served at /reports/{name}.
type reportDef struct {
	name, summary, schema string
	// query are the parameters of the report's own options, besides those
	// of report.Filter (filterParams).
	query []string
	chart bool
	run   func(c *call, f report.Filter, q url.Values) (reportOut, error)
}

// maxStalledLimit bounds a conversion report's stalled_limit: a page of
// an answer, not a dump of every open deal.
const maxStalledLimit = 10000

// filterParams are the query parameters of report.Filter.
var filterParams = []string{"pipeline", "owner", "from", "to", "segment", "where", "where_object", "group", "currency", "tz"}

// reportParam names the query parameter of a report option's JSON name,
// as the report's validation errors name it.
var reportParam = map[string]string{"pipeline_id": "pipeline", "owner_ids": "owner", "group_by": "group", "time_zone": "tz"}

var reportDefs = []reportDef{
	{name: "pipeline", summary: "Report the open pipeline", schema: "PipelineReport", chart: true,
		run: func(c *call, f report.Filter, _ url.Values) (reportOut, error) {
			r, err := report.Pipeline(c.ctx, c.ws, f)
			if err != nil {
				return reportOut{}, err
			}
			out := reportOut{v: r, csv: r.WriteCSV}
			cur := chartCurrency(c, f, func(yield func(string) bool) {
				for _, x := range r.Rows {
					if !yield(x.Currency) {
						return
					}
				}
			})
			out.svg = func(w io.Writer) error { return r.StageBarsSVG(w, cur) }
			if f.GroupBy != report.GroupNone {
				out.svg = func(w io.Writer) error { return r.PeriodBarsSVG(w, cur) }
			}
			return out, nil
		}},
	{name: "forecast", summary: "Report the forecast of a period", schema: "ForecastReport", chart: true,
		query: []string{"commit_probability"},
		run: func(c *call, f report.Filter, q url.Values) (reportOut, error) {
			p, err := intParam(q, "commit_probability", 0, 1, 100)
			if err != nil {
				return reportOut{}, err
			}
			r, err := report.Forecast(c.ctx, c.ws, report.ForecastOptions{Filter: f, CommitProbability: p})
			if err != nil {
				return reportOut{}, err
			}
			cur := chartCurrency(c, f, func(yield func(string) bool) {
				for _, x := range r.Rows {
					if !yield(x.Currency) {
						return
					}
				}
			})
			return reportOut{v: r, csv: r.WriteCSV, svg: func(w io.Writer) error { return r.SVG(w, cur) }}, nil
		}},
	{name: "conversion", summary: "Report conversion, velocity and stalled deals of a cohort", schema: "ConversionReport",
		chart: true, query: []string{"stall_factor", "stalled_limit", "funnel"},
		run: func(c *call, f report.Filter, q url.Values) (reportOut, error) {
			var stall float64
			if s := q.Get("stall_factor"); s != "" {
				var err error
				if stall, err = strconv.ParseFloat(s, 64); err != nil || stall <= 0 || stall > 1000 {
					return reportOut{}, badParam("stall_factor", "must be a number above 0, at most 1000")
				}
			}
			limit := 0
			if s := q.Get("stalled_limit"); s != "" {
				var err error
				if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > maxStalledLimit {
					return reportOut{}, badParam("stalled_limit", fmt.Sprintf("must be a whole number from 1 to %d", maxStalledLimit))
				}
			}
			r, err := report.Conversion(c.ctx, c.ws, report.ConversionOptions{Filter: f, StallFactor: stall, StalledLimit: limit})
			if err != nil {
				return reportOut{}, err
			}
			out := reportOut{v: r, csv: r.WriteCSV}
			group, named := q.Get("funnel"), q.Has("funnel")
			if !named && len(r.Groups) > 0 {
				group = r.Groups[0].Group
			}
			if named && !slices.ContainsFunc(r.Groups, func(g report.ConversionGroup) bool { return g.Group == group }) {
				return reportOut{}, badParam("funnel", "names no group of the report")
			}
			out.svg = func(w io.Writer) error {
				if len(r.Groups) == 0 { // an empty cohort: an empty funnel
					return (&report.ConversionReport{Groups: []report.ConversionGroup{{}}}).FunnelSVG(w, "")
				}
				return r.FunnelSVG(w, group)
			}
			return out, nil
		}},
	{name: "lead-conversion", summary: "Report lead-to-opportunity conversion", schema: "LeadConversionReport",
		query: lifecycleParams,
		run: func(c *call, f report.Filter, q url.Values) (reportOut, error) {
			r, err := report.LeadConversion(c.ctx, c.ws, lifecycleOptions(f, q))
			if err != nil {
				return reportOut{}, err
			}
			return reportOut{v: r, csv: r.WriteCSV}, nil
		}},
	{name: "churn", summary: "Report customer churn and retention over a period", schema: "ChurnReport",
		query: lifecycleParams,
		run: func(c *call, f report.Filter, q url.Values) (reportOut, error) {
			r, err := report.Churn(c.ctx, c.ws, lifecycleOptions(f, q))
			if err != nil {
				return reportOut{}, err
			}
			return reportOut{v: r, csv: r.WriteCSV}, nil
		}},
	{name: "revenue", summary: "Report revenue and lifetime value from purchases", schema: "RevenueReport",
		run: func(c *call, f report.Filter, _ url.Values) (reportOut, error) {
			r, err := report.Revenue(c.ctx, c.ws, f)
			if err != nil {
				return reportOut{}, err
			}
			return reportOut{v: r, csv: r.WriteCSV}, nil
		}},
	{name: "operations", summary: "Report activity volume, ticket times, overdue tasks and adoption", schema: "OperationsReport",
		chart: true,
		run: func(c *call, f report.Filter, _ url.Values) (reportOut, error) {
			r, err := report.Operations(c.ctx, c.ws, f)
			if err != nil {
				return reportOut{}, err
			}
			return reportOut{v: r, csv: r.WriteCSV, svg: r.SVG}, nil
		}},
}

// lifecycleParams name the lifecycle stages of report.LifecycleOptions.
var lifecycleParams = []string{"lead", "opportunity", "customer", "churned"}

func lifecycleOptions(f report.Filter, q url.Values) report.LifecycleOptions {
	return report.LifecycleOptions{Filter: f, Lead: q.Get("lead"), Opportunity: q.Get("opportunity"),
		Customer: q.Get("customer"), Churned: q.Get("churned")}
}

// reportRoutes are the reports, one GET each.
func reportRoutes() []Route {
	var rs []Route
	for _, d := range reportDefs {
		media := []string{"text/csv"}
		if d.chart {
			media = append(media, "image/svg+xml")
		}
		rs = append(rs, Route{Method: "GET", Pattern: "/reports/" + d.name, Summary: d.summary,
			Query:    slices.Concat(filterParams, d.query, []string{"format"}),
			Response: d.schema, Status: http.StatusOK,
			Errors: []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotAcceptable},
			media:  media, handle: d.serve})
	}
	return rs
}

// serve answers the report in the format the request asks for.
func (d reportDef) serve(c *call) error {
	q := c.r.URL.Query()
	format, err := negotiate(c.r, d.chart)
	if err != nil {
		return err
	}
	f, err := reportFilter(c, q)
	if err != nil {
		return err
	}
	out, err := d.run(c, f, q)
	if err != nil {
		return reportError(err)
	}
	var write func(io.Writer) error
	switch format {
	case "json":
		return c.writeJSON(http.StatusOK, out.v)
	case "csv":
		c.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		write = out.csv
	case "svg":
		c.w.Header().Set("Content-Type", "image/svg+xml")
		write = out.svg
	}
	// Written whole first, so that a failure is still a problem.
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		c.w.Header().Del("Content-Type")
		return err
	}
	c.w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	c.w.WriteHeader(http.StatusOK)
	_, err = buf.WriteTo(c.w)
	return err
}

// negotiate picks the answer's format: ?format= (json, csv or svg), else
// the one of application/json, text/csv and image/svg+xml the Accept
// header prefers, else JSON. SVG of a report without a chart is 406, as
// is an Accept that takes nothing else of the three.
func negotiate(r *http.Request, chart bool) (string, error) {
	formats := map[string]string{"application/json": "json", "text/csv": "csv", "image/svg+xml": "svg"}
	format := r.URL.Query().Get("format")
	switch format {
	case "json", "csv", "svg":
	case "":
		format = "json"
		best := 0.0
		for _, acc := range r.Header.Values("Accept") {
			for part := range strings.SplitSeq(acc, ",") {
				mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
				q := 1.0
				for p := range strings.SplitSeq(params, ";") {
					if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "q" {
						if x, err := strconv.ParseFloat(v, 64); err == nil {
							q = x
						}
					}
				}
				f, ok := formats[strings.ToLower(strings.TrimSpace(mt))]
				switch {
				case !ok || q <= best:
				case f == "svg" && !chart:
					if best == 0 {
						format = "svg" // not acceptable, unless another type is
					}
				default:
					format, best = f, q
				}
			}
		}
	default:
		return "", badParam("format", "must be json, csv or svg")
	}
	if format == "svg" && !chart {
		return "", &httpError{Problem{Type: typeNotAcceptable, Title: "Not acceptable", Status: http.StatusNotAcceptable,
			Detail: "this report has no chart: ask for json or csv"}}
	}
	return format, nil
}

// reportFilter reads a report.Filter from the query.
func reportFilter(c *call, q url.Values) (report.Filter, error) {
	f := report.Filter{
		PipelineID: q.Get("pipeline"), OwnerIDs: q["owner"], Segment: q.Get("segment"), Where: q.Get("where"),
		GroupBy: report.Group(q.Get("group")), Currency: q.Get("currency"),
		TimeZone: q.Get("tz"),
	}
	if s := q.Get("where_object"); s != "" {
		k, err := crm.ParseKind(s)
		if err != nil {
			return f, badParam("where_object", fmt.Sprintf("%q is not contact, company or deal", s))
		}
		f.WhereObject = k
	}
	if f.Where != "" {
		if _, err := filter.Parse(f.Where); err != nil {
			return f, err
		}
	}
	loc := c.ws.Info().Location()
	if f.TimeZone != "" {
		l, err := time.LoadLocation(f.TimeZone)
		if err != nil || strings.EqualFold(f.TimeZone, "local") {
			return f, badParam("tz", "is not an IANA time zone name such as Europe/Berlin")
		}
		loc = l
	}
	for _, b := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		s := q.Get(b.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			if t, err = time.ParseInLocation(time.DateOnly, s, loc); err != nil {
				return f, badParam(b.name, "must be a date (2026-03-01) or an RFC 3339 time (2026-03-01T09:00:00Z)")
			}
		}
		*b.t = t
	}
	return f, nil
}

// reportError answers a report's invalid options as a 400 naming the
// query parameters at fault.
func reportError(err error) error {
	var ve *crm.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	p := Problem{Type: typeBadRequest, Title: "Bad request", Status: http.StatusBadRequest, Detail: ve.Error()}
	for _, fe := range ve.Fields {
		name := fe.Field
		if n, ok := reportParam[name]; ok {
			name = n
		}
		p.Errors = append(p.Errors, FieldProblem{Field: name, Reason: fe.Reason})
	}
	return &httpError{p}
}

// chartCurrency is the currency a chart draws: the filter's, else the
// workspace's default when the report has amounts in it, else the first
// of the report's.
func chartCurrency(c *call, f report.Filter, currencies func(func(string) bool)) string {
	if f.Currency != "" {
		return f.Currency
	}
	def := c.ws.Info().Currency
	if def == "" {
		def = "USD"
	}
	first := ""
	for cur := range currencies {
		if cur == def {
			return def
		}
		if first == "" {
			first = cur
		}
	}
	if first == "" {
		return def
	}
	return first
}
