package filter_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm/filter"
)

func TestToJSON(t *testing.T) {
	e := mustParse(t, `lifecycle = "customer" AND (country IN ("DE", "AT") OR amount BETWEEN 1000 AND 5000.5) AND NOT tags CONTAINS "vip" AND emails IS SET AND last_activity_at < now() - 60d AND created_at >= 2024-05-01 AND closed_at < 2024-05-01T10:00:00Z AND region IN ("BY", null) AND opted_in = true`)
	got, err := filter.ToJSON(e)
	require.NoError(t, err)
	want := `{"and":[` +
		`{"field":"lifecycle","op":"=","value":"customer"},` +
		`{"or":[{"field":"country","op":"IN","values":["DE","AT"]},{"field":"amount","op":"BETWEEN","values":[1000,5000.5]}]},` +
		`{"not":{"field":"tags","op":"CONTAINS","value":"vip"}},` +
		`{"field":"emails","op":"IS SET"},` +
		`{"field":"last_activity_at","op":"<","value":{"relative":"now() - 60d"}},` +
		`{"field":"created_at","op":">=","value":{"date":"2024-05-01"}},` +
		`{"field":"closed_at","op":"<","value":{"time":"2024-05-01T10:00:00Z"}},` +
		`{"field":"region","op":"IN","values":["BY",null]},` +
		`{"field":"opted_in","op":"=","value":true}]}`
	assert.Equal(t, want, string(got))
	back, err := filter.ParseJSON(got)
	require.NoError(t, err)
	requireEqual(t, e, back)

	// json.Marshal uses the same form, also inside other values.
	type segment struct {
		Name   string      `json:"name"`
		Filter filter.Expr `json:"filter"`
	}
	m, err := json.Marshal(segment{Name: "s", Filter: e})
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"s","filter":`+want+`}`, string(m))
}

func TestToJSONRefusesInvalidTrees(t *testing.T) {
	for _, e := range []filter.Expr{nil, and(), cond("a", filter.OpEq), cond("a", filter.OpEq, filter.NumberValue(nan()))} {
		_, err := filter.ToJSON(e)
		assert.ErrorIs(t, err, filter.ErrInvalid, "%s", filter.Format(e))
	}
	_, err := json.Marshal(cond("a", filter.OpIn))
	assert.ErrorIs(t, err, filter.ErrInvalid)
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name string
		json string
		want filter.Expr
	}{
		{"condition", `{"field":"lifecycle","op":"=","value":"customer"}`, cond("lifecycle", filter.OpEq, str("customer"))},
		{"doc example", `{"and": [
			{"field": "lifecycle", "op": "=", "value": "customer"},
			{"or": [
				{"field": "country", "op": "IN", "values": ["DE", "AT"]},
				{"field": "amount", "op": "BETWEEN", "values": [1000, 5000]}
			]},
			{"not": {"field": "tags", "op": "CONTAINS", "value": "vip"}},
			{"field": "emails", "op": "IS SET"},
			{"field": "last_activity_at", "op": "<", "value": {"relative": "now() - 60d"}},
			{"field": "created_at", "op": ">=", "value": {"date": "2024-05-01"}},
			{"field": "closed_at", "op": "<", "value": {"time": "2024-05-01T12:00:00+02:00"}}
		]}`, mustParse(t, `lifecycle = "customer" AND (country IN ("DE", "AT") OR amount BETWEEN 1000 AND 5000) AND NOT tags CONTAINS "vip" AND emails IS SET AND last_activity_at < now() - 60d AND created_at >= 2024-05-01 AND closed_at < 2024-05-01T10:00:00Z`)},
		{"one-operand groups collapse", `{"and":[{"or":[{"field":"a","op":"is_set"}]}]}`, cond("a", filter.OpIsSet)},
		{"word operators", `{"and":[{"field":"a","op":"not_in","values":[1]},{"field":"b","op":"EQ","value":1},{"field":"c","op":"gte","value":1},{"field":"d","op":"starts with","value":"x"},{"field":"e","op":"is not set"}]}`,
			and(cond("a", filter.OpNotIn, num(1)), cond("b", filter.OpEq, num(1)), cond("c", filter.OpGe, num(1)), cond("d", filter.OpStartsWith, str("x")), cond("e", filter.OpIsNotSet))},
		{"numbers", `{"field":"n","op":"IN","values":[-1.5,1e3,0,-0]}`, cond("n", filter.OpIn, num(-1.5), num(1000), num(0), num(0))},
		{"null", `{"field":"n","op":"!=","value":null}`, cond("n", filter.OpNe, null())},
		{"relative in any case", `{"field":"t","op":"<","value":{"relative":"Today() + 1w"}}`, cond("t", filter.OpLt, rel(filter.Today, filter.Week))},
		{"escapes", `{"field":"s","op":"=","value":"a\"\u00e9\n<"}`, cond("s", filter.OpEq, str("a\"é\n<"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := filter.ParseJSON([]byte(tt.json))
			require.NoError(t, err)
			requireEqual(t, tt.want, got)
			assert.NoError(t, filter.Check(got, nil))
		})
	}
}

func TestParseJSONErrors(t *testing.T) {
	tests := []struct {
		name, json, path, reason string
	}{
		{"unknown operator", `{"and":[{"field":"a","op":"=","value":1},{"or":[{"field":"b","op":"==","value":1}]}]}`, "and[1].or[0].op", `unknown operator "=="`},
		{"not JSON", `{"and":[`, "", "invalid JSON: unexpected end of JSON input"},
		{"array at the root", `[]`, "", `expected an object with "and", "or", "not" or "field", found an array`},
		{"empty group", `{"and":[]}`, "and", "expected at least one condition, found an empty array"},
		{"group not an array", `{"or":{}}`, "or", "expected an array, found an object"},
		{"number in a group", `{"and":[1]}`, "and[0]", `expected an object with "and", "or", "not" or "field", found a number`},
		{"key beside a group", `{"and":[{"field":"a","op":"IS SET"}],"field":"a"}`, "field", `unexpected key beside "and"`},
		{"not of a string", `{"not":"x"}`, "not", `expected an object with "and", "or", "not" or "field", found a string`},
		{"missing field", `{"op":"=","value":1}`, "", `missing "field"`},
		{"missing op", `{"field":"a","value":1}`, "", `missing "op"`},
		{"field not a string", `{"field":1,"op":"=","value":1}`, "field", "expected a string, found a number"},
		{"keyword field", `{"field":"and","op":"=","value":1}`, "field", `"and" is not a field name`},
		{"bad field", `{"field":"a b","op":"=","value":1}`, "field", `"a b" is not a field name`},
		{"op not a string", `{"field":"a","op":true,"value":1}`, "op", "expected a string, found a bool"},
		{"unknown key", `{"field":"a","op":"=","value":1,"vaule":2}`, "vaule", `unknown key (want "field", "op", "value" or "values")`},
		{"IN with value", `{"field":"a","op":"IN","value":1}`, "value", `IN takes a list in "values", not "value"`},
		{"= with values", `{"field":"a","op":"=","values":[1]}`, "values", `= takes one "value", not "values"`},
		{"missing value", `{"field":"a","op":"="}`, "", `missing "value" for =`},
		{"missing values", `{"field":"a","op":"NOT IN"}`, "", `missing "values" for NOT IN`},
		{"IS SET with value", `{"field":"a","op":"IS SET","value":1}`, "value", "IS SET takes no value"},
		{"BETWEEN with one value", `{"field":"a","op":"BETWEEN","values":[1]}`, "values", "BETWEEN takes two values, found 1"},
		{"IN with none", `{"field":"a","op":"IN","values":[]}`, "values", "IN takes at least one value, found none"},
		{"values not an array", `{"field":"a","op":"IN","values":"x"}`, "values", "expected an array, found a string"},
		{"null with <", `{"not":{"field":"a","op":"<","value":null}}`, "not.value", "expected a value other than null"},
		{"null in BETWEEN", `{"field":"a","op":"BETWEEN","values":[1,null]}`, "values[1]", "expected a value other than null"},
		{"array value", `{"field":"a","op":"=","value":[1,2]}`, "value", `expected a single value, found an array (lists go in "values")`},
		{"huge number", `{"field":"a","op":"=","value":1e999}`, "value", "1e999 is not a finite number"},
		{"bad date", `{"field":"a","op":"=","value":{"date":"2024-13-01"}}`, "value.date", `"2024-13-01" is not a date like 2024-05-01`},
		{"bad time", `{"field":"a","op":"=","value":{"time":"yesterday"}}`, "value.time", `"yesterday" is not an RFC 3339 time like 2024-05-01T10:00:00Z between the years 0000 and 9999`},
		{"time with a comma", `{"field":"a","op":"=","value":{"time":"2024-05-01T10:00:00,5Z"}}`, "value.time", `"2024-05-01T10:00:00,5Z" is not an RFC 3339 time like 2024-05-01T10:00:00Z between the years 0000 and 9999`},
		{"short date", `{"field":"a","op":"=","value":{"date":"2024-5-1"}}`, "value.date", `"2024-5-1" is not a date like 2024-05-01`},
		{"time not a string", `{"field":"a","op":"=","value":{"time":1}}`, "value.time", "expected a string, found a number"},
		{"bad relative", `{"field":"a","op":"=","value":{"relative":"now( - 5d"}}`, "value.relative", `"now( - 5d": column 6: expected ")", found "-"`},
		{"unknown anchor", `{"field":"a","op":"=","value":{"relative":"later()"}}`, "value.relative", `"later()": column 1: expected now(), today(), start_of_week(), start_of_month(), start_of_quarter() or start_of_year(), found "later"`},
		{"relative with trailing text", `{"field":"a","op":"=","value":{"relative":"now() x"}}`, "value.relative", `"now() x": column 7: expected end of input, found "x"`},
		{"two keys in a time", `{"field":"a","op":"=","value":{"date":"2024-05-01","time":"2024-05-01T00:00:00Z"}}`, "value", `expected an object with one key, "date", "time" or "relative"`},
		{"unknown time key", `{"field":"a","op":"=","value":{"day":"2024-05-01"}}`, "value.day", `unknown key (want "date", "time" or "relative")`},
		{"deep path", `{"or":[{"field":"a","op":"IS SET"},{"and":[{"field":"a","op":"IS SET"},{"not":{"field":"b","op":"IN","values":[1,[2]]}}]}]}`, "or[1].and[1].not.values[1]", `expected a single value, found an array (lists go in "values")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := filter.ParseJSON([]byte(tt.json))
			require.Error(t, err)
			assert.Nil(t, e)
			assert.ErrorIs(t, err, filter.ErrSyntax)
			var je *filter.JSONError
			require.ErrorAs(t, err, &je)
			assert.Equal(t, tt.path, je.Path)
			assert.Equal(t, tt.reason, je.Reason)
			if tt.path != "" {
				assert.Equal(t, "filter: "+tt.path+": "+tt.reason, err.Error())
			} else {
				assert.Equal(t, "filter: "+tt.reason, err.Error())
			}
		})
	}
}

