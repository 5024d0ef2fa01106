package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
)

// The report commands run the workspace's reports (crm's Pipeline,
// Forecast, Conversion, LeadConversion, Churn, Revenue, CrossSell and
// Operations): one command each, "report NAME", sharing the flags of
// report.Filter, and printing a table, JSON or CSV, with the report's
// chart as SVG where it has one.

// filterFields are the report.Filter fields a report takes as flags.
type filterFields uint8

const (
	withPipeline filterFields = 1 << iota // --pipeline
	withOwner                             // --owner
	withPeriod                            // --from and --to
)

// reportSpec describes what a report command accepts, for its flags and
// their help.
type reportSpec struct {
	fields filterFields
	// dates says which date --from and --to bound, and periodRequired
	// that both are required.
	dates          string
	periodRequired bool
	// groups lists the --group-by values, and groupDefault the grouping
	// without one.
	groups, groupDefault string
	// segments are the kinds of segment --segment and --where select
	// ("contact", "company", "deal"), and whereDefault the kind --where
	// selects without --where-object ("" when it is required).
	segments     []string
	whereDefault string
	// chart says what --svg draws ("the open pipeline by stage"); "" for
	// a report without a chart. chartNote adds to the flag's help how to
	// change the chart.
	chart, chartNote string
	// sections names the CSV sections (--section), the default first.
	sections []string
}

// reportFlags are the flags every report shares.
type reportFlags struct {
	spec     reportSpec
	wsID     string
	pipeline string
	owners   listFlag
	from, to string
	groupBy  string
	segment  string
	where    string
	whereOf  string
	format   string
	svg      string
	section  string
	// check, if set, checks the report's own flags before the store is
	// opened.
	check func() error
}

// newReportFlags declares the flags spec calls for on fs.
func newReportFlags(fs *flag.FlagSet, spec reportSpec) *reportFlags {
	r := &reportFlags{spec: spec}
	fs.StringVar(&r.wsID, "workspace", "", "workspace `ID` (required)")
	if spec.fields&withPipeline != 0 {
		fs.StringVar(&r.pipeline, "pipeline", "", "only the deals of pipeline `ID` (default every pipeline)")
	}
	if spec.fields&withOwner != 0 {
		fs.Var(&r.owners, "owner", "only the records of owner `ID`s (comma-separated, repeatable; a team is its members; default every owner)")
	}
	if spec.fields&withPeriod != 0 {
		required := ""
		if spec.periodRequired {
			required = " (required)"
		}
		fs.StringVar(&r.from, "from", "", "start of the period, inclusive: `DATE` as YYYY-MM-DD"+required+"; the period bounds "+spec.dates)
		fs.StringVar(&r.to, "to", "", "end of the period, exclusive: `DATE` as YYYY-MM-DD"+required)
	}
	groupHelp := "group the rows by `G`: " + spec.groups
	if spec.groupDefault != "" {
		groupHelp += " (default " + spec.groupDefault + ")"
	}
	fs.StringVar(&r.groupBy, "group-by", "", groupHelp)
	plurals := make([]string, len(spec.segments))
	for i, k := range spec.segments {
		plurals[i] = map[string]string{"contact": "contacts", "company": "companies", "deal": "deals"}[k]
	}
	fs.StringVar(&r.segment, "segment", "", "only what the saved segment `ID` (or name) selects: a segment of "+orList(plurals))
	fs.StringVar(&r.where, "where", "", "only what the `filter` selects, like a dynamic segment of --where-object records"+filterGrammar)
	whereHelp := "the record `kind` --where selects: " + orList(spec.segments)
	if spec.whereDefault != "" {
		whereHelp += " (default " + spec.whereDefault + ")"
	} else {
		whereHelp += " (required with --where)"
	}
	fs.StringVar(&r.whereOf, "where-object", "", whereHelp)
	fs.StringVar(&r.format, "format", "table", "output `format`: table, json or csv")
	if spec.chart != "" {
		fs.StringVar(&r.svg, "svg", "", "also write "+spec.chart+" as SVG to `FILE`"+spec.chartNote)
	}
	if len(spec.sections) > 1 {
		fs.StringVar(&r.section, "section", spec.sections[0], "the `section` --format csv writes: "+strings.Join(spec.sections, " or "))
	}
	return r
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// reportSynopsis is a report command's arguments for its usage line.
func reportSynopsis(spec reportSpec, extra string) string {
	s := "--workspace ID"
	if extra != "" {
		s += " " + extra
	}
	if spec.fields&withPipeline != 0 {
		s += " [--pipeline ID]"
	}
	if spec.fields&withOwner != 0 {
		s += " [--owner ID,...]"
	}
	switch {
	case spec.periodRequired:
		s += " --from DATE --to DATE"
	case spec.fields&withPeriod != 0:
		s += " [--from DATE] [--to DATE]"
	}
	s += " [--segment ID] [--where FILTER] [--group-by G] [--format table|json|csv]"
	if spec.chart != "" {
		s += " [--svg FILE]"
	}
	return s
}

// parseDay parses a --from or --to date as midnight UTC.
func parseDay(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, usagef("--%s %q is not a date YYYY-MM-DD", flagName, s)
	}
	return t, nil
}

