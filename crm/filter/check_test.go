package filter_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm/filter"
)

// contactSchema types the fields of the contact examples.
var contactSchema = filter.MapSchema{
	"first_name":       filter.TypeText,
	"lifecycle":        filter.TypeText,
	"country":          filter.TypeText,
	"address.country":  filter.TypeText,
	"tags":             filter.TypeList,
	"emails":           filter.TypeList,
	"amount":           filter.TypeNumber,
	"custom.score":     filter.TypeNumber,
	"opted_in":         filter.TypeBool,
	"birthday":         filter.TypeDate,
	"created_at":       filter.TypeTime,
	"last_activity_at": filter.TypeTime,
}

func TestCheckValid(t *testing.T) {
	for _, src := range []string{
		`lifecycle = "customer" AND country IN ("DE","AT") AND NOT tags CONTAINS "vip" AND last_activity_at < now() - 60d`,
		`first_name STARTS WITH "a" OR first_name MATCHES "a*" OR first_name CONTAINS "x" OR first_name BETWEEN "a" AND "m"`,
		`emails MATCHES "*@x.com" AND tags IN ("a", null) AND tags != "b" AND emails STARTS WITH "ada"`,
		`amount BETWEEN 1 AND 2 AND custom.score IN (1, 2, null) AND amount != null`,
		`opted_in = true AND opted_in IN (false, null)`,
		`birthday = today() AND birthday < 2000-01-01T12:00:00Z AND created_at BETWEEN start_of_year() AND now()`,
		`address.country IS SET AND amount IS NOT SET AND opted_in IS SET AND tags IS NOT SET`,
	} {
		assert.NoError(t, filter.Check(mustParse(t, src), contactSchema), src)
	}
}

func TestCheckSchemaErrors(t *testing.T) {
	tests := []struct {
		src    string
		field  string
		reason string
	}{
		{`nope = 1`, "nope", "unknown field"},
		{`amount > "abc"`, "amount", `cannot compare a number field with text "abc"`},
		{`amount CONTAINS 5`, "amount", "operator CONTAINS is not supported on a number field"},
		{`amount MATCHES "1*"`, "amount", "operator MATCHES is not supported on a number field"},
		{`opted_in < true`, "opted_in", "operator < is not supported on a bool field"},
		{`opted_in BETWEEN false AND true`, "opted_in", "operator BETWEEN is not supported on a bool field"},
		{`tags < "x"`, "tags", "operator < is not supported on a list field"},
		{`tags = 1`, "tags", "cannot compare a list field with the number 1"},
		{`created_at > "2024-05-01"`, "created_at", `cannot compare a time field with text "2024-05-01" (write dates and times without quotes: 2024-05-01, 2024-05-01T10:00:00Z)`},
		{`birthday = true`, "birthday", "cannot compare a date field with the bool true"},
		{`first_name = now()`, "first_name", "cannot compare a text field with the relative time now()"},
		{`lifecycle = 2024-05-01`, "lifecycle", "cannot compare a text field with the time 2024-05-01"},
		{`amount IN (1, "2")`, "amount", `cannot compare a number field with text "2"`},
		{`birthday CONTAINS "05"`, "birthday", "operator CONTAINS is not supported on a date field"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			err := filter.Check(mustParse(t, tt.src), contactSchema)
			require.Error(t, err)
			assert.ErrorIs(t, err, filter.ErrInvalid)
			var fe *filter.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field)
			assert.Equal(t, tt.reason, fe.Reason)
			assert.Equal(t, `filter: field "`+tt.field+`": `+tt.reason, err.Error())
		})
	}
}

func TestCheckReportsEveryProblem(t *testing.T) {
	err := filter.Check(mustParse(t, `nope = 1 AND (amount > "x" OR NOT tags < "a") AND country = "DE"`), contactSchema)
	require.Error(t, err)
	var fe *filter.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "nope", fe.Field, "errors.As finds the first")
	var multi interface{ Unwrap() []error }
	require.ErrorAs(t, err, &multi)
	var fields []string
	for _, e := range multi.Unwrap() {
		require.ErrorAs(t, e, &fe)
		fields = append(fields, fe.Field)
	}
	assert.Equal(t, []string{"nope", "amount", "tags"}, fields)
}

