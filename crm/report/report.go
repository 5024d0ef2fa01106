package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// Group names what a report's rows are grouped by.
type Group string

// The groups a report can use. A Group "custom.<name>" groups deals by
// their custom field <name> (a text or select field, such as a manager or
// a regional office). Records without a value fall in the group "".
const (
	GroupNone     Group = ""
	GroupOwner    Group = "owner"
	GroupStage    Group = "stage"
	GroupSource   Group = "source"
	GroupIndustry Group = "industry"
	// GroupRegion is the company's address region, or its country when the
	// region is empty.
	GroupRegion Group = "region"
	// GroupProduct is a deal's custom field "product".
	GroupProduct Group = "product"
	GroupWeek    Group = "week"
	GroupMonth   Group = "month"
	GroupQuarter Group = "quarter"
)

// Filter selects the records a report covers and how its rows are
// grouped. Every report's doc comment says which date From and To apply
// to. The zero value covers every record in one group.
type Filter struct {
	// PipelineID limits deal reports to one pipeline; empty means every
	// pipeline.
	PipelineID string `json:"pipeline_id,omitempty"`
	// OwnerIDs limits the report to records owned by these users; a team
	// is the list of its members. Empty means every owner.
	OwnerIDs []string `json:"owner_ids,omitempty"`
	// From and To bound the report's date to [From, To): From inclusive,
	// To exclusive. A zero bound is open.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Segment limits the report to the members of a saved segment, by
	// its ID. Deal reports take a segment of deals (the deals in it), of
	// companies (the deals whose company, CompanyID, is a member) or of
	// contacts (the deals with at least one member among their
	// Contacts); contact reports take a segment of contacts; purchase
	// reports take a segment of contacts (the purchases whose ContactID
	// is a member) or of companies (whose CompanyID is a member); the
	// operations report takes any segment (the activities linked to a
	// member, the changes made to a member). Membership is evaluated
	// once, when the report starts. An unknown ID fails with a
	// *ValidationError naming "segment" that also matches ErrNotFound; a
	// segment of a kind the report cannot use fails with one naming
	// "segment".
	Segment string `json:"segment,omitempty"`
	// Where limits the report like a dynamic segment of WhereObject
	// records with this filter would (package filter's text form, such
	// as `industry = "retail"`), without saving one. When both Segment
	// and Where are set, a record must pass both. An invalid filter fails
	// with a *ValidationError naming "where".
	Where string `json:"where,omitempty"`
	// WhereObject is the kind Where selects: crm.KindContact,
	// crm.KindCompany or crm.KindDeal, as Segment allows for the report. Empty means deals in deal
	// reports and contacts in contact reports; purchase and operations
	// reports need it.
	WhereObject crm.Kind `json:"where_object,omitzero"`
	// GroupBy groups the rows.
	GroupBy Group `json:"group_by,omitempty"`
	// Currency limits the report to amounts in this ISO-4217 currency:
	// deals and purchases in another currency, or without an amount, are
	// left out. Empty means every currency, each reported apart.
	Currency string `json:"currency,omitempty"`
	// TimeZone is the IANA time zone in which weeks, months and quarters
	// are cut and dates (an expected close date) start. Empty means the
	// workspace's (crm.WorkspaceInfo.TimeZone), which defaults to UTC.
	TimeZone string `json:"time_zone,omitempty"`
}

// check validates f for a report that can group by allowed, and returns
// the time zone f names (nil when it names none: the report runs in the
// workspace's).
func (f *Filter) check(report string, allowed ...Group) (*time.Location, error) {
	ve := &crm.ValidationError{Kind: report}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		ve.Add("to", "%s is not after from %s", f.To.Format(time.RFC3339), f.From.Format(time.RFC3339))
	}
	if f.GroupBy != GroupNone && !slices.Contains(allowed, f.GroupBy) &&
		!(strings.HasPrefix(string(f.GroupBy), "custom.") && slices.Contains(allowed, GroupProduct)) {
		ve.Add("group_by", "%s reports cannot be grouped by %q", report, f.GroupBy)
	}
	if f.Currency != "" {
		f.Currency = crm.CheckCurrency(ve, "currency", f.Currency)
	}
	var loc *time.Location
	if f.TimeZone != "" {
		var err error
		if loc, err = time.LoadLocation(f.TimeZone); err != nil || strings.EqualFold(f.TimeZone, "local") {
			ve.Add("time_zone", "%q is not an IANA time zone name such as \"Europe/Berlin\"", f.TimeZone)
		}
	}
	return loc, ve.Err()
}

// currency reports whether f's currency selects an amount.
func (f *Filter) currency(m crm.Money) bool { return f.Currency == "" || m.Currency == f.Currency }

// in reports whether t lies in [From, To).
func (f *Filter) in(t time.Time) bool {
	return (f.From.IsZero() || !t.Before(f.From)) && (f.To.IsZero() || t.Before(f.To))
}

func (f *Filter) owner(id string) bool {
	return len(f.OwnerIDs) == 0 || slices.Contains(f.OwnerIDs, id)
}

// dealGroups are every group a deal report accepts.
var dealGroups = []Group{GroupOwner, GroupStage, GroupSource, GroupIndustry, GroupRegion, GroupProduct, GroupWeek, GroupMonth, GroupQuarter}

