package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Backend describes a backend under test.
type Backend struct {
	// Open returns a new, empty store. The suite closes every store it opens
	// (Close must be idempotent).
	Open func(t testing.TB) store.Store
	// Reopen, if set, closes s and opens the same database again (persistent
	// backends set it).
	Reopen func(t testing.TB, s store.Store) store.Store
	// ReopenCopies says that Reopen copies the data into a new store
	// rather than reopening one database, so state a database keeps
	// apart from its keys (such as Append's numbering) does not carry
	// over.
	ReopenCopies bool
}

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, b Backend) {
	require.NotNil(t, b.Open, "storetest: Backend.Open is required")
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"Ordering", testOrdering},
		{"EmptyValue", testEmptyValue},
		{"GetMissing", testGetMissing},
		{"CallerOwnsBuffers", testCallerOwnsBuffers},
		{"Delete", testDelete},
		{"ScanRange", testScanRange},
		{"ScanBreak", testScanBreak},
		{"ScanNested", testScanNested},
		{"GetInsideScan", testGetInsideScan},
		{"ReadYourWrites", testReadYourWrites},
		{"Model", testModel},
		{"UncommittedInvisible", testUncommittedInvisible},
		{"FnErrorDiscards", testFnErrorDiscards},
		{"SnapshotIsolation", testSnapshotIsolation},
		{"Conflict", testConflict},
		{"DisjointCommits", testDisjointCommits},
		{"Counter", testCounter},
		{"ReadOnly", testReadOnly},
		{"TxnDone", testTxnDone},
		{"KeyValidation", testKeyValidation},
		{"ContextCancelled", testContextCancelled},
		{"Closed", testClosed},
		{"LargeUpdate", testLargeUpdate},
		{"LargeBatch", testLargeBatch},
		{"BatchFnError", testBatchFnError},
		{"Reopen", testReopen},
		{"Concurrency", testConcurrency},
		{"Append", testAppend},
		{"LongBounds", testLongBounds},
		{"PanicInScan", testPanicInScan},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}

// errSentinel is the error the suite's functions return to abort.
var errSentinel = errors.New("storetest: sentinel")

// waitLimit bounds every wait on another goroutine, so that a backend that
// deadlocks fails the test instead of hanging it.
const waitLimit = 30 * time.Second

// open opens a fresh store and closes it when the test ends.
func open(t testing.TB, b Backend) store.Store {
	t.Helper()
	s := b.Open(t)
	require.NotNil(t, s, "Backend.Open returned nil")
	t.Cleanup(func() { assert.NoError(t, s.Close(), "Close") })
	return s
}

// kv is one entry as strings, so that failures print readably.
type kv struct {
	K, V string
}

// put commits the given key-value pairs in one Update.
func put(t testing.TB, s store.Store, kvs ...kv) {
	t.Helper()
	err := s.Update(context.Background(), func(tx store.Tx) error {
		for _, e := range kvs {
			if err := tx.Set([]byte(e.K), []byte(e.V)); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err, "put")
}

// scanTx collects the entries of r, copying them, and the first error.
func scanTx(tx store.Reader, r store.Range) ([]kv, error) {
	out := []kv{}
	for e, err := range tx.Scan(r) {
		if err != nil {
			return out, err
		}
		out = append(out, kv{string(e.Key), string(e.Value)})
	}
	return out, nil
}

// scanAll collects the entries of r in a fresh View.
func scanAll(t testing.TB, s store.Store, r store.Range) []kv {
	t.Helper()
	var out []kv
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		out, err = scanTx(tx, r)
		return err
	})
	require.NoError(t, err, "scan %+v", r)
	return out
}

// get reads one key in a fresh View.
func get(t testing.TB, s store.Store, key string) ([]byte, error) {
	t.Helper()
	var v []byte
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		v, err = tx.Get([]byte(key))
		return err
	})
	return v, err
}

// assertValue checks that key holds want in a fresh View.
func assertValue(t testing.TB, s store.Store, key, want string) {
	t.Helper()
	v, err := get(t, s, key)
	if assert.NoError(t, err, "get %q", key) {
		assert.Equal(t, want, string(v), "value of %q", key)
	}
}

// assertMissing checks that key is absent in a fresh View.
func assertMissing(t testing.TB, s store.Store, key string) {
	t.Helper()
	_, err := get(t, s, key)
	assert.ErrorIs(t, err, store.ErrNotFound, "get %q", key)
}

// keysOf returns the keys of entries.
func keysOf(entries []kv) []string {
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.K)
	}
	return out
}

// reversed returns a reversed copy of entries.
func reversed(entries []kv) []kv {
	out := make([]kv, len(entries))
	for i, e := range entries {
		out[len(entries)-1-i] = e
	}
	return out
}

// recv waits for one value from ch, failing the test if none comes in time.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		require.FailNow(t, fmt.Sprintf("timed out waiting for %s (does the backend serialise transactions?)", what))
		var zero T
		return zero
	}
}
