package filter_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm/filter"
)

// evalNow is a Wednesday afternoon: today() is 2024-05-15,
// start_of_week() Monday 2024-05-13, start_of_month() 2024-05-01,
// start_of_quarter() 2024-04-01, start_of_year() 2024-01-01.
var evalNow = time.Date(2024, 5, 15, 13, 45, 30, 0, time.UTC)

// ada is the record the evaluation table runs on. Fields the table uses
// but ada lacks (region, missing, ...) are unset.
var ada = filter.MapRecord{
	"first_name":       "Ada",
	"lifecycle":        "customer",
	"country":          "DE",
	"city":             "Straße",
	"unit":             "\u212a", // KELVIN SIGN, folds to k
	"tags":             []string{"vip", "newsletter"},
	"emails":           []string{"Ada@Example.com", "ada@work.org"},
	"amount":           int64(5000),
	"score":            7.5,
	"employees":        uint16(12),
	"big":              int64(1<<53 + 1),
	"opted_in":         true,
	"blocked":          false,
	"created_at":       time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
	"last_activity_at": time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
	"birthday":         calDate{1990, time.May, 15},
	"close_date":       calDate{2024, time.June, 14},
	"empty":            "",
	"none":             nil,
	"notags":           []string{},
	"zero_time":        time.Time{},
	"zero_date":        calDate{},
	"not_a_number":     nan(),
}

