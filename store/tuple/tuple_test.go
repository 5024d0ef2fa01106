package tuple_test

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store/tuple"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 5, time.UTC)
	k := tuple.Key{}.Byte('t').Str("a\x00b").Uint(math.MaxUint64).Int(-7).Time(at).Str("")
	r := tuple.NewReader(k)
	assert.Equal(t, byte('t'), r.Byte())
	assert.Equal(t, "a\x00b", r.Str())
	assert.Equal(t, uint64(math.MaxUint64), r.Uint())
	assert.Equal(t, int64(-7), r.Int())
	assert.Equal(t, at, r.Time())
	assert.Equal(t, "", r.Str())
	require.NoError(t, r.Err())
	assert.Empty(t, r.Rest())
}

func TestByteOrderIsTupleOrder(t *testing.T) {
	strs := []string{"", "\x00", "\x00\x00", "\x00a", "a", "a\x00", "a\x00b", "ab", "b"}
	ints := []int64{math.MinInt64, -1 << 40, -1, 0, 1, 1 << 40, math.MaxInt64}
	var keys []tuple.Key
	for _, s := range strs {
		for _, n := range ints {
			keys = append(keys, tuple.Key{}.Str(s).Int(n))
		}
	}
	// keys were built in tuple order: their bytes must sort the same way.
	assert.True(t, slices.IsSortedFunc(keys, func(a, b tuple.Key) int { return bytes.Compare(a, b) }))
	// No string is a prefix of a different one.
	assert.False(t, bytes.HasPrefix(tuple.Key{}.Str("ab"), tuple.Key{}.Str("a")))
}

func TestMalformedSticks(t *testing.T) {
	r := tuple.NewReader(tuple.Key{}.Str("x")[:1]) // unterminated
	assert.Equal(t, "", r.Str())
	assert.True(t, errors.Is(r.Err(), tuple.ErrMalformed))
	assert.Equal(t, uint64(0), r.Uint(), "reads after a failure return zero")
	r = tuple.NewReader([]byte{1, 2})
	r.Uint()
	assert.ErrorIs(t, r.Err(), tuple.ErrMalformed)
	r = tuple.NewReader([]byte{'a', 0, 7})
	r.Str()
	assert.ErrorIs(t, r.Err(), tuple.ErrMalformed, "0x00 followed by neither 0xff nor 0x01")
}
