package badger

import (
	"encoding/binary"
	"fmt"

	"github.com/crmkit/crmkit/store"
	"github.com/dgraph-io/badger/v4"
)

// Key layout. Every key the store writes to Badger starts with a namespace
// byte, which keeps the caller's key space apart from internal keys:
//
//	'd' key              the caller's key (data)
//	'c' len(key) key i   chunk i of a large value, in-memory mode only
//
// Without it, caller keys starting with "!badger!", which Badger reserves for
// itself, could not be stored. A constant prefix keeps the caller's byte-wise
// order.
const (
	nsData  byte = 'd'
	nsChunk byte = 'c'
)

// maxDataKey is the length of the longest encoded data key.
const maxDataKey = 1 + store.MaxKeySize

// flagValueLog is set in an entry's Badger user-meta byte when its value may
// live in the value log (it is at least as long as the value threshold). A
// value log value is handed out by Badger under a read lock on its file, and
// a commit that rotates that file waits for the lock: yielding such a value
// to the caller's loop, which may commit, could deadlock. Scans therefore
// copy flagged values and hand out unflagged (inline) ones in place.
const flagValueLog byte = 1

// Value encoding in in-memory mode: a header byte, then either the value
// (inline) or the value's length (chunked; the bytes are in chunk keys).
const (
	memInline  byte = 0
	memChunked byte = 1
)

// empty is returned for empty values, so that they are never nil.
var empty = []byte{}

// appendDataKey appends the encoded data key for key to dst.
func appendDataKey(dst, key []byte) []byte {
	dst = append(dst, nsData)
	return append(dst, key...)
}

// appendChunkKey appends the key of chunk i of key's value to dst.
func appendChunkKey(dst, key []byte, i int) []byte {
	dst = append(dst, nsChunk)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(key)))
	dst = append(dst, key...)
	return binary.BigEndian.AppendUint32(dst, uint32(i))
}

// writeTarget is what writes go to: a *badger.Txn or a *badger.WriteBatch.
type writeTarget interface {
	SetEntry(e *badger.Entry) error
	Delete(key []byte) error
}

// codec turns the caller's keys and values into Badger entries and back.
type codec struct {
	mem bool
	// flagAt is the value length from which values may go to the value log
	// (disk mode).
	flagAt int
	// chunk is the largest chunk, and inlineMax the largest inline value,
	// in in-memory mode. Badger stores an in-memory value only if it is
	// shorter than the value threshold.
	chunk, inlineMax int
}

func newCodec(o *badger.Options) codec {
	c := codec{mem: o.InMemory, flagAt: int(o.ValueThreshold)}
	if c.mem {
		c.chunk = int(o.ValueThreshold) - 1
		c.inlineMax = c.chunk - 1
	}
	return c
}

// chunks returns how many chunks hold a value of n bytes in in-memory mode
// (zero if it is stored inline).
func (c codec) chunks(n int) int {
	if n <= c.inlineMax {
		return 0
	}
	return (n + c.chunk - 1) / c.chunk
}

// arena hands out the copies of keys and values, and the entries, that a
// transaction or a batch gives to Badger, in blocks that grow with use: a
// transaction of many small writes makes a few allocations instead of two
// per write. Badger keeps what it is given until the commit, and the
// garbage collector frees a block once no entry refers to it.
type arena struct {
	buf      []byte
	nextBuf  int
	entries  []badger.Entry
	nextEnts int
}

const (
	arenaFirstBuf  = 256
	arenaMaxBuf    = 64 << 10
	arenaFirstEnts = 1
	arenaMaxEnts   = 256
)

// bytes returns n bytes.
func (a *arena) bytes(n int) []byte {
	if n > arenaMaxBuf/4 {
		return make([]byte, n)
	}
	if len(a.buf) < n {
		size := max(a.nextBuf, arenaFirstBuf)
		for size < n {
			size *= 2
		}
		a.buf = make([]byte, size)
		a.nextBuf = min(2*size, arenaMaxBuf)
	}
	b := a.buf[:n:n]
	a.buf = a.buf[n:]
	return b
}

// entry returns a new entry for key and value.
func (a *arena) entry(key, value []byte) *badger.Entry {
	if len(a.entries) == 0 {
		size := max(a.nextEnts, arenaFirstEnts)
		a.entries = make([]badger.Entry, size)
		a.nextEnts = min(2*size, arenaMaxEnts)
	}
	e := &a.entries[0]
	a.entries = a.entries[1:]
	e.Key, e.Value = key, value
	return e
}

// dataKey returns a copy of key's encoded data key.
func (a *arena) dataKey(key []byte) []byte {
	b := a.bytes(1 + len(key))
	b[0] = nsData
	copy(b[1:], key)
	return b
}

