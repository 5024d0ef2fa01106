package crm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/crmkit/crmkit/store"
)

// Counters are conflict-free: a write never reads and rewrites a counter.
// It adds a delta key of its own instead, ws 'N' rest uint64(random), where
// ws 'n' rest is the counter's key; a transaction adds one delta per
// counter it changes, whatever the number of records it writes. A counter
// is its base key ws 'n' rest (8-byte big-endian, absent for 0) plus its
// deltas (varints). Writers of one workspace therefore never collide on a counter;
// folding (foldCounts) merges a counter's deltas into its base now and
// then, after a write, so reads stay short.

// foldEvery is the chance (1 in foldEvery) that a write folds each counter
// it changed; foldAt is how many deltas make a fold worth it.
const (
	foldEvery = 32
	foldAt    = 8
)

// countKey is the prefix of an index's counters.
func (w *Workspace) countKey(code byte, index string) key {
	return w.k(tagCount).byte(code).str(keyName(index))
}

// liveCountKey counts a kind's live records.
func (w *Workspace) liveCountKey(code byte) key { return w.countKey(code, "*") }

// deltaPrefix returns the prefix of the deltas of counter key k (or of
// every counter under k, if k is a prefix).
func (w *Workspace) deltaPrefix(k []byte) key {
	d := slices.Clone(k)
	d[len(w.prefix)] = tagCountDelta
	return d
}

// applyCounts adds the counter changes of replacing the entries old with
// the entries new, and live with the change of the kind's live count.
func applyCounts(t *txn, code byte, oldIx, newIx []indexEntry, oldSet map[string][]byte, newSet map[string]bool, live int64) error {
	seen := map[string]bool{}
	for _, e := range newIx {
		if e.count != nil && !seen[string(e.key)] {
			seen[string(e.key)] = true
			if _, had := oldSet[string(e.key)]; !had {
				e.addTo(t.addCount, 1)
			}
		}
	}
	clear(seen)
	for _, e := range oldIx {
		if e.count != nil && !seen[string(e.key)] {
			seen[string(e.key)] = true
			if !newSet[string(e.key)] {
				e.addTo(t.addCount, -1)
			}
		}
	}
	if live != 0 {
		t.addCount(t.w.liveCountKey(code), live)
	}
	return nil
}

// addTo adds the counter changes of the entry appearing (sign 1) or going
// (sign -1) with add.
func (e *indexEntry) addTo(add func(k []byte, d int64), sign int64) {
	add(e.count, sign)
	if e.sum != nil {
		add(e.sum, sign*e.amount)
	}
}

// addCount adds d to counter k when the transaction commits.
func (t *txn) addCount(k []byte, d int64) {
	if t.counts == nil {
		t.counts = map[string]int64{}
	}
	t.counts[string(k)] += d
}

// flushCounts writes one delta per changed counter. write calls it after
// the transaction's function.
func (t *txn) flushCounts() error {
	if len(t.counts) == 0 {
		return nil
	}
	id := rand.Uint64()
	for k, d := range t.counts {
		if d == 0 {
			continue
		}
		dk := binary.BigEndian.AppendUint64(t.w.deltaPrefix([]byte(k)), id)
		if err := t.tx.Set(dk, binary.AppendVarint(nil, d)); err != nil {
			return err
		}
	}
	return nil
}

// deleteCounters deletes every counter under prefix (a counter key, or a
// prefix of counter keys): bases, deltas and the transaction's own
// changes.
func (t *txn) deleteCounters(prefix key) error {
	for k := range t.counts {
		if bytes.HasPrefix([]byte(k), prefix) {
			delete(t.counts, k)
		}
	}
	if err := deleteRange(t.tx, prefix); err != nil {
		return err
	}
	return deleteRange(t.tx, t.w.deltaPrefix(prefix))
}

// readCount returns the value of counter k: its base plus its deltas.
func readCount(tx store.Reader, w *Workspace, k []byte) (int64, error) {
	b, err := tx.Get(k)
	var n int64
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return 0, err
	default:
		if n, err = counterValue(k, b); err != nil {
			return 0, err
		}
	}
	prefix := w.deltaPrefix(k)
	for e, err := range tx.Scan(store.Range{Prefix: prefix}) {
		if err != nil {
			return 0, err
		}
		if len(e.Key) != len(prefix)+8 {
			continue // a delta of a longer counter
		}
		d, err := deltaValue(e.Key, e.Value)
		if err != nil {
			return 0, err
		}
		n += d
	}
	return n, nil
}

// counted is one counter of a range: its base key and value.
type counted struct {
	key key
	n   int64
	// bad holds a base value that is not 8 bytes long (nil if it is).
	bad []byte
}

