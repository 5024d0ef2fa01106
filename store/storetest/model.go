package storetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// modelKeys is the small key space of the model test: binary bytes and
// keys that are prefixes of each other, so that ranges and merges of
// pending writes hit every edge.
var modelKeys = []string{
	"\x00", "\x00\x00", "a", "a\x00", "a\xff", "aa", "ab", "b", "b\x00", "ba", "\xff", "\xff\x00", "\xff\xff",
}

// modelBounds are the prefixes and bounds the model test draws from.
var modelBounds = []string{"", "\x00", "a", "a\x00", "aa", "ab\x00", "b", "c", "\xff", "\xff\xff", "\xff\xff\xff"}

// modelRange draws a random Range.
func modelRange(rng *rand.Rand) store.Range {
	pick := func() []byte {
		if s := modelBounds[rng.IntN(len(modelBounds))]; s != "" {
			return []byte(s)
		}
		return nil
	}
	r := store.Range{Reverse: rng.IntN(2) == 0, KeysOnly: rng.IntN(4) == 0}
	if rng.IntN(2) == 0 {
		r.Prefix = pick()
	}
	if rng.IntN(2) == 0 {
		r.Start = pick()
	}
	if rng.IntN(2) == 0 {
		r.End = pick()
	}
	return r
}

// modelScan is the reference result of r over data.
func modelScan(data map[string]string, r store.Range) []kv {
	out := []kv{}
	for k, v := range data {
		if !strings.HasPrefix(k, string(r.Prefix)) ||
			(len(r.Start) > 0 && k < string(r.Start)) ||
			(len(r.End) > 0 && k >= string(r.End)) {
			continue
		}
		if r.KeysOnly {
			v = ""
		}
		out = append(out, kv{k, v})
	}
	slices.SortFunc(out, func(a, b kv) int { return strings.Compare(a.K, b.K) })
	if r.Reverse {
		slices.Reverse(out)
	}
	return out
}

// testModel runs a deterministic random sequence of transactions of sets,
// deletes, gets and scans, and compares every read with a map.
func testModel(t *testing.T, b Backend) {
	const txns = 150
	s := open(t, b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	committed := map[string]string{}
	failures := 0
	for n := range txns {
		view := copyMap(committed)
		abort := rng.IntN(5) == 0
		ops := 1 + rng.IntN(12)
		err := s.Update(ctx, func(tx store.Tx) error {
			for range ops {
				k := modelKeys[rng.IntN(len(modelKeys))]
				switch op := rng.IntN(10); {
				case op < 4:
					v := strings.Repeat("v", rng.IntN(3)) + k
					if err := tx.Set([]byte(k), []byte(v)); err != nil {
						return err
					}
					view[k] = v
				case op < 6:
					if err := tx.Delete([]byte(k)); err != nil {
						return err
					}
					delete(view, k)
				case op < 8:
					got, err := tx.Get([]byte(k))
					want, ok := view[k]
					if ok {
						if assert.NoError(t, err, "txn %d: get %q", n, k) {
							assert.Equal(t, want, string(got), "txn %d: get %q", n, k)
						}
					} else {
						assert.ErrorIs(t, err, store.ErrNotFound, "txn %d: get %q", n, k)
					}
				default:
					r := modelRange(rng)
					got, err := scanTx(tx, r)
					require.NoError(t, err)
					if !assert.Equal(t, modelScan(view, r), got, "txn %d: scan %+v", n, r) {
						failures++
					}
				}
			}
			if abort {
				return errSentinel
			}
			return nil
		})
		if abort {
			require.True(t, errors.Is(err, errSentinel), "txn %d: %v", n, err)
		} else {
			require.NoError(t, err, "txn %d", n)
			committed = view
		}
		r := modelRange(rng)
		got := scanAll(t, s, r)
		if !assert.Equal(t, modelScan(committed, r), got, "after txn %d: scan %+v", n, r) {
			failures++
		}
		if failures > 3 {
			t.Fatal("stopping after repeated mismatches")
		}
	}
	assert.Equal(t, modelScan(committed, store.Range{}), scanAll(t, s, store.Range{}), "final content")
}

// copyMap returns a copy of m.
func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
