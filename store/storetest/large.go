package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkSeq verifies that the keys under prefix are exactly prefix+seqKey(i)
// for every i in [0, n) for which keep(i) holds, each holding
// fillValue(i, size).
func checkSeq(t *testing.T, s store.Store, prefix string, n, size int, keep func(i int) bool) {
	t.Helper()
	var (
		count, bad int
		firstBad   string
		key, val   []byte
	)
	next := 0
	err := s.View(context.Background(), func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{Prefix: []byte(prefix)}) {
			if err != nil {
				return err
			}
			for next < n && !keep(next) {
				next++
			}
			key = appendSeqKey(key[:0], prefix, next)
			val = fillValue(val, next, size)
			if !bytes.Equal(e.Key, key) || !bytes.Equal(e.Value, val) {
				if bad == 0 {
					firstBad = fmt.Sprintf("entry %d: key %q (want %q), value of %d bytes", count, e.Key, key, len(e.Value))
				}
				bad++
			}
			count++
			next++
		}
		return nil
	})
	require.NoError(t, err)
	want := 0
	for i := range n {
		if keep(i) {
			want++
		}
	}
	assert.Equal(t, want, count, "number of keys under %q", prefix)
	assert.Zero(t, bad, "mismatched entries, first: %s", firstBad)
}

func keepAll(int) bool { return true }

// testLargeUpdate checks that a very large Update either commits entirely
// or fails with ErrTooLarge having written nothing.
func testLargeUpdate(t *testing.T, b Backend) {
	const n, size = 200_000, 100
	s := open(t, b)
	var key, val []byte
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for i := range n {
			key = appendSeqKey(key[:0], "L/", i)
			val = fillValue(val, i, size)
			if err := tx.Set(key, val); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		require.ErrorIs(t, err, store.ErrTooLarge, "a large Update may only fail with ErrTooLarge")
		t.Logf("backend refused a %d-key transaction: %v", n, err)
		assert.Empty(t, scanAll(t, s, store.Range{KeysOnly: true}), "nothing written")
		return
	}
	checkSeq(t, s, "L/", n, size, keepAll)
}

