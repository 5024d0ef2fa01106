// Package teststore opens the store backend that a test run selects, so the
// domain's tests run unchanged on every backend. It is for tests only.
//
// CRMKIT_TEST_STORE selects the backend: "memory" (the default), "badger"
// (on disk, in a temporary directory) or "postgres" (a schema of its own on
// the server named by the DSN in CRMKIT_TEST_POSTGRES, dropped when the test
// ends). Shared gives tests of several instances one PostgreSQL schema that
// each instance opens as a store of its own.
//
// It imports the store backends, pgx and the standard library.
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
	return NewSchema(t, dsn).Open(t)
}

// Shared is one schema on a PostgreSQL server that several stores open,
// as several instances of an application share one database.
type Shared struct {
	// DSN names the server and database.
	DSN string
	// Schema is the PostgreSQL schema holding the store's tables.
	Schema string
}

// SharedPostgres returns a new schema on the server named by
// CRMKIT_TEST_POSTGRES, dropped when the test ends, whatever
// CRMKIT_TEST_STORE selects. Without the variable the test is skipped with
// one line naming it, except when CI is set: CI must run these tests.
func SharedPostgres(t testing.TB) Shared {
	t.Helper()
	dsn := os.Getenv(PostgresDSN)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(PostgresDSN + " not set: CI must run the PostgreSQL tests against a server")
		}
		t.Skip(PostgresDSN + " not set: set it to a PostgreSQL DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return NewSchema(t, dsn)
}

// NewSchema returns a fresh schema name on the server at dsn, and drops
// the schema when the test ends. The schema itself is created by the first
// Open.
func NewSchema(t testing.TB, dsn string) Shared {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "crmtest_" + hex.EncodeToString(b[:])
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
	return Shared{DSN: dsn, Schema: schema}
}

// Open opens a store of its own (with its own connection pool) on the
// shared schema, closed when the test ends.
func (sh Shared) Open(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, sh.DSN, append([]postgres.Option{postgres.WithSchema(sh.Schema)}, opts...)...)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