func TestCheckStructure(t *testing.T) {
	deep := filter.Expr(cond("a", filter.OpIsSet))
	for range 70 {
		deep = not(deep)
	}
	tests := []struct {
		name   string
		e      filter.Expr
		field  string
		reason string
	}{
		{"nil", nil, "", "missing expression (nil)"},
		{"nil pointer", (*filter.Cond)(nil), "", "missing expression (nil)"},
		{"nil in NOT", not(nil), "", "missing expression (nil)"},
		{"empty AND", and(), "", "AND group has no operands, needs at least two"},
		{"one-operand OR", or(cond("a", filter.OpIsSet)), "", "OR group has one operand, needs at least two"},
		{"nil in a group", and(cond("a", filter.OpIsSet), nil), "", "missing expression (nil)"},
		{"empty field", cond("", filter.OpIsSet), "", `"" is not a field name (want names like first_name or address.country, not a keyword)`},
		{"keyword field", cond("OR", filter.OpIsSet), "OR", `"OR" is not a field name (want names like first_name or address.country, not a keyword)`},
		{"field with space", cond("a b", filter.OpIsSet), "a b", `"a b" is not a field name (want names like first_name or address.country, not a keyword)`},
		{"field with empty segment", cond("a..b", filter.OpIsSet), "a..b", `"a..b" is not a field name (want names like first_name or address.country, not a keyword)`},
		{"field ending in a dot", cond("a.", filter.OpIsSet), "a.", `"a." is not a field name (want names like first_name or address.country, not a keyword)`},
		{"field starting with a digit", cond("1a", filter.OpIsSet), "1a", `"1a" is not a field name (want names like first_name or address.country, not a keyword)`},
		{"unknown operator", cond("a", "==", num(1)), "a", `unknown operator "=="`},
		{"IN without values", cond("a", filter.OpIn), "a", "IN takes at least one value, found none"},
		{"BETWEEN with one value", cond("a", filter.OpBetween, num(1)), "a", "BETWEEN takes two values, found 1"},
		{"IS SET with a value", cond("a", filter.OpIsSet, num(1)), "a", "IS SET takes no value, found 1"},
		{"= with two values", cond("a", filter.OpEq, num(1), num(2)), "a", "= takes one value, found 2"},
		{"null with <", cond("a", filter.OpLt, null()), "a", "< cannot compare with null (use IS SET or IS NOT SET)"},
		{"zero Value", cond("a", filter.OpEq, filter.Value{}), "a", "invalid value: missing value"},
		{"NaN", cond("a", filter.OpEq, filter.NumberValue(nan())), "a", "invalid value: NaN is not a finite number"},
		{"invalid UTF-8", cond("a", filter.OpEq, str("\xff")), "a", "invalid value: text is not valid UTF-8"},
		{"sub-second offset", cond("a", filter.OpEq, filter.Ago(time.Millisecond)), "a", "invalid value: offset -1ms is not a whole number of seconds"},
		{"year 10000", cond("a", filter.OpEq, filter.DateValue(10000, 1, 1)), "a", "invalid value: year 10000 is outside 0000 to 9999"},
		{"unsupported Go type", filter.Where("a").Eq([]int{1}), "a", "invalid value: a value of type []int is not supported"},
		{"too deep", deep, "", "nested deeper than 64 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := filter.Check(tt.e, nil)
			require.Error(t, err)
			assert.ErrorIs(t, err, filter.ErrInvalid)
			var fe *filter.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field)
			assert.Equal(t, tt.reason, fe.Reason)
			// Eval refuses the same trees, except that it evaluates a
			// group of one operand as the operand.
			_, err = filter.Eval(tt.e, filter.MapRecord{"a": 1.0}, time.Now())
			if tt.name == "one-operand OR" {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, filter.ErrInvalid)
			}
		})
	}
}

func TestFieldErrorMessage(t *testing.T) {
	assert.Equal(t, "filter: AND group has no operands, needs at least two", filter.Check(and(), nil).Error())
	err := error(&filter.FieldError{Field: "x", Reason: "bad"})
	assert.True(t, errors.Is(err, filter.ErrInvalid))
	assert.False(t, errors.Is(err, filter.ErrSyntax))
	assert.True(t, strings.HasPrefix(err.Error(), "filter: "))
}

func TestTypeString(t *testing.T) {
	names := map[filter.Type]string{filter.TypeText: "text", filter.TypeNumber: "number", filter.TypeBool: "bool",
		filter.TypeDate: "date", filter.TypeTime: "time", filter.TypeList: "list", filter.Type(0): "type(0)"}
	for ty, want := range names {
		assert.Equal(t, want, ty.String())
	}
}
