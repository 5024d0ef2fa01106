// Package teststore opens the store backend that a test run selects, so the
// domain's tests run unchanged on every backend. It is for tests only.
//
// CRMKIT_TEST_STORE selects the backend: "memory" (the default), "badger"
// (on disk, in a temporary directory) or "postgres" (a schema of its own on
// the server named by the DSN in CRMKIT_TEST_POSTGRES, dropped when the test
// ends).
package teststore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/crmkit/crmkit/store/memory"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/jackc/pgx/v5"
)

// PostgresDSN is the environment variable holding the test server's DSN.
const PostgresDSN = "CRMKIT_TEST_POSTGRES"

// Open returns a new, empty store of the selected backend, closed when the
// test ends.
func Open(t testing.TB) store.Store {
	t.Helper()
	var st store.Store
	switch b := os.Getenv("CRMKIT_TEST_STORE"); b {
	case "", "memory":
		st = memory.New()
	case "badger":
		s, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
		if err != nil {
			t.Fatalf("open badger: %v", err)
		}
		st = s
	case "postgres":
		st = openPostgres(t)
	default:
		t.Fatalf("CRMKIT_TEST_STORE=%q: want memory, badger or postgres", b)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func openPostgres(t testing.TB) store.Store {
	t.Helper()
	dsn := os.Getenv(PostgresDSN)
	if dsn == "" {
		t.Fatalf("CRMKIT_TEST_STORE=postgres needs %s", PostgresDSN)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "crmtest_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop test schema: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
	})
	return s
}