func TestEval(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		// Unset fields: positive operators are false, negations true.
		{`country = "DE"`, true},
		{`country != "DE"`, false},
		{`region = "BY"`, false},
		{`region != "BY"`, true},
		{`NOT region = "BY"`, true},
		{`region IN ("BY", "BW")`, false},
		{`region NOT IN ("BY", "BW")`, true},
		{`region CONTAINS "B"`, false},
		{`region NOT CONTAINS "B"`, true},
		{`region STARTS WITH "B"`, false},
		{`region MATCHES "*"`, false},
		{`missing < 100`, false},
		{`missing >= 100`, false},
		{`NOT missing < 100`, true},
		{`missing BETWEEN 1 AND 2`, false},
		{`region IS SET`, false},
		{`region IS NOT SET`, true},
		{`NOT region IS SET`, true},
		{`NOT (region = "BY" OR country = "DE")`, false},
		{`NOT (region = "BY" AND country = "DE")`, true},
		// null matches exactly the unset fields.
		{`region = null`, true},
		{`region != null`, false},
		{`country = null`, false},
		{`country != null`, true},
		{`region IN ("x", null)`, true},
		{`country IN ("x", null)`, false},
		{`country IN ("de", null)`, true},
		{`country NOT IN ("x", null)`, true},
		{`region NOT IN ("x", null)`, false},
		// What counts as unset.
		{`empty IS SET`, false},
		{`empty = ""`, false},
		{`empty != "x"`, true},
		{`none IS NOT SET`, true},
		{`notags IS SET`, false},
		{`notags NOT CONTAINS "vip"`, true},
		{`NOT notags CONTAINS "vip"`, true},
		{`zero_time IS SET`, false},
		{`zero_date IS SET`, false},
		{`not_a_number IS SET`, false},
		{`blocked IS SET`, true},
		{`blocked = false`, true},
		// Text is case-insensitive everywhere.
		{`country = "de"`, true},
		{`first_name = "ADA"`, true},
		{`first_name IN ("bob", "aDa")`, true},
		{`first_name STARTS WITH "aD"`, true},
		{`first_name STARTS WITH "Adam"`, false},
		{`first_name CONTAINS "DA"`, true},
		{`first_name CONTAINS ""`, true},
		{`first_name MATCHES "a?A"`, true},
		{`first_name MATCHES "a*"`, true},
		{`first_name MATCHES "a"`, false},
		{`unit = "k"`, true},
		{`unit = "K"`, true},
		{`city = "STRAßE"`, true},
		{`city = "STRASSE"`, false}, // simple folding: ß is not ss
		// Text ordering compares folded text.
		{`first_name < "b"`, true},
		{`first_name < "ADA"`, false},
		{`first_name <= "ada"`, true},
		{`first_name > "ab"`, true},
		{`first_name > "adb"`, false},
		{`first_name BETWEEN "A" AND "B"`, true},
		// Lists: any element; negations: no element.
		{`tags = "vip"`, true},
		{`tags = "VIP"`, true},
		{`tags != "vip"`, false},
		{`tags != "gold"`, true},
		{`tags CONTAINS "vip"`, true},
		{`tags CONTAINS "vi"`, false}, // elements, not substrings
		{`tags NOT CONTAINS "gold"`, true},
		{`tags IN ("gold", "newsletter")`, true},
		{`tags NOT IN ("gold", "silver")`, true},
		{`tags NOT IN ("vip")`, false},
		{`tags STARTS WITH "news"`, true},
		{`emails = "ada@example.com"`, true},
		{`emails MATCHES "*@EXAMPLE.COM"`, true},
		{`emails MATCHES "*@example.co"`, false},
		{`emails MATCHES "ada@?ork.org"`, true},
		{`emails MATCHES "*@*.org"`, true},
		// Numbers.
		{`amount = 5000`, true},
		{`amount > 4999.5`, true},
		{`amount < 5000`, false},
		{`amount <= 5000`, true},
		{`amount BETWEEN 5000 AND 5000`, true},
		{`amount BETWEEN 5001 AND 4000`, false},
		{`amount IN (1, 5000)`, true},
		{`score = 7.5`, true},
		{`score > 7`, true},
		{`employees = 12`, true},
		{`big > 9007199254740992`, true}, // 2^53 + 1 > 2^53, exactly
		{`big = 9007199254740992`, false},
		{`big < 9007199254740993.5`, true},
		// Bools.
		{`opted_in = true`, true},
		{`opted_in != false`, true},
		{`opted_in IN (false, null)`, false},
		{`blocked IN (false, null)`, true},
		// Times compare exactly: < excludes the instant, <= includes it.
		{`created_at = 2024-05-01`, true},
		{`created_at < 2024-05-01`, false},
		{`created_at <= 2024-05-01`, true},
		{`created_at > 2024-05-01T00:00:00Z`, false},
		{`created_at >= 2024-05-01T02:00:00+02:00`, true},
		{`created_at = 2024-05-01T00:00:00.000000001Z`, false},
		{`created_at < 2024-05-01T00:00:00.000000001Z`, true},
		{`created_at BETWEEN 2024-04-01 AND 2024-05-01`, true},
		{`created_at BETWEEN 2024-05-01 AND 2024-06-01`, true},
		{`created_at BETWEEN 2024-04-01 AND 2024-04-30T23:59:59.999999999Z`, false},
		// Relative times against evalNow.
		{`last_activity_at < now() - 60d`, true}, // 2024-03-16T13:45:30
		{`last_activity_at < now() - 90d`, false},
		{`last_activity_at >= now() - 11w`, true}, // 2024-02-28
		{`created_at >= start_of_month()`, true},
		{`created_at > start_of_month()`, false},
		{`created_at >= start_of_week()`, false},
		{`created_at >= start_of_week() - 12d`, true},
		{`created_at >= start_of_quarter()`, true},
		{`last_activity_at >= start_of_quarter()`, false},
		{`created_at >= start_of_year() + 17w`, true}, // 2024-04-29
		{`created_at >= start_of_year() + 18w`, false},
		{`created_at < today()`, true},
		{`created_at < today() - 14d`, false},
		{`created_at <= today() - 14d`, true},
		// Dates compare by day: the filter's value is cut to its UTC date.
		{`birthday = 1990-05-15`, true},
		{`birthday = 1990-05-15T23:59:59Z`, true},
		{`birthday < 1990-05-15T23:59:59Z`, false},
		{`birthday = 1990-05-16T01:00:00+02:00`, true}, // 1990-05-15T23:00Z
		{`birthday < 1990-05-16T01:00:00+02:00`, false},
		{`close_date <= now() + 30d`, true}, // 2024-06-14T13:45:30, day 06-14
		{`close_date < now() + 30d`, false},
		{`close_date = today() + 30d`, true},
		{`close_date > today() + 29d`, true},
		{`close_date = 2024-06-15T01:00:00+02:00`, true},
		{`close_date BETWEEN today() AND now() + 30d`, true},
		// Logic.
		{`country = "DE" AND tags CONTAINS "vip"`, true},
		{`country = "FR" OR tags CONTAINS "vip"`, true},
		{`country = "FR" OR tags CONTAINS "gold"`, false},
		{`NOT country = "FR" AND NOT NOT tags CONTAINS "vip"`, true},
		{`lifecycle = "customer" AND country IN ("DE","AT") AND NOT tags CONTAINS "vip" AND last_activity_at < now() - 60d`, false},
		{`lifecycle = "customer" AND country IN ("DE","AT") AND NOT tags CONTAINS "gold" AND last_activity_at < now() - 60d`, true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e := mustParse(t, tt.src)
			got, err := filter.Eval(e, ada, evalNow)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)

			// The same answer with relative times resolved first, at any
			// later now.
			resolved := filter.Resolve(e, evalNow)
			got, err = filter.Eval(resolved, ada, evalNow.Add(1000*time.Hour))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "resolved: %s", resolved)
			assert.NotContains(t, filter.Format(resolved), "()", "no relative time is left")

			// Prepared once, the same answer.
			p, err := filter.Prepare(e)
			require.NoError(t, err)
			got, err = p.Eval(ada, evalNow)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "prepared")
		})
	}
}

