package postgres

import (
	"bytes"
	"slices"

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
