package memory

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/crmkit/crmkit/store"
	"github.com/google/btree"
)

// Errors returned by this package, wrapping the store sentinels.
var (
	errClosed   = fmt.Errorf("memory: %w", store.ErrClosed)
	errNotFound = fmt.Errorf("memory: %w", store.ErrNotFound)
	errConflict = fmt.Errorf("memory: commit: %w", store.ErrConflict)
	errReadOnly = fmt.Errorf("memory: %w", store.ErrReadOnly)
	errTxnDone  = fmt.Errorf("memory: %w", store.ErrTxnDone)
)

// degree is the B-tree degree of the committed tree. Larger nodes scan
// faster; smaller ones make the per-commit copy of a path cheaper.
const degree = 16

// defaultBatchSize is the number of writes Batch applies at a time.
const defaultBatchSize = 4096

// batchBytes caps the bytes of one Batch chunk, whatever its write count.
const batchBytes = 16 << 20

// Option configures a Store.
type Option func(*options)

type options struct {
	batchSize int
}

// WithBatchSize sets how many writes Batch applies under one lock
// acquisition (default 4096). Values below 1 keep the default.
func WithBatchSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.batchSize = n
		}
	}
}

// item is one entry of a tree. In a transaction's pending writes, del marks
// a delete; the committed tree holds no deletes.
type item struct {
	key string
	val string
	del bool
}

func less(a, b item) bool { return a.key < b.key }

// snapshot is an immutable committed state: nobody writes to tree.
type snapshot struct {
	tree *btree.BTreeG[item]
	seq  uint64 // number of commits it includes
}

// commitRecord lists the key hashes one commit wrote.
type commitRecord struct {
	seq    uint64
	hashes []uint64
}

