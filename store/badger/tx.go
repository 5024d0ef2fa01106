package badger

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"sync"

	"github.com/crmkit/crmkit/store"
	"github.com/dgraph-io/badger/v4"
)

// maxTxnBytes caps the keys and values one transaction may hold. Badger
// counts values kept in the value log as a few bytes each, but a commit
// writes them in one request that must stay under 4 GiB; the cap keeps far
// below that, and bounds the memory one transaction can pin.
const maxTxnBytes = 1 << 30

// ctxCheckEvery is how many entries a scan yields between context checks.
const ctxCheckEvery = 64

// tx is a store.Tx over a Badger transaction.
//
// Badger transactions are not safe for concurrent use, and Badger panics
// when an iterator is created on a finished transaction or a transaction
// is discarded with an iterator open. mu serialises every call into Badger
// and guards done and the set of open iterators, so that neither can happen
// whatever the caller does with a transaction (or a scan) it kept beyond its
// function: finish closes the open iterators and marks the transaction done,
// and every later use fails with store.ErrTxnDone.
type tx struct {
	s      *Store
	ctx    context.Context
	update bool

	mu      sync.Mutex
	btx     *badger.Txn
	done    bool
	err     error // sticky failure: the transaction must not commit
	bytes   int64
	scans   map[*scan]struct{}
	kbuf    []byte
	arena   arena
	appends []appendOp
}

var _ store.Tx = (*tx)(nil)

func newTx(s *Store, ctx context.Context, update bool) *tx {
	return &tx{s: s, ctx: ctx, update: update, btx: s.db.NewTransaction(update)}
}

// end marks the transaction done and closes its open scans. The caller
// holds t.mu.
func (t *tx) end() {
	if t.done {
		return
	}
	t.done = true
	for sc := range t.scans {
		sc.close()
	}
	t.scans = nil
}

// finish ends the transaction and discards it, if commit did not.
func (t *tx) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.end()
	t.btx.Discard()
}

// commit ends the transaction and commits it, unless a write failed or the
// context was cancelled.
func (t *tx) commit() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.end()
	if t.err != nil {
		return t.err
	}
	if err := store.ContextError(t.ctx); err != nil {
		return err
	}
	if len(t.appends) > 0 {
		return t.commitAppends()
	}
	return mapCommitErr(&t.s.opts, t.btx.Commit())
}

// Get returns a copy of the value stored at key.
func (t *tx) Get(key []byte) ([]byte, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, fmt.Errorf("badger: get: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return nil, errTxnDone
	}
	t.kbuf = appendDataKey(t.kbuf[:0], key)
	item, err := t.btx.Get(t.kbuf)
	if err == badger.ErrKeyNotFound {
		return nil, errNotFound
	}
	if err != nil {
		return nil, mapReadErr(err)
	}
	var out []byte
	if !t.s.codec.mem {
		err = item.Value(func(v []byte) error {
			out = make([]byte, len(v))
			copy(out, v)
			return nil
		})
		return out, mapReadErr(err)
	}
	size := 0
	err = item.Value(func(v []byte) error {
		inline, n, chunks, err := t.s.codec.header(v)
		if err == nil && chunks == 0 {
			out = make([]byte, len(inline))
			copy(out, inline)
		}
		size = n
		return err
	})
	if err != nil || out != nil {
		return out, mapReadErr(err)
	}
	out, err = t.s.codec.assemble(t.btx, nil, key, size)
	return out, mapReadErr(err)
}

// Set stores a copy of value at key.
func (t *tx) Set(key, value []byte) error {
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("badger: set: %w", err)
	}
	if err := store.CheckValue(value); err != nil {
		return fmt.Errorf("badger: set: %w", err)
	}
	return t.write(key, value, false)
}

// Delete removes key.
func (t *tx) Delete(key []byte) error {
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("badger: delete: %w", err)
	}
	return t.write(key, nil, true)
}

