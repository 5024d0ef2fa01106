package storetest

import (
	"bytes"
	"context"
	"iter"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testReadOnly checks that Set and Delete inside View fail with
// ErrReadOnly and change nothing.
func testReadOnly(t *testing.T, b Backend) {
	s := open(t, b)
	put(t, s, kv{"a", "1"})
	err := s.View(context.Background(), func(tx store.Tx) error {
		assert.ErrorIs(t, tx.Set([]byte("a"), []byte("2")), store.ErrReadOnly, "Set in View")
		assert.ErrorIs(t, tx.Set([]byte("b"), []byte("2")), store.ErrReadOnly, "Set in View")
		assert.ErrorIs(t, tx.Delete([]byte("a")), store.ErrReadOnly, "Delete in View")
		v, err := tx.Get([]byte("a"))
		assert.NoError(t, err)
		assert.Equal(t, "1", string(v))
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []kv{{"a", "1"}}, scanAll(t, s, store.Range{}))
}

// testTxnDone checks that a transaction used after its function returned
// fails with ErrTxnDone.
func testTxnDone(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	put(t, s, kv{"a", "1"}, kv{"b", "2"})

	// checkScan ranges over a scan obtained inside the transaction.
	checkScan := func(t *testing.T, seq iter.Seq2[store.Entry, error]) {
		require.NotNil(t, seq)
		var entries, errs int
		for _, err := range seq {
			if err != nil {
				errs++
				assert.ErrorIs(t, err, store.ErrTxnDone)
				continue
			}
			entries++
		}
		assert.Equal(t, 0, entries, "entries yielded after the transaction finished")
		assert.Equal(t, 1, errs, "errors yielded")
	}

	t.Run("View", func(t *testing.T) {
		var leaked store.Tx
		var seq iter.Seq2[store.Entry, error]
		require.NoError(t, s.View(ctx, func(tx store.Tx) error {
			leaked = tx
			seq = tx.Scan(store.Range{})
			return nil
		}))
		_, err := leaked.Get([]byte("a"))
		assert.ErrorIs(t, err, store.ErrTxnDone, "Get")
		checkScan(t, seq)
	})
	t.Run("Update", func(t *testing.T) {
		var leaked store.Tx
		var seq iter.Seq2[store.Entry, error]
		require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
			leaked = tx
			seq = tx.Scan(store.Range{})
			return tx.Set([]byte("c"), []byte("3"))
		}))
		_, err := leaked.Get([]byte("a"))
		assert.ErrorIs(t, err, store.ErrTxnDone, "Get")
		assert.ErrorIs(t, leaked.Set([]byte("d"), []byte("4")), store.ErrTxnDone, "Set")
		assert.ErrorIs(t, leaked.Delete([]byte("a")), store.ErrTxnDone, "Delete")
		checkScan(t, seq)
	})
	t.Run("failed Update", func(t *testing.T) {
		var leaked store.Tx
		err := s.Update(ctx, func(tx store.Tx) error {
			leaked = tx
			return errSentinel
		})
		require.ErrorIs(t, err, errSentinel)
		assert.ErrorIs(t, leaked.Set([]byte("e"), []byte("5")), store.ErrTxnDone, "Set")
	})
	assert.Equal(t, []kv{{"a", "1"}, {"b", "2"}, {"c", "3"}}, scanAll(t, s, store.Range{}))
}

// testKeyValidation checks the key and value limits of the contract, for
// Set in Update and in Batch, and for Get and Delete.
func testKeyValidation(t *testing.T, b Backend) {
	maxKey := bytes.Repeat([]byte{'k'}, store.MaxKeySize)
	longKey := bytes.Repeat([]byte{'k'}, store.MaxKeySize+1)
	maxVal := make([]byte, store.MaxValueSize)
	for i := range maxVal {
		maxVal[i] = byte(i * 7)
	}
	longVal := make([]byte, store.MaxValueSize+1)

	cases := []struct {
		name       string
		key, value []byte
		wantErr    error // nil: accepted and read back
	}{
		{"nil key", nil, []byte("v"), store.ErrInvalidKey},
		{"empty key", []byte{}, []byte("v"), store.ErrInvalidKey},
		{"key of MaxKeySize", maxKey, []byte("v"), nil},
		{"key of MaxKeySize+1", longKey, []byte("v"), store.ErrKeyTooLarge},
		{"value of MaxValueSize", []byte("big"), maxVal, nil},
		{"value of MaxValueSize+1", []byte("big"), longVal, store.ErrValueTooLarge},
	}
	writers := []struct {
		name  string
		write func(s store.Store, key, value []byte) error
	}{
		{"Update", func(s store.Store, key, value []byte) error {
			return s.Update(context.Background(), func(tx store.Tx) error {
				if err := tx.Set([]byte("witness"), []byte("w")); err != nil {
					return err
				}
				return tx.Set(key, value)
			})
		}},
		{"Batch", func(s store.Store, key, value []byte) error {
			return s.Batch(context.Background(), func(w store.Writer) error {
				return w.Set(key, value)
			})
		}},
	}
	for _, w := range writers {
		for _, tc := range cases {
			t.Run(w.name+"/"+tc.name, func(t *testing.T) {
				s := open(t, b)
				err := w.write(s, tc.key, tc.value)
				if tc.wantErr != nil {
					assert.ErrorIs(t, err, tc.wantErr)
					assert.Empty(t, scanAll(t, s, store.Range{KeysOnly: true}), "nothing written")
					return
				}
				require.NoError(t, err)
				v, err := get(t, s, string(tc.key))
				require.NoError(t, err)
				assert.True(t, bytes.Equal(tc.value, v), "value read back: %d bytes, want %d", len(v), len(tc.value))
				got := scanAll(t, s, store.Range{Prefix: tc.key, KeysOnly: true})
				if assert.Len(t, got, 1) {
					assert.True(t, got[0].K == string(tc.key), "scanned key of %d bytes", len(got[0].K))
				}
			})
		}
	}

	t.Run("Get and Delete", func(t *testing.T) {
		s := open(t, b)
		put(t, s, kv{"a", "1"})
		err := s.Update(context.Background(), func(tx store.Tx) error {
			for _, key := range [][]byte{nil, {}} {
				_, err := tx.Get(key)
				assert.ErrorIs(t, err, store.ErrInvalidKey, "Get(%q)", key)
				assert.ErrorIs(t, tx.Delete(key), store.ErrInvalidKey, "Delete(%q)", key)
			}
			return nil
		})
		require.NoError(t, err)
		err = s.View(context.Background(), func(tx store.Tx) error {
			_, err := tx.Get([]byte{})
			assert.ErrorIs(t, err, store.ErrInvalidKey, "Get in View")
			return nil
		})
		require.NoError(t, err)
		err = s.Batch(context.Background(), func(w store.Writer) error {
			assert.ErrorIs(t, w.Delete(nil), store.ErrInvalidKey, "Delete in Batch")
			return nil
		})
		require.NoError(t, err)
		assert.Equal(t, []kv{{"a", "1"}}, scanAll(t, s, store.Range{}))
	})
}