// testLargeBatch checks that Batch commits well over one transaction's
// worth of writes, sets and deletes in order.
func testLargeBatch(t *testing.T, b Backend) {
	const n, size = 300_000, 200
	s := open(t, b)
	var key, val []byte
	deleted := func(i int) bool { return i%1000 == 7 }
	err := s.Batch(context.Background(), func(w store.Writer) error {
		for i := range n {
			key = appendSeqKey(key[:0], "B/", i)
			val = fillValue(val, i, size)
			if err := w.Set(key, val); err != nil {
				return err
			}
		}
		for i := range n {
			if deleted(i) {
				if err := w.Delete(appendSeqKey(key[:0], "B/", i)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	checkSeq(t, s, "B/", n, size, func(i int) bool { return !deleted(i) })
}

// testBatchFnError checks that Batch returns fn's error.
func testBatchFnError(t *testing.T, b Backend) {
	s := open(t, b)
	want := fmt.Errorf("import failed: %w", errSentinel)
	err := s.Batch(context.Background(), func(w store.Writer) error {
		if err := w.Set([]byte("a"), []byte("1")); err != nil {
			return err
		}
		return want
	})
	assert.ErrorIs(t, err, errSentinel)

	// An empty batch is fine.
	require.NoError(t, s.Batch(context.Background(), func(store.Writer) error { return nil }))
	// The store still works after a failed batch.
	put(t, s, kv{"b", "2"})
	assertValue(t, s, "b", "2")
}

// testReopen checks that committed data, including Batch writes and
// deletes, survives closing and reopening a persistent store.
func testReopen(t *testing.T, b Backend) {
	if b.Reopen == nil {
		t.Skip("backend is not persistent (Backend.Reopen is nil)")
	}
	ctx := context.Background()
	s := open(t, b)
	put(t, s, kv{"u/a", "1"}, kv{"u/b", "2"}, kv{"u/c", "3"}, kv{"\x00bin\xff", "binary"}, kv{"u/empty", ""})
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete([]byte("u/b")); err != nil {
			return err
		}
		return tx.Set([]byte("u/c"), []byte("33"))
	}))
	const n = 5000
	require.NoError(t, s.Batch(ctx, func(w store.Writer) error {
		for i := range n {
			if err := w.Set(seqKey("b/", i), fillValue(nil, i, 40)); err != nil {
				return err
			}
		}
		for i := 0; i < n; i += 10 {
			if err := w.Delete(seqKey("b/", i)); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		return tx.Set([]byte("u/last"), []byte("written just before close"))
	}))
	want := []kv{{"\x00bin\xff", "binary"}, {"u/a", "1"}, {"u/c", "33"}, {"u/empty", ""}, {"u/last", "written just before close"}}

	s2 := b.Reopen(t, s)
	require.NotNil(t, s2, "Reopen returned nil")
	t.Cleanup(func() { assert.NoError(t, s2.Close()) })
	assert.ErrorIs(t, s.View(ctx, func(store.Tx) error { return nil }), store.ErrClosed, "old handle after Reopen")
	assert.Equal(t, want[:1], scanAll(t, s2, store.Range{End: []byte("b/")}), "after reopen")
	assert.Equal(t, want[1:], scanAll(t, s2, store.Range{Prefix: []byte("u/")}), "after reopen")
	checkSeq(t, s2, "b/", n, 40, func(i int) bool { return i%10 != 0 })

	// Writes after a reopen survive the next one too.
	require.NoError(t, s2.Update(ctx, func(tx store.Tx) error {
		if err := tx.Delete([]byte("u/a")); err != nil {
			return err
		}
		return tx.Set([]byte("u/z"), []byte("z"))
	}))
	s3 := b.Reopen(t, s2)
	require.NotNil(t, s3, "Reopen returned nil")
	t.Cleanup(func() { assert.NoError(t, s3.Close()) })
	assert.Equal(t, []kv{{"u/c", "33"}, {"u/empty", ""}, {"u/last", "written just before close"}, {"u/z", "z"}},
		scanAll(t, s3, store.Range{Prefix: []byte("u/")}))
	assertValue(t, s3, "\x00bin\xff", "binary")
}

// testConcurrency runs disjoint read-write transactions next to readers
// that check a per-writer invariant on every snapshot: the writer's count
// key equals the number of its item keys.
func testConcurrency(t *testing.T, b Backend) {
	const writers, rounds, readers = 4, 60, 2
	s := open(t, b)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	writeErrs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := fmt.Sprintf("w%d/", w)
			for i := range rounds {
				var err error
				for range 1000 {
					err = s.Update(ctx, func(tx store.Tx) error {
						n := uint64(0)
						v, err := tx.Get([]byte(prefix + "count"))
						switch {
						case errors.Is(err, store.ErrNotFound):
						case err != nil:
							return err
						default:
							n = binary.BigEndian.Uint64(v)
						}
						if n != uint64(i) {
							return fmt.Errorf("%scount is %d before round %d", prefix, n, i)
						}
						if err := tx.Set(seqKey(prefix+"item/", i), []byte("x")); err != nil {
							return err
						}
						return tx.Set([]byte(prefix+"count"), binary.BigEndian.AppendUint64(nil, n+1))
					})
					if !errors.Is(err, store.ErrConflict) {
						break
					}
				}
				if err != nil {
					writeErrs <- err
					return
				}
			}
		}()
	}
	type result struct {
		views      int
		violations []string
		err        error
	}
	results := make(chan result, readers)
	for range readers {
		go func() {
			var r result
			for {
				err := s.View(ctx, func(tx store.Tx) error {
					for w := range writers {
						prefix := fmt.Sprintf("w%d/", w)
						n := uint64(0)
						v, err := tx.Get([]byte(prefix + "count"))
						switch {
						case errors.Is(err, store.ErrNotFound):
						case err != nil:
							return err
						default:
							n = binary.BigEndian.Uint64(v)
						}
						items := uint64(0)
						for _, err := range tx.Scan(store.Range{Prefix: []byte(prefix + "item/"), KeysOnly: true}) {
							if err != nil {
								return err
							}
							items++
						}
						if items != n && len(r.violations) < 5 {
							r.violations = append(r.violations, fmt.Sprintf("%s: count %d, items %d", prefix, n, items))
						}
					}
					return nil
				})
				r.views++
				if err != nil {
					r.err = err
					break
				}
				select {
				case <-stop:
					results <- r
					return
				default:
				}
			}
			results <- r
		}()
	}
	wg.Wait()
	close(stop)
	close(writeErrs)
	for err := range writeErrs {
		assert.NoError(t, err, "writer")
	}
	for range readers {
		r := recv(t, results, "reader")
		assert.NoError(t, r.err, "reader")
		assert.Empty(t, r.violations, "snapshot invariant broken")
		assert.Positive(t, r.views)
	}
	for w := range writers {
		prefix := fmt.Sprintf("w%d/", w)
		v, err := get(t, s, prefix+"count")
		if assert.NoError(t, err) {
			assert.Equal(t, uint64(rounds), binary.BigEndian.Uint64(v), "%scount", prefix)
		}
		assert.Len(t, scanAll(t, s, store.Range{Prefix: []byte(prefix + "item/")}), rounds, "%sitem/", prefix)
	}
}
