package storetest

import (
	"bytes"
	"context"
	"sort"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testOrdering checks byte-wise key order, including binary keys and keys
// that are prefixes of each other, inserted out of order.
func testOrdering(t *testing.T, b Backend) {
	s := open(t, b)
	want := []string{
		"\x00",
		"\x00\x00",
		"\x00\x01",
		"\x01",
		"A",
		"a",
		"a\x00",
		"a\x00\x00",
		"a\x01",
		"aa",
		"ab",
		"a\xff",
		"b",
		"\x7f",
		"\x80",
		"\xfe\xff",
		"\xff",
		"\xff\x00",
		"\xff\xff",
		"\xff\xff\xff",
	}
	require.True(t, sort.SliceIsSorted(want, func(i, j int) bool {
		return bytes.Compare([]byte(want[i]), []byte(want[j])) < 0
	}), "expected keys must be sorted")

	// Insert in a scrambled but deterministic order, over two transactions.
	var first, second []kv
	for i := range want {
		k := want[(i*7+3)%len(want)]
		e := kv{k, "v" + k}
		if i%2 == 0 {
			first = append(first, e)
		} else {
			second = append(second, e)
		}
	}
	put(t, s, first...)
	put(t, s, second...)

	got := scanAll(t, s, store.Range{})
	assert.Equal(t, want, keysOf(got), "forward order")
	for _, e := range got {
		assert.Equal(t, "v"+e.K, e.V, "value of %q", e.K)
	}
	gotRev := scanAll(t, s, store.Range{Reverse: true})
	assert.Equal(t, reversed(got), gotRev, "reverse order")
	for _, k := range want {
		assertValue(t, s, k, "v"+k)
	}
}

// testEmptyValue checks that an empty or nil value is stored and is
// distinct from a missing key.
func testEmptyValue(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Set([]byte("empty"), []byte{}); err != nil {
			return err
		}
		if err := tx.Set([]byte("nil"), nil); err != nil {
			return err
		}
		// Visible as present inside the writing transaction too.
		for _, k := range []string{"empty", "nil"} {
			v, err := tx.Get([]byte(k))
			if !assert.NoError(t, err, "get %q in writer", k) {
				continue
			}
			assert.Empty(t, v, "value of %q in writer", k)
		}
		return nil
	})
	require.NoError(t, err)

	for _, k := range []string{"empty", "nil"} {
		v, err := get(t, s, k)
		if assert.NoError(t, err, "get %q", k) {
			assert.Empty(t, v, "value of %q", k)
		}
	}
	assertMissing(t, s, "missing")
	assert.Equal(t, []kv{{"empty", ""}, {"nil", ""}}, scanAll(t, s, store.Range{}))
}

// testGetMissing checks ErrNotFound for missing keys, in View and Update.
func testGetMissing(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	assertMissing(t, s, "nothing-here")
	put(t, s, kv{"a", "1"}, kv{"c", "3"})
	for _, k := range []string{"b", "a\x00", "\x00", "\xff", "aa", "c\x00"} {
		assertMissing(t, s, k)
	}
	err := s.Update(ctx, func(tx store.Tx) error {
		_, err := tx.Get([]byte("b"))
		assert.ErrorIs(t, err, store.ErrNotFound, "get in Update")
		return nil
	})
	require.NoError(t, err)
}

// testCallerOwnsBuffers checks that the store copies what it is given and
// returns slices the caller may modify.
func testCallerOwnsBuffers(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	key := []byte("key1")
	val := []byte("value1")
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Set(key, val); err != nil {
			return err
		}
		// Reuse both buffers for another entry before commit.
		copy(key, "key2")
		copy(val, "value2")
		if err := tx.Set(key, val); err != nil {
			return err
		}
		// A value read back from the transaction's own writes is a copy too.
		v, err := tx.Get([]byte("key1"))
		if err != nil {
			return err
		}
		for i := range v {
			v[i] = 'Z'
		}
		v, err = tx.Get([]byte("key1"))
		if err != nil {
			return err
		}
		assert.Equal(t, "value1", string(v), "own write after modifying a returned value")
		return nil
	})
	require.NoError(t, err)
	copy(key, "key3")
	copy(val, "value3")
	assert.Equal(t, []kv{{"key1", "value1"}, {"key2", "value2"}}, scanAll(t, s, store.Range{}))

	err = s.Batch(ctx, func(w store.Writer) error {
		k := []byte("key4")
		v := []byte("value4")
		if err := w.Set(k, v); err != nil {
			return err
		}
		copy(k, "key5")
		copy(v, "value5")
		return w.Set(k, v)
	})
	require.NoError(t, err)
	assertValue(t, s, "key4", "value4")
	assertValue(t, s, "key5", "value5")

	// Modifying a returned value must not change the stored one.
	v, err := get(t, s, "key1")
	require.NoError(t, err)
	for i := range v {
		v[i] = 'X'
	}
	err = s.View(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{Prefix: []byte("key1")}) {
			if err != nil {
				return err
			}
			for i := range e.Value {
				e.Value[i] = 'Y'
			}
		}
		return nil
	})
	require.NoError(t, err)
	assertValue(t, s, "key1", "value1")
}

// testDelete checks deletes of present and missing keys, committed and
// inside the deleting transaction.
func testDelete(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	put(t, s, kv{"a", "1"}, kv{"b", "2"}, kv{"c", "3"}, kv{"d", "4"})

	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete([]byte("b")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("zzz-missing")); err != nil {
			return err
		}
		_, err := tx.Get([]byte("b"))
		assert.ErrorIs(t, err, store.ErrNotFound, "deleted key inside its transaction")
		got, err := scanTx(tx, store.Range{})
		assert.NoError(t, err)
		assert.Equal(t, []kv{{"a", "1"}, {"c", "3"}, {"d", "4"}}, got, "scan inside deleting transaction")
		return nil
	})
	require.NoError(t, err)

	assertMissing(t, s, "b")
	assertMissing(t, s, "zzz-missing")
	assert.Equal(t, []kv{{"a", "1"}, {"c", "3"}, {"d", "4"}}, scanAll(t, s, store.Range{}))
	assert.Equal(t, []kv{{"d", "4"}, {"c", "3"}, {"a", "1"}}, scanAll(t, s, store.Range{Reverse: true}))

	// Delete the first and last keys, and delete a key twice.
	err = s.Update(ctx, func(tx store.Tx) error {
		for _, k := range []string{"a", "d", "d"} {
			if err := tx.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []kv{{"c", "3"}}, scanAll(t, s, store.Range{}))
	assert.Equal(t, []kv{{"c", "3"}}, scanAll(t, s, store.Range{Reverse: true}))

	// Deletes through Batch, including a missing key.
	err = s.Batch(ctx, func(w store.Writer) error {
		if err := w.Delete([]byte("c")); err != nil {
			return err
		}
		return w.Delete([]byte("never-there"))
	})
	require.NoError(t, err)
	assertMissing(t, s, "c")
	assert.Empty(t, scanAll(t, s, store.Range{}))
}