// set writes key=value to w. In in-memory mode, old is the number of chunks
// the key's previous value had, which are deleted if the new value has
// fewer. The caller's slices are copied (into a): Badger keeps what it is
// given until the commit.
func (c codec) set(w writeTarget, a *arena, key, value []byte, old int) error {
	if !c.mem {
		buf := a.bytes(1 + len(key) + len(value))
		buf[0] = nsData
		n := 1 + copy(buf[1:], key)
		copy(buf[n:], value)
		e := a.entry(buf[:n:n], buf[n:])
		if len(value) >= c.flagAt {
			e.UserMeta = flagValueLog
		}
		return w.SetEntry(e)
	}
	n := c.chunks(len(value))
	if n == 0 {
		buf := a.bytes(2 + len(key) + len(value))
		buf[0] = nsData
		k := 1 + copy(buf[1:], key)
		buf[k] = memInline
		copy(buf[k+1:], value)
		if err := w.SetEntry(a.entry(buf[:k:k], buf[k:])); err != nil {
			return err
		}
		return c.deleteChunks(w, a, key, 0, old)
	}
	data := a.bytes(len(value))
	copy(data, value)
	for i := range n {
		end := min((i+1)*c.chunk, len(data))
		chunk := data[i*c.chunk : end : end]
		if err := w.SetEntry(a.entry(appendChunkKey(a.bytes(7 + len(key))[:0], key, i), chunk)); err != nil {
			return err
		}
	}
	head := binary.AppendUvarint(append(a.bytes(1 + binary.MaxVarintLen64)[:0], memChunked), uint64(len(value)))
	if err := w.SetEntry(a.entry(a.dataKey(key), head)); err != nil {
		return err
	}
	return c.deleteChunks(w, a, key, n, old)
}

// del deletes key from w; old is as for set.
func (c codec) del(w writeTarget, a *arena, key []byte, old int) error {
	if err := w.Delete(a.dataKey(key)); err != nil {
		return err
	}
	return c.deleteChunks(w, a, key, 0, old)
}

// deleteChunks deletes chunks [from, to) of key.
func (c codec) deleteChunks(w writeTarget, a *arena, key []byte, from, to int) error {
	for i := from; i < to; i++ {
		if err := w.Delete(appendChunkKey(a.bytes(7 + len(key))[:0], key, i)); err != nil {
			return err
		}
	}
	return nil
}

// header decodes an in-memory value: its payload if inline, or its length
// and chunk count if chunked.
func (c codec) header(v []byte) (inline []byte, size, chunks int, err error) {
	if len(v) == 0 {
		return nil, 0, 0, errCorrupt("empty value header")
	}
	switch v[0] {
	case memInline:
		return v[1:], len(v) - 1, 0, nil
	case memChunked:
		n, k := binary.Uvarint(v[1:])
		if k <= 0 || n > store.MaxValueSize {
			return nil, 0, 0, errCorrupt("bad chunked value header")
		}
		return nil, int(n), c.chunks(int(n)), nil
	default:
		return nil, 0, 0, errCorrupt(fmt.Sprintf("unknown value header %#x", v[0]))
	}
}

// storedChunks returns the number of chunks the committed-or-pending value of
// key has in txn (in-memory mode), reading the key.
func (c codec) storedChunks(txn *badger.Txn, key []byte) (int, error) {
	item, err := txn.Get(appendDataKey(make([]byte, 0, 1+len(key)), key))
	if err == badger.ErrKeyNotFound {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n int
	err = item.Value(func(v []byte) error {
		var err error
		_, _, n, err = c.header(v)
		return err
	})
	return n, err
}

// assemble reads the chunks of a chunked value of size bytes into dst
// (reusing its capacity).
func (c codec) assemble(txn *badger.Txn, dst, key []byte, size int) ([]byte, error) {
	if cap(dst) < size {
		dst = make([]byte, size)
	}
	dst = dst[:size]
	var ck []byte
	for i := range c.chunks(size) {
		ck = appendChunkKey(ck[:0], key, i)
		item, err := txn.Get(ck)
		if err == badger.ErrKeyNotFound {
			return nil, errCorrupt(fmt.Sprintf("chunk %d of a %d-byte value is missing", i, size))
		}
		if err != nil {
			return nil, err
		}
		off := i * c.chunk
		want := min(c.chunk, size-off)
		err = item.Value(func(v []byte) error {
			if len(v) != want {
				return errCorrupt(fmt.Sprintf("chunk %d holds %d bytes, want %d", i, len(v), want))
			}
			copy(dst[off:], v)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return dst, nil
}
