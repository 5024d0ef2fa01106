package postgres

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"
)

// SchemaVersion is the version of the table layout this package creates and
// understands. Open migrates older databases up to it and refuses newer
// ones with ErrSchemaTooNew.
const SchemaVersion = 2

// lockSpace is the first key of the two-key advisory locks Open takes, so
// that crmkit's locks never collide with an application's single-key ones
// (it spells "crmk").
const lockSpace = 0x63726d6b

// tables are the quoted, schema-qualified names of a store's tables.
type tables struct {
	schema  string // unquoted schema name
	kv      string // quoted "schema"."<prefix>kv"
	version string // quoted "schema"."<prefix>schema_version"
	seq     string // quoted "schema"."<prefix>append_seq"
}

func newTables(schema, prefix string) tables {
	return tables{
		schema:  schema,
		kv:      pgx.Identifier{schema, prefix + "kv"}.Sanitize(),
		version: pgx.Identifier{schema, prefix + "schema_version"}.Sanitize(),
		seq:     pgx.Identifier{schema, prefix + "append_seq"}.Sanitize(),
	}
}

// migration is one step of the table layout; migrations[i] takes a
// database from version i to i+1.
type migration func(t tables) []string

var migrations = []migration{
	// 1: the key-value table. bytea compares byte-wise (memcmp, then
	// length), which is exactly the order the store contract requires, so
	// the primary key's B-tree serves ordered and reverse scans.
	func(t tables) []string {
		return []string{
			`CREATE TABLE ` + t.kv + ` (key bytea PRIMARY KEY, value bytea NOT NULL)`,
		}
	},
	// 2: the sequence Append draws its numbers from.
	func(t tables) []string {
		return []string{`CREATE SEQUENCE ` + t.seq + ` AS bigint MINVALUE 1`}
	},
}

// lockKey is the second key of the advisory lock that serialises Open's
// migrations in one schema. It covers the whole schema, not one prefix,
// because creating the schema itself must be serialised too.
func lockKey(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return int32(h.Sum32())
}

// migrate brings the store's tables to SchemaVersion inside one
// transaction, holding an advisory lock so that processes opening the same
// store at once take turns. A database newer than SchemaVersion is left
// untouched.
func (s *Store) migrate(ctx context.Context, explicitSchema bool) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return wrap(ctx, "connect", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return wrap(ctx, "migrate", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, int32(lockSpace), lockKey(s.tables.schema)); err != nil {
		return wrap(ctx, "migrate: lock", err)
	}
	if explicitSchema {
		// Look before creating: CREATE SCHEMA IF NOT EXISTS needs the
		// CREATE privilege on the database even when the schema exists.
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.tables.schema).Scan(&found); err != nil {
			return wrap(ctx, "migrate: find schema", err)
		}
		if !found {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{s.tables.schema}.Sanitize()); err != nil {
				return wrap(ctx, "migrate: create schema", err)
			}
		}
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, s.tables.version).Scan(&exists); err != nil {
		return wrap(ctx, "migrate: read version", err)
	}
	version := 0
	if exists {
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+s.tables.version).Scan(&version); err != nil {
			return wrap(ctx, "migrate: read version", err)
		}
	} else {
		_, err := tx.Exec(ctx, `CREATE TABLE `+s.tables.version+
			` (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
		if err != nil {
			return wrap(ctx, "migrate: create version table", err)
		}
	}
	switch {
	case version > SchemaVersion:
		return fmt.Errorf("%w: %s is at version %d, this program knows versions up to %d",
			ErrSchemaTooNew, s.tables.version, version, SchemaVersion)
	case version == SchemaVersion:
		return nil
	}
	for v := version; v < SchemaVersion; v++ {
		for _, stmt := range migrations[v](s.tables) {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return wrap(ctx, fmt.Sprintf("migrate to version %d", v+1), err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+s.tables.version+` (version) VALUES ($1)`, v+1); err != nil {
			return wrap(ctx, fmt.Sprintf("migrate to version %d", v+1), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return wrap(ctx, "migrate: commit", err)
	}
	s.log.Info("postgres: migrated store schema", "table", s.tables.kv, "from", version, "to", SchemaVersion)
	return nil
}

// currentSchema returns the schema unqualified names resolve to on a
// connection of the pool.
func (s *Store) currentSchema(ctx context.Context) (string, error) {
	var schema *string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", wrap(ctx, "connect", err)
	}
	if schema == nil {
		return "", fmt.Errorf("%w: no schema of search_path exists; use WithSchema", ErrInvalidConfig)
	}
	return *schema, nil
}
