package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// cleanupTimeout bounds a rollback run after the caller's context ended.
const cleanupTimeout = 5 * time.Second

// Store is a store.Store on a PostgreSQL database. It is safe for
// concurrent use; each running View, Update or Batch holds one pooled
// connection.
type Store struct {
	pool     *pgxpool.Pool
	ownsPool bool
	log      *slog.Logger
	tables   tables
	pageSize int
	sql      statements
	notes    *notifier // nil without WithNotifications

	beginRW, beginRO string // BEGIN statements, with the snapshot taken
	maxBegin         int    // connections a begin may try

	mu        sync.Mutex
	closed    bool
	active    int // calls in progress
	closeOnce sync.Once
}

var _ store.Store = (*Store)(nil)

// Open connects to the PostgreSQL database named by dsn (a URL such as
// postgres://user@host:5432/db?sslmode=disable or a key=value string, as
// pgx accepts), creates or migrates the store's tables and returns the
// store. ctx bounds the connection and the migration: an unreachable
// server fails Open when ctx ends. A malformed dsn or option fails with
// ErrInvalidConfig, a database migrated by a newer program with
// ErrSchemaTooNew; in both cases nothing was changed.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	c := defaultConfig()
	for _, opt := range opts {
		opt(&c)
	}
	if err := c.validate(dsn); err != nil {
		return nil, err
	}
	if err := store.ContextError(ctx); err != nil {
		return nil, err
	}
	s := &Store{log: c.logger, pageSize: c.pageSize, pool: c.pool}
	if s.pool == nil {
		pc, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("%w: dsn: %w", ErrInvalidConfig, err)
		}
		if c.maxConns > 0 {
			pc.MaxConns = c.maxConns
		}
		if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok {
			pc.ConnConfig.RuntimeParams["application_name"] = "crmkit"
		}
		s.pool, err = pgxpool.NewWithConfig(ctx, pc)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
		s.ownsPool = true
	}
	s.maxBegin = int(s.pool.Config().MaxConns) + 1
	schema := c.schema
	if schema == "" {
		var err error
		if schema, err = s.currentSchema(ctx); err != nil {
			s.closePool()
			return nil, err
		}
	}
	s.tables = newTables(schema, c.prefix)
	s.sql = newStatements(s.tables)
	if c.notify {
		s.notes = &notifier{channel: channelName(s.tables)}
	}
	lock := ""
	if c.lockTimeout > 0 {
		lock = fmt.Sprintf("SET LOCAL lock_timeout = %d; ", c.lockTimeout.Milliseconds())
	}
	// The snapshot of a REPEATABLE READ transaction is taken by its first
	// query, not by BEGIN; SELECT 1 in the same round trip takes it at once,
	// as the contract's "snapshot taken when it begins" requires.
	s.beginRW = "BEGIN ISOLATION LEVEL REPEATABLE READ; " + lock + "SELECT 1"
	s.beginRO = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1"
	if err := s.migrate(ctx, c.schema != ""); err != nil {
		s.closePool()
		return nil, err
	}
	return s, nil
}

// Close releases the store's connections (unless the pool came from
// WithPool) and stops the notification listener. Calls running when Close
// is called finish normally; the pool is closed when the last one returns.
// Later calls fail with store.ErrClosed. Close is idempotent and always
// returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	idle := s.active == 0
	s.mu.Unlock()
	if s.notes != nil {
		s.notes.stop()
	}
	if idle {
		s.closePool()
	}
	return nil
}

// enter registers a call, failing if the store is closed.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("postgres: %w", store.ErrClosed)
	}
	s.active++
	return nil
}

// leave ends a call registered by enter; the last call to end after Close
// closes the pool.
func (s *Store) leave() {
	s.mu.Lock()
	s.active--
	last := s.closed && s.active == 0
	s.mu.Unlock()
	if last {
		s.closePool()
	}
}

func (s *Store) closePool() {
	s.closeOnce.Do(func() {
		if s.ownsPool {
			s.pool.Close()
		}
	})
}

// View runs fn in a REPEATABLE READ, READ ONLY transaction, a consistent
// snapshot taken before fn starts.
func (s *Store) View(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := store.ContextError(ctx); err != nil {
		return err
	}
	t, err := s.begin(ctx, false)
	if err != nil {
		return err
	}
	defer t.release()
	err = fn(t)
	t.finish()
	if err != nil {
		return withContext(ctx, err)
	}
	return store.ContextError(ctx)
}

// Update runs fn in a REPEATABLE READ transaction and commits it after
// checking that nothing fn read was changed by a concurrent commit; see the
// package documentation for how this gives the store contract.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := store.ContextError(ctx); err != nil {
		return err
	}
	t, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer t.release()
	err = fn(t)
	t.finish()
	if err != nil {
		return withContext(ctx, err)
	}
	if err := store.ContextError(ctx); err != nil {
		return err
	}
	if err := t.commit(); err != nil {
		if errors.Is(err, store.ErrConflict) {
			s.log.Debug("postgres: update lost a conflict", "error", err)
		}
		return err
	}
	return nil
}

// Batch runs fn with a writer that applies its writes in transactions of
// bounded size; see the package documentation.
func (s *Store) Batch(ctx context.Context, fn func(w store.Writer) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := store.ContextError(ctx); err != nil {
		return err
	}
	w := &batchWriter{s: s, ctx: ctx}
	err := fn(w)
	w.finish()
	if err != nil {
		return withContext(ctx, err)
	}
	return w.flushLast()
}

// begin acquires a connection and starts a transaction on it. A pooled
// connection whose server session died while idle (a restart, or
// pg_terminate_backend) fails its BEGIN; the pool then drops it and begin
// tries the next one, so a store recovers from lost sessions without the
// caller seeing an error.
func (s *Store) begin(ctx context.Context, writable bool) (*tx, error) {
	q := s.beginRO
	if writable {
		q = s.beginRW
	}
	for attempt := 1; ; attempt++ {
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return nil, wrap(ctx, "connect", err)
		}
		pg, err := conn.BeginTx(ctx, pgx.TxOptions{BeginQuery: q})
		if err == nil {
			return &tx{s: s, ctx: ctx, conn: conn, pg: pg, writable: writable}, nil
		}
		lost := conn.Conn().IsClosed()
		conn.Release()
		if !lost || ctx.Err() != nil || attempt >= s.maxBegin {
			return nil, wrap(ctx, "begin", err)
		}
		s.log.Debug("postgres: pooled connection lost, retrying", "error", err)
	}
}