func TestParseJSONDepthLimit(t *testing.T) {
	leaf := `{"field":"a","op":"IS SET"}`
	nest := func(n int) string {
		s := leaf
		for range n {
			s = `{"not":` + s + `}`
		}
		return s
	}
	_, err := filter.ParseJSON([]byte(nest(64)))
	require.NoError(t, err)
	_, err = filter.ParseJSON([]byte(nest(65)))
	var je *filter.JSONError
	require.ErrorAs(t, err, &je)
	assert.Equal(t, "nested deeper than 64 levels", je.Reason)
}

func TestJSONRoundTrip(t *testing.T) {
	for _, src := range realistic {
		e := mustParse(t, src)
		j, err := filter.ToJSON(e)
		require.NoError(t, err, src)
		require.True(t, json.Valid(j), "%s", j)
		back, err := filter.ParseJSON(j)
		require.NoError(t, err, "%s", j)
		requireEqual(t, e, back, string(j))
		// And the text of the JSON's tree is the original's canonical text.
		assert.Equal(t, filter.Format(e), filter.Format(back))
	}
}

func TestValueMarshalJSON(t *testing.T) {
	for _, tt := range []struct {
		v    filter.Value
		want string
	}{
		{str("a<b"), `"a<b"`},
		{num(2.5), `2.5`},
		{boolean(true), `true`},
		{null(), `null`},
		{date(2024, time.May, 1), `{"date":"2024-05-01"}`},
		{instant("2024-05-01T10:00:00.25Z"), `{"time":"2024-05-01T10:00:00.25Z"}`},
		{filter.Ago(2 * time.Hour), `{"relative":"now() - 2h"}`},
	} {
		got, err := tt.v.MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, tt.want, string(got))
		// encoding/json escapes HTML characters in what it embeds, which
		// changes the bytes but not the meaning.
		viaJSON, err := json.Marshal(tt.v)
		require.NoError(t, err)
		assert.JSONEq(t, tt.want, string(viaJSON))
	}
	_, err := json.Marshal(filter.Value{})
	assert.ErrorIs(t, err, filter.ErrInvalid)
}
