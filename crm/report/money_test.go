package report

import (
	"math"
	"testing"
)

func TestSumsCatchEveryOverflow(t *testing.T) {
	cases := []struct {
		name string
		do   func(s *sums) int64
		want int64 // when it fits
		over bool
	}{
		{"add fits", func(s *sums) int64 { x := int64(math.MaxInt64 - 10); s.add(&x, 10); return x }, math.MaxInt64, false},
		{"add over", func(s *sums) int64 { x := int64(math.MaxInt64 - 10); s.add(&x, 11); return x }, 0, true},
		{"add under", func(s *sums) int64 { x := int64(math.MinInt64 + 1); s.add(&x, -2); return x }, 0, true},
		{"sub fits", func(s *sums) int64 { return s.sub(-1, math.MaxInt64) }, math.MinInt64, false},
		{"sub over", func(s *sums) int64 { return s.sub(math.MaxInt64, -1) }, 0, true},
		{"sub under", func(s *sums) int64 { return s.sub(math.MinInt64, 1) }, 0, true},
		{"mul fits", func(s *sums) int64 { return s.mul(1_000_000_000_000_000, 100) }, 100_000_000_000_000_000, false},
		{"mul over", func(s *sums) int64 { return s.mul(math.MaxInt64, 10) }, 0, true},
		{"mul negative fits", func(s *sums) int64 { return s.mul(math.MinInt64, 1) }, math.MinInt64, false},
		{"mul negative over", func(s *sums) int64 { return s.mul(math.MinInt64, -1) }, 0, true},
		{"mul by zero", func(s *sums) int64 { return s.mul(math.MaxInt64, 0) }, 0, false},
	}
	for _, tc := range cases {
		var s sums
		got := tc.do(&s)
		if (s.err() != nil) != tc.over {
			t.Errorf("%s: overflow %v, want %v", tc.name, s.err() != nil, tc.over)
		}
		if !tc.over && got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}