// testContextCancelled checks that cancelled contexts stop View, Update,
// Batch and scans, and that nothing of a cancelled Update is written.
func testContextCancelled(t *testing.T, b Backend) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	t.Run("before start", func(t *testing.T) {
		s := open(t, b)
		ran := false
		err := s.View(cancelled, func(store.Tx) error { ran = true; return nil })
		assert.ErrorIs(t, err, context.Canceled, "View")
		err = s.Update(cancelled, func(tx store.Tx) error { ran = true; return tx.Set([]byte("u"), []byte("1")) })
		assert.ErrorIs(t, err, context.Canceled, "Update")
		err = s.Batch(cancelled, func(w store.Writer) error { ran = true; return w.Set([]byte("b"), []byte("1")) })
		assert.ErrorIs(t, err, context.Canceled, "Batch")
		assert.False(t, ran, "fn ran with a cancelled context")
		assert.Empty(t, scanAll(t, s, store.Range{}), "nothing written")
	})

	t.Run("during Update", func(t *testing.T) {
		s := open(t, b)
		put(t, s, kv{"a", "1"})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Set([]byte("a"), []byte("2")); err != nil {
				return err
			}
			if err := tx.Set([]byte("b"), []byte("2")); err != nil {
				return err
			}
			cancel()
			return nil
		})
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, []kv{{"a", "1"}}, scanAll(t, s, store.Range{}), "not committed")
	})

	t.Run("during Scan", func(t *testing.T) {
		const total = 3000
		s := open(t, b)
		err := s.Batch(context.Background(), func(w store.Writer) error {
			for i := range total {
				if err := w.Set(seqKey("s/", i), []byte("v")); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
		for _, update := range []bool{false, true} {
			ctx, cancel := context.WithCancel(context.Background())
			run := s.View
			if update {
				run = s.Update
			}
			n, errs := 0, 0
			err := run(ctx, func(tx store.Tx) error {
				var scanErr error
				for _, err := range tx.Scan(store.Range{Prefix: []byte("s/")}) {
					if err != nil {
						errs++
						scanErr = err
						continue // the scan must stop by itself after an error
					}
					n++
					if n == 10 {
						cancel()
					}
				}
				return scanErr
			})
			cancel()
			assert.ErrorIs(t, err, context.Canceled, "update=%v", update)
			assert.Equal(t, 1, errs, "errors yielded, update=%v", update)
			assert.GreaterOrEqual(t, n, 10, "update=%v", update)
			assert.Less(t, n, total, "scan stopped early, update=%v", update)
		}
	})
}

// testClosed checks that every call after Close fails with ErrClosed and
// that Close is idempotent.
func testClosed(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	put(t, s, kv{"a", "1"})
	require.NoError(t, s.Close())
	ran := false
	err := s.View(ctx, func(store.Tx) error { ran = true; return nil })
	assert.ErrorIs(t, err, store.ErrClosed, "View")
	err = s.Update(ctx, func(store.Tx) error { ran = true; return nil })
	assert.ErrorIs(t, err, store.ErrClosed, "Update")
	err = s.Batch(ctx, func(store.Writer) error { ran = true; return nil })
	assert.ErrorIs(t, err, store.ErrClosed, "Batch")
	assert.False(t, ran, "fn ran on a closed store")
	assert.NoError(t, s.Close(), "second Close")
}

// seqKey returns prefix followed by i as eight decimal digits, so that
// keys sort in numeric order.
func seqKey(prefix string, i int) []byte {
	return appendSeqKey(make([]byte, 0, len(prefix)+8), prefix, i)
}

// appendSeqKey appends seqKey(prefix, i) to dst.
func appendSeqKey(dst []byte, prefix string, i int) []byte {
	dst = append(dst, prefix...)
	var d [8]byte
	for j := 7; j >= 0; j-- {
		d[j] = byte('0' + i%10)
		i /= 10
	}
	return append(dst, d[:]...)
}

// filler pads generated values.
var filler = strings.Repeat("0123456789abcdef", 64)

// fillValue returns, in buf, a value of n bytes (8 <= n <= 1032) that
// starts with the decimal index i.
func fillValue(buf []byte, i, n int) []byte {
	buf = appendSeqKey(buf[:0], "", i)
	return append(buf, filler[:n-8]...)
}
