package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/crmkit/crmkit/store/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// dsnVar names the environment variable holding the test server's DSN.
const dsnVar = "CRMKIT_TEST_POSTGRES"

// testDSN returns the DSN of the test server. Without one the test is
// skipped, except under CI, which must never skip these tests.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal(dsnVar + " not set: CI must run the PostgreSQL tests against a server")
		}
		t.Skip(dsnVar + " not set: set it to a PostgreSQL DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return dsn
}

// uniqueName returns a fresh lower-case identifier starting with base, so
// that tests, and test binaries of other packages, never share tables.
func uniqueName(base string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return base + hex.EncodeToString(b[:])
}

// withAppName returns dsn with application_name set, in URL or key=value
// form, so that a test can find its store's sessions in pg_stat_activity.
func withAppName(t testing.TB, dsn, name string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		q := u.Query()
		q.Set("application_name", name)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " application_name=" + name
}

// admin runs sql on a connection of its own, outside any store.
func admin(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testDSN(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	require.NoError(t, err, "%s", sql)
}

// adminQuery returns the single value sql selects.
func adminQuery[T any](t testing.TB, sql string, args ...any) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testDSN(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v T
	require.NoError(t, conn.QueryRow(ctx, sql, args...).Scan(&v), "%s", sql)
	return v
}

// dropPrefix drops the tables of the store with prefix in the current
// schema when the test ends.
func dropPrefix(t testing.TB, prefix string) {
	t.Cleanup(func() {
		admin(t, "DROP TABLE IF EXISTS "+pgx.Identifier{prefix+"kv"}.Sanitize()+", "+
			pgx.Identifier{prefix+"schema_version"}.Sanitize())
	})
}

// dropSchema drops schema and all in it when the test ends.
func dropSchema(t testing.TB, schema string) {
	t.Cleanup(func() { admin(t, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
}

// openPrefix opens the store with prefix on the test server.
func openPrefix(t testing.TB, prefix string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, testDSN(t), append([]postgres.Option{postgres.WithTablePrefix(prefix)}, opts...)...)
	require.NoError(t, err)
	return s
}

// openTest opens a store with tables of its own, dropped when the test
// ends, and closed before that.
func openTest(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	testDSN(t)
	prefix := uniqueName("t") + "_"
	dropPrefix(t, prefix)
	s := openPrefix(t, prefix, opts...)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// backend is the storetest backend: every Open gets tables of its own,
// and Reopen opens the same tables again.
func backend(opts ...postgres.Option) storetest.Backend {
	var prefixes sync.Map // *postgres.Store -> prefix
	return storetest.Backend{
		Open: func(t testing.TB) store.Store {
			testDSN(t)
			prefix := uniqueName("t") + "_"
			dropPrefix(t, prefix)
			s := openPrefix(t, prefix, opts...)
			prefixes.Store(s, prefix)
			return s
		},
		Reopen: func(t testing.TB, s store.Store) store.Store {
			prefix, ok := prefixes.Load(s)
			require.True(t, ok, "Reopen of a store this backend did not open")
			require.NoError(t, s.Close())
			s2 := openPrefix(t, prefix.(string), opts...)
			prefixes.Store(s2, prefix)
			return s2
		},
	}
}

func TestConformance(t *testing.T) {
	testDSN(t)
	storetest.Run(t, backend())
}
