package postgres

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/crmkit/crmkit/store"
	"github.com/jackc/pgx/v5"
)

// A write set is sent when it holds this many keys or bytes: one Batch
// transaction, or one round trip of an Update. The byte limit keeps each
// message far below PostgreSQL's 1 GB limit on a parameter.
const (
	flushKeys  = 10_000
	flushBytes = 8 << 20
)

// write is one buffered Set or Delete.
type write struct {
	key, value []byte
	del        bool
}

// writeSet buffers writes, keeping only the last write of each key, which
// is what applying them in order would leave. It is sent as at most two
// statements, an upsert of the sets and a delete of the deletes, each over
// arrays of keys sorted so that concurrent writers lock rows in the same
// order.
type writeSet struct {
	index map[string]int // key -> position in ops
	ops   []write
	size  int
}

func (w *writeSet) len() int { return len(w.ops) }

func (w *writeSet) full() bool { return len(w.ops) >= flushKeys || w.size >= flushBytes }

// add buffers a copy of the write. A nil value is stored as an empty one.
func (w *writeSet) add(key, value []byte, del bool) {
	op := write{del: del}
	if !del {
		op.value = make([]byte, len(value))
		copy(op.value, value)
	}
	if i, ok := w.index[string(key)]; ok {
		w.size += len(op.value) - len(w.ops[i].value)
		op.key = w.ops[i].key
		w.ops[i] = op
		return
	}
	if w.index == nil {
		w.index = make(map[string]int)
	}
	op.key = bytes.Clone(key)
	w.index[string(op.key)] = len(w.ops)
	w.ops = append(w.ops, op)
	w.size += len(op.key) + len(op.value)
}

// lookup returns the buffered write of key, if any.
func (w *writeSet) lookup(key []byte) (write, bool) {
	i, ok := w.index[string(key)]
	if !ok {
		return write{}, false
	}
	return w.ops[i], true
}

// drain adds the statements that apply the set to b and empties the set.
func (w *writeSet) drain(b *pgx.Batch, st *statements) {
	defer w.reset()
	if len(w.ops) == 0 {
		return
	}
	slices.SortFunc(w.ops, func(a, b write) int { return bytes.Compare(a.key, b.key) })
	var keys, values, dels [][]byte
	for _, op := range w.ops {
		if op.del {
			dels = append(dels, op.key)
		} else {
			keys = append(keys, op.key)
			values = append(values, op.value)
		}
	}
	if len(keys) > 0 {
		b.Queue(st.upsert, keys, values)
	}
	if len(dels) > 0 {
		b.Queue(st.delete, dels)
	}
}

// reset empties the set, keeping its memory for the next writes.
func (w *writeSet) reset() {
	clear(w.index)
	clear(w.ops)
	w.ops = w.ops[:0]
	w.size = 0
}

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
