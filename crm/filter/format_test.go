package filter_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm/filter"
)

func TestFormatCanonical(t *testing.T) {
	tests := []struct{ src, want string }{
		{`a=1 and (b=2 or c=3)`, `a = 1 AND (b = 2 OR c = 3)`},
		{`a = 1 or b = 2 and c = 3`, `a = 1 OR (b = 2 AND c = 3)`},
		{`a = 1 and (b = 2 and c = 3)`, `a = 1 AND (b = 2 AND c = 3)`},
		{`not (a = 1) and not (b = 1 or c = 1)`, `NOT a = 1 AND NOT (b = 1 OR c = 1)`},
		{`x in ("a","b")`, `x IN ("a", "b")`},
		{`x not in (1)`, `x NOT IN (1)`},
		{`x between -1 and 2.50`, `x BETWEEN -1 AND 2.5`},
		{`x is not set`, `x IS NOT SET`},
		{`x starts with "a" or x matches "b*" or x not contains "c"`, `x STARTS WITH "a" OR x MATCHES "b*" OR x NOT CONTAINS "c"`},
		{`n = 1000000`, `n = 1000000`},
		{`n = 1e21`, `n = 1e+21`},
		{`n = 0.0000001`, `n = 1e-07`},
		{`n = 0.000001`, `n = 0.000001`},
		{`n = 1.50e2`, `n = 150`},
		{`n = -0`, `n = -0`},
		{`s = "\u00e9\t\u0001\u007f\/"`, "s = \"é\\t\\u0001\\u007f/\""},
		{`b = TRUE or c = Null`, `b = true OR c = null`},
		{`t = 2024-05-01T10:00:00+02:00`, `t = 2024-05-01T08:00:00Z`},
		{`t = 2024-05-01T10:00:00.500Z`, `t = 2024-05-01T10:00:00.5Z`},
		{`t = 2024-05-01T00:00:00Z`, `t = 2024-05-01`},
		{`t < NOW() - 48h`, `t < now() - 2d`},
		{`t < now() + 0d`, `t < now()`},
		{`t < today() - 14d`, `t < today() - 2w`},
		{`t < start_of_month() + 90m`, `t < start_of_month() + 90m`},
		{`t < start_of_year() - 3601s`, `t < start_of_year() - 3601s`},
		{`t < Start_Of_Quarter()`, `t < start_of_quarter()`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e := mustParse(t, tt.src)
			assert.Equal(t, tt.want, filter.Format(e))
			assert.Equal(t, tt.want, e.String(), "String is Format")
		})
	}
}

func TestFormatRoundTrip(t *testing.T) {
	for _, src := range realistic {
		t.Run(src, func(t *testing.T) {
			e := mustParse(t, src)
			text := filter.Format(e)
			back, err := filter.Parse(text)
			require.NoError(t, err, text)
			requireEqual(t, e, back)
			assert.Equal(t, text, filter.Format(back), "canonical text is a fixed point")
		})
	}
}

// Trees with shapes Parse does not produce on its own still round-trip.
func TestFormatRoundTripShapes(t *testing.T) {
	a, b, c := cond("a", filter.OpEq, num(1)), cond("b", filter.OpIsSet), cond("c", filter.OpLt, rel(filter.Now, -90*time.Second))
	for _, e := range []filter.Expr{
		and(a, and(b, c)),
		and(and(a, b), c),
		or(or(a, b), or(b, c)),
		or(a, and(b, c)),
		and(or(a, b), c),
		not(not(not(a))),
		not(and(a, b)),
		and(not(or(a, b)), not(c)),
		cond("x", filter.OpIn, null()),
		cond("x", filter.OpEq, num(-1e-300)),
		cond("x", filter.OpEq, num(123456789.123456789)),
		cond("x", filter.OpEq, instant("0001-01-01T00:00:00Z")),
		cond("x", filter.OpEq, instant("9999-12-31T23:59:59.999999999Z")),
		cond("x", filter.OpGe, rel(filter.StartOfWeek, filter.MaxOffset)),
		cond("x", filter.OpEq, str("\x00 \u2028 \" \\ \U0010FFFF")),
	} {
		text := filter.Format(e)
		back, err := filter.Parse(text)
		require.NoError(t, err, text)
		requireEqual(t, e, back, text)
	}
}

func TestFormatInvalid(t *testing.T) {
	assert.Equal(t, "<nil>", filter.Format(nil))
	assert.Equal(t, "NOT <nil>", filter.Format(not(nil)))
	assert.Equal(t, "()", filter.Format(and()))
	assert.Equal(t, "(a IS SET)", filter.Format(or(cond("a", filter.OpIsSet))))
	assert.Equal(t, "a = <invalid: missing value>", filter.Format(cond("a", filter.OpEq, filter.Value{})))
	for _, e := range []filter.Expr{nil, and(), cond("a", filter.OpEq, filter.Value{})} {
		_, err := filter.Parse(filter.Format(e))
		assert.Error(t, err, "invalid trees do not print as valid text")
	}
}

func TestValueString(t *testing.T) {
	assert.Equal(t, `"a\"b"`, str(`a"b`).String())
	assert.Equal(t, `-2.5`, num(-2.5).String())
	assert.Equal(t, `false`, boolean(false).String())
	assert.Equal(t, `null`, null().String())
	assert.Equal(t, `2024-05-01`, date(2024, time.May, 1).String())
	assert.Equal(t, `2024-05-01T10:00:00Z`, instant("2024-05-01T12:00:00+02:00").String())
	assert.Equal(t, `now() - 60d`, filter.Ago(60*filter.Day).String())
	assert.Equal(t, `start_of_month() + 1h`, rel(filter.StartOfMonth, time.Hour).String())
	assert.Equal(t, `<invalid: NaN is not a finite number>`, filter.NumberValue(nan()).String())
}
