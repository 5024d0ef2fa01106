package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scanKeys is the data set of the scan tests, in order.
var scanKeys = []string{
	"a", "a/1", "a/2", "a/3", "b", "b/1", "c", "\xff", "\xff\x00", "\xff\xff",
}

// putScanKeys stores scanKeys with value "v:"+key.
func putScanKeys(t testing.TB, s store.Store) {
	t.Helper()
	kvs := make([]kv, 0, len(scanKeys))
	for i := range scanKeys {
		k := scanKeys[(i*3+1)%len(scanKeys)]
		kvs = append(kvs, kv{k, "v:" + k})
	}
	put(t, s, kvs...)
}

// scanCases are ranges over scanKeys with their forward results.
var scanCases = []struct {
	name string
	r    store.Range
	want []string
}{
	{"all", store.Range{}, scanKeys},
	{"prefix", store.Range{Prefix: []byte("a/")}, []string{"a/1", "a/2", "a/3"}},
	{"prefix that is a key", store.Range{Prefix: []byte("a")}, []string{"a", "a/1", "a/2", "a/3"}},
	{"prefix matching nothing", store.Range{Prefix: []byte("zz")}, nil},
	{"prefix 0xff", store.Range{Prefix: []byte("\xff")}, []string{"\xff", "\xff\x00", "\xff\xff"}},
	{"prefix 0xff 0xff", store.Range{Prefix: []byte("\xff\xff")}, []string{"\xff\xff"}},
	{"start", store.Range{Start: []byte("a/2")}, []string{"a/2", "a/3", "b", "b/1", "c", "\xff", "\xff\x00", "\xff\xff"}},
	{"start between keys", store.Range{Start: []byte("b/0")}, []string{"b/1", "c", "\xff", "\xff\x00", "\xff\xff"}},
	{"start binary", store.Range{Start: []byte("\xff\x00")}, []string{"\xff\x00", "\xff\xff"}},
	{"start after all", store.Range{Start: []byte("\xff\xff\x00")}, nil},
	{"end", store.Range{End: []byte("b")}, []string{"a", "a/1", "a/2", "a/3"}},
	{"end between keys", store.Range{End: []byte("a/21")}, []string{"a", "a/1", "a/2"}},
	{"end before all", store.Range{End: []byte("a")}, nil},
	{"start and end", store.Range{Start: []byte("a/2"), End: []byte("b/1")}, []string{"a/2", "a/3", "b"}},
	{"start equals end", store.Range{Start: []byte("b"), End: []byte("b")}, nil},
	{"start after end", store.Range{Start: []byte("c"), End: []byte("b")}, nil},
	{"prefix and start inside", store.Range{Prefix: []byte("a/"), Start: []byte("a/2")}, []string{"a/2", "a/3"}},
	{"prefix and start before", store.Range{Prefix: []byte("a/"), Start: []byte("0")}, []string{"a/1", "a/2", "a/3"}},
	{"prefix and start after", store.Range{Prefix: []byte("a/"), Start: []byte("b")}, nil},
	{"prefix and end inside", store.Range{Prefix: []byte("a/"), End: []byte("a/3")}, []string{"a/1", "a/2"}},
	{"prefix and end after", store.Range{Prefix: []byte("a/"), End: []byte("z")}, []string{"a/1", "a/2", "a/3"}},
	{"prefix and end before", store.Range{Prefix: []byte("b"), End: []byte("a/9")}, nil},
	{"prefix start and end", store.Range{Prefix: []byte("a/"), Start: []byte("a/1\x00"), End: []byte("a/3")}, []string{"a/2"}},
	{"prefix 0xff and start", store.Range{Prefix: []byte("\xff"), Start: []byte("\xff\x01")}, []string{"\xff\xff"}},
	{"prefix 0xff and end", store.Range{Prefix: []byte("\xff"), End: []byte("\xff\xff")}, []string{"\xff", "\xff\x00"}},
}

// testScanRange checks prefixes, bounds, their intersection, reverse
// scans and KeysOnly scans, against hand-written expectations.
func testScanRange(t *testing.T, b Backend) {
	s := open(t, b)
	putScanKeys(t, s)
	for _, tc := range scanCases {
		want := make([]kv, 0, len(tc.want))
		for _, k := range tc.want {
			want = append(want, kv{k, "v:" + k})
		}
		for _, mode := range []struct {
			name              string
			reverse, keysOnly bool
		}{
			{"forward", false, false},
			{"reverse", true, false},
			{"forward keys only", false, true},
			{"reverse keys only", true, true},
		} {
			t.Run(tc.name+"/"+mode.name, func(t *testing.T) {
				r := tc.r
				r.Reverse = mode.reverse
				r.KeysOnly = mode.keysOnly
				exp := want
				if mode.reverse {
					exp = reversed(want)
				}
				got := []kv{}
				err := s.View(context.Background(), func(tx store.Tx) error {
					for e, err := range tx.Scan(r) {
						if err != nil {
							return err
						}
						if mode.keysOnly {
							assert.Nil(t, e.Value, "KeysOnly value of %q", e.Key)
						}
						got = append(got, kv{string(e.Key), string(e.Value)})
					}
					return nil
				})
				require.NoError(t, err)
				if mode.keysOnly {
					assert.Equal(t, keysOf(exp), keysOf(got))
				} else {
					assert.Equal(t, exp, got)
				}
			})
		}
	}
}

