package badger

import (
	"context"
	"fmt"
	"sync"

	"github.com/crmkit/crmkit/store"
	"github.com/dgraph-io/badger/v4"
)

// batchFlushBytes is how much data a Batch writes between flushes. Badger's
// WriteBatch splits by the transaction size limit, which counts a value-log
// value as a few bytes; flushing every so often bounds the memory pinned by
// pending transactions and the size of one value-log write.
const batchFlushBytes = 64 << 20

// batchCtxCheckEvery is how many writes a Batch makes between context
// checks.
const batchCtxCheckEvery = 256

// batch is a store.Writer over Badger WriteBatches.
type batch struct {
	s   *Store
	ctx context.Context

	mu      sync.Mutex
	wb      *badger.WriteBatch
	done    bool
	err     error
	ops     int
	pending int64
	arena   arena

	// In in-memory mode, writes must delete the chunks of the value they
	// replace. snap reads the values committed before the batch began (or
	// before its last intermediate flush); chunks records the chunk count
	// of keys this batch wrote with (or over) a chunked value, which snap
	// may not see.
	snap   *badger.Txn
	chunks map[string]int
}

var _ store.Writer = (*batch)(nil)

func newBatch(s *Store, ctx context.Context) *batch {
	b := &batch{s: s, ctx: ctx, wb: s.newWriteBatch()}
	if s.codec.mem {
		b.snap = s.db.NewTransaction(false)
		b.chunks = make(map[string]int)
	}
	return b
}

func (s *Store) newWriteBatch() *badger.WriteBatch {
	wb := s.db.NewWriteBatch()
	wb.SetMaxPendingTxns(defaultPendingBatchTxn)
	return wb
}

// Set stores a copy of value at key.
func (b *batch) Set(key, value []byte) error {
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("badger: batch set: %w", err)
	}
	if err := store.CheckValue(value); err != nil {
		return fmt.Errorf("badger: batch set: %w", err)
	}
	return b.write(key, value, false)
}

// Delete removes key.
func (b *batch) Delete(key []byte) error {
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("badger: batch delete: %w", err)
	}
	return b.write(key, nil, true)
}

func (b *batch) write(key, value []byte, del bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.done:
		return errTxnDone
	case b.err != nil:
		return b.err
	}
	b.ops++
	if b.ops%batchCtxCheckEvery == 0 {
		if err := store.ContextError(b.ctx); err != nil {
			b.err = err
			return err
		}
	}
	if b.pending >= batchFlushBytes {
		if err := b.flushLocked(); err != nil {
			return err
		}
		b.wb = b.s.newWriteBatch()
		if b.snap != nil {
			// A read transaction holds back Badger's cleanup of commit
			// records; what it read is now committed, so move it on.
			b.snap.Discard()
			b.snap = b.s.db.NewTransaction(false)
		}
	}
	b.pending += int64(len(key) + len(value))

	c := b.s.codec
	old := 0
	if c.mem {
		var err error
		if old, err = b.oldChunks(key); err != nil {
			b.err = mapReadErr(err)
			return b.err
		}
		if n := c.chunks(len(value)); n > 0 || old > 0 {
			b.chunks[string(key)] = n
		}
	}
	var err error
	if del {
		err = c.del(b.wb, &b.arena, key, old)
	} else {
		err = c.set(b.wb, &b.arena, key, value, old)
	}
	if err != nil {
		b.err = mapWriteErr(&b.s.opts, err)
		return b.err
	}
	return nil
}

// oldChunks returns the chunk count of key's current value (in-memory
// mode).
func (b *batch) oldChunks(key []byte) (int, error) {
	if n, ok := b.chunks[string(key)]; ok {
		return n, nil
	}
	return b.s.codec.storedChunks(b.snap, key)
}

// flushLocked commits what the current WriteBatch holds. The caller holds
// b.mu.
func (b *batch) flushLocked() error {
	wb := b.wb
	b.wb = nil
	b.pending = 0
	if err := wb.Flush(); err != nil {
		b.err = mapCommitErr(&b.s.opts, err)
		return b.err
	}
	return nil
}

// flush ends the batch and commits its last writes.
func (b *batch) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	if b.err != nil {
		return b.err
	}
	if err := store.ContextError(b.ctx); err != nil {
		return err
	}
	return b.flushLocked()
}

// finish ends the batch and drops writes not yet committed, if flush did
// not commit them.
func (b *batch) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	if b.wb != nil {
		b.wb.Cancel()
		b.wb = nil
	}
	if b.snap != nil {
		b.snap.Discard()
	}
}
