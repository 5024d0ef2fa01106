// Package teststore opens the store backend that a test run selects, so the
// domain's tests run unchanged on every backend. It is for tests only.
//
// CRMKIT_TEST_STORE selects the backend: "memory" (the default), "badger"
// (on-disk, in a temporary directory) or "postgres" (which needs the DSN in
// CRMKIT_TEST_POSTGRES).
package teststore

import (
	"os"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/crmkit/crmkit/store/memory"
)

// Open returns a new, empty store of the selected backend, closed when the
// test ends.
func Open(t testing.TB) store.Store {
	t.Helper()
	var st store.Store
	switch b := os.Getenv("CRMKIT_TEST_STORE"); b {
	case "", "memory":
		st = memory.New()
	case "badger":
		b, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
		if err != nil {
			t.Fatalf("open badger: %v", err)
		}
		st = b
	default:
		t.Fatalf("CRMKIT_TEST_STORE=%q: want memory, badger or postgres", b)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}
