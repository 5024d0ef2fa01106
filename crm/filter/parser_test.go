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

func TestParse(t *testing.T) {
	a1, b2, c3 := cond("a", filter.OpEq, num(1)), cond("b", filter.OpEq, num(2)), cond("c", filter.OpEq, num(3))
	tests := []struct {
		name string
		src  string
		want filter.Expr
	}{
		{"text equality", `lifecycle = "customer"`, cond("lifecycle", filter.OpEq, str("customer"))},
		{"the example", `lifecycle = "customer" AND country IN ("DE","AT") AND NOT tags CONTAINS "vip" AND last_activity_at < now() - 60d`,
			and(cond("lifecycle", filter.OpEq, str("customer")),
				cond("country", filter.OpIn, str("DE"), str("AT")),
				not(cond("tags", filter.OpContains, str("vip"))),
				cond("last_activity_at", filter.OpLt, rel(filter.Now, -60*filter.Day)))},
		{"AND chain is one group", `a = 1 AND b = 2 AND c = 3`, and(a1, b2, c3)},
		{"AND binds tighter than OR", `a = 1 OR b = 2 AND c = 3`, or(a1, and(b2, c3))},
		{"AND before OR", `a = 1 AND b = 2 OR c = 3`, or(and(a1, b2), c3)},
		{"NOT binds tighter than AND", `NOT a = 1 AND b = 2`, and(not(a1), b2)},
		{"NOT of a group", `NOT (a = 1 OR b = 2)`, not(or(a1, b2))},
		{"NOT NOT", `NOT NOT a = 1`, not(not(a1))},
		{"parentheses are kept", `a = 1 AND (b = 2 AND c = 3)`, and(a1, and(b2, c3))},
		{"redundant parentheses vanish", `((a = 1))`, a1},
		{"parentheses override precedence", `(a = 1 OR b = 2) AND c = 3`, and(or(a1, b2), c3)},
		{"keywords in any case", `a in ("x") and not b contains "y" Or c iS NoT sEt`,
			or(and(cond("a", filter.OpIn, str("x")), not(cond("b", filter.OpContains, str("y")))), cond("c", filter.OpIsNotSet))},
		{"field names keep their case", `First_Name = "x"`, cond("First_Name", filter.OpEq, str("x"))},
		{"no spaces", `a=1 AND b!=2 AND c<3 AND d<=4 AND e>5 AND f>=6`,
			and(a1, cond("b", filter.OpNe, num(2)), cond("c", filter.OpLt, num(3)), cond("d", filter.OpLe, num(4)),
				cond("e", filter.OpGt, num(5)), cond("f", filter.OpGe, num(6)))},
		{"newlines and tabs", "a = 1\n\tAND\r\n  b = 2", and(a1, b2)},
		{"negative decimal", `n = -12.5`, cond("n", filter.OpEq, num(-12.5))},
		{"minus apart from number", `n = - 3`, cond("n", filter.OpEq, num(-3))},
		{"exponent", `n = 1e3 OR n = 2.5E-3 OR n = 7e+2`, or(cond("n", filter.OpEq, num(1000)), cond("n", filter.OpEq, num(0.0025)), cond("n", filter.OpEq, num(700)))},
		{"leading zeros", `n = 007`, cond("n", filter.OpEq, num(7))},
		{"string escapes", `s = "a\"b\\c\/\n\t\r\b\f\u00e9\ud83d\ude00"`, cond("s", filter.OpEq, str("a\"b\\c/\n\t\r\b\f\u00e9\U0001F600"))},
		{"raw unicode", `s = "Müller 😀"`, cond("s", filter.OpEq, str("Müller 😀"))},
		{"empty string", `s = ""`, cond("s", filter.OpEq, str(""))},
		{"date", `d = 2024-05-01`, cond("d", filter.OpEq, date(2024, time.May, 1))},
		{"timestamp with offset is UTC", `t = 2024-05-01T10:00:00+02:00`, cond("t", filter.OpEq, instant("2024-05-01T08:00:00Z"))},
		{"timestamp with nanoseconds", `t = 2024-05-01T10:00:00.123456789Z`, cond("t", filter.OpEq, instant("2024-05-01T10:00:00.123456789Z"))},
		{"midnight timestamp is the date", `t = 2024-05-01T00:00:00Z`, cond("t", filter.OpEq, date(2024, time.May, 1))},
		{"relative times", `a < now() - 60d OR b >= TODAY() + 2w OR c = start_of_month() OR d = start_of_quarter() - 1h OR e = start_of_year() + 30s OR f = start_of_week() - 5m`,
			or(cond("a", filter.OpLt, rel(filter.Now, -60*filter.Day)), cond("b", filter.OpGe, rel(filter.Today, 2*filter.Week)),
				cond("c", filter.OpEq, rel(filter.StartOfMonth, 0)), cond("d", filter.OpEq, rel(filter.StartOfQuarter, -time.Hour)),
				cond("e", filter.OpEq, rel(filter.StartOfYear, 30*time.Second)), cond("f", filter.OpEq, rel(filter.StartOfWeek, -5*time.Minute)))},
		{"zero offset", `a < now() + 0d`, cond("a", filter.OpLt, rel(filter.Now, 0))},
		{"bools and null", `b = TRUE AND c != false AND x = null AND y IN ("a", NULL)`,
			and(cond("b", filter.OpEq, boolean(true)), cond("c", filter.OpNe, boolean(false)), cond("x", filter.OpEq, null()), cond("y", filter.OpIn, str("a"), null()))},
		{"every other operator", `a NOT IN (1, 2) AND b BETWEEN 1 AND 10 AND c STARTS WITH "ab" AND d MATCHES "*@x.com" AND e IS SET AND f NOT CONTAINS "v"`,
			and(cond("a", filter.OpNotIn, num(1), num(2)), cond("b", filter.OpBetween, num(1), num(10)), cond("c", filter.OpStartsWith, str("ab")),
				cond("d", filter.OpMatches, str("*@x.com")), cond("e", filter.OpIsSet), cond("f", filter.OpNotContains, str("v")))},
		{"BETWEEN then AND", `a BETWEEN 1 AND 2 AND b = 2`, and(cond("a", filter.OpBetween, num(1), num(2)), b2)},
		{"dotted fields", `address.country = "DE" AND custom.score >= 10`, and(cond("address.country", filter.OpEq, str("DE")), cond("custom.score", filter.OpGe, num(10)))},
		{"keyword after a dot", `custom.set = 1 AND in.x = 2`, and(cond("custom.set", filter.OpEq, num(1)), cond("in.x", filter.OpEq, num(2)))},
		{"anchor name as a field", `now = 1`, cond("now", filter.OpEq, num(1))},
		{"underscore field", `_x = 1`, cond("_x", filter.OpEq, num(1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := filter.Parse(tt.src)
			require.NoError(t, err)
			requireEqual(t, tt.want, got)
			assert.NoError(t, filter.Check(got, nil), "parsed trees are structurally valid")
		})
	}
}

func TestParseErrors(t *testing.T) {
	deep := strings.Repeat("(", 65) + "a = 1" + strings.Repeat(")", 65)
	tests := []struct {
		name      string
		src       string
		line, col int
		expected  string
		found     string
	}{
		{"empty", ``, 1, 1, "a condition", "end of input"},
		{"blank", "  \n ", 2, 2, "a condition", "end of input"},
		{"trailing comma in list", `country IN ("DE",)`, 1, 18, "a value", `")"`},
		{"missing value", `a = `, 1, 5, "a value", "end of input"},
		{"double equals", `a == 1`, 1, 3, "an operator", `"=="`},
		{"missing AND", `a = 1 b = 2`, 1, 7, "AND, OR or end of input", `"b"`},
		{"unclosed group", `(a = 1`, 1, 7, `AND, OR or ")"`, "end of input"},
		{"stray closing", `a = 1)`, 1, 6, "AND, OR or end of input", `")"`},
		{"keyword as field", `and = 1`, 1, 1, "a condition", `"and"`},
		{"NOT before a comparison", `a NOT = 1`, 1, 7, "IN or CONTAINS", `"="`},
		{"IS without SET", `a IS 1`, 1, 6, "SET or NOT SET", `"1"`},
		{"IS NOT without SET", `a IS NOT 1`, 1, 10, "SET", `"1"`},
		{"STARTS without WITH", `a STARTS "x"`, 1, 10, "WITH", `"x"`},
		{"BETWEEN without AND", `a BETWEEN 1 OR 2`, 1, 13, "AND", `"OR"`},
		{"IN without parentheses", `a IN "x"`, 1, 6, `"("`, `"x"`},
		{"IN without comma", `a IN ("x" "y")`, 1, 11, `"," or ")"`, `"y"`},
		{"IN empty", `a IN ()`, 1, 7, "a value", `")"`},
		{"null with <", `a < null`, 1, 5, "a value other than null", `"null"`},
		{"null in BETWEEN", `a BETWEEN null AND 1`, 1, 11, "a value other than null", `"null"`},
		{"unterminated string", `a = "abc`, 1, 9, `a closing '"'`, "end of input"},
		{"newline in string", "a = \"x\ny\"", 1, 7, `a closing '"'`, "end of line"},
		{"control character in string", "a = \"x\x01\"", 1, 7, `an escaped control character such as \t`, `"\x01"`},
		{"bad escape", `a = "\q"`, 1, 6, "a valid escape sequence", `"\\q"`},
		{"short unicode escape", `a = "\u12"`, 1, 6, "a valid escape sequence", `"\\u12\""`},
		{"lone surrogate", `a = "\ud800"`, 1, 6, "a valid escape sequence", `"\\ud800"`},
		{"invalid UTF-8 in string", "a = \"\xff\"", 1, 6, "valid UTF-8", `"\xff"`},
		{"impossible date", `a = 2024-02-30`, 1, 5, "a date (2024-05-01) or an RFC 3339 time (2024-05-01T10:00:00Z)", `"2024-02-30"`},
		{"timestamp without zone", `a = 2024-02-03T10:00:00`, 1, 5, "a date (2024-05-01) or an RFC 3339 time (2024-05-01T10:00:00Z)", `"2024-02-03T10:00:00"`},
		{"one-digit hour", `a = 2024-02-03T1:00:00Z`, 1, 5, "a date (2024-05-01) or an RFC 3339 time (2024-05-01T10:00:00Z)", `"2024-02-03T1:00:00Z"`},
		{"fraction without digits", `a = 2024-02-03T10:00:00.Z`, 1, 5, "a date (2024-05-01) or an RFC 3339 time (2024-05-01T10:00:00Z)", `"2024-02-03T10:00:00.Z"`},
		{"short zone", `a = 2024-02-03T10:00:00+0200`, 1, 5, "a date (2024-05-01) or an RFC 3339 time (2024-05-01T10:00:00Z)", `"2024-02-03T10:00:00+0200"`},
		{"one-digit day", `a = 2024-02-3`, 1, 5, "a date (2024-05-01) or an RFC 3339 time (2024-05-01T10:00:00Z)", `"2024-02-3"`},
		{"timestamp before year 0 in UTC", `a = 0000-01-01T00:00:00+01:00`, 1, 5, "a time between the years 0000 and 9999 in UTC", `"0000-01-01T00:00:00+01:00"`},
		{"letters after a number", `a = 12abc`, 1, 5, "a number", `"12abc"`},
		{"offset as a value", `a = 1d`, 1, 5, "a value", `"1d"`},
		{"huge number", `a = 1e999`, 1, 5, "a finite number", `"1e999"`},
		{"offset without unit", `a = now() - 5`, 1, 13, "an offset such as 30d", `"5"`},
		{"offset too large", `a = now() - 99999w`, 1, 13, "an offset of at most 10000w", `"99999w"`},
		{"decimal offset", `a = now() - 1.5d`, 1, 13, "a number", `"1.5d"`},
		{"anchor without parentheses", `a = now`, 1, 8, `"("`, "end of input"},
		{"anchor with argument", `a = today(1)`, 1, 11, `")"`, `"1"`},
		{"unknown function", `a = yesterday()`, 1, 5, "a value", `"yesterday"`},
		{"identifier as value", `a = b`, 1, 5, "a value", `"b"`},
		{"unknown character", `a = @`, 1, 5, "a value", `"@"`},
		{"lone bang", `a ! 1`, 1, 3, `"!="`, `"!"`},
		{"dot without name", `x.y. = 1`, 1, 5, "a name after the dot", `" "`},
		{"trailing AND", `a = 1 AND`, 1, 10, "a condition", "end of input"},
		{"lone NOT", `NOT`, 1, 4, "a condition", "end of input"},
		{"second line", "a = 1 AND\n  b = ", 2, 7, "a value", "end of input"},
		{"columns count characters", `name = "Müller" AND x`, 1, 22, "an operator", "end of input"},
		{"too deep", deep, 1, 65, "at most 64 nested groups and NOTs", `"("`},
		{"long token is shortened", `a = 1 "` + strings.Repeat("x", 50) + `"`, 1, 7, "AND, OR or end of input", `"` + strings.Repeat("x", 39) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := filter.Parse(tt.src)
			require.Error(t, err)
			assert.Nil(t, e)
			assert.ErrorIs(t, err, filter.ErrSyntax)
			var se *filter.SyntaxError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.line, se.Line, "line")
			assert.Equal(t, tt.col, se.Column, "column")
			assert.Equal(t, tt.expected, se.Expected, "expected")
			assert.Equal(t, tt.found, se.Found, "found")
			want := "filter: " + itoa(tt.line) + ":" + itoa(tt.col) + ": expected " + tt.expected + ", found " + tt.found
			if se.Hint != "" {
				want += "; " + se.Hint
			}
			assert.Equal(t, want, err.Error())
		})
	}
}