// filter returns the report.Filter the flags give.
func (r *reportFlags) filter() (report.Filter, error) {
	f := report.Filter{PipelineID: r.pipeline, OwnerIDs: r.owners, GroupBy: report.Group(r.groupBy), Where: r.where}
	if r.whereOf != "" {
		k, err := crm.ParseKind(r.whereOf)
		if err != nil {
			return f, usagef("--where-object %q is not a record kind", r.whereOf)
		}
		f.WhereObject = k
	}
	if r.where != "" {
		if _, err := parseWhere(r.where); err != nil {
			return f, err
		}
	}
	var err error
	if f.From, err = parseDay("from", r.from); err != nil {
		return f, err
	}
	if f.To, err = parseDay("to", r.to); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, usagef("--to %s is not after --from %s", r.to, r.from)
	}
	return f, nil
}

// reportView is a computed report in the forms it prints in.
type reportView struct {
	// value is what --format json prints.
	value any
	// tables are what --format table prints.
	tables []tableSection
	// csv writes each of spec.sections, in order.
	csv []func(io.Writer) error
	// svg draws the chart; nil when the report has none.
	svg func(io.Writer) error
}

// run returns a report command's function: it checks the flags, opens
// the workspace, resolves --segment, computes the report with compute,
// prints it and writes its chart. Options the report refuses (a grouping
// it does not offer, a segment of a kind it cannot use, a filter that
// does not fit) are usage errors.
func (r *reportFlags) run(compute func(e *env, ws *crm.Workspace, f report.Filter) (reportView, error)) func(*env, []string) error {
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		switch r.format {
		case "table", "json", "csv":
		default:
			return usagef("--format %q is not table, json or csv", r.format)
		}
		section := 0
		if r.section != "" {
			if section = slices.Index(r.spec.sections, r.section); section < 0 {
				return usagef("--section %q is not %s", r.section, strings.Join(r.spec.sections, " or "))
			}
		}
		if r.spec.periodRequired && (r.from == "" || r.to == "") {
			return usagef("--from and --to are required: the report covers a period")
		}
		if r.check != nil {
			if err := r.check(); err != nil {
				return err
			}
		}
		f, err := r.filter()
		if err != nil {
			return err
		}
		ws, closeFn, err := e.workspace(r.wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		if r.segment != "" {
			seg, err := findSegment(e, ws, r.segment)
			if err != nil {
				return err
			}
			f.Segment = seg.ID
		}
		view, err := compute(e, ws, f)
		if errors.Is(err, crm.ErrInvalid) && !errors.Is(err, crm.ErrNotFound) {
			return &usageError{err.Error()}
		}
		if err != nil {
			return err
		}
		// The chart is drawn first, so that a report whose chart cannot be
		// drawn prints nothing.
		var chart bytes.Buffer
		if r.svg != "" {
			if err := view.svg(&chart); err != nil {
				return err
			}
		}
		switch r.format {
		case "json":
			err = writeJSON(e.stdout, view.value)
		case "csv":
			err = view.csv[section](e.stdout)
		default:
			err = writeTables(e.stdout, view.tables...)
		}
		if err != nil || r.svg == "" {
			return err
		}
		if err := writeFileAtomic(r.svg, 0o644, func(w io.Writer) error { _, err := chart.WriteTo(w); return err }); err != nil {
			return fmt.Errorf("write chart: %w", err)
		}
		fmt.Fprintf(e.stderr, "wrote %s to %s\n", r.spec.chart, r.svg)
		return nil
	}
}

