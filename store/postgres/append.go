package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/crmkit/crmkit/store"
	"github.com/jackc/pgx/v5"
)

// Append (store.Appender) numbers writes at commit. For each prefix, in
// prefix order, the commit takes a transaction-scoped advisory lock on the
// prefix, then draws the numbers from the store's sequence and inserts the
// rows; the lock is held until the transaction ends. Committers of one
// prefix therefore take turns between drawing their numbers and
// committing, so numbers follow commit order and a snapshot that sees a
// number sees every smaller one; the rest of their transactions run side
// by side. Sequence values are never handed out twice, and the sequence is
// first advanced past the largest number under the prefix (keys copied in
// by a restore), so numbers are never reused either.

// appendLockSpace is the first key of the advisory locks of Append, apart
// from Open's (lockSpace).
const appendLockSpace = lockSpace + 1

// jumpGap is the largest gap between the sequence and the keys under a
// prefix that Append closes by drawing numbers.
const jumpGap = 100_000

// appendOp is an Append waiting for its number.
type appendOp struct {
	prefix, value []byte
	seq           *uint64
}

var _ store.Appender = (*tx)(nil)

// Append queues value for the key prefix+seq, numbered at commit. See
// store.Appender.
func (t *tx) Append(prefix, value []byte, seq *uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(); err != nil {
		return err
	}
	if !t.writable {
		return fmt.Errorf("postgres: %w", store.ErrReadOnly)
	}
	if err := store.CheckKey(append(prefix[:len(prefix):len(prefix)], make([]byte, store.SeqSize)...)); err != nil {
		return err
	}
	if err := store.CheckValue(value); err != nil {
		return err
	}
	t.appends = append(t.appends, appendOp{bytes.Clone(prefix), bytes.Clone(value), seq})
	t.wrote = true // the read set is validated at commit
	return nil
}

// prefixLock is the second key of a prefix's advisory lock.
func prefixLock(table string, prefix []byte) int32 {
	h := fnv.New32a()
	h.Write([]byte(table))
	h.Write(prefix)
	return int32(h.Sum32())
}

// numberAppends locks the prefixes of the transaction's appends, numbers
// them and inserts them. It runs in commit, after the other writes.
func (t *tx) numberAppends(ctx context.Context) ([]uint64, error) {
	groups := map[string][]int{}
	for i, op := range t.appends {
		groups[string(op.prefix)] = append(groups[string(op.prefix)], i)
	}
	prefixes := make([]string, 0, len(groups))
	for p := range groups {
		prefixes = append(prefixes, p)
	}
	slices.Sort(prefixes) // one lock order for every committer
	numbers := make([]uint64, len(t.appends))
	for _, p := range prefixes {
		idx := groups[p]
		prefix := []byte(p)
		var (
			last    []byte
			current int64
		)
		end := store.PrefixEnd(prefix)
		if end == nil { // a prefix of 0xff bytes: every longer key follows it
			end = bytes.Repeat([]byte{0xff}, store.MaxKeySize+1)
		}
		err := t.pg.QueryRow(ctx, t.s.sql.lockLast, int32(appendLockSpace), prefixLock(t.s.tables.kv, prefix),
			prefix, end, len(prefix)+store.SeqSize).Scan(nil, &last, &current)
		if err != nil {
			return nil, t.fail("append: lock", err)
		}
		if len(last) == len(prefix)+store.SeqSize {
			if floor := int64(binary.BigEndian.Uint64(last[len(prefix):])); floor > current {
				// A small gap is drawn, which can never move the sequence
				// back. A large one is jumped with setval: moving it back
				// would take other sessions drawing the whole gap between
				// its nextval and its setval.
				stmt, arg := t.s.sql.catchUp, floor-current
				if arg > jumpGap {
					stmt, arg = t.s.sql.jumpTo, floor
				}
				if _, err := t.pg.Exec(ctx, stmt, arg, t.s.tables.seq); err != nil {
					return nil, t.fail("append: catch up", err)
				}
			}
		}
		rows, err := t.pg.Query(ctx, t.s.sql.draw, len(idx), t.s.tables.seq)
		if err != nil {
			return nil, t.fail("append: draw", err)
		}
		drawn, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return nil, t.fail("append: draw", err)
		}
		keys := make([][]byte, len(idx))
		values := make([][]byte, len(idx))
		for j, i := range idx {
			numbers[i] = uint64(drawn[j])
			keys[j] = binary.BigEndian.AppendUint64(bytes.Clone(prefix), numbers[i])
			values[j] = t.appends[i].value
		}
		if _, err := t.pg.Exec(ctx, t.s.sql.upsert, keys, values); err != nil {
			return nil, t.fail("append: insert", err)
		}
	}
	return numbers, nil
}
