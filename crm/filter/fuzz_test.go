package filter_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm/filter"
)

// fuzzRecord gives the fuzzer's trees something of every kind to
// evaluate against.
var fuzzRecord = filter.MapRecord{
	"a": "text", "b": 1.5, "c": true, "d": time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC),
	"e": calDate{2024, 5, 1}, "f": []string{"x", "y"}, "lifecycle": "customer", "tags": []string{"vip"},
	"amount": int64(5000), "country": "DE",
}

// FuzzParse checks that Parse never panics, that every error is a
// *SyntaxError inside the input, and that every tree it returns is valid
// and survives the text and the JSON round trip unchanged.
func FuzzParse(f *testing.F) {
	for _, src := range realistic {
		f.Add(src)
	}
	for _, src := range []string{
		``, `a = `, `country IN ("DE",)`, `a == 1`, `(a = 1`, `a = "\ud83d\ude00"`, `a = "\q"`,
		`a = 2024-02-30`, `t = 2024-05-01T10:00:00.123+02:00`, `n = -1e-7`, `n = 1e21`, `x.y.z IS NOT SET`,
		`NOT NOT (a = 1 OR b = 2) AND c = 3`, `a = now() - 10000w`, `a = now() - 10001w`, "a = \"\xff\"",
	} {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := filter.Parse(src)
		if err != nil {
			require.Nil(t, e)
			var se *filter.SyntaxError
			require.True(t, errors.As(err, &se), "error %v is not a *SyntaxError", err)
			require.GreaterOrEqual(t, se.Line, 1)
			require.GreaterOrEqual(t, se.Column, 1)
			require.LessOrEqual(t, se.Offset, len(src))
			require.NotEmpty(t, se.Expected)
			require.NotEmpty(t, se.Found)
			return
		}
		checkRoundTrips(t, e)
	})
}

// FuzzJSON does for ParseJSON what FuzzParse does for Parse.
func FuzzJSON(f *testing.F) {
	for _, src := range realistic {
		e, err := filter.Parse(src)
		require.NoError(f, err)
		j, err := filter.ToJSON(e)
		require.NoError(f, err)
		f.Add(string(j))
	}
	for _, src := range []string{
		`{"and":[]}`, `{"and":[{"field":"a","op":"is_set"}]}`, `{"field":"a","op":"IN","values":[1,null,"x",true]}`,
		`{"field":"a","op":"=","value":{"relative":"now( - 5d"}}`, `{"not":{"not":{"field":"a","op":"<","value":{"date":"2024-05-01"}}}}`,
		`[`, `null`, `{"field":"a","op":"=","value":1e999}`,
	} {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := filter.ParseJSON([]byte(src))
		if err != nil {
			require.Nil(t, e)
			var je *filter.JSONError
			require.True(t, errors.As(err, &je), "error %v is not a *JSONError", err)
			return
		}
		checkRoundTrips(t, e)
	})
}

// checkRoundTrips asserts what must hold for every tree Parse or
// ParseJSON returns.
func checkRoundTrips(t *testing.T, e filter.Expr) {
	require.NoError(t, filter.Check(e, nil), "parsed trees are valid")
	text := filter.Format(e)
	back, err := filter.Parse(text)
	require.NoError(t, err, "Format output %q does not parse", text)
	require.True(t, filter.Equal(e, back), "text round trip: %q gave %q", text, filter.Format(back))
	require.Equal(t, text, filter.Format(back), "canonical text is a fixed point")
	j, err := filter.ToJSON(e)
	require.NoError(t, err)
	fromJSON, err := filter.ParseJSON(j)
	require.NoError(t, err, "ToJSON output %s does not parse", j)
	require.True(t, filter.Equal(e, fromJSON), "JSON round trip: %s gave %q", j, filter.Format(fromJSON))
	// Evaluation may fail on type mismatches, but never panics, and
	// resolving relative times first changes nothing.
	m1, err1 := filter.Eval(e, fuzzRecord, evalNow)
	m2, err2 := filter.Eval(filter.Resolve(e, evalNow), fuzzRecord, evalNow.Add(time.Hour))
	require.Equal(t, err1 == nil, err2 == nil)
	require.Equal(t, m1, m2)
}

