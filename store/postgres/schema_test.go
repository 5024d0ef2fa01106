package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// versions returns the rows of the version table of prefix in schema.
func versions(t testing.TB, schema, prefix string) []int {
	t.Helper()
	table := pgx.Identifier{schema, prefix + "schema_version"}.Sanitize()
	var out []int
	for _, v := range adminQuery[[]int32](t, "SELECT coalesce(array_agg(version ORDER BY version), '{}') FROM "+table) {
		out = append(out, int(v))
	}
	return out
}

func TestMigrationCreatesVersionedTables(t *testing.T) {
	testDSN(t)
	prefix := uniqueName("t") + "_"
	dropPrefix(t, prefix)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s := openPrefix(t, prefix, postgres.WithLogger(logger))
	require.NoError(t, s.Close())
	assert.Equal(t, allVersions(), versions(t, "public", prefix))
	assert.Equal(t, "bytea bytea", adminQuery[string](t,
		`SELECT string_agg(data_type, ' ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = $1`, prefix+"kv"))
	assert.Contains(t, logs.String(), "migrated store schema", "the migration is logged")

	// Opening again migrates nothing and logs nothing.
	logs.Reset()
	s = openPrefix(t, prefix, postgres.WithLogger(logger))
	require.NoError(t, s.Close())
	assert.Equal(t, allVersions(), versions(t, "public", prefix))
	assert.Empty(t, logs.String())
}

// TestMigrationConcurrentOpen opens one new store from several goroutines
// at once: the advisory lock makes them take turns, so exactly one
// migrates and all succeed.
func TestMigrationConcurrentOpen(t *testing.T) {
	dsn := testDSN(t)
	const openers = 6
	prefix := uniqueName("t") + "_"
	dropPrefix(t, prefix)
	start := make(chan struct{})
	errs := make(chan error, openers)
	var wg sync.WaitGroup
	for i := range openers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix), postgres.WithMaxConns(1))
			if err == nil {
				err = s.Update(ctx, func(tx store.Tx) error { return tx.Set(fmt.Appendf(nil, "k%d", i), []byte("v")) })
				_ = s.Close()
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, allVersions(), versions(t, "public", prefix))
}

// TestMigrationSchemaTooNew checks that a database migrated by a newer
// program is refused with ErrSchemaTooNew, naming both versions, and left
// exactly as it was.
func TestMigrationSchemaTooNew(t *testing.T) {
	testDSN(t)
	prefix := uniqueName("t") + "_"
	dropPrefix(t, prefix)
	s := openPrefix(t, prefix)
	require.NoError(t, s.Update(context.Background(), func(tx store.Tx) error {
		return tx.Set([]byte("k"), []byte("v"))
	}))
	require.NoError(t, s.Close())
	newer := postgres.SchemaVersion + 1
	admin(t, "INSERT INTO "+pgx.Identifier{prefix + "schema_version"}.Sanitize()+" (version) VALUES ($1)", newer)
	ddl := func() string {
		return adminQuery[string](t, `SELECT string_agg(table_name || ':' || column_name || ':' || data_type, ',' ORDER BY table_name, ordinal_position)
			FROM information_schema.columns WHERE table_name LIKE $1`, prefix+"%")
	}
	before := ddl()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s2, err := postgres.Open(ctx, testDSN(t), postgres.WithTablePrefix(prefix))
	require.Error(t, err)
	assert.Nil(t, s2)
	assert.ErrorIs(t, err, postgres.ErrSchemaTooNew)
	assert.Contains(t, err.Error(), fmt.Sprintf("version %d", newer))
	assert.Contains(t, err.Error(), fmt.Sprintf("up to %d", postgres.SchemaVersion))

	assert.Equal(t, before, ddl(), "tables unchanged")
	assert.Equal(t, append(allVersions(), newer), versions(t, "public", prefix), "versions unchanged")
	assert.Equal(t, "v", adminQuery[string](t, "SELECT convert_from(value, 'UTF8') FROM "+pgx.Identifier{prefix + "kv"}.Sanitize()), "data unchanged")
}

