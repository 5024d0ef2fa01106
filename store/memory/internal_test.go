package memory

import (
	"context"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logSize returns the commit log's record and key counts.
func logSize(s *Store) (records, keys int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log), len(s.lastWrite)
}

func set(t *testing.T, s *Store, key, value string) {
	t.Helper()
	require.NoError(t, s.Update(context.Background(), func(tx store.Tx) error {
		return tx.Set([]byte(key), []byte(value))
	}))
}

// TestCommitLogPruned checks that the conflict log holds only what open
// transactions need and is emptied when they end, however they end.
func TestCommitLogPruned(t *testing.T) {
	ctx := context.Background()
	s := New()
	defer s.Close()

	for i := range 100 {
		set(t, s, "k", string(rune('a'+i%26)))
	}
	records, keys := logSize(s)
	assert.Zero(t, records, "no open transaction: nothing logged")
	assert.Zero(t, keys)

	// An open transaction keeps the commits after its start.
	started, proceed := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx store.Tx) error {
			close(started)
			<-proceed
			return nil
		})
	}()
	<-started
	for i := range 10 {
		set(t, s, "k"+string(rune('0'+i)), "v")
	}
	records, keys = logSize(s)
	assert.Equal(t, 10, records, "commits after the open transaction began")
	assert.Equal(t, 10, keys)
	close(proceed)
	require.NoError(t, <-done)
	records, keys = logSize(s)
	assert.Zero(t, records, "log after the open transaction ended")
	assert.Zero(t, keys)

	// A panicking fn ends its transaction too.
	func() {
		defer func() { assert.NotNil(t, recover(), "panic propagates") }()
		_ = s.Update(ctx, func(tx store.Tx) error { panic("boom") })
	}()
	set(t, s, "after-panic", "v")
	records, _ = logSize(s)
	assert.Zero(t, records, "log after a panicking transaction")
	s.mu.Lock()
	assert.Empty(t, s.active, "open transactions")
	s.mu.Unlock()
}

// TestBatchChunks checks that Batch applies writes in chunks of the batch
// size, visible to readers before fn returns.
func TestBatchChunks(t *testing.T) {
	ctx := context.Background()
	s := New(WithBatchSize(2))
	defer s.Close()
	visible := func() int {
		n := 0
		require.NoError(t, s.View(ctx, func(tx store.Tx) error {
			for _, err := range tx.Scan(store.Range{}) {
				if err != nil {
					return err
				}
				n++
			}
			return nil
		}))
		return n
	}
	var seen []int
	require.NoError(t, s.Batch(ctx, func(w store.Writer) error {
		for _, k := range []string{"a", "b", "c", "d", "e"} {
			if err := w.Set([]byte(k), nil); err != nil {
				return err
			}
			seen = append(seen, visible())
		}
		return nil
	}))
	assert.Equal(t, []int{0, 2, 2, 4, 4}, seen)
	assert.Equal(t, 5, visible())
}