// scanCounts returns the counters under prefix (a prefix of counter
// keys), their bases and deltas summed, in key order. Counters that come
// to zero are left out, unless their base is malformed.
//
// Deltas are few (folding merges them into bases), bases many: the
// deltas are summed per counter first, then the bases stream in key order
// with their deltas added, and the counters that have deltas only are
// merged in, so a range of folded counters costs one pass and no map.
func scanCounts(tx store.Reader, w *Workspace, prefix key) ([]counted, error) {
	deltas := map[string]int64{}
	dp := w.deltaPrefix(prefix)
	var kb []byte
	for e, err := range tx.Scan(store.Range{Prefix: dp}) {
		if err != nil {
			return nil, err
		}
		if len(e.Key) < len(dp)+8 {
			return nil, fmt.Errorf("%w: %s", errBadKey, KeyString(e.Key))
		}
		d, err := deltaValue(e.Key, e.Value)
		if err != nil {
			return nil, err
		}
		kb = append(kb[:0], e.Key[:len(e.Key)-8]...)
		kb[len(w.prefix)] = tagCount
		deltas[string(kb)] += d
	}
	var out []counted
	var arena []byte // the bases' keys, one allocation for many
	for e, err := range tx.Scan(store.Range{Prefix: prefix}) {
		if err != nil {
			return nil, err
		}
		c := counted{}
		if len(e.Value) != 8 {
			c.bad = slices.Clone(e.Value)
		} else {
			c.n = int64(binary.BigEndian.Uint64(e.Value))
		}
		if d, ok := deltas[string(e.Key)]; ok {
			c.n += d
			delete(deltas, string(e.Key))
		}
		if c.n == 0 && c.bad == nil {
			continue
		}
		if cap(arena)-len(arena) < len(e.Key) {
			arena = make([]byte, 0, max(4096, len(e.Key)))
		}
		start := len(arena)
		arena = append(arena, e.Key...)
		c.key = key(arena[start:len(arena):len(arena)])
		out = append(out, c)
	}
	// The counters with deltas only.
	var only []counted
	for k, n := range deltas {
		if n != 0 {
			only = append(only, counted{key: key(k), n: n})
		}
	}
	if len(only) == 0 {
		return out, nil
	}
	byKey := func(a, b counted) int { return bytes.Compare(a.key, b.key) }
	slices.SortFunc(only, byKey)
	merged := make([]counted, 0, len(out)+len(only))
	for len(out) > 0 && len(only) > 0 {
		if byKey(out[0], only[0]) < 0 {
			merged, out = append(merged, out[0]), out[1:]
		} else {
			merged, only = append(merged, only[0]), only[1:]
		}
	}
	return append(append(merged, out...), only...), nil
}

// setCount sets counter k to n, folding its deltas away.
func setCount(tx store.Tx, w *Workspace, k []byte, n int64) error {
	if err := deleteDeltas(tx, w, k); err != nil {
		return err
	}
	if n == 0 {
		return tx.Delete(k)
	}
	return tx.Set(k, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

func deleteDeltas(tx store.Tx, w *Workspace, k []byte) error {
	prefix := w.deltaPrefix(k)
	var keys [][]byte
	for e, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
		if err != nil {
			return err
		}
		if len(e.Key) == len(prefix)+8 {
			keys = append(keys, slices.Clone(e.Key))
		}
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// foldCounts merges the deltas of some of the counters a committed write
// changed into their bases (each with a chance of records in foldEvery,
// and only once it has foldAt deltas), each in a transaction of its own;
// records is the size of the write, in events (one or two per record
// written). A batch of foldEvery records or more looks at
// every counter it changed and folds it from two deltas on: a batch adds
// one delta per counter however many records it writes, and counters a
// bulk load leaves behind (of past months, say) may never be written
// again, so their deltas would otherwise stay for every read to sum.
// Folding is housekeeping: a fold that loses a conflict (to another fold)
// is simply skipped.
func (w *Workspace) foldCounts(ctx context.Context, counts map[string]int64, records int) {
	at := foldAt
	if records >= foldEvery {
		at = 2
	}
	for k := range counts {
		if rand.IntN(foldEvery) >= max(records, 1) {
			continue
		}
		err := w.crm.st.Update(ctx, func(tx store.Tx) error {
			prefix := w.deltaPrefix([]byte(k))
			var (
				keys [][]byte
				sum  int64
			)
			for e, err := range tx.Scan(store.Range{Prefix: prefix}) {
				if err != nil {
					return err
				}
				if len(e.Key) != len(prefix)+8 {
					continue
				}
				d, err := deltaValue(e.Key, e.Value)
				if err != nil {
					return err
				}
				keys, sum = append(keys, slices.Clone(e.Key)), sum+d
			}
			if len(keys) < at {
				return nil
			}
			base, err := readBase(tx, []byte(k))
			if err != nil {
				return err
			}
			for _, dk := range keys {
				if err := tx.Delete(dk); err != nil {
					return err
				}
			}
			if base+sum == 0 {
				return tx.Delete([]byte(k))
			}
			return tx.Set([]byte(k), binary.BigEndian.AppendUint64(nil, uint64(base+sum)))
		})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			w.crm.log.Warn("crm: folding a counter failed", "workspace", w.info.ID, "err", err)
		}
	}
}

// readBase reads a counter's base value.
func readBase(tx store.Reader, k []byte) (int64, error) {
	b, err := tx.Get(k)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return counterValue(k, b)
}

// deltaValue decodes a counter delta's value, a varint.
func deltaValue(k, v []byte) (int64, error) {
	d, n := binary.Varint(v)
	if n <= 0 || n != len(v) {
		return 0, fmt.Errorf("crm: corrupt counter delta %q", k)
	}
	return d, nil
}

// counterValue decodes a counter's value.
func counterValue(k, v []byte) (int64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("crm: corrupt counter %q", k)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}
