package filter_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
)

// The text face: parse what a person wrote, print it canonically.
func ExampleParse() {
	e, err := filter.Parse(`lifecycle = "customer" and address.country in ("DE","AT")
		and not tags contains "vip" and last_activity_at < now() - 1440h`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)
	// Output:
	// lifecycle = "customer" AND address.country IN ("DE", "AT") AND NOT tags CONTAINS "vip" AND last_activity_at < now() - 60d
}

// Syntax errors say where, what was expected and what was found.
func ExampleParse_error() {
	_, err := filter.Parse(`address.country IN ("DE",)`)
	fmt.Println(err)
	var se *filter.SyntaxError
	if errors.As(err, &se) {
		fmt.Println(se.Line, se.Column, se.Expected)
	}
	// Output:
	// filter: 1:26: expected a value, found ")"
	// 1 26 a value
}

// The JSON face: nested groups for UIs and APIs.
func ExampleParseJSON() {
	e, err := filter.ParseJSON([]byte(`{"and": [
		{"field": "lifecycle", "op": "=", "value": "customer"},
		{"or": [
			{"field": "amount", "op": "BETWEEN", "values": [1000, 5000]},
			{"field": "tags", "op": "CONTAINS", "value": "vip"}
		]},
		{"field": "created_at", "op": ">=", "value": {"relative": "start_of_month()"}}
	]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)

	_, err = filter.ParseJSON([]byte(`{"and":[{"field":"a","op":"=","value":1},{"or":[{"field":"b","op":"==","value":2}]}]}`))
	fmt.Println(err)
	// Output:
	// lifecycle = "customer" AND (amount BETWEEN 1000 AND 5000 OR tags CONTAINS "vip") AND created_at >= start_of_month()
	// filter: and[1].or[0].op: unknown operator "=="
}

func ExampleToJSON() {
	j, err := filter.ToJSON(filter.Where("address.country").In("DE", "AT"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(j))
	// Output:
	// {"field":"address.country","op":"IN","values":["DE","AT"]}
}

// The builder face: filters in code.
func ExampleWhere() {
	e := filter.And(
		filter.Where("lifecycle").Eq("customer"),
		filter.Not(filter.Where("tags").Contains("vip")),
		filter.Or(
			filter.Where("amount").Gt(10000),
			filter.Where("last_activity_at").Lt(filter.Ago(30*filter.Day)),
		),
	)
	fmt.Println(e)
	// Output:
	// lifecycle = "customer" AND NOT tags CONTAINS "vip" AND (amount > 10000 OR last_activity_at < now() - 30d)
}

func ExampleCheck() {
	schema := filter.MapSchema{
		"lifecycle": filter.TypeText,
		"amount":    filter.TypeNumber,
		"tags":      filter.TypeList,
	}
	e, _ := filter.Parse(`amount > "abc" AND amount CONTAINS 5 AND stage = "won"`)
	err := filter.Check(e, schema)
	fmt.Println(errors.Is(err, filter.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// filter: field "amount": cannot compare a number field with text "abc"
	// filter: field "amount": operator CONTAINS is not supported on a number field
	// filter: field "stage": unknown field
}

func ExampleEval() {
	now := time.Date(2024, 5, 15, 12, 0, 0, 0, time.UTC)
	e, _ := filter.Parse(`lifecycle = "customer" AND address.country != "DE" AND last_activity_at < now() - 60d`)
	for _, r := range []filter.MapRecord{
		{"lifecycle": "Customer", "address.country": "FR", "last_activity_at": now.AddDate(0, -3, 0)},
		{"lifecycle": "customer", "last_activity_at": now.AddDate(0, -3, 0)}, // no country: != matches
		{"lifecycle": "customer", "address.country": "de", "last_activity_at": now.AddDate(0, -3, 0)},
		{"lifecycle": "customer", "address.country": "FR"}, // never active: < does not match
	} {
		ok, err := filter.Eval(e, r, now)
		fmt.Println(ok, err)
	}
	// Output:
	// true <nil>
	// true <nil>
	// false <nil>
	// false <nil>
}

func ExampleResolve() {
	now := time.Date(2024, 5, 15, 12, 0, 0, 0, time.UTC)
	e, _ := filter.Parse(`created_at >= start_of_quarter() AND last_activity_at < now() - 2w`)
	fmt.Println(filter.Resolve(e, now))
	// Output:
	// created_at >= 2024-04-01 AND last_activity_at < 2024-05-01T12:00:00Z
}