// PeriodLabel returns the label of the period of g (GroupWeek, GroupMonth
// or GroupQuarter) that t falls in, in t's location: "2026-W09" (ISO
// week), "2026-03" or "2026-Q1". Labels sort in time order. Reports pass
// their times in the report's time zone (see Filter.TimeZone).
func PeriodLabel(g Group, t time.Time) string {
	switch g {
	case GroupWeek:
		y, w := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	case GroupMonth:
		return fmt.Sprintf("%04d-%02d", t.Year(), int(t.Month()))
	case GroupQuarter:
		return fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())+2)/3)
	}
	return ""
}

func isPeriod(g Group) bool { return g == GroupWeek || g == GroupMonth || g == GroupQuarter }

// reportScan is one report's read transaction: it streams records and
// looks up what grouping needs (a deal's company, a pipeline's stages).
type reportScan struct {
	rt *crm.ReadTx
	// loc is the time zone periods are cut in.
	loc       *time.Location
	companies map[string]*companyFacts
	pipelines map[string]*crm.Pipeline
	// scope is the member sets of the report's segment and ad-hoc
	// filter (see read); empty when neither is set.
	scope []memberSet
	// changes is a buffer for one record's history.
	changes []crm.Change
}

type companyFacts struct{ industry, region string }

// each streams the live records rr reads.
func each[T any](rr crm.RecordReader[T], fn func(r *T) error) error {
	for r, err := range rr.All() {
		if err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// deals streams the live deals that f's pipeline, owners and currency,
// and the report's segment and filter (see dealIn), select.
func (s *reportScan) deals(f *Filter, fn func(d *crm.Deal) error) error {
	return each(s.rt.Deals(), func(d *crm.Deal) error {
		if (f.PipelineID != "" && d.PipelineID != f.PipelineID) || !f.owner(d.OwnerID) || !f.currency(d.Amount) || !s.dealIn(d) {
			return nil
		}
		return fn(d)
	})
}

func (s *reportScan) pipeline(id string) (*crm.Pipeline, error) {
	if p, ok := s.pipelines[id]; ok {
		return p, nil
	}
	p, err := s.rt.Pipelines().Get(id)
	if err != nil {
		return nil, err
	}
	s.pipelines[id] = &p
	return &p, nil
}

func (s *reportScan) company(id string) (*companyFacts, error) {
	if id == "" {
		return &companyFacts{}, nil
	}
	if c, ok := s.companies[id]; ok {
		return c, nil
	}
	co, err := s.rt.Companies().Get(id)
	if err != nil && !errors.Is(err, crm.ErrNotFound) {
		return nil, err
	}
	c := &companyFacts{industry: co.Industry, region: co.Address.Region}
	if c.region == "" {
		c.region = co.Address.Country
	}
	s.companies[id] = c
	return c, nil
}

// day returns the instant a date starts in the report's time zone.
func (s *reportScan) day(d crm.Date) time.Time { return d.In(s.loc) }

// dealGroup returns the group of a deal; at is the date that period
// grouping uses.
func (s *reportScan) dealGroup(g Group, d *crm.Deal, at time.Time) (string, error) {
	switch g {
	case GroupNone:
		return "", nil
	case GroupOwner:
		return d.OwnerID, nil
	case GroupStage:
		pl, err := s.pipeline(d.PipelineID)
		if err != nil {
			return "", err
		}
		st, _ := pl.Stage(d.StageID)
		return st.Name, nil
	case GroupSource:
		return d.Source, nil
	case GroupIndustry, GroupRegion:
		c, err := s.company(d.CompanyID)
		if err != nil {
			return "", err
		}
		if g == GroupIndustry {
			return c.industry, nil
		}
		return c.region, nil
	case GroupProduct:
		return customText(d.Custom, "product"), nil
	}
	if isPeriod(g) {
		if at.IsZero() {
			return "", nil
		}
		return PeriodLabel(g, at.In(s.loc)), nil
	}
	return customText(d.Custom, strings.TrimPrefix(string(g), "custom.")), nil
}

func customText(c crm.Custom, name string) string {
	switch v := c[name].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// writeCSV writes a header and rows as CSV.
func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

func itoa(n int64) string { return fmt.Sprint(n) }

func ftoa(f float64) string { return fmt.Sprintf("%.4f", f) }

// ratio returns a/b, or 0 when b is 0.
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// durationStats is the count, mean and median of a set of durations. The
// median of an even count is the mean of the two middle values.
type durationStats struct{ vals []int64 }

func (d *durationStats) add(v time.Duration) { d.vals = append(d.vals, int64(v)) }

func (d *durationStats) mean() time.Duration {
	if len(d.vals) == 0 {
		return 0
	}
	var sum float64
	for _, v := range d.vals {
		sum += float64(v)
	}
	return time.Duration(sum / float64(len(d.vals)))
}

func (d *durationStats) median() time.Duration {
	n := len(d.vals)
	if n == 0 {
		return 0
	}
	slices.Sort(d.vals)
	if n%2 == 1 {
		return time.Duration(d.vals[n/2])
	}
	return time.Duration((d.vals[n/2-1] + d.vals[n/2]) / 2)
}

// Days converts a duration to days (of 24 hours).
func Days(d time.Duration) float64 { return d.Hours() / 24 }

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
