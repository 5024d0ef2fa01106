package filter_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm/filter"
)

// Shorthands for building expected trees.

func cond(field string, op filter.Op, vs ...filter.Value) *filter.Cond {
	if vs == nil {
		vs = []filter.Value{}
	}
	return &filter.Cond{Field: field, Op: op, Values: vs}
}

func and(es ...filter.Expr) *filter.AndExpr { return &filter.AndExpr{Exprs: es} }
func or(es ...filter.Expr) *filter.OrExpr   { return &filter.OrExpr{Exprs: es} }
func not(e filter.Expr) *filter.NotExpr     { return &filter.NotExpr{Expr: e} }

func str(s string) filter.Value   { return filter.StringValue(s) }
func num(f float64) filter.Value  { return filter.NumberValue(f) }
func boolean(b bool) filter.Value { return filter.BoolValue(b) }
func null() filter.Value          { return filter.NullValue() }
func date(y int, m time.Month, d int) filter.Value {
	return filter.DateValue(y, m, d)
}
func instant(s string) filter.Value {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return filter.Value{} // invalid: the test comparing it fails
	}
	return filter.TimeValue(t)
}
func rel(a filter.Anchor, d time.Duration) filter.Value { return filter.RelativeValue(a, d) }

// mustParse parses src or stops the test.
func mustParse(t testing.TB, src string) filter.Expr {
	t.Helper()
	e, err := filter.Parse(src)
	require.NoError(t, err, "parse %q", src)
	return e
}

// requireEqual compares two trees and prints both forms on failure.
func requireEqual(t testing.TB, want, got filter.Expr, msgAndArgs ...any) {
	t.Helper()
	if !filter.Equal(want, got) {
		require.Failf(t, "trees differ", "want: %s\n got: %s\n%v", filter.Format(want), filter.Format(got), msgAndArgs)
	}
}

// calDate is a CalendarDate like crm.Date.
type calDate struct {
	Year  int
	Month time.Month
	Day   int
}

func (d calDate) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }
func (d calDate) IsZero() bool    { return d == calDate{} }

// realistic are filters of the kind segments use; they seed the fuzzer
// and the round-trip tests.
var realistic = []string{
	`lifecycle = "customer" AND country IN ("DE","AT") AND NOT tags CONTAINS "vip" AND last_activity_at < now() - 60d`,
	`lifecycle = "lead" AND (lead_source = "web" OR lead_source = "referral") AND created_at >= start_of_month()`,
	`emails MATCHES "*@example.com" OR emails MATCHES "*@example.org"`,
	`amount BETWEEN 1000 AND 50000 AND status = "open" AND close_date <= today() + 30d`,
	`address.country NOT IN ("US", "CA", null) AND custom.score >= 7.5`,
	`first_name STARTS WITH "an" AND last_name IS SET AND birthday IS NOT SET`,
	`NOT (tags CONTAINS "churned" OR tags CONTAINS "blocked") AND interests NOT CONTAINS "golf"`,
	`custom.newsletter = true AND custom.opt_in_at > 2024-05-01T10:00:00Z`,
	`created_at BETWEEN start_of_quarter() - 13w AND start_of_quarter() - 1s`,
	`employees > 250 AND annual_revenue >= 1e6 AND industry != null`,
	"owner_id = \"usr_42\"\n  AND closed_at >= start_of_year()\n  AND lost_reason CONTAINS \"price\"",
	`title MATCHES "head of *" and preferred_channel in ("email", "phone") or not domain is set`,
	`custom.nps <= -0.5 OR custom.nps = 10`,
	`name = "Müller \"Ltd\" \\ Co\t\u00e9\ud83d\ude00"`,
	`updated_at > start_of_week() - 2d AND updated_at < now() + 90m`,
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}