// Store is an in-memory store.Store. It is safe for concurrent use.
type Store struct {
	opts   options
	seed   maphash.Seed
	free   *btree.FreeListG[item]
	snap   atomic.Pointer[snapshot]
	closed atomic.Bool

	mu     sync.Mutex
	master *btree.BTreeG[item] // the writable committed tree; a clone is published per commit
	seq    uint64
	// active counts open read-write transactions by the snapshot sequence
	// they began at.
	active map[uint64]int
	// log holds, oldest first, the writes of commits that an open
	// transaction began before; lastWrite maps a key hash to the newest
	// logged commit that wrote it.
	log       []commitRecord
	lastWrite map[uint64]uint64
	// appended is the last number Append assigned, lastAppend the last
	// number under each prefix appended to (see number).
	appended   uint64
	lastAppend map[string]uint64
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New(opts ...Option) *Store {
	o := options{batchSize: defaultBatchSize}
	for _, opt := range opts {
		opt(&o)
	}
	free := btree.NewFreeListG[item](btree.DefaultFreeListSize)
	s := &Store{
		opts:       o,
		seed:       maphash.MakeSeed(),
		free:       free,
		master:     btree.NewWithFreeListG[item](degree, less, free),
		active:     make(map[uint64]int),
		lastWrite:  make(map[uint64]uint64),
		lastAppend: make(map[string]uint64),
	}
	s.snap.Store(&snapshot{tree: s.master.Clone()})
	return s
}

// View runs fn in a read-only transaction over the latest snapshot.
func (s *Store) View(ctx context.Context, fn func(tx store.Tx) error) error {
	if s.closed.Load() {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	tx := &tx{s: s, ctx: ctx, snap: s.snap.Load()}
	defer func() { tx.done = true }()
	return fn(tx)
}

// Update runs fn in a read-write transaction and commits it if fn returns
// nil. It never returns store.ErrTooLarge.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if s.closed.Load() {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return errClosed
	}
	snap := s.snap.Load()
	s.active[snap.seq]++
	s.mu.Unlock()

	tx := &tx{s: s, ctx: ctx, snap: snap, writable: true}
	ended := false
	defer func() {
		if !ended { // fn panicked: end the transaction all the same
			tx.done = true
			s.mu.Lock()
			s.release(snap.seq)
			s.prune()
			s.mu.Unlock()
		}
	}()
	err := fn(tx)
	tx.done = true
	if err == nil {
		if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("memory: %w", cerr)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ended = true
	s.release(snap.seq)
	if err != nil || (tx.pending == nil || tx.pending.Len() == 0) && len(tx.appends) == 0 {
		s.prune()
		return err
	}
	if s.closed.Load() {
		return errClosed
	}
	if len(tx.reads) > 0 && len(s.lastWrite) > 0 {
		for _, h := range tx.reads {
			if seq, ok := s.lastWrite[h]; ok && seq > snap.seq {
				s.prune()
				return errConflict
			}
		}
	}
	var hashes []uint64
	logging := len(s.active) > 0
	apply := func(it item) bool {
		if it.del {
			s.master.Delete(it)
		} else {
			s.master.ReplaceOrInsert(item{key: it.key, val: it.val})
		}
		if logging {
			hashes = append(hashes, maphash.String(s.seed, it.key))
		}
		return true
	}
	if tx.pending != nil {
		tx.pending.Ascend(apply)
	}
	for _, a := range tx.appends {
		n := s.number(a.prefix)
		apply(item{key: a.prefix + string(binary.BigEndian.AppendUint64(nil, n)), val: a.value})
		*a.seq = n
	}
	s.publish(hashes, logging)
	return nil
}

// number assigns the next number under prefix: greater than every number
// assigned before and than the number of every key under prefix. s.mu is
// held.
func (s *Store) number(prefix string) uint64 {
	last, ok := s.lastAppend[prefix]
	if !ok {
		end := store.PrefixEnd([]byte(prefix))
		found := func(it item) bool {
			if strings.HasPrefix(it.key, prefix) && len(it.key) == len(prefix)+store.SeqSize {
				last = binary.BigEndian.Uint64([]byte(it.key[len(prefix):]))
				return false
			}
			return it.key >= prefix
		}
		if end == nil {
			s.master.Descend(found)
		} else {
			s.master.DescendLessOrEqual(item{key: string(end)}, found)
		}
	}
	n := max(s.appended, last) + 1
	s.appended, s.lastAppend[prefix] = n, n
	return n
}

// Batch runs fn with a Writer that applies writes in chunks of the batch
// size. Batch writes do not detect conflicts, but they do make concurrent
// read-write transactions that read the same keys conflict.
func (s *Store) Batch(ctx context.Context, fn func(w store.Writer) error) error {
	if s.closed.Load() {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	w := &batch{s: s, ctx: ctx}
	defer func() { w.done, w.items = true, nil }()
	if err := fn(w); err != nil {
		return err
	}
	return w.flush()
}

// Close releases the store's data. Calls after Close return an error
// matching store.ErrClosed; Close itself is idempotent. Transactions still
// running finish reading their snapshot but cannot commit.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	s.master = nil
	s.log = nil
	s.lastWrite = nil
	return nil
}

// release ends a read-write transaction that began at seq. s.mu is held.
func (s *Store) release(seq uint64) {
	if n := s.active[seq]; n > 1 {
		s.active[seq] = n - 1
	} else {
		delete(s.active, seq)
	}
}

// publish finishes a commit applied to s.master: it logs the written key
// hashes if an open transaction may conflict with them, prunes the log and
// publishes a new snapshot. s.mu is held.
func (s *Store) publish(hashes []uint64, logging bool) {
	s.seq++
	if logging {
		for _, h := range hashes {
			s.lastWrite[h] = s.seq
		}
		s.log = append(s.log, commitRecord{seq: s.seq, hashes: hashes})
	}
	s.prune()
	s.snap.Store(&snapshot{tree: s.master.Clone(), seq: s.seq})
}

// prune drops the commit records that no open transaction can conflict
// with: those at or before the oldest open transaction's snapshot. s.mu is
// held.
func (s *Store) prune() {
	if len(s.log) == 0 {
		return
	}
	if len(s.active) == 0 {
		s.log = s.log[:0]
		if len(s.lastWrite) > 4096 {
			s.lastWrite = make(map[uint64]uint64)
		} else {
			clear(s.lastWrite)
		}
		return
	}
	oldest := ^uint64(0)
	for seq := range s.active {
		oldest = min(oldest, seq)
	}
	n := 0
	for n < len(s.log) && s.log[n].seq <= oldest {
		rec := s.log[n]
		for _, h := range rec.hashes {
			if s.lastWrite[h] == rec.seq {
				delete(s.lastWrite, h)
			}
		}
		s.log[n] = commitRecord{}
		n++
	}
	if n > 0 {
		s.log = s.log[n:]
	}
}

// apply commits a chunk of Batch writes in order. s.mu is not held.
func (s *Store) apply(items []item) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return errClosed
	}
	var hashes []uint64
	logging := len(s.active) > 0
	if logging {
		hashes = make([]uint64, 0, len(items))
	}
	for _, it := range items {
		if it.del {
			s.master.Delete(it)
		} else {
			s.master.ReplaceOrInsert(it)
		}
		if logging {
			hashes = append(hashes, maphash.String(s.seed, it.key))
		}
	}
	s.publish(hashes, logging)
	return nil
}

// batch is the Writer of Batch.
type batch struct {
	s     *Store
	ctx   context.Context
	items []item
	bytes int
	done  bool
}

// Set queues key=value, applying the queue when it is full.
func (w *batch) Set(key, value []byte) error {
	if w.done {
		return errTxnDone
	}
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("memory: set: %w", err)
	}
	if err := store.CheckValue(value); err != nil {
		return fmt.Errorf("memory: set %q: %w", truncate(key), err)
	}
	return w.add(item{key: string(key), val: string(value)})
}

// Delete queues the removal of key.
func (w *batch) Delete(key []byte) error {
	if w.done {
		return errTxnDone
	}
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("memory: delete: %w", err)
	}
	return w.add(item{key: string(key), del: true})
}

func (w *batch) add(it item) error {
	w.items = append(w.items, it)
	w.bytes += len(it.key) + len(it.val)
	if len(w.items) >= w.s.opts.batchSize || w.bytes >= batchBytes {
		return w.flush()
	}
	return nil
}

// flush applies the queued writes.
func (w *batch) flush() error {
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("memory: batch: %w", err)
	}
	if len(w.items) == 0 {
		return nil
	}
	err := w.s.apply(w.items)
	clear(w.items)
	w.items = w.items[:0]
	w.bytes = 0
	return err
}

// truncate shortens a key for an error message.
func truncate(key []byte) []byte {
	if len(key) > 64 {
		return key[:64]
	}
	return key
}
