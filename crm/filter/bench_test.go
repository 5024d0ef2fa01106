package filter_test

import (
	"testing"

	"github.com/crmkit/crmkit/crm/filter"
)

// benchFilter is a typical segment: five conditions, a list, a negation
// and a relative time.
const benchFilter = `lifecycle = "customer" AND country IN ("DE","AT","CH") AND NOT tags CONTAINS "vip" AND last_activity_at < now() - 60d AND (amount >= 1000 OR emails MATCHES "*@example.com")`

func BenchmarkParse(b *testing.B) {
	b.SetBytes(int64(len(benchFilter)))
	for b.Loop() {
		if _, err := filter.Parse(benchFilter); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJSON(b *testing.B) {
	j, err := filter.ToJSON(mustParse(b, benchFilter))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(j)))
	for b.Loop() {
		if _, err := filter.ParseJSON(j); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFormat(b *testing.B) {
	e := mustParse(b, benchFilter)
	for b.Loop() {
		_ = filter.Format(e)
	}
}

// BenchmarkEval evaluates the filter on a record that passes every
// condition, so no operand is skipped; it reports the cost per condition.
func BenchmarkEval(b *testing.B) {
	e := mustParse(b, benchFilter)
	r := filter.MapRecord{
		"lifecycle": "Customer", "country": "AT", "tags": []string{"newsletter", "beta"},
		"last_activity_at": evalNow.AddDate(0, -3, 0), "amount": int64(500),
		"emails": []string{"ada@work.org", "Ada@Example.com"},
	}
	ok, err := filter.Eval(e, r, evalNow)
	if err != nil || !ok {
		b.Fatal("the record should match", err)
	}
	const conds = 6
	for b.Loop() {
		if _, err := filter.Eval(e, r, evalNow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/conds, "ns/cond")
}

// BenchmarkEvalResolved is BenchmarkEval on the tree with its relative
// time resolved once, as a planner would run it over many records.
func BenchmarkEvalResolved(b *testing.B) {
	e := filter.Resolve(mustParse(b, benchFilter), evalNow)
	r := filter.MapRecord{
		"lifecycle": "customer", "country": "AT", "tags": []string{"newsletter"},
		"last_activity_at": evalNow.AddDate(0, -3, 0), "amount": int64(1500),
	}
	for b.Loop() {
		if _, err := filter.Eval(e, r, evalNow); err != nil {
			b.Fatal(err)
		}
	}
}
