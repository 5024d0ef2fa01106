package memory

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"unsafe"

	"github.com/crmkit/crmkit/store"
	"github.com/google/btree"
)

// pendingDegree is the B-tree degree of a transaction's pending writes,
// which are usually few.
const pendingDegree = 8

// tx is a transaction over one snapshot. Writes of a read-write
// transaction collect in pending, ordered, until commit.
type tx struct {
	s        *Store
	ctx      context.Context
	snap     *snapshot
	writable bool
	done     bool
	pending  *btree.BTreeG[item]
	reads    []uint64 // hashes of keys read from the snapshot (read-write only)
	appends  []appendOp
}

// appendOp is an Append waiting for its number at commit.
type appendOp struct {
	prefix, value string
	seq           *uint64
}

var _ store.Appender = (*tx)(nil)

// Append queues value for the key prefix+seq; Update numbers it at commit
// (see store.Appender).
func (t *tx) Append(prefix, value []byte, seq *uint64) error {
	if err := t.writeCheck(); err != nil {
		return err
	}
	if err := store.CheckKey(append(prefix[:len(prefix):len(prefix)], make([]byte, store.SeqSize)...)); err != nil {
		return fmt.Errorf("memory: append: %w", err)
	}
	if err := store.CheckValue(value); err != nil {
		return fmt.Errorf("memory: append %q: %w", truncate(prefix), err)
	}
	t.appends = append(t.appends, appendOp{string(prefix), string(value), seq})
	return nil
}

// view returns key as a string without copying, for lookups only: the
// result must not outlive key or be stored.
func view(key []byte) string {
	return unsafe.String(unsafe.SliceData(key), len(key))
}

// Get returns a copy of the value at key.
func (t *tx) Get(key []byte) ([]byte, error) {
	if t.done {
		return nil, errTxnDone
	}
	if err := store.CheckKey(key); err != nil {
		return nil, fmt.Errorf("memory: get: %w", err)
	}
	k := item{key: view(key)}
	if t.pending != nil {
		if it, ok := t.pending.Get(k); ok {
			if it.del {
				return nil, errNotFound
			}
			return []byte(it.val), nil
		}
	}
	if t.writable {
		t.reads = append(t.reads, maphash.Bytes(t.s.seed, key))
	}
	it, ok := t.snap.tree.Get(k)
	if !ok {
		return nil, errNotFound
	}
	return []byte(it.val), nil
}

// Set stores a copy of value at key in the pending writes.
func (t *tx) Set(key, value []byte) error {
	if err := t.writeCheck(); err != nil {
		return err
	}
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("memory: set: %w", err)
	}
	if err := store.CheckValue(value); err != nil {
		return fmt.Errorf("memory: set %q: %w", truncate(key), err)
	}
	t.write(item{key: string(key), val: string(value)})
	return nil
}

// Delete records the removal of key in the pending writes.
func (t *tx) Delete(key []byte) error {
	if err := t.writeCheck(); err != nil {
		return err
	}
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("memory: delete: %w", err)
	}
	t.write(item{key: string(key), del: true})
	return nil
}

func (t *tx) writeCheck() error {
	if t.done {
		return errTxnDone
	}
	if !t.writable {
		return errReadOnly
	}
	return nil
}

func (t *tx) write(it item) {
	if t.pending == nil {
		t.pending = btree.NewWithFreeListG[item](pendingDegree, less, t.s.free)
	}
	t.pending.ReplaceOrInsert(it)
}

// Scan streams the range from the snapshot merged with the pending writes
// as they were when the loop started.
func (t *tx) Scan(r store.Range) iter.Seq2[store.Entry, error] {
	return func(yield func(store.Entry, error) bool) {
		if t.done {
			yield(store.Entry{}, errTxnDone)
			return
		}
		lower, upper := r.Bounds()
		sc := scanner{
			t:        t,
			yield:    yield,
			done:     t.ctx.Done(),
			keysOnly: r.KeysOnly,
			lower:    string(lower),
			upper:    string(upper),
			bounded:  upper != nil,
			record:   t.writable,
		}
		if sc.bounded && sc.upper <= sc.lower {
			return
		}
		if t.pending != nil && t.pending.Len() > 0 {
			// A clone freezes the pending writes for this scan, so writes made
			// inside the loop neither show up in it nor disturb it.
			sc.pend = t.pending.Clone()
		}
		if r.Reverse {
			sc.reverse()
		} else {
			sc.forward()
		}
	}
}