func TestParseErrorsHintTheUsualMistakes(t *testing.T) {
	for src, hint := range map[string]string{
		`lifecycle == "lead"`:    "compare with a single =",
		`lifecycle = 'lead'`:     `strings are written in double quotes, as "lead"`,
		`lifecycle LIKE "lead"`:  "the operators are =, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, CONTAINS, STARTS WITH, MATCHES, IS SET, IS NOT SET",
		`lifecycle <> "lead"`:    "write != for not equal",
		`lifecycle = "lead" AND`: "",
	} {
		_, err := filter.Parse(src)
		var se *filter.SyntaxError
		require.ErrorAs(t, err, &se, src)
		assert.Equal(t, hint, se.Hint, src)
	}
}

func TestCheckSuggestsCloseFields(t *testing.T) {
	s := filter.MapSchema{"lifecycle": filter.TypeText, "address.country": filter.TypeText, "address.city": filter.TypeText, "owner_id": filter.TypeText}
	for src, want := range map[string]string{
		`country = "DE"`:    `unknown field; did you mean address.country?`,
		`lifecyle = "lead"`: `unknown field; did you mean lifecycle?`,
		`owner = "ann"`:     `unknown field; did you mean owner_id?`,
		`zzz = 1`:           `unknown field`,
	} {
		e, err := filter.Parse(src)
		require.NoError(t, err)
		err = filter.Check(e, s)
		var fe *filter.FieldError
		require.ErrorAs(t, err, &fe, src)
		assert.Equal(t, want, fe.Reason, src)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func TestSyntaxErrorOffset(t *testing.T) {
	_, err := filter.Parse("name = \"Müller\"\nAND x")
	var se *filter.SyntaxError
	require.True(t, errors.As(err, &se))
	assert.Equal(t, len("name = \"Müller\"\nAND x"), se.Offset, "offset counts bytes")
	assert.Equal(t, 2, se.Line)
	assert.Equal(t, 6, se.Column)
}

func TestParseDepthLimit(t *testing.T) {
	ok := strings.Repeat("NOT ", 63) + "(a = 1)"
	_, err := filter.Parse(ok)
	require.NoError(t, err, "64 levels are allowed")
	_, err = filter.Parse("NOT " + ok)
	require.Error(t, err)
}
