package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/crmkit/crmkit/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Scan paging: the first page is small, since most scans of an index stop
// after a few entries, and pages double up to the store's page size. A page
// whose data exceeds pageBytes makes the next one proportionally smaller,
// so large values do not multiply into a large page.
const (
	firstPage = 32
	pageBytes = 4 << 20
)

// tx is a transaction of View or Update on one pooled connection.
//
// Writes are buffered and sent in bulk (see writeSet) before the next scan
// and at commit, so PostgreSQL itself supplies read-your-writes while a
// transaction of many writes costs few round trips. Get answers keys with a
// buffered write from the buffer.
//
// In Update, tx records what fn read from the snapshot: each key Get found
// and the key span each scan yielded, as inclusive spans, and each key Get
// found missing. commit checks them as described in the package
// documentation.
type tx struct {
	s        *Store
	ctx      context.Context
	conn     *pgxpool.Conn
	pg       pgx.Tx
	writable bool

	mu        sync.Mutex // serialises use of the connection
	done      bool       // fn returned
	committed bool
	err       error // first failed statement: PostgreSQL aborted the transaction
	writes    writeSet
	wrote     bool
	spanLo    [][]byte
	spanHi    [][]byte
	missing   [][]byte
	appends   []appendOp // see append.go
}

var _ store.Tx = (*tx)(nil)

// usable reports why the transaction can no longer be used, if it cannot.
// The caller holds t.mu.
func (t *tx) usable() error {
	if t.done {
		return fmt.Errorf("postgres: %w", store.ErrTxnDone)
	}
	return t.err
}

// fail records err, from the statement op, as the transaction's failure
// and returns it for the caller. PostgreSQL refuses every later statement
// of the transaction, so the failure sticks. The caller holds t.mu.
func (t *tx) fail(op string, err error) error {
	err = wrap(t.ctx, op, err)
	if t.err == nil {
		t.err = err
	}
	return err
}