func (t *tx) write(key, value []byte, del bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.done:
		return errTxnDone
	case !t.update:
		return errReadOnly
	case t.err != nil:
		return t.err
	}
	t.bytes += int64(len(key) + len(value))
	if t.bytes > maxTxnBytes {
		t.err = fmt.Errorf("badger: transaction holds more than %d bytes: %w", maxTxnBytes, store.ErrTooLarge)
		return t.err
	}
	c := t.s.codec
	old := 0
	if c.mem {
		var err error
		if old, err = c.storedChunks(t.btx, key); err != nil {
			return t.fail(mapReadErr(err))
		}
	}
	var err error
	if del {
		err = c.del(t.btx, &t.arena, key, old)
	} else {
		err = c.set(t.btx, &t.arena, key, value, old)
	}
	if err != nil {
		return t.fail(mapWriteErr(&t.s.opts, err))
	}
	return nil
}

// fail records err as the transaction's failure: a write that failed half
// way (a chunked value, or a transaction over the size limit) must not be
// committed. The caller holds t.mu.
func (t *tx) fail(err error) error {
	t.err = err
	return err
}

// Scan streams the entries of r. See store.Reader.
func (t *tx) Scan(r store.Range) iter.Seq2[store.Entry, error] {
	return func(yield func(store.Entry, error) bool) {
		t.scan(r, yield)
	}
}

// scan is one run of a Scan sequence.
type scan struct {
	it     *badger.Iterator
	closed bool
}

// close closes the Badger iterator. The caller holds the transaction's mu.
func (sc *scan) close() {
	if !sc.closed {
		sc.closed = true
		sc.it.Close()
	}
}

// bounds returns the encoded bounds of r: lo inclusive, hi exclusive (never
// nil: an open upper bound is the end of the data namespace), and whether
// the range is empty.
func bounds(r store.Range) (lo, hi []byte, empty bool) {
	lower, upper := r.Bounds()
	if upper != nil && bytes.Compare(lower, upper) >= 0 {
		return nil, nil, true
	}
	lo = appendDataKey(make([]byte, 0, 1+len(lower)), lower)
	if upper != nil {
		hi = appendDataKey(make([]byte, 0, 1+len(upper)), upper)
	} else {
		hi = []byte{nsData + 1}
	}
	return lo, hi, false
}

// commonPrefix returns the longest prefix shared by every key in [lo, hi):
// the longest common prefix of the bounds, or, when hi is the end of the
// data namespace, the namespace byte followed by lo's leading 0xff bytes.
// Badger uses it to skip tables and to stop iterating.
func commonPrefix(lo, hi []byte) []byte {
	if len(hi) == 1 {
		n := 1
		for n < len(lo) && lo[n] == 0xff {
			n++
		}
		return lo[:n:n]
	}
	n := 0
	for n < len(lo) && n < len(hi) && lo[n] == hi[n] {
		n++
	}
	return lo[:n:n]
}

// seekBelow returns the largest possible encoded data key below hi, where a
// reverse scan starts. Badger's reverse Seek finds the largest key at or
// below its argument, and records its argument as read, so seeking to hi
// itself would both need skipping hi and make the transaction conflict with
// writes to hi, which lies outside the range.
func seekBelow(hi []byte) []byte {
	n := len(hi)
	if n > maxDataKey {
		// No data key is as long as hi: the largest one below it is hi's
		// own prefix of the longest length.
		return hi[:maxDataKey:maxDataKey]
	}
	if hi[n-1] == 0 {
		return hi[: n-1 : n-1]
	}
	out := make([]byte, maxDataKey)
	copy(out, hi[:n-1])
	out[n-1] = hi[n-1] - 1
	for i := n; i < len(out); i++ {
		out[i] = 0xff
	}
	return out
}

