package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openNamed opens a test store whose sessions carry a unique
// application_name, and returns the name.
func openNamed(t *testing.T, opts ...postgres.Option) (*postgres.Store, string) {
	t.Helper()
	name := uniqueName("crmkit_test_")
	prefix := uniqueName("t") + "_"
	dropPrefix(t, prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, withAppName(t, testDSN(t), name), append([]postgres.Option{postgres.WithTablePrefix(prefix)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s, name
}

// terminate ends every server session named name, waiting until they are
// gone, and returns how many there were.
func terminate(t *testing.T, name string) int {
	t.Helper()
	return adminQuery[int](t, `SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE application_name = $1`, name)
}

// sessions counts the server sessions named name.
func sessions(t *testing.T, name string) int {
	t.Helper()
	return adminQuery[int](t, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, name)
}

// TestFaultSessionKilledInUpdate kills the server session of a running
// Update after some of its writes reached PostgreSQL: Update fails,
// nothing is written, and the store recovers on the next call.
func TestFaultSessionKilledInUpdate(t *testing.T) {
	s, name := openNamed(t)
	ctx := context.Background()
	put(t, s, "keep", "0")
	err := s.Update(ctx, func(tx store.Tx) error {
		for i := range 100 {
			if err := tx.Set(fmt.Appendf(nil, "k%03d", i), []byte("v")); err != nil {
				return err
			}
		}
		if err := tx.Set([]byte("keep"), []byte("1")); err != nil {
			return err
		}
		if err := flush(tx); err != nil { // the writes are in PostgreSQL now
			return err
		}
		require.Positive(t, terminate(t, name))
		return tx.Set([]byte("last"), []byte("v"))
	})
	require.Error(t, err)
	assert.ErrorIs(t, err, postgres.ErrUnavailable)
	assert.NotErrorIs(t, err, store.ErrConflict, "a lost session is no conflict")

	// Nothing half-written, and the pool recovers at once.
	var keys []string
	require.NoError(t, s.View(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{}) {
			if err != nil {
				return err
			}
			keys = append(keys, string(e.Key)+"="+string(e.Value))
		}
		return nil
	}))
	assert.Equal(t, []string{"keep=0"}, keys)
	put(t, s, "after", "1")
	assert.Equal(t, "1", value(t, s, "after"))
}

// TestFaultSessionKilledInScan kills the session during a scan: the scan
// yields one error and stops.
func TestFaultSessionKilledInScan(t *testing.T) {
	s, name := openNamed(t, postgres.WithPageSize(2))
	ctx := context.Background()
	put(t, s, "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6")
	for _, update := range []bool{false, true} {
		run := s.View
		if update {
			run = s.Update
		}
		n, errs := 0, 0
		err := run(ctx, func(tx store.Tx) error {
			var scanErr error
			for _, err := range tx.Scan(store.Range{}) {
				if err != nil {
					errs++
					scanErr = err
					continue
				}
				if n++; n == 1 {
					require.Positive(t, terminate(t, name))
				}
			}
			return scanErr
		})
		assert.ErrorIs(t, err, postgres.ErrUnavailable, "update=%v", update)
		assert.Equal(t, 1, errs, "errors yielded, update=%v", update)
		assert.Less(t, n, 6, "the scan stopped, update=%v", update)
	}
	assert.Equal(t, "6", value(t, s, "f"), "the store recovers")
}

// TestFaultIdleSessionsKilled kills the pool's idle sessions (as a server
// restart would): every kind of call still succeeds, on new connections.
func TestFaultIdleSessionsKilled(t *testing.T) {
	s, name := openNamed(t, postgres.WithMaxConns(3))
	ctx := context.Background()
	// Fill the pool with three idle connections.
	hold := make(chan struct{})
	started := make(chan struct{}, 3)
	done := make(chan error, 3)
	for range 3 {
		go func() {
			done <- s.View(ctx, func(store.Tx) error { started <- struct{}{}; <-hold; return nil })
		}()
	}
	for range 3 {
		recv(t, started, "a view to start")
	}
	close(hold)
	for range 3 {
		require.NoError(t, recv(t, done, "a view to end"))
	}
	require.Equal(t, 3, terminate(t, name))

	put(t, s, "a", "1")
	assert.Equal(t, "1", value(t, s, "a"))
	require.Equal(t, 1, terminate(t, name))
	require.NoError(t, s.Batch(ctx, func(w store.Writer) error { return w.Set([]byte("b"), []byte("2")) }))
	assert.Equal(t, "2", value(t, s, "b"))
}

// TestFaultContextEndsWhileWaiting cancels an Update that is blocked in
// PostgreSQL on a row lock: it returns an error matching the context's,
// writes nothing, and the store stays usable.
func TestFaultContextEndsWhileWaiting(t *testing.T) {
	s := openTest(t, postgres.WithLockTimeout(0))
	ctx := context.Background()
	put(t, s, "k", "0")
	locked, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Set([]byte("k"), []byte("holder")); err != nil {
				return err
			}
			if err := flush(tx); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	recv(t, locked, "the holder to lock k")
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err := s.Update(wctx, func(tx store.Tx) error {
		if err := tx.Set([]byte("k"), []byte("waiter")); err != nil {
			return err
		}
		if err := tx.Set([]byte("w"), []byte("waiter")); err != nil {
			return err
		}
		return flush(tx) // blocks on the holder's lock until wctx ends
	})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	close(release)
	require.NoError(t, recv(t, holder, "the holder"))
	assert.Equal(t, "holder", value(t, s, "k"))
	assert.Equal(t, "<missing>", value(t, s, "w"))
}

// TestCloseWhileRunning checks that Close does not wait for running calls,
// that they finish normally, that later calls fail with ErrClosed, and that
// the pool's sessions end once the last call returns.
func TestCloseWhileRunning(t *testing.T) {
	s, name := openNamed(t)
	ctx := context.Background()
	inside, proceed := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx store.Tx) error {
			close(inside)
			<-proceed
			return tx.Set([]byte("k"), []byte("v"))
		})
	}()
	recv(t, inside, "the update to start")
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	assert.ErrorIs(t, s.View(ctx, func(store.Tx) error { return nil }), store.ErrClosed)
	close(proceed)
	require.NoError(t, recv(t, done, "the update"), "a call running at Close finishes")
	deadline := time.Now().Add(waitLimit)
	for sessions(t, name) > 0 {
		require.True(t, time.Now().Before(deadline), "sessions still open after Close")
		runtimeGosched()
	}
	assert.ErrorIs(t, s.Batch(ctx, func(store.Writer) error { return nil }), store.ErrClosed)
	assert.False(t, errors.Is(s.Close(), store.ErrClosed))
}

// runtimeGosched yields between polls.
func runtimeGosched() { runtime.Gosched() }

// TestPanicReleasesConnection checks that a panic in fn rolls the
// transaction back and returns its connection: with a pool of one, later
// calls would otherwise wait for ever.
func TestPanicReleasesConnection(t *testing.T) {
	s := openTest(t, postgres.WithMaxConns(1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, update := range []bool{false, true} {
		run := s.View
		if update {
			run = s.Update
		}
		assert.Panics(t, func() {
			_ = run(ctx, func(tx store.Tx) error {
				if update {
					if err := tx.Set([]byte("k"), []byte("v")); err != nil {
						return err
					}
					if err := flush(tx); err != nil {
						return err
					}
				}
				panic("fn failed")
			})
		})
		err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.Get([]byte("k"))
			return err
		})
		assert.ErrorIs(t, err, store.ErrNotFound, "update=%v: the connection is back and nothing was written", update)
	}
}
