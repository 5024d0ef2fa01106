package badger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/crmkit/crmkit/store"
	"github.com/dgraph-io/badger/v4"
)

// Append (store.Appender) numbers writes at commit. A store-wide mutex is
// held while the numbers are assigned, the keys set and the transaction
// handed to Badger with CommitWith, which assigns Badger's commit
// timestamp and queues the write before it returns; the mutex is released
// before the write is waited for, so commits still share Badger's fsyncs.
// Numbers therefore follow commit timestamps, and since Badger's read
// timestamp only moves past a commit once every earlier one is done, a
// snapshot that sees a number sees every smaller one.
//
// Numbers come from a Badger sequence on an internal key (leased in
// ranges, so numbers skip after a restart), and under each prefix exceed
// the number of the last key there, looked up once per prefix.

// nsSeq holds the store's internal sequence keys.
const nsSeq byte = 's'

// appendLease is how many numbers the sequence leases at a time.
const appendLease = 1024

// appender is the store's numbering state.
type appender struct {
	mu   sync.Mutex
	seq  *badger.Sequence // nil until first used
	last map[string]uint64
}

// appendOp is an Append waiting for its number.
type appendOp struct {
	prefix, value []byte
	seq           *uint64
}

var _ store.Appender = (*tx)(nil)

// Append queues value for the key prefix+seq, numbered at commit. See
// store.Appender.
func (t *tx) Append(prefix, value []byte, seq *uint64) error {
	if err := store.CheckKey(append(prefix[:len(prefix):len(prefix)], make([]byte, store.SeqSize)...)); err != nil {
		return fmt.Errorf("badger: append: %w", err)
	}
	if err := store.CheckValue(value); err != nil {
		return fmt.Errorf("badger: append: %w", err)
	}
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
	t.bytes += int64(len(prefix) + store.SeqSize + len(value))
	if t.bytes > maxTxnBytes {
		t.err = fmt.Errorf("badger: transaction holds more than %d bytes: %w", maxTxnBytes, store.ErrTooLarge)
		return t.err
	}
	t.appends = append(t.appends, appendOp{bytes.Clone(prefix), bytes.Clone(value), seq})
	return nil
}

// commitAppends numbers the transaction's appends, sets them and commits.
// The caller holds t.mu.
func (t *tx) commitAppends() error {
	numbers, done, err := t.numberAppends()
	if err != nil {
		return err
	}
	if err := <-done; err != nil {
		return mapCommitErr(&t.s.opts, err)
	}
	for i, op := range t.appends {
		*op.seq = numbers[i]
	}
	return nil
}

// numberAppends numbers and sets the appends and starts the commit, under
// the appender's lock so that numbers commit in order; the deferred unlock
// releases it whatever happens. The commit's outcome arrives on done.
func (t *tx) numberAppends() (numbers []uint64, done chan error, err error) {
	a := &t.s.appender
	a.mu.Lock()
	defer a.mu.Unlock()
	numbers = make([]uint64, len(t.appends))
	for i, op := range t.appends {
		n, err := a.next(t.s.db, op.prefix)
		if err != nil {
			return nil, nil, fmt.Errorf("badger: append: %w", err)
		}
		numbers[i] = n
		key := binary.BigEndian.AppendUint64(bytes.Clone(op.prefix), n)
		if err := t.s.codec.set(t.btx, &t.arena, key, op.value, 0); err != nil {
			return nil, nil, mapWriteErr(&t.s.opts, err)
		}
	}
	done = make(chan error, 1)
	t.btx.CommitWith(func(err error) { done <- err })
	return numbers, done, nil
}

// next assigns the next number under prefix. a.mu is held.
func (a *appender) next(db *badger.DB, prefix []byte) (uint64, error) {
	if a.seq == nil {
		seq, err := db.GetSequence([]byte{nsSeq, 'a'}, appendLease)
		if err != nil {
			return 0, err
		}
		a.seq, a.last = seq, map[string]uint64{}
	}
	last, ok := a.last[string(prefix)]
	if !ok {
		var err error
		if last, err = lastNumber(db, prefix); err != nil {
			return 0, err
		}
	}
	n, err := a.seq.Next()
	if err != nil {
		return 0, err
	}
	n = max(n+1, last+1)
	a.last[string(prefix)] = n
	return n, nil
}

// lastNumber returns the number of the last committed key prefix+number,
// 0 if there is none.
func lastNumber(db *badger.DB, prefix []byte) (uint64, error) {
	var last uint64
	err := db.View(func(txn *badger.Txn) error {
		lo := appendDataKey(nil, prefix)
		opts := badger.DefaultIteratorOptions
		opts.Reverse, opts.PrefetchValues, opts.Prefix = true, false, lo
		it := txn.NewIterator(opts)
		defer it.Close()
		hi := store.PrefixEnd(lo)
		if hi == nil {
			hi = []byte{nsData + 1}
		}
		for it.Seek(hi); it.ValidForPrefix(lo); it.Next() {
			k := it.Item().Key()
			if len(k) == len(lo)+store.SeqSize {
				last = binary.BigEndian.Uint64(k[len(lo):])
				return nil
			}
		}
		return nil
	})
	return last, err
}

// release returns the sequence's unused lease. It runs as the store
// closes.
func (a *appender) release() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seq == nil {
		return nil
	}
	return a.seq.Release()
}