func (t *tx) scan(r store.Range, yield func(store.Entry, error) bool) {
	lo, hi, isEmpty := bounds(r)
	// lock and unlock take t.mu around each step that touches the Badger
	// transaction (yield runs outside it); if a step panics, the deferred
	// release unlocks it, so the transaction and Close do not hang.
	locked := false
	lock := func() { t.mu.Lock(); locked = true }
	unlock := func() { locked = false; t.mu.Unlock() }
	defer func() {
		if locked {
			t.mu.Unlock()
		}
	}()
	lock()
	if t.done {
		unlock()
		yield(store.Entry{}, errTxnDone)
		return
	}
	if err := store.ContextError(t.ctx); err != nil {
		unlock()
		yield(store.Entry{}, err)
		return
	}
	if isEmpty {
		unlock()
		return
	}
	prefix := commonPrefix(lo, hi)
	// Badger stops at the end of the prefix by itself: the bounds need
	// checking on every entry only where they are narrower.
	checkHi := !r.Reverse && !bytes.Equal(hi, store.PrefixEnd(prefix))
	checkLo := r.Reverse && !bytes.Equal(lo, prefix)
	sc := &scan{it: t.btx.NewIterator(badger.IteratorOptions{
		Reverse: r.Reverse,
		Prefix:  prefix,
		// Values are read one at a time as the loop reaches them: most
		// are inline and cheap to read, and prefetching costs a
		// goroutine per entry.
		PrefetchValues: false,
	})}
	if t.scans == nil {
		t.scans = make(map[*scan]struct{})
	}
	t.scans[sc] = struct{}{}
	defer func() {
		if !locked { // a panic may have left it held
			lock()
		}
		sc.close()
		delete(t.scans, sc)
		unlock()
	}()
	if r.Reverse {
		sc.it.Seek(seekBelow(hi))
	} else {
		sc.it.Seek(lo)
	}
	unlock()

	var buf []byte // copies of values that must not be handed out in place
	for n := 1; ; n++ {
		lock()
		if n > 1 && !sc.closed {
			sc.it.Next()
		}
		if sc.closed {
			unlock()
			yield(store.Entry{}, errTxnDone)
			return
		}
		if n%ctxCheckEvery == 0 {
			if err := store.ContextError(t.ctx); err != nil {
				unlock()
				yield(store.Entry{}, err)
				return
			}
		}
		it := sc.it
		if !it.Valid() {
			unlock()
			return
		}
		item := it.Item()
		k := item.Key()
		if checkLo && bytes.Compare(k, lo) < 0 || checkHi && bytes.Compare(k, hi) >= 0 {
			unlock()
			return
		}
		e := store.Entry{Key: k[1:]}
		inPlace := false
		var err error
		switch {
		case r.KeysOnly:
		case t.s.codec.mem:
			inPlace, buf, err = t.memValue(item, e.Key, buf)
			e.Value = buf
		case item.UserMeta()&flagValueLog != 0:
			buf, err = item.ValueCopy(buf[:0])
			e.Value = buf
		default:
			inPlace = true
		}
		unlock()

		if err != nil {
			yield(store.Entry{}, mapReadErr(err))
			return
		}
		more := true
		if inPlace {
			// An inline value is a copy in the item's own buffer,
			// valid until the iterator moves: hand it out directly.
			err = item.Value(func(v []byte) error {
				if t.s.codec.mem {
					v = v[1:]
				}
				if len(v) == 0 {
					v = empty
				}
				e.Value = v
				more = yield(e, nil)
				return nil
			})
			if err != nil {
				yield(store.Entry{}, mapReadErr(err))
				return
			}
		} else {
			if !r.KeysOnly && len(e.Value) == 0 {
				e.Value = empty
			}
			more = yield(e, nil)
		}
		if !more {
			return
		}
	}
}

// memValue reads an in-memory value: it reports whether the value is inline
// (and can be handed out in place), or assembles a chunked one into buf.
func (t *tx) memValue(item *badger.Item, key, buf []byte) (inline bool, _ []byte, _ error) {
	size, chunks := 0, 0
	err := item.Value(func(v []byte) error {
		var err error
		_, size, chunks, err = t.s.codec.header(v)
		return err
	})
	if err != nil {
		return false, buf, err
	}
	if chunks == 0 {
		return true, buf, nil
	}
	buf, err = t.s.codec.assemble(t.btx, buf, key, size)
	return false, buf, err
}
