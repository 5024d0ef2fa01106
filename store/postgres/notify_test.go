package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quiet is how long a test waits to see that a channel stays open.
const quiet = 200 * time.Millisecond

// fired reports whether ch is closed within d.
func fired(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// settled returns a fresh Committed channel of s once the listener's own
// wake-up after connecting has passed.
func settled(t *testing.T, s *postgres.Store) <-chan struct{} {
	t.Helper()
	require.True(t, fired(s.Committed(), waitLimit), "the listener connects and fires once")
	return s.Committed()
}

// TestNotifications opens two stores on the same tables, as two processes
// would: the commits of one wake the other's Committed channel, commits
// that wrote nothing and failed Updates do not, and a store without
// notifications hands out nil.
func TestNotifications(t *testing.T) {
	testDSN(t)
	prefix := uniqueName("t") + "_"
	dropPrefix(t, prefix)
	writer := openPrefix(t, prefix, postgres.WithNotifications())
	defer writer.Close()
	watcher := openPrefix(t, prefix, postgres.WithNotifications())
	defer watcher.Close()
	ctx := context.Background()

	ch := settled(t, watcher)
	require.NoError(t, writer.View(ctx, func(tx store.Tx) error { _, err := tx.Get([]byte("k")); assert.Error(t, err); return nil }))
	require.NoError(t, writer.Update(ctx, func(tx store.Tx) error { _, _ = tx.Get([]byte("k")); return nil }))
	err := writer.Update(ctx, func(tx store.Tx) error {
		if err := tx.Set([]byte("rolled back"), []byte("v")); err != nil {
			return err
		}
		return assert.AnError
	})
	require.ErrorIs(t, err, assert.AnError)
	assert.False(t, fired(ch, quiet), "no notification without a committed write")

	start := time.Now()
	put(t, writer, "k", "1")
	require.True(t, fired(ch, waitLimit), "an Update of another store wakes the watcher")
	t.Logf("woken %v after the Update began", time.Since(start))

	ch = watcher.Committed()
	require.NoError(t, writer.Batch(ctx, func(w store.Writer) error { return w.Set([]byte("b"), []byte("1")) }))
	assert.True(t, fired(ch, waitLimit), "a Batch wakes the watcher")

	ch = watcher.Committed()
	put(t, watcher, "own", "1")
	assert.True(t, fired(ch, waitLimit), "the store's own commits count too")

	plain := openPrefix(t, prefix)
	defer plain.Close()
	assert.Nil(t, plain.Committed(), "nil without WithNotifications")
	ch = watcher.Committed()
	put(t, plain, "k", "2")
	assert.False(t, fired(ch, quiet), "a store without notifications announces nothing")

	require.NoError(t, watcher.Close())
	assert.Nil(t, watcher.Committed(), "nil after Close")
}

// TestNotificationsListenerReconnects kills the listener's session: the
// channel fires (what happened meanwhile is unknown), the listener
// reconnects, later commits wake it again, and Close ends its session.
func TestNotificationsListenerReconnects(t *testing.T) {
	s, name := openNamed(t, postgres.WithNotifications())
	ch := settled(t, s)
	require.Positive(t, terminate(t, name), "the listener's session and the pool's")
	assert.True(t, fired(ch, waitLimit), "a lost session fires")

	listening := func() int {
		return adminQuery[int](t, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'`, name)
	}
	deadline := time.Now().Add(waitLimit)
	for listening() == 0 {
		require.True(t, time.Now().Before(deadline), "the listener did not reconnect")
		time.Sleep(10 * time.Millisecond)
	}
	ch = s.Committed()
	put(t, s, "k", "v")
	assert.True(t, fired(ch, waitLimit), "commits wake the reconnected listener")

	require.NoError(t, s.Close())
	deadline = time.Now().Add(waitLimit)
	for sessions(t, name) > 0 {
		require.True(t, time.Now().Before(deadline), "sessions still open after Close")
		time.Sleep(10 * time.Millisecond)
	}
}