// TestPrepareRefusesMalformedConditions checks that Prepare finds the
// shape problems Eval finds when it reaches the condition, wherever the
// condition is (even where Eval would stop before it).
func TestPrepareRefusesMalformedConditions(t *testing.T) {
	for _, e := range []filter.Expr{
		&filter.Cond{Field: "country", Op: filter.OpEq},
		filter.Or(filter.Where("country").Eq("DE"), filter.Not(&filter.Cond{Field: "amount", Op: filter.OpBetween})),
	} {
		_, err := filter.Prepare(e)
		assert.ErrorIs(t, err, filter.ErrInvalid, "%#v", e)
	}
}

// Each negated operator is exactly NOT of its positive form, on set and
// unset fields, scalars and lists alike.
func TestEvalNegationIsComplement(t *testing.T) {
	pairs := []struct{ pos, neg filter.Op }{{filter.OpEq, filter.OpNe}, {filter.OpIn, filter.OpNotIn}, {filter.OpContains, filter.OpNotContains}}
	fields := []string{"country", "region", "tags", "notags", "emails", "empty", "none", "first_name"}
	values := []filter.Value{str("DE"), str("de"), str("vip"), str("ada@example.com"), str(""), str("a"), null()}
	for _, p := range pairs {
		for _, f := range fields {
			for _, v := range values {
				if v.Kind() == filter.KindNull && p.pos == filter.OpContains {
					continue
				}
				pos, err := filter.Eval(cond(f, p.pos, v), ada, evalNow)
				require.NoError(t, err)
				neg, err := filter.Eval(cond(f, p.neg, v), ada, evalNow)
				require.NoError(t, err)
				notPos, err := filter.Eval(not(cond(f, p.pos, v)), ada, evalNow)
				require.NoError(t, err)
				assert.Equal(t, !pos, neg, "%s %s %s", f, p.neg, v)
				assert.Equal(t, neg, notPos, "NOT %s %s %s", f, p.pos, v)
			}
		}
	}
}