// testScanBreak checks that breaking out of a scan stops it and leaves the
// transaction usable.
func testScanBreak(t *testing.T, b Backend) {
	s := open(t, b)
	putScanKeys(t, s)
	for _, reverse := range []bool{false, true} {
		t.Run(fmt.Sprintf("reverse=%v", reverse), func(t *testing.T) {
			for _, update := range []bool{false, true} {
				run := s.View
				if update {
					run = s.Update
				}
				var got []string
				err := run(context.Background(), func(tx store.Tx) error {
					n := 0
					for e, err := range tx.Scan(store.Range{Reverse: reverse}) {
						if err != nil {
							return err
						}
						got = append(got, string(e.Key))
						n++
						if n == 2 {
							break
						}
					}
					// The transaction stays usable after the break.
					v, err := tx.Get([]byte("b"))
					if err != nil {
						return err
					}
					assert.Equal(t, "v:b", string(v))
					all, err := scanTx(tx, store.Range{Reverse: reverse})
					assert.Len(t, all, len(scanKeys), "full scan after break")
					return err
				})
				require.NoError(t, err)
				want := []string{"a", "a/1"}
				if reverse {
					want = []string{"\xff\xff", "\xff\x00"}
				}
				assert.Equal(t, want, got, "update=%v", update)
			}
		})
	}
}

// testScanNested checks a scan run inside the loop of another scan, in
// View and in Update (with pending writes).
func testScanNested(t *testing.T, b Backend) {
	s := open(t, b)
	putScanKeys(t, s)
	check := func(t *testing.T, tx store.Tx, keys []string) {
		var pairs []string
		for outer, err := range tx.Scan(store.Range{Prefix: []byte("a")}) {
			require.NoError(t, err)
			ok := string(outer.Key)
			for inner, err := range tx.Scan(store.Range{Prefix: []byte("b"), Reverse: true}) {
				require.NoError(t, err)
				pairs = append(pairs, ok+"|"+string(inner.Key))
			}
			// The outer entry is still intact after the inner scan ran.
			assert.Equal(t, "v:"+ok, string(outer.Value), "outer entry after inner scan")
		}
		var want []string
		for _, a := range keys {
			if a[0] != 'a' {
				continue
			}
			for i := len(keys) - 1; i >= 0; i-- {
				if keys[i][0] == 'b' {
					want = append(want, a+"|"+keys[i])
				}
			}
		}
		assert.Equal(t, want, pairs)
	}
	t.Run("View", func(t *testing.T) {
		err := s.View(context.Background(), func(tx store.Tx) error {
			check(t, tx, scanKeys)
			return nil
		})
		require.NoError(t, err)
	})
	t.Run("Update", func(t *testing.T) {
		err := s.Update(context.Background(), func(tx store.Tx) error {
			require.NoError(t, tx.Set([]byte("a/0"), []byte("v:a/0")))
			require.NoError(t, tx.Set([]byte("b/2"), []byte("v:b/2")))
			require.NoError(t, tx.Delete([]byte("a/2")))
			check(t, tx, []string{"a", "a/0", "a/1", "a/3", "b", "b/1", "b/2"})
			return errSentinel
		})
		require.ErrorIs(t, err, errSentinel)
	})
}

// testGetInsideScan checks Get of each key while a scan is running.
func testGetInsideScan(t *testing.T, b Backend) {
	s := open(t, b)
	putScanKeys(t, s)
	for _, update := range []bool{false, true} {
		run := s.View
		if update {
			run = s.Update
		}
		n := 0
		err := run(context.Background(), func(tx store.Tx) error {
			for e, err := range tx.Scan(store.Range{}) {
				if err != nil {
					return err
				}
				v, err := tx.Get(e.Key)
				if err != nil {
					return err
				}
				assert.Equal(t, string(e.Value), string(v), "get %q inside scan", e.Key)
				_, err = tx.Get([]byte("missing"))
				assert.ErrorIs(t, err, store.ErrNotFound)
				n++
			}
			return nil
		})
		require.NoError(t, err, "update=%v", update)
		assert.Equal(t, len(scanKeys), n, "update=%v", update)
	}
}
