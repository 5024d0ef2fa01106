package filter_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/crmkit/crmkit/crm/filter"
)

func TestBuilderMatchesParse(t *testing.T) {
	berlin := time.FixedZone("CEST", 2*3600)
	tests := []struct {
		name  string
		built filter.Expr
		text  string
	}{
		{"the example",
			filter.And(
				filter.Where("lifecycle").Eq("customer"),
				filter.Where("country").In("DE", "AT"),
				filter.Not(filter.Where("tags").Contains("vip")),
				filter.Where("last_activity_at").Lt(filter.Ago(60*filter.Day))),
			`lifecycle = "customer" AND country IN ("DE","AT") AND NOT tags CONTAINS "vip" AND last_activity_at < now() - 60d`},
		{"every operator",
			filter.And(
				filter.Where("a").Eq(1), filter.Where("b").Ne(2), filter.Where("c").Lt(3), filter.Where("d").Le(4),
				filter.Where("e").Gt(5), filter.Where("f").Ge(6), filter.Where("g").In(1, 2), filter.Where("h").NotIn("x"),
				filter.Where("i").Between(1, 10), filter.Where("j").Contains("v"), filter.Where("k").NotContains("w"),
				filter.Where("l").StartsWith("ab"), filter.Where("m").Matches("*@x.com"), filter.Where("n").IsSet(), filter.Where("o").IsNotSet()),
			`a = 1 AND b != 2 AND c < 3 AND d <= 4 AND e > 5 AND f >= 6 AND g IN (1, 2) AND h NOT IN ("x") AND i BETWEEN 1 AND 10 AND j CONTAINS "v" AND k NOT CONTAINS "w" AND l STARTS WITH "ab" AND m MATCHES "*@x.com" AND n IS SET AND o IS NOT SET`},
		{"Field is a string type", filter.Field("amount").Between(1000, 5000), `amount BETWEEN 1000 AND 5000`},
		{"And splices And", filter.And(filter.And(filter.Where("a").Eq(1), filter.Where("b").Eq(2)), filter.Where("c").Eq(3)), `a = 1 AND b = 2 AND c = 3`},
		{"Or splices Or", filter.Or(filter.Where("a").Eq(1), filter.Or(filter.Where("b").Eq(2), filter.Where("c").Eq(3))), `a = 1 OR b = 2 OR c = 3`},
		{"And keeps Or", filter.And(filter.Where("a").Eq(1), filter.Or(filter.Where("b").Eq(2), filter.Where("c").Eq(3))), `a = 1 AND (b = 2 OR c = 3)`},
		{"one operand is itself", filter.And(filter.Where("a").Eq(1)), `a = 1`},
		{"Not", filter.Not(filter.Or(filter.Where("a").Eq(1), filter.Where("b").IsSet())), `NOT (a = 1 OR b IS SET)`},
		{"Go number types", filter.Where("n").In(int8(-1), int16(2), int32(3), int64(4), uint(5), uint8(6), uint16(7), uint32(8), uint64(9), float32(0.5), 1.25),
			`n IN (-1, 2, 3, 4, 5, 6, 7, 8, 9, 0.5, 1.25)`},
		{"bool and nil", filter.Or(filter.Where("b").Eq(true), filter.Where("c").Eq(nil), filter.Where("d").In("x", nil)), `b = true OR c = null OR d IN ("x", null)`},
		{"time.Time in UTC", filter.Where("t").Ge(time.Date(2024, 5, 1, 12, 0, 0, 0, berlin)), `t >= 2024-05-01T10:00:00Z`},
		{"CalendarDate", filter.Where("d").Eq(calDate{2024, time.May, 1}), `d = 2024-05-01`},
		{"Value as is", filter.Where("t").Between(filter.RelativeValue(filter.StartOfMonth, -time.Hour), filter.DateValue(2024, time.May, 1)),
			`t BETWEEN start_of_month() - 1h AND 2024-05-01`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireEqual(t, mustParse(t, tt.text), tt.built)
			assert.NoError(t, filter.Check(tt.built, nil))
		})
	}
}

func TestBuilderBadArguments(t *testing.T) {
	for _, e := range []filter.Expr{
		filter.Where("x").Eq(struct{}{}),
		filter.Where("x").In("a", []string{"b"}),
		filter.Where("x").Eq(nan()),
		filter.Where("x").Eq(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)),
		filter.Where("x").Lt(filter.Ago(1500 * time.Millisecond)),
		filter.Where("x").Lt(filter.Ago(filter.MaxOffset + time.Second)),
		filter.Where("x").Lt(filter.RelativeValue(filter.Anchor(99), 0)),
		filter.Where("x").Eq(filter.Value{}),
		filter.Where("x").Lt(nil),
		filter.Where("and").IsSet(),
		filter.And(),
		filter.Not(nil),
	} {
		assert.ErrorIs(t, filter.Check(e, nil), filter.ErrInvalid, "%s", filter.Format(e))
	}
}

func TestValueOf(t *testing.T) {
	v, err := filter.ValueOf(42)
	assert.NoError(t, err)
	assert.True(t, v.Equal(num(42)))
	_, err = filter.ValueOf(map[string]int{})
	assert.ErrorIs(t, err, filter.ErrInvalid)
	assert.EqualError(t, err, "filter: a value of type map[string]int is not supported")
	_, err = filter.ValueOf(nan())
	assert.ErrorIs(t, err, filter.ErrInvalid)
}

func TestValueAccessors(t *testing.T) {
	s, ok := str("x").AsString()
	assert.True(t, ok)
	assert.Equal(t, "x", s)
	_, ok = num(1).AsString()
	assert.False(t, ok)
	n, ok := num(1.5).AsNumber()
	assert.True(t, ok)
	assert.Equal(t, 1.5, n)
	b, ok := boolean(true).AsBool()
	assert.True(t, ok && b)
	tm, ok := date(2024, time.May, 1).AsTime()
	assert.True(t, ok)
	assert.Equal(t, time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), tm)
	a, off, ok := filter.Ago(time.Hour).AsRelative()
	assert.True(t, ok)
	assert.Equal(t, filter.Now, a)
	assert.Equal(t, -time.Hour, off)
	assert.Equal(t, filter.KindRelative, filter.Ago(time.Hour).Kind())
	assert.Equal(t, filter.KindInvalid, filter.Value{}.Kind())
	assert.Equal(t, "relative time", filter.KindRelative.String())
}

func TestParseOp(t *testing.T) {
	for in, want := range map[string]filter.Op{
		"=": filter.OpEq, "!=": filter.OpNe, "ne": filter.OpNe, "NEQ": filter.OpNe, "lt": filter.OpLt, "lte": filter.OpLe,
		"le": filter.OpLe, "gt": filter.OpGt, "ge": filter.OpGe, "gte": filter.OpGe, "in": filter.OpIn, "not_in": filter.OpNotIn,
		"Not  In": filter.OpNotIn, "between": filter.OpBetween, "contains": filter.OpContains, "NOT_CONTAINS": filter.OpNotContains,
		"starts_with": filter.OpStartsWith, "matches": filter.OpMatches, "is_set": filter.OpIsSet, "IS NOT SET": filter.OpIsNotSet,
	} {
		got, ok := filter.ParseOp(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"==", "", "like", "<>", "is"} {
		_, ok := filter.ParseOp(in)
		assert.False(t, ok, in)
	}
	assert.True(t, filter.OpMatches.Valid())
	assert.False(t, filter.Op("==").Valid())
}