// TestMigrationFromEmptyVersionTable checks that a version table without
// rows (version 0) is migrated.
func TestMigrationFromEmptyVersionTable(t *testing.T) {
	testDSN(t)
	prefix := uniqueName("t") + "_"
	dropPrefix(t, prefix)
	admin(t, "CREATE TABLE "+pgx.Identifier{prefix + "schema_version"}.Sanitize()+
		" (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
	s := openPrefix(t, prefix)
	defer s.Close()
	assert.Equal(t, allVersions(), versions(t, "public", prefix))
	require.NoError(t, s.Update(context.Background(), func(tx store.Tx) error { return tx.Set([]byte("k"), []byte("v")) }))
}

// TestPrefixesIsolate checks that stores with different prefixes, or the
// same prefix in different schemas, share one database without seeing
// each other's keys.
func TestPrefixesIsolate(t *testing.T) {
	testDSN(t)
	ctx := context.Background()
	schemaA, schemaB := uniqueName("s"), uniqueName("s")
	dropSchema(t, schemaA)
	dropSchema(t, schemaB)
	p1, p2 := uniqueName("t")+"_", uniqueName("t")+"_"
	dropPrefix(t, p1)
	dropPrefix(t, p2)
	stores := map[string]*postgres.Store{
		"prefix 1":            openPrefix(t, p1),
		"prefix 2":            openPrefix(t, p2),
		"schema A, no prefix": openPrefix(t, "", postgres.WithSchema(schemaA)),
		"schema B, no prefix": openPrefix(t, "", postgres.WithSchema(schemaB)),
		"schema A, prefix 1":  openPrefix(t, p1, postgres.WithSchema(schemaA)),
	}
	for name, s := range stores {
		t.Cleanup(func() { _ = s.Close() })
		require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Set([]byte("shared"), []byte(name)); err != nil {
				return err
			}
			return tx.Set([]byte("own/"+name), []byte(name))
		}))
	}
	require.NoError(t, stores["prefix 1"].Batch(ctx, func(w store.Writer) error {
		return w.Set([]byte("batch"), []byte("prefix 1"))
	}))
	for name, s := range stores {
		var got []string
		require.NoError(t, s.View(ctx, func(tx store.Tx) error {
			for e, err := range tx.Scan(store.Range{}) {
				if err != nil {
					return err
				}
				got = append(got, string(e.Key)+"="+string(e.Value))
			}
			return nil
		}))
		want := []string{"own/" + name + "=" + name, "shared=" + name}
		if name == "prefix 1" {
			want = append([]string{"batch=prefix 1"}, want...)
		}
		assert.Equal(t, want, got, name)
	}
	assert.Equal(t, 2, adminQuery[int](t, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename IN ('kv', 'schema_version')", schemaA))
	assert.Equal(t, 2, adminQuery[int](t, "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename LIKE $2", schemaA, p1+"%"))
}

// withUser returns dsn with the user replaced.
func withUser(t testing.TB, dsn, user string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		u.User = url.User(user)
		return u.String()
	}
	return dsn + " user=" + user
}

// TestOpenWithoutCreatePrivilege checks the documented privileges: once the
// tables exist, a user with only USAGE on the schema and SELECT, INSERT,
// UPDATE and DELETE on the two tables can open and use the store.
func TestOpenWithoutCreatePrivilege(t *testing.T) {
	dsn := testDSN(t)
	schema := uniqueName("s")
	dropSchema(t, schema)
	s := openPrefix(t, "app_", postgres.WithSchema(schema))
	put(t, s, "k", "owner")
	require.NoError(t, s.Close())

	role := uniqueName("r")
	admin(t, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		admin(t, "DROP OWNED BY "+role)
		admin(t, "DROP ROLE "+role)
	})
	admin(t, "GRANT USAGE ON SCHEMA "+schema+" TO "+role)
	admin(t, "GRANT SELECT, INSERT, UPDATE, DELETE ON "+schema+".app_kv, "+schema+".app_schema_version TO "+role)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	limited, err := postgres.Open(ctx, withUser(t, dsn, role), postgres.WithSchema(schema), postgres.WithTablePrefix("app_"))
	require.NoError(t, err)
	defer limited.Close()
	assert.Equal(t, "owner", value(t, limited, "k"))
	put(t, limited, "k", "limited")
	assert.Equal(t, "limited", value(t, limited, "k"))

	// Without the tables, the same user cannot create them.
	_, err = postgres.Open(ctx, withUser(t, dsn, role), postgres.WithSchema(schema), postgres.WithTablePrefix("other_"))
	assert.Error(t, err)
	_, err = postgres.Open(ctx, withUser(t, dsn, role), postgres.WithSchema(uniqueName("s")))
	assert.Error(t, err)
}

// allVersions lists every schema version a fresh store has applied.
func allVersions() []int {
	var out []int
	for v := 1; v <= postgres.SchemaVersion; v++ {
		out = append(out, v)
	}
	return out
}

// TestMigrationFromVersion1 opens a store whose tables were made by the
// version before the append sequence: it migrates, keeps its data, and
// numbers appends above the keys already under a prefix.
func TestMigrationFromVersion1(t *testing.T) {
	testDSN(t)
	prefix := uniqueName("t") + "_"
	dropPrefix(t, prefix)
	kv := pgx.Identifier{prefix + "kv"}.Sanitize()
	admin(t, "CREATE TABLE "+kv+" (key bytea PRIMARY KEY, value bytea NOT NULL)")
	admin(t, "CREATE TABLE "+pgx.Identifier{prefix + "schema_version"}.Sanitize()+
		" (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
	admin(t, "INSERT INTO "+pgx.Identifier{prefix + "schema_version"}.Sanitize()+" (version) VALUES (1)")
	admin(t, "INSERT INTO "+kv+" (key, value) VALUES ('log/'::bytea || '\\x0000000000000007'::bytea, 'old')")
	s := openPrefix(t, prefix)
	defer s.Close()
	assert.Equal(t, allVersions(), versions(t, "public", prefix))
	var n uint64
	require.NoError(t, s.Update(context.Background(), func(tx store.Tx) error {
		return tx.(store.Appender).Append([]byte("log/"), []byte("new"), &n)
	}))
	assert.Greater(t, n, uint64(7))
}