// chartCurrency is the currency a chart of one currency draws: the one
// asked for, else the workspace's if the report has it, else the report's
// first.
func chartCurrency(asked string, ws *crm.Workspace, have []string) string {
	switch {
	case asked != "":
		return strings.ToUpper(asked)
	case slices.Contains(have, ws.Info().Currency) || len(have) == 0:
		return ws.Info().Currency
	}
	return have[0]
}

// currencies lists the distinct non-empty currencies of rows, in order.
func currencies[T any](rows []T, currency func(T) string) []string {
	var out []string
	for _, r := range rows {
		if c := currency(r); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// lifecycleFlags are the stage-name flags of the lifecycle reports.
func lifecycleFlags(fs *flag.FlagSet) func(report.Filter) report.LifecycleOptions {
	lead := fs.String("lead", "", "the lifecycle `stage` of leads (default lead)")
	opportunity := fs.String("opportunity", "", "the lifecycle `stage` of opportunities (default opportunity)")
	customer := fs.String("customer", "", "the lifecycle `stage` of customers, and of those after it (default customer)")
	churned := fs.String("churned", "", "the lifecycle `stage` of churned customers (default churned)")
	return func(f report.Filter) report.LifecycleOptions {
		return report.LifecycleOptions{Filter: f, Lead: *lead, Opportunity: *opportunity, Customer: *customer, Churned: *churned}
	}
}

// The kinds of segment each family of reports selects with.
var (
	dealSegments     = []string{"deal", "company", "contact"}
	contactSegments  = []string{"contact"}
	purchaseSegments = []string{"contact", "company"}
)

// dealGroups are the groupings of the deal reports.
const dealGroups = "owner, stage, source, industry, region, product, week, month, quarter or custom.NAME"

// reportCommands are the report commands, "report" last so that it
// matches only what no other does.
func reportCommands() []command {
	return []command{
		{"report pipeline", reportSynopsis(pipelineSpec, ""), "report the open pipeline per stage: deals, amount, weighted amount", pipelineReportCmd},
		{"report forecast", reportSynopsis(forecastSpec, ""), "report what each owner is expected to close in a period, against quotas", forecastReportCmd},
		{"report conversion", reportSynopsis(conversionSpec, ""), "report win rates, cycle lengths, the funnel, time in stage and stalled deals", conversionReportCmd},
		{"report lead-conversion", reportSynopsis(leadConversionSpec, ""), "report lead-to-opportunity conversion from lifecycle changes", leadConversionReportCmd},
		{"report churn", reportSynopsis(churnSpec, ""), "report customer churn and retention over a period", churnReportCmd},
		{"report revenue", reportSynopsis(revenueSpec, ""), "report revenue and customer lifetime value from purchases", revenueReportCmd},
		{"report cross-sell", reportSynopsis(crossSellSpec, "--product NAME"), "list customers who have not bought a product that their peers buy", crossSellReportCmd},
		{"report operations", reportSynopsis(operationsSpec, ""), "report activity volume, ticket resolution, overdue tasks and adoption", operationsReportCmd},
		{"report", "NAME --workspace ID [flags]", "run a report: " + strings.Join(reportNames, ", "), reportCmd},
	}
}

// reportNames are the reports, for the help of "report".
var reportNames = []string{"pipeline", "forecast", "conversion", "lead-conversion", "churn", "revenue", "cross-sell", "operations"}

// reportCmd is "report" without a known report name: it says which there
// are.
func reportCmd(fs *flag.FlagSet) func(*env, []string) error {
	return func(e *env, args []string) error {
		names := strings.Join(reportNames, ", ")
		if len(args) == 0 {
			return usagef("give a report name: %s", names)
		}
		if strings.HasPrefix(args[0], "-") {
			for _, a := range args {
				if slices.Contains(reportNames, a) {
					return usagef("give the report name before its flags: crmctl report %s --workspace ID ...", a)
				}
			}
			return usagef("give a report name: %s", names)
		}
		if c, ok := closest(args[0], reportNames); ok {
			return usagef("unknown report %q; did you mean %q? (one of %s)", args[0], c, names)
		}
		return usagef("unknown report %q: one of %s", args[0], names)
	}
}