// TestRandomTreesRoundTrip generates random trees, including shapes,
// strings and numbers people rarely type, and checks that the text and
// JSON forms give them back unchanged.
func TestRandomTreesRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		e := randomExpr(r, 4)
		require.NoError(t, filter.Check(e, nil), "tree %d: %s", i, filter.Format(e))
		text := filter.Format(e)
		back, err := filter.Parse(text)
		require.NoError(t, err, "tree %d: %s", i, text)
		requireEqual(t, e, back, "tree %d", i)
		j, err := filter.ToJSON(e)
		require.NoError(t, err)
		fromJSON, err := filter.ParseJSON(j)
		require.NoError(t, err, "tree %d: %s", i, j)
		requireEqual(t, e, fromJSON, "tree %d: %s", i, j)
	}
}

var randomFields = []string{"a", "first_name", "address.country", "custom.score", "custom.set", "in.x", "_x", "A_1.b_2.C3", "now", "today"}

var allOps = []filter.Op{filter.OpEq, filter.OpNe, filter.OpLt, filter.OpLe, filter.OpGt, filter.OpGe, filter.OpIn,
	filter.OpNotIn, filter.OpBetween, filter.OpContains, filter.OpNotContains, filter.OpStartsWith, filter.OpMatches,
	filter.OpIsSet, filter.OpIsNotSet}

func randomExpr(r *rand.Rand, depth int) filter.Expr {
	if depth <= 0 || r.IntN(3) == 0 {
		return randomCond(r)
	}
	switch r.IntN(3) {
	case 0, 1:
		list := make([]filter.Expr, 2+r.IntN(3))
		for i := range list {
			list[i] = randomExpr(r, depth-1)
		}
		if r.IntN(2) == 0 {
			return &filter.AndExpr{Exprs: list}
		}
		return &filter.OrExpr{Exprs: list}
	}
	return &filter.NotExpr{Expr: randomExpr(r, depth-1)}
}

func randomCond(r *rand.Rand) *filter.Cond {
	c := &filter.Cond{Field: randomFields[r.IntN(len(randomFields))], Op: allOps[r.IntN(len(allOps))]}
	nullOK := c.Op == filter.OpEq || c.Op == filter.OpNe || c.Op == filter.OpIn || c.Op == filter.OpNotIn
	n := 1
	switch c.Op {
	case filter.OpIsSet, filter.OpIsNotSet:
		n = 0
	case filter.OpBetween:
		n = 2
	case filter.OpIn, filter.OpNotIn:
		n = 1 + r.IntN(4)
	}
	for range n {
		c.Values = append(c.Values, randomValue(r, nullOK))
	}
	return c
}

var runePool = []rune{'a', 'Z', ' ', '"', '\\', '/', '\n', '\t', '\r', '\b', '\f', 0, 0x1f, 0x7f, 'é', 'ß', '\u212a', '\u2028', '😀', '日', '\uFFFD', 0x10FFFF, '*', '?'}

func randomValue(r *rand.Rand, nullOK bool) filter.Value {
	switch r.IntN(6) {
	case 0:
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteRune(runePool[r.IntN(len(runePool))])
		}
		return filter.StringValue(b.String())
	case 1:
		var f float64
		switch r.IntN(5) {
		case 0:
			f = float64(r.IntN(2000) - 1000)
		case 1:
			f = r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
		case 2:
			f = math.Float64frombits(r.Uint64())
			if math.IsNaN(f) || math.IsInf(f, 0) {
				f = math.MaxFloat64
			}
		case 3:
			f = math.Copysign(0, -1)
		default:
			f = math.SmallestNonzeroFloat64
		}
		return filter.NumberValue(f)
	case 2:
		return filter.BoolValue(r.IntN(2) == 0)
	case 3:
		const lo, hi = -62167219200, 253402300799 // 0000-01-01 to 9999-12-31T23:59:59, UTC
		t := time.Unix(lo+r.Int64N(hi-lo+1), 0).UTC()
		switch r.IntN(3) {
		case 0:
			t = t.Truncate(24 * time.Hour) // a date
		case 1:
			t = t.Add(time.Duration(r.IntN(1e9)))
		}
		return filter.TimeValue(t)
	case 4:
		a := filter.Anchor(1 + r.IntN(6))
		var d time.Duration
		switch r.IntN(3) {
		case 0:
			d = time.Duration(r.Int64N(int64(filter.MaxOffset/time.Second))) * time.Second
		case 1:
			d = time.Duration(r.IntN(100)) * filter.Week
		}
		if r.IntN(2) == 0 {
			d = -d
		}
		return filter.RelativeValue(a, d)
	}
	if nullOK {
		return filter.NullValue()
	}
	return filter.StringValue("")
}