func TestEvalAnchors(t *testing.T) {
	at := func(s string) time.Time {
		v := instant(s)
		tm, _ := v.AsTime()
		return tm
	}
	tests := []struct {
		now  string
		a    filter.Anchor
		want string
	}{
		{"2024-05-15T13:45:30Z", filter.Now, "2024-05-15T13:45:30Z"},
		{"2024-05-15T13:45:30Z", filter.Today, "2024-05-15T00:00:00Z"},
		{"2024-05-15T23:30:00-02:00", filter.Today, "2024-05-16T00:00:00Z"}, // UTC date
		{"2024-05-15T13:45:30Z", filter.StartOfWeek, "2024-05-13T00:00:00Z"},
		{"2024-05-13T00:00:00Z", filter.StartOfWeek, "2024-05-13T00:00:00Z"}, // a Monday
		{"2024-05-19T23:59:59Z", filter.StartOfWeek, "2024-05-13T00:00:00Z"}, // a Sunday
		{"2024-01-02T10:00:00Z", filter.StartOfWeek, "2024-01-01T00:00:00Z"},
		{"2024-01-01T10:00:00Z", filter.StartOfWeek, "2024-01-01T00:00:00Z"},
		{"2023-01-01T10:00:00Z", filter.StartOfWeek, "2022-12-26T00:00:00Z"}, // across a year
		{"2024-05-15T13:45:30Z", filter.StartOfMonth, "2024-05-01T00:00:00Z"},
		{"2024-05-15T13:45:30Z", filter.StartOfQuarter, "2024-04-01T00:00:00Z"},
		{"2024-03-31T23:59:59Z", filter.StartOfQuarter, "2024-01-01T00:00:00Z"},
		{"2024-12-31T23:59:59Z", filter.StartOfQuarter, "2024-10-01T00:00:00Z"},
		{"2024-07-01T00:00:00Z", filter.StartOfQuarter, "2024-07-01T00:00:00Z"},
		{"2024-05-15T13:45:30Z", filter.StartOfYear, "2024-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.a.String()+" at "+tt.now, func(t *testing.T) {
			assert.Equal(t, at(tt.want), tt.a.At(at(tt.now)))
		})
	}
	assert.Equal(t, "today()", filter.Today.String())
	assert.Equal(t, "anchor(0)", filter.Anchor(0).String())
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		src    string
		rec    filter.MapRecord
		field  string
		reason string
	}{
		{`amount > "abc"`, ada, "amount", `cannot compare a number value with text "abc"`},
		{`country = 1`, ada, "country", "cannot compare a text value with the number 1"},
		{`tags < "x"`, ada, "tags", "operator < is not supported on a list value"},
		{`opted_in > true`, ada, "opted_in", "operator > is not supported on a bool value"},
		{`amount CONTAINS "5"`, ada, "amount", "operator CONTAINS is not supported on a number value"},
		{`created_at MATCHES "2024*"`, ada, "created_at", "operator MATCHES is not supported on a time value"},
		{`tags = 1`, ada, "tags", "cannot compare a list value with the number 1"},
		{`created_at > "2024-05-01"`, ada, "created_at", `cannot compare a time value with text "2024-05-01"`},
		{`birthday = 5`, ada, "birthday", "cannot compare a date value with the number 5"},
		{`opted_in = "yes"`, ada, "opted_in", `cannot compare a bool value with text "yes"`},
		{`x = 1`, filter.MapRecord{"x": struct{}{}}, "x", "record value of type struct {} is not supported"},
		{`x IS SET`, filter.MapRecord{"x": []int{1}}, "x", "record value of type []int is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			ok, err := filter.Eval(mustParse(t, tt.src), tt.rec, evalNow)
			require.Error(t, err)
			assert.False(t, ok)
			assert.ErrorIs(t, err, filter.ErrInvalid)
			var fe *filter.FieldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.field, fe.Field)
			assert.Equal(t, tt.reason, fe.Reason)
		})
	}
}

