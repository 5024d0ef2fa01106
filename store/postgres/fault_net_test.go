package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withDatabase returns dsn naming another database.
func withDatabase(t testing.TB, dsn, db string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		u.Path = "/" + db
		return u.String()
	}
	return dsn + " dbname=" + db
}

// TestOpenWrongDSN checks that a well-formed dsn the server rejects fails
// Open with ErrUnavailable (not ErrInvalidConfig: the program cannot tell a
// missing database from one not created yet), keeping the server's
// SQLSTATE matchable, and that nothing is created.
func TestOpenWrongDSN(t *testing.T) {
	dsn := testDSN(t)
	missingDB := uniqueName("nodb")
	cases := []struct {
		name string
		dsn  string
		code string // SQLSTATE the server sends, if it answers
	}{
		{"database does not exist", withDatabase(t, dsn, missingDB), "3D000"},
		{"role does not exist", withUser(t, dsn, uniqueName("norole")), "28000"},
		{"nothing listens on the port", "postgres://postgres@127.0.0.1:1/test?sslmode=disable", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := postgres.Open(ctx, tc.dsn)
			require.Error(t, err)
			assert.Nil(t, s)
			assert.ErrorIs(t, err, postgres.ErrUnavailable)
			assert.NotErrorIs(t, err, postgres.ErrInvalidConfig)
			assert.True(t, strings.HasPrefix(err.Error(), "postgres: "), "error %q names the package", err)
			var connectErr *pgconn.ConnectError
			assert.ErrorAs(t, err, &connectErr)
			if tc.code != "" {
				var pgErr *pgconn.PgError
				require.ErrorAs(t, err, &pgErr)
				assert.Equal(t, tc.code, pgErr.Code)
			}
		})
	}
	assert.Zero(t, adminQuery[int](t, "SELECT count(*) FROM pg_database WHERE datname = $1", missingDB))
}

// TestFaultConnectionCut cuts the network between the store and a running
// server, through a proxy, in the middle of a scan and in the middle of an
// Update: the call fails with ErrUnavailable, nothing of the Update is
// written, and the next calls succeed on new connections.
func TestFaultConnectionCut(t *testing.T) {
	dsn := testDSN(t)
	p := startProxy(t, dsn)
	prefix := uniqueName("t") + "_"
	dropPrefix(t, prefix)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, p.dsn(t, dsn), postgres.WithTablePrefix(prefix), postgres.WithPageSize(2), postgres.WithMaxConns(2))
	require.NoError(t, err)
	defer s.Close()
	put(t, s, "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6")

	t.Run("scan", func(t *testing.T) {
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
						require.Positive(t, p.cut())
					}
				}
				return scanErr
			})
			assert.ErrorIs(t, err, postgres.ErrUnavailable, "update=%v", update)
			assert.NotErrorIs(t, err, store.ErrConflict, "update=%v", update)
			assert.Equal(t, 1, errs, "one error yielded, update=%v", update)
			assert.Less(t, n, 6, "the scan stopped, update=%v", update)
			assert.Equal(t, "6", value(t, s, "f"), "the store recovers, update=%v", update)
		}
	})

	t.Run("update", func(t *testing.T) {
		err := s.Update(ctx, func(tx store.Tx) error {
			for i := range 50 {
				if err := tx.Set(fmt.Appendf(nil, "u%02d", i), []byte("v")); err != nil {
					return err
				}
			}
			if err := tx.Set([]byte("a"), []byte("changed")); err != nil {
				return err
			}
			if err := flush(tx); err != nil { // the writes are in PostgreSQL now
				return err
			}
			require.Positive(t, p.cut())
			return tx.Set([]byte("u99"), []byte("v"))
		})
		require.Error(t, err)
		assert.ErrorIs(t, err, postgres.ErrUnavailable)
		assert.Equal(t, "1", value(t, s, "a"), "nothing of the cut Update was written")
		assert.Equal(t, "<missing>", value(t, s, "u00"))
		put(t, s, "g", "7")
		assert.Equal(t, "7", value(t, s, "g"))
	})

	t.Run("idle connections", func(t *testing.T) {
		// Cut while the pool's connections are idle: the next calls do not
		// see it, as begin replaces dead connections.
		require.Positive(t, p.cut())
		put(t, s, "h", "8")
		require.Positive(t, p.cut())
		assert.Equal(t, "8", value(t, s, "h"))
		err := s.Batch(ctx, func(w store.Writer) error { return w.Set([]byte("i"), []byte("9")) })
		require.NoError(t, err)
		assert.Equal(t, "9", value(t, s, "i"))
	})
}

// TestFaultErrorsAreTyped checks that the failures of a lost session are
// ErrUnavailable and nothing else, so that a caller can tell them from
// conflicts and bad input.
func TestFaultErrorsAreTyped(t *testing.T) {
	s, name := openNamed(t)
	ctx := context.Background()
	err := s.View(ctx, func(tx store.Tx) error {
		require.Positive(t, terminate(t, name))
		_, err := tx.Get([]byte("k"))
		return err
	})
	assert.ErrorIs(t, err, postgres.ErrUnavailable)
	assert.False(t, errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict))
}
