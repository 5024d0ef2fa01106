package report

import "math/bits"

// sums adds amounts with overflow checks. Its zero value is ready; err
// reports whether any addition or product overflowed.
type sums struct{ overflow bool }

// add adds v to *dst.
func (s *sums) add(dst *int64, v int64) {
	r := *dst + v
	if (v > 0 && r < *dst) || (v < 0 && r > *dst) {
		s.overflow = true
	}
	*dst = r
}

// sub returns a - b.
func (s *sums) sub(a, b int64) int64 {
	r := a - b
	if (b > 0 && r > a) || (b < 0 && r < a) {
		s.overflow = true
	}
	return r
}

// mul returns a × b, computed in 128 bits.
func (s *sums) mul(a, b int64) int64 {
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(absU(a), absU(b))
	if hi != 0 || (!neg && lo > 1<<63-1) || (neg && lo > 1<<63) {
		s.overflow = true
		return 0
	}
	if neg {
		return -int64(lo)
	}
	return int64(lo)
}

func absU(a int64) uint64 {
	if a < 0 {
		return uint64(-a)
	}
	return uint64(a)
}

func (s *sums) err() error {
	if s.overflow {
		return ErrOverflow
	}
	return nil
}