func TestEvalStopsAtTheDecidingOperand(t *testing.T) {
	ok, err := filter.Eval(mustParse(t, `country = "FR" AND amount > "abc"`), ada, evalNow)
	require.NoError(t, err, "the AND is decided before the bad condition")
	assert.False(t, ok)
	ok, err = filter.Eval(mustParse(t, `country = "DE" OR amount > "abc"`), ada, evalNow)
	require.NoError(t, err)
	assert.True(t, ok)
	_, err = filter.Eval(mustParse(t, `country = "DE" AND amount > "abc"`), ada, evalNow)
	assert.ErrorIs(t, err, filter.ErrInvalid)
	_, err = filter.Eval(mustParse(t, `NOT amount > "abc"`), ada, evalNow)
	assert.ErrorIs(t, err, filter.ErrInvalid, "NOT passes errors through")
}

func TestEvalRelativeOutOfRange(t *testing.T) {
	_, err := filter.Eval(mustParse(t, `created_at < now() + 10000w`), ada, time.Date(9990, 1, 1, 0, 0, 0, 0, time.UTC))
	assert.ErrorIs(t, err, filter.ErrInvalid)
}

func TestMatchesPatterns(t *testing.T) {
	tests := []struct {
		value, pattern string
		want           bool
	}{
		{"ada@example.com", "*@example.com", true},
		{"ada@example.com", "*", true},
		{"", "*", false}, // "" is unset
		{"ada@example.com", "ada@*", true},
		{"ada@example.com", "*example*", true},
		{"ada@example.com", "a*a*a*", true},
		{"ada@example.com", "a*a*a*z", false},
		{"ada@example.com", "a*a*e*m", true},
		{"ada@example.com", "???@*", true},
		{"ada@example.com", "????@*", false},
		{"star*", `star\*`, true},
		{"starx", `star\*`, false},
		{"q?", `q\?`, true},
		{"qx", `q\?`, false},
		{`back\slash`, `back\\slash`, true},
		{`trail\`, `trail\`, true},
		{"Ünïcödé", "ü?ïc*É", true},
		{"日本語テキスト", "日本*", true},
		{"日本語", "??語", true},
		{strings.Repeat("a", 200), strings.Repeat("*a", 30) + "b", false}, // no exponential blow-up
	}
	for _, tt := range tests {
		t.Run(tt.value+" "+tt.pattern, func(t *testing.T) {
			got, err := filter.Eval(cond("v", filter.OpMatches, str(tt.pattern)), filter.MapRecord{"v": tt.value}, evalNow)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestResolveSharesUnchangedNodes(t *testing.T) {
	plain := cond("a", filter.OpEq, num(1))
	relc := cond("t", filter.OpBetween, date(2024, 1, 1), rel(filter.Today, -filter.Day))
	e := and(plain, not(relc))
	r := filter.Resolve(e, evalNow)
	ra, ok := r.(*filter.AndExpr)
	require.True(t, ok)
	assert.Same(t, plain, ra.Exprs[0], "nodes without relative times are shared")
	requireEqual(t, and(plain, not(cond("t", filter.OpBetween, date(2024, 1, 1), date(2024, 5, 14)))), r)
	requireEqual(t, and(plain, not(relc)), e, "the input is not modified")
	assert.Same(t, plain, filter.Resolve(plain, evalNow))
	assert.Nil(t, filter.Resolve(nil, evalNow))
}

func TestEvalNilRecord(t *testing.T) {
	ok, err := filter.Eval(mustParse(t, `country IS NOT SET AND tags NOT CONTAINS "vip" AND region = null`), nil, evalNow)
	require.NoError(t, err)
	assert.True(t, ok, "a nil record has no fields")
	ok, err = filter.Eval(mustParse(t, `country = "DE"`), nil, evalNow)
	require.NoError(t, err)
	assert.False(t, ok)
}