// scanner is the state of one Scan.
type scanner struct {
	t        *tx
	yield    func(store.Entry, error) bool
	done     <-chan struct{}
	keysOnly bool
	record   bool
	lower    string // inclusive; "" is open
	upper    string // exclusive if bounded
	bounded  bool
	stopped  bool
	key, val []byte // reused entry buffers

	pend *btree.BTreeG[item] // frozen pending writes, nil if none
	next item                // next pending write in scan order
	ok   bool                // next is valid
}

func (sc *scanner) inUpper(key string) bool { return !sc.bounded || key < sc.upper }

// emit yields one entry, or the error that stops the scan. It reports
// whether the scan goes on.
func (sc *scanner) emit(key, val string, fromSnapshot bool) bool {
	if sc.t.done {
		sc.fail(errTxnDone)
		return false
	}
	if sc.done != nil {
		select {
		case <-sc.done:
			sc.fail(fmt.Errorf("memory: scan: %w", sc.t.ctx.Err()))
			return false
		default:
		}
	}
	if fromSnapshot && sc.record {
		sc.t.reads = append(sc.t.reads, maphash.String(sc.t.s.seed, key))
	}
	sc.key = append(sc.key[:0], key...)
	e := store.Entry{Key: sc.key}
	if !sc.keysOnly {
		if sc.val == nil {
			sc.val = make([]byte, 0, 64)
		}
		sc.val = append(sc.val[:0], val...)
		e.Value = sc.val
	}
	if !sc.yield(e, nil) {
		sc.stopped = true
		return false
	}
	return true
}

func (sc *scanner) fail(err error) {
	sc.stopped = true
	sc.yield(store.Entry{}, err)
}

// emitPending yields a pending write unless it is a delete.
func (sc *scanner) emitPending(it item) bool {
	if it.del {
		return true
	}
	return sc.emit(it.key, it.val, false)
}

// seekUp positions the pending cursor on the first write at or after key
// (after it if exclusive) within the upper bound.
func (sc *scanner) seekUp(key string, exclusive bool) {
	sc.ok = false
	sc.pend.AscendGreaterOrEqual(item{key: key}, func(it item) bool {
		if exclusive && it.key == key {
			return true
		}
		if sc.inUpper(it.key) {
			sc.next, sc.ok = it, true
		}
		return false
	})
}

// seekDown positions the pending cursor on the last write before key
// (bounded) or at the very end (unbounded), within the lower bound.
func (sc *scanner) seekDown(key string, bounded bool) {
	sc.ok = false
	fn := func(it item) bool {
		if bounded && it.key >= key {
			return true
		}
		if it.key >= sc.lower {
			sc.next, sc.ok = it, true
		}
		return false
	}
	if bounded {
		sc.pend.DescendLessOrEqual(item{key: key}, fn)
	} else {
		sc.pend.Descend(fn)
	}
}

func (sc *scanner) forward() {
	if sc.pend != nil {
		sc.seekUp(sc.lower, false)
	}
	visit := func(it item) bool {
		for sc.ok && sc.next.key <= it.key {
			p := sc.next
			sc.seekUp(p.key, true)
			if !sc.emitPending(p) {
				return false
			}
			if p.key == it.key {
				return true // the pending write replaces the snapshot entry
			}
		}
		return sc.emit(it.key, it.val, true)
	}
	tree := sc.t.snap.tree
	if sc.bounded {
		tree.AscendRange(item{key: sc.lower}, item{key: sc.upper}, visit)
	} else {
		tree.AscendGreaterOrEqual(item{key: sc.lower}, visit)
	}
	for !sc.stopped && sc.ok {
		p := sc.next
		sc.seekUp(p.key, true)
		if !sc.emitPending(p) {
			return
		}
	}
}

func (sc *scanner) reverse() {
	if sc.pend != nil {
		sc.seekDown(sc.upper, sc.bounded)
	}
	visit := func(it item) bool {
		if sc.bounded && it.key >= sc.upper {
			return true
		}
		if it.key < sc.lower {
			return false
		}
		for sc.ok && sc.next.key >= it.key {
			p := sc.next
			sc.seekDown(p.key, true)
			if !sc.emitPending(p) {
				return false
			}
			if p.key == it.key {
				return true
			}
		}
		return sc.emit(it.key, it.val, true)
	}
	tree := sc.t.snap.tree
	if sc.bounded {
		tree.DescendLessOrEqual(item{key: sc.upper}, visit)
	} else {
		tree.Descend(visit)
	}
	for !sc.stopped && sc.ok {
		p := sc.next
		sc.seekDown(p.key, true)
		if !sc.emitPending(p) {
			return
		}
	}
}
