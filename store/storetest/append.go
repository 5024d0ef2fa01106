package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testAppend holds a backend that offers store.Appender to its contract.
func testAppend(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	supported := false
	require.NoError(t, s.View(ctx, func(tx store.Tx) error {
		_, supported = tx.(store.Appender)
		return nil
	}))
	if !supported {
		t.Skip("the backend does not offer store.Appender")
	}
	prefix := []byte("log/")
	appendAll := func(s store.Store, prefix []byte, values ...string) []uint64 {
		t.Helper()
		seqs := make([]uint64, len(values))
		require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
			for i, v := range values {
				if err := tx.(store.Appender).Append(prefix, []byte(v), &seqs[i]); err != nil {
					return err
				}
			}
			return nil
		}))
		return seqs
	}
	logOf := func(s store.Store, prefix []byte) (seqs []uint64, values []string) {
		t.Helper()
		require.NoError(t, s.View(ctx, func(tx store.Tx) error {
			for e, err := range tx.Scan(store.Range{Prefix: prefix}) {
				if err != nil {
					return err
				}
				require.Len(t, e.Key, len(prefix)+store.SeqSize)
				seqs = append(seqs, binary.BigEndian.Uint64(e.Key[len(prefix):]))
				values = append(values, string(e.Value))
			}
			return nil
		}))
		return seqs, values
	}

	t.Run("NumbersInCallAndCommitOrder", func(t *testing.T) {
		first := appendAll(s, prefix, "a", "b", "c")
		second := appendAll(s, prefix, "d")
		assert.IsIncreasing(t, append(first, second...))
		seqs, values := logOf(s, prefix)
		assert.Equal(t, append(first, second...), seqs)
		assert.Equal(t, []string{"a", "b", "c", "d"}, values)
	})

	t.Run("InvisibleToItsOwnTransaction", func(t *testing.T) {
		var n uint64
		require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
			require.NoError(t, tx.(store.Appender).Append([]byte("own/"), []byte("x"), &n))
			for range tx.Scan(store.Range{Prefix: []byte("own/")}) {
				t.Error("an appended key is visible inside its transaction")
			}
			return nil
		}))
		assert.Positive(t, n)
	})

	t.Run("AboveExistingKeys", func(t *testing.T) {
		p := []byte("restored/")
		high := binary.BigEndian.AppendUint64(bytes.Clone(p), 1<<40)
		require.NoError(t, s.Update(ctx, func(tx store.Tx) error { return tx.Set(high, []byte("old")) }))
		got := appendAll(s, p, "new")
		assert.Greater(t, got[0], uint64(1<<40))
	})

	t.Run("FailedTransactionAppendsNothing", func(t *testing.T) {
		p := []byte("failed/")
		err := s.Update(ctx, func(tx store.Tx) error {
			var n uint64
			require.NoError(t, tx.(store.Appender).Append(p, []byte("x"), &n))
			return errSentinel
		})
		require.ErrorIs(t, err, errSentinel)
		seqs, _ := logOf(s, p)
		assert.Empty(t, seqs)
	})

	t.Run("ReadOnlyAndKeyLimits", func(t *testing.T) {
		require.NoError(t, s.View(ctx, func(tx store.Tx) error {
			var n uint64
			assert.ErrorIs(t, tx.(store.Appender).Append(prefix, []byte("x"), &n), store.ErrReadOnly)
			return nil
		}))
		err := s.Update(ctx, func(tx store.Tx) error {
			var n uint64
			return tx.(store.Appender).Append(bytes.Repeat([]byte("p"), store.MaxKeySize-store.SeqSize+1), nil, &n)
		})
		assert.ErrorIs(t, err, store.ErrKeyTooLarge)
	})

	t.Run("ConcurrentAppendersNeverConflict", func(t *testing.T) {
		p := []byte("busy/")
		const writers, each = 4, 100
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					var n uint64
					err := s.Update(ctx, func(tx store.Tx) error {
						return tx.(store.Appender).Append(p, fmt.Appendf(nil, "%d-%d", w, i), &n)
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		// A reader that has seen number n never finds a new key below n.
		stop := make(chan struct{})
		readerDone := make(chan []string)
		go func() {
			var problems []string
			var seen uint64
			known := map[uint64]bool{}
			for {
				select {
				case <-stop:
					readerDone <- problems
					return
				default:
				}
				_ = s.View(ctx, func(tx store.Tx) error {
					for e, err := range tx.Scan(store.Range{Prefix: p}) {
						if err != nil {
							return err
						}
						n := binary.BigEndian.Uint64(e.Key[len(p):])
						if !known[n] && n < seen {
							problems = append(problems, fmt.Sprintf("%d appeared after %d was seen", n, seen))
						}
						known[n] = true
						seen = max(seen, n)
					}
					return nil
				})
			}
		}()
		wg.Wait()
		close(stop)
		assert.Empty(t, <-readerDone)
		close(errs)
		for err := range errs {
			t.Errorf("append failed: %v", err)
		}
		seqs, values := logOf(s, p)
		assert.Len(t, seqs, writers*each)
		assert.IsIncreasing(t, seqs)
		distinct := map[string]bool{}
		for _, v := range values {
			distinct[v] = true
		}
		assert.Len(t, distinct, writers*each, "each value once")
	})

	t.Run("NeverReusedAfterReopen", func(t *testing.T) {
		if b.Reopen == nil || b.ReopenCopies {
			t.Skip("the backend does not reopen a database")
		}
		p := []byte("reopen/")
		before := appendAll(s, p, "x", "y")
		require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
			for _, n := range before {
				if err := tx.Delete(binary.BigEndian.AppendUint64(bytes.Clone(p), n)); err != nil {
					return err
				}
			}
			return nil
		}))
		s = b.Reopen(t, s)
		after := appendAll(s, p, "z")
		assert.Greater(t, after[0], before[1])
	})
}
