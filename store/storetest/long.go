package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testLongBounds scans with bounds and prefixes longer than MaxKeySize,
// over keys of MaxKeySize and binary keys, forwards and in reverse, in a
// View and in an Update with pending writes: every scan must end, give
// the model's answer, and leave the store usable. Callers pass cursors
// and IDs of any length as bounds, so no length may hang or crash a scan.
func testLongBounds(t *testing.T, b Backend) {
	s := open(t, b)
	limit := store.MaxKeySize
	k := strings.Repeat("k", limit)
	data := map[string]string{
		k:                                     "max",
		k[:limit-1] + "\x00":                  "max-nul",
		k[:limit-1] + "\xff":                  "max-ff",
		k[:100]:                               "short",
		"k":                                   "one",
		"l":                                   "next",
		"\x00":                                "nul",
		strings.Repeat("\xff", limit):         "ffs",
		strings.Repeat("\xff", 10):            "ff10",
		"j" + strings.Repeat("\xff", limit-1): "j-ffs",
	}
	for key, v := range data {
		put(t, s, kv{key, v})
	}
	longs := []string{
		k + "k",                               // one past the longest key
		k + strings.Repeat("\x00", 1000),      // past it, with NULs
		strings.Repeat("k", 3*limit),          // far past
		k[:limit-1] + "\xff\xff",              // just past max-ff
		strings.Repeat("\xff", limit+1),       // past every key
		"k" + strings.Repeat("\x00", 2*limit), // just past "k"
		strings.Repeat("j", limit+5),          // between j… and k
	}
	var ranges []store.Range
	for _, l := range longs {
		for _, rev := range []bool{false, true} {
			ranges = append(ranges,
				store.Range{End: []byte(l), Reverse: rev},
				store.Range{Start: []byte(l), Reverse: rev},
				store.Range{Prefix: []byte(l), Reverse: rev},
				store.Range{Prefix: []byte("k"), End: []byte(l), Reverse: rev},
				store.Range{Start: []byte("k"), End: []byte(l), Reverse: rev, KeysOnly: true},
				store.Range{Prefix: []byte(l[:limit/2]), Start: []byte(l), Reverse: rev},
			)
		}
	}
	scanAllWithin := func(tx store.Reader, r store.Range) ([]kv, error) {
		type result struct {
			kvs []kv
			err error
		}
		done := make(chan result, 1)
		go func() {
			kvs, err := scanTx(tx, r)
			done <- result{kvs, err}
		}()
		select {
		case res := <-done:
			return res.kvs, res.err
		case <-time.After(waitLimit):
			t.Fatalf("scan of %d-byte bounds (reverse %v) did not end", max(len(r.Prefix), len(r.Start), len(r.End)), r.Reverse)
			return nil, nil
		}
	}
	err := s.View(context.Background(), func(tx store.Tx) error {
		for _, r := range ranges {
			got, err := scanAllWithin(tx, r)
			require.NoError(t, err)
			assert.Equal(t, modelScan(data, r), got, "range of %d-byte bounds, reverse %v", max(len(r.Prefix), len(r.Start), len(r.End)), r.Reverse)
		}
		return nil
	})
	require.NoError(t, err)
	pending := copyMap(data)
	err = s.Update(context.Background(), func(tx store.Tx) error {
		for _, key := range []string{k[:limit-1] + "\x01", "k\x00", strings.Repeat("\xff", limit-1)} {
			require.NoError(t, tx.Set([]byte(key), []byte("new")))
			pending[key] = "new"
		}
		require.NoError(t, tx.Delete([]byte(k)))
		delete(pending, k)
		for _, r := range ranges {
			got, err := scanAllWithin(tx, r)
			require.NoError(t, err)
			assert.Equal(t, modelScan(pending, r), got, "pending writes, range of %d-byte bounds, reverse %v", max(len(r.Prefix), len(r.Start), len(r.End)), r.Reverse)
		}
		_, err := tx.Get([]byte(longs[0]))
		assert.ErrorIs(t, err, store.ErrKeyTooLarge)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, modelScan(pending, store.Range{}), scanAll(t, s, store.Range{}), "the store still works")
}

// testPanicInScan panics in the body of a scan loop, in a View and in an
// Update: the panic reaches the caller, and the store goes on working (no
// lock is left held, the Update wrote nothing).
func testPanicInScan(t *testing.T, b Backend) {
	s := open(t, b)
	put(t, s, kv{"a", "1"}, kv{"b", "2"})
	mustPanic := func(name string, fn func()) {
		t.Helper()
		defer func() {
			assert.NotNil(t, recover(), "%s: the panic reaches the caller", name)
		}()
		fn()
	}
	mustPanic("View", func() {
		_ = s.View(context.Background(), func(tx store.Tx) error {
			for range tx.Scan(store.Range{Reverse: true}) {
				panic("boom")
			}
			return nil
		})
	})
	mustPanic("Update", func() {
		_ = s.Update(context.Background(), func(tx store.Tx) error {
			if err := tx.Set([]byte("c"), []byte("3")); err != nil {
				return err
			}
			for range tx.Scan(store.Range{}) {
				panic("boom")
			}
			return nil
		})
	})
	done := make(chan []kv, 1)
	go func() {
		var out []kv
		err := s.Update(context.Background(), func(tx store.Tx) error {
			var err error
			out, err = scanTx(tx, store.Range{})
			return err
		})
		assert.NoError(t, err)
		done <- out
	}()
	select {
	case got := <-done:
		assert.Equal(t, []kv{{"a", "1"}, {"b", "2"}}, got, "nothing of the panicked Update is written")
	case <-time.After(waitLimit):
		t.Fatal("the store hangs after a panic in a scan")
	}
}