// Get returns the value at key: from the write buffer if the transaction
// wrote key, otherwise from the snapshot.
func (t *tx) Get(key []byte) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(); err != nil {
		return nil, err
	}
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	if w, ok := t.writes.lookup(key); ok {
		if w.del {
			return nil, notFound(key)
		}
		return bytes.Clone(w.value), nil
	}
	var v []byte
	err := t.pg.QueryRow(t.ctx, t.s.sql.get, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		if t.writable {
			t.missing = append(t.missing, bytes.Clone(key))
		}
		return nil, notFound(key)
	}
	if err != nil {
		return nil, t.fail("get", err)
	}
	if t.writable {
		k := bytes.Clone(key)
		t.spanLo = append(t.spanLo, k)
		t.spanHi = append(t.spanHi, k)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

func notFound(key []byte) error {
	return fmt.Errorf("postgres: key %.64q: %w", key, store.ErrNotFound)
}

// Set buffers a write of value at key.
func (t *tx) Set(key, value []byte) error {
	return t.write(key, value, false)
}

// Delete buffers a delete of key.
func (t *tx) Delete(key []byte) error {
	return t.write(key, nil, true)
}

func (t *tx) write(key, value []byte, del bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(); err != nil {
		return err
	}
	if !t.writable {
		return fmt.Errorf("postgres: %w", store.ErrReadOnly)
	}
	if err := store.CheckKey(key); err != nil {
		return err
	}
	if err := store.CheckValue(value); err != nil {
		return err
	}
	t.writes.add(key, value, del)
	t.wrote = true
	if t.writes.full() {
		return t.flush()
	}
	return nil
}

// flush sends the buffered writes. The caller holds t.mu.
func (t *tx) flush() error {
	if t.writes.len() == 0 {
		return nil
	}
	b := &pgx.Batch{}
	t.writes.drain(b, &t.s.sql)
	if err := t.pg.SendBatch(t.ctx, b).Close(); err != nil {
		return t.fail("write", err)
	}
	return nil
}

// page is one round trip of a scan. Keys and values are slices of one
// buffer, owned by the scan.
type page struct {
	keys, vals [][]byte
	size       int
}

// Scan streams the range in pages fetched with keyset pagination inside the
// transaction: each page asks for the keys after (or, in reverse, before)
// the last one of the previous page. No result set stays open while the
// loop body runs, so the body may use the transaction, and each page sees
// the transaction's own writes made so far.
func (t *tx) Scan(r store.Range) iter.Seq2[store.Entry, error] {
	return func(yield func(store.Entry, error) bool) {
		lower, upper := r.Bounds()
		if len(upper) > 0 && bytes.Compare(lower, upper) >= 0 {
			t.mu.Lock()
			err := t.usable()
			t.mu.Unlock()
			if err != nil {
				yield(store.Entry{}, err)
			}
			return
		}
		var first, last []byte // the span yielded so far
		defer func() {
			if first != nil {
				t.recordSpan(first, bytes.Clone(last), r.Reverse)
			}
		}()
		limit := min(firstPage, t.s.pageSize)
		var cursor []byte
		for {
			sh, args := scanArgs(lower, upper, cursor, r, limit)
			p, err := t.fetch(sh, args)
			if err != nil {
				yield(store.Entry{}, err)
				return
			}
			for i, k := range p.keys {
				if err := store.ContextError(t.ctx); err != nil {
					yield(store.Entry{}, err)
					return
				}
				e := store.Entry{Key: k}
				if !r.KeysOnly {
					e.Value = p.vals[i]
				}
				if first == nil {
					first = bytes.Clone(k)
				}
				last = k
				if !yield(e, nil) {
					return
				}
			}
			if len(p.keys) < limit {
				return
			}
			cursor = p.keys[len(p.keys)-1]
			next := min(limit*2, t.s.pageSize)
			if p.size > pageBytes {
				next = max(1, int(int64(limit)*pageBytes/int64(p.size)))
			}
			limit = next
		}
	}
}

// scanArgs picks the statement and arguments of the next page.
func scanArgs(lower, upper, cursor []byte, r store.Range, limit int) (scanShape, []any) {
	sh := scanShape{reverse: r.Reverse, keysOnly: r.KeysOnly}
	args := make([]any, 0, 3)
	switch {
	case !r.Reverse && cursor != nil:
		sh.lower = lowerExclusive
		args = append(args, cursor)
	case len(lower) > 0:
		sh.lower = lowerInclusive
		args = append(args, lower)
	}
	switch {
	case r.Reverse && cursor != nil:
		sh.upper = true
		args = append(args, cursor)
	case len(upper) > 0:
		sh.upper = true
		args = append(args, upper)
	}
	return sh, append(args, limit)
}

// fetch runs one page query, after sending the buffered writes.
func (t *tx) fetch(sh scanShape, args []any) (page, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(); err != nil {
		return page{}, err
	}
	if err := store.ContextError(t.ctx); err != nil {
		return page{}, err
	}
	if err := t.flush(); err != nil {
		return page{}, err
	}
	rows, err := t.pg.Query(t.ctx, t.s.sql.scan[sh], args...)
	if err != nil {
		return page{}, t.fail("scan", err)
	}
	defer rows.Close()
	// Copy each page into one buffer: the rows' own memory is reused by the
	// next read. Offsets, not slices, are kept until the buffer stops
	// growing.
	buf := make([]byte, 0, 4096)
	var ends []int // end offsets: key, then value unless keys only
	for rows.Next() {
		raw := rows.RawValues()
		if rows.FieldDescriptions()[0].Format != pgx.BinaryFormatCode {
			// Text format (a pool in simple protocol mode): let pgx decode.
			var k, v []byte
			dst := []any{&k}
			if !sh.keysOnly {
				dst = append(dst, &v)
			}
			if err := rows.Scan(dst...); err != nil {
				return page{}, t.fail("scan", err)
			}
			raw = [][]byte{k, v}
		}
		buf = append(buf, raw[0]...)
		ends = append(ends, len(buf))
		if !sh.keysOnly {
			buf = append(buf, raw[1]...)
			ends = append(ends, len(buf))
		}
	}
	if err := rows.Err(); err != nil {
		return page{}, t.fail("scan", err)
	}
	p := page{size: len(buf)}
	step := 2
	if sh.keysOnly {
		step = 1
	}
	start := 0
	for i := 0; i < len(ends); i += step {
		p.keys = append(p.keys, buf[start:ends[i]:ends[i]])
		start = ends[i]
		if !sh.keysOnly {
			p.vals = append(p.vals, buf[start:ends[i+1]:ends[i+1]])
			start = ends[i+1]
		}
	}
	return p, nil
}

// recordSpan adds the span a scan yielded, [lo, hi] inclusive, to the read
// set of an Update.
func (t *tx) recordSpan(a, b []byte, reverse bool) {
	if !t.writable {
		return
	}
	if reverse {
		a, b = b, a
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.spanLo = append(t.spanLo, a)
	t.spanHi = append(t.spanHi, b)
}

// finish marks the end of fn: later use fails with store.ErrTxnDone.
func (t *tx) finish() {
	t.mu.Lock()
	t.done = true
	t.mu.Unlock()
}

// commit sends the remaining writes, validates the read set and commits,
// all in two round trips. It runs after finish, so t.mu is not needed.
//
// The read set is validated by locking, FOR SHARE, every row of the
// snapshot within the recorded spans (REPEATABLE READ fails this with
// 40001 for a row another transaction updated or deleted since the
// snapshot) and by inserting a placeholder at every key read as missing
// (which fails with 40001 if another transaction created the key since the
// snapshot). The locks and placeholders hold until commit, so nothing read
// can change between the check and the commit; placeholders are deleted
// again before committing. A transaction that wrote nothing commits without
// validation: its reads were a consistent snapshot.
func (t *tx) commit() error {
	if t.err != nil {
		return t.err
	}
	if t.wrote {
		b := &pgx.Batch{}
		t.writes.drain(b, &t.s.sql)
		if t.s.notes != nil {
			b.Queue(t.s.sql.notify, t.s.notes.channel)
		}
		if len(t.spanLo) > 0 {
			b.Queue(t.s.sql.validate, t.spanLo, t.spanHi)
		}
		var placeholders [][]byte
		if len(t.missing) > 0 {
			slices.SortFunc(t.missing, bytes.Compare)
			missing := slices.CompactFunc(t.missing, bytes.Equal)
			b.Queue(t.s.sql.probe, missing).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					var k []byte
					if err := rows.Scan(&k); err != nil {
						return err
					}
					placeholders = append(placeholders, k)
				}
				return rows.Err()
			})
		}
		if err := t.pg.SendBatch(t.ctx, b).Close(); err != nil {
			return t.fail("commit", err)
		}
		if len(placeholders) > 0 {
			if _, err := t.pg.Exec(t.ctx, t.s.sql.delete, placeholders); err != nil {
				return t.fail("commit", err)
			}
		}
	}
	var numbers []uint64
	if len(t.appends) > 0 {
		var err error
		if numbers, err = t.numberAppends(t.ctx); err != nil {
			return err
		}
	}
	if err := t.pg.Commit(t.ctx); err != nil {
		return t.fail("commit", err)
	}
	t.committed = true
	for i, op := range t.appends {
		*op.seq = numbers[i]
	}
	return nil
}

// release ends the transaction, rolling it back unless it committed, and
// returns the connection to the pool. The rollback gets its own deadline,
// since the caller's context may be what ended the transaction.
func (t *tx) release() {
	if !t.committed {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), cleanupTimeout)
		if err := t.pg.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) && !t.conn.Conn().IsClosed() {
			t.s.log.Warn("postgres: rollback failed", "error", err)
		}
		cancel()
	}
	t.conn.Release()
}
