package postgres

import (
	"context"
	"fmt"
	"sync"

	"github.com/crmkit/crmkit/store"
	"github.com/jackc/pgx/v5"
)

// batchWriter is the store.Writer of Batch. Each full write set is
// committed as one implicit transaction: a pgx batch of the upsert and the
// delete, sent in one round trip.
type batchWriter struct {
	s      *Store
	ctx    context.Context
	mu     sync.Mutex
	done   bool
	err    error // first failed commit; later writes would not be a prefix
	writes writeSet
}

var _ store.Writer = (*batchWriter)(nil)

// Set buffers a write of value at key, committing the buffer when full.
func (w *batchWriter) Set(key, value []byte) error {
	return w.write(key, value, false)
}

// Delete buffers a delete of key, committing the buffer when full.
func (w *batchWriter) Delete(key []byte) error {
	return w.write(key, nil, true)
}

func (w *batchWriter) write(key, value []byte, del bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return fmt.Errorf("postgres: %w", store.ErrTxnDone)
	}
	if w.err != nil {
		return w.err
	}
	if err := store.CheckKey(key); err != nil {
		return err
	}
	if err := store.CheckValue(value); err != nil {
		return err
	}
	w.writes.add(key, value, del)
	if w.writes.full() {
		w.err = w.flush()
	}
	return w.err
}

// finish marks the end of fn: later writes fail with store.ErrTxnDone.
func (w *batchWriter) finish() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// flushLast commits what fn left in the buffer.
func (w *batchWriter) flushLast() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	return w.flush()
}

// flush commits the buffer. The caller holds w.mu.
func (w *batchWriter) flush() error {
	if w.writes.len() == 0 {
		return nil
	}
	if err := store.ContextError(w.ctx); err != nil {
		return err
	}
	b := &pgx.Batch{}
	w.writes.drain(b, &w.s.sql)
	if w.s.notes != nil {
		b.Queue(w.s.sql.notify, w.s.notes.channel)
	}
	return w.s.sendBatch(w.ctx, b)
}

// sendBatch runs b as one implicit transaction on a pooled connection. If
// the connection turns out to be dead (its session was terminated while
// idle), b is sent again on another: the session's end rolled back
// whatever of b it had received, and Batch writes are idempotent anyway.
func (s *Store) sendBatch(ctx context.Context, b *pgx.Batch) error {
	for attempt := 1; ; attempt++ {
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return wrap(ctx, "batch: connect", err)
		}
		// pgx records per-connection statement details in a queued
		// query, so every attempt sends fresh ones.
		fresh := &pgx.Batch{}
		for _, q := range b.QueuedQueries {
			fresh.Queue(q.SQL, q.Arguments...)
		}
		err = conn.SendBatch(ctx, fresh).Close()
		lost := conn.Conn().IsClosed()
		conn.Release()
		if err == nil {
			return nil
		}
		if !lost || !connectionLost(err) || ctx.Err() != nil || attempt >= s.maxBegin {
			return wrap(ctx, "batch", err)
		}
		s.log.Debug("postgres: pooled connection lost, retrying", "error", err)
	}
}
