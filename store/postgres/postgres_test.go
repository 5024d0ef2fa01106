package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
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
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
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
		admin(t, "DROP TABLE IF EXISTS "+pgx.Identifier{prefix + "kv"}.Sanitize()+", "+
			pgx.Identifier{prefix + "schema_version"}.Sanitize())
		admin(t, "DROP SEQUENCE IF EXISTS "+pgx.Identifier{prefix + "append_seq"}.Sanitize())
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

// TestOpenInvalidConfig needs no server: everything is refused before
// Open connects.
func TestOpenInvalidConfig(t *testing.T) {
	const dsn = "postgres://postgres@127.0.0.1:1/test?sslmode=disable"
	cases := []struct {
		name string
		dsn  string
		opts []postgres.Option
	}{
		{"malformed url", "postgres://user@host:notaport/db", nil},
		{"malformed escape", "postgres://us%zzer@127.0.0.1/db", nil},
		{"malformed key value", "host=127.0.0.1 port=abc", nil},
		{"unterminated quote", "host='127.0.0.1 dbname=test", nil},
		{"unknown sslmode", "postgres://postgres@127.0.0.1/test?sslmode=sometimes", nil},
		{"empty dsn", "", nil},
		{"prefix with upper case", dsn, []postgres.Option{postgres.WithTablePrefix("Acme_")}},
		{"prefix with quote", dsn, []postgres.Option{postgres.WithTablePrefix(`a"; DROP TABLE x; --`)}},
		{"prefix starting with digit", dsn, []postgres.Option{postgres.WithTablePrefix("1a_")}},
		{"prefix too long", dsn, []postgres.Option{postgres.WithTablePrefix(strings.Repeat("a", 50))}},
		{"schema with dot", dsn, []postgres.Option{postgres.WithSchema("a.b")}},
		{"schema too long", dsn, []postgres.Option{postgres.WithSchema(strings.Repeat("s", 64))}},
		{"page size zero", dsn, []postgres.Option{postgres.WithPageSize(0)}},
		{"negative lock timeout", dsn, []postgres.Option{postgres.WithLockTimeout(-time.Second)}},
		{"negative pool size", dsn, []postgres.Option{postgres.WithMaxConns(-1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := postgres.Open(ctx, tc.dsn, tc.opts...)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.ErrorIs(t, err, postgres.ErrInvalidConfig)
			assert.True(t, strings.HasPrefix(err.Error(), "postgres: "), "error %q names the package", err)
		})
	}
}

func TestOpenWithPoolAndDSN(t *testing.T) {
	dsn := testDSN(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	defer pool.Close()
	_, err = postgres.Open(context.Background(), dsn, postgres.WithPool(pool))
	assert.ErrorIs(t, err, postgres.ErrInvalidConfig)
	_, err = postgres.Open(context.Background(), "", postgres.WithPool(pool), postgres.WithMaxConns(3))
	assert.ErrorIs(t, err, postgres.ErrInvalidConfig)
}

// TestOpenWithPool checks that a caller's pool is used and survives Close.
func TestOpenWithPool(t *testing.T) {
	dsn := testDSN(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	defer pool.Close()
	prefix := uniqueName("t") + "_"
	dropPrefix(t, prefix)
	s, err := postgres.Open(context.Background(), "", postgres.WithPool(pool), postgres.WithTablePrefix(prefix))
	require.NoError(t, err)
	require.NoError(t, s.Update(context.Background(), func(tx store.Tx) error {
		return tx.Set([]byte("k"), []byte("v"))
	}))
	require.NoError(t, s.Close())
	var v []byte
	require.NoError(t, pool.QueryRow(context.Background(),
		"SELECT value FROM "+pgx.Identifier{prefix + "kv"}.Sanitize()+" WHERE key = $1", []byte("k")).Scan(&v),
		"the caller's pool is still open after Close")
	assert.Equal(t, "v", string(v))
}

// TestOpenUnreachable checks that Open fails, and does not hang, when the
// server refuses connections or accepts them and never answers.
func TestOpenUnreachable(t *testing.T) {
	testDSN(t)
	t.Run("connection refused", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		s, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable")
		require.Error(t, err)
		assert.Nil(t, s)
		assert.NotErrorIs(t, err, postgres.ErrInvalidConfig, "the dsn is fine")
		assert.Less(t, time.Since(start), 5*time.Second)
	})
	t.Run("server never answers", func(t *testing.T) {
		// A listener that accepts connections and never speaks.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		var conns []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
		defer func() {
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				c.Close()
			}
		}()
		const deadline = 500 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		s, err := postgres.Open(ctx, "postgres://postgres@"+ln.Addr().String()+"/test?sslmode=disable")
		elapsed := time.Since(start)
		require.Error(t, err)
		assert.Nil(t, s)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, elapsed, deadline+5*time.Second, "Open returned %v after its deadline", elapsed-deadline)
	})
}

func FuzzScan(f *testing.F) {
	testDSN(f)
	storetest.FuzzScan(f, backend())
}
