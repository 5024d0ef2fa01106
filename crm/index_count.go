package crm

import (
	"encoding/binary"
	"errors"

	"github.com/crmkit/crmkit/store"
)

// countKey is the prefix of an index's counters.
func (w *Workspace) countKey(code byte, index string) key {
	return w.k(tagCount).byte(code).str(index)
}

// liveCountKey counts a kind's live records.
func (w *Workspace) liveCountKey(code byte) key { return w.countKey(code, "*") }

// applyCounts adds the counter changes of replacing the entries old with
// the entries new, and live with the change of the kind's live count.
func applyCounts(t *txn, code byte, oldIx, newIx []indexEntry, oldSet map[string][]byte, newSet map[string]bool, live int64) error {
	deltas := map[string]int64{}
	seen := map[string]bool{}
	for _, e := range newIx {
		if e.count != nil && !seen[string(e.key)] {
			seen[string(e.key)] = true
			if _, had := oldSet[string(e.key)]; !had {
				e.addTo(deltas, 1)
			}
		}
	}
	clear(seen)
	for _, e := range oldIx {
		if e.count != nil && !seen[string(e.key)] {
			seen[string(e.key)] = true
			if !newSet[string(e.key)] {
				e.addTo(deltas, -1)
			}
		}
	}
	if live != 0 {
		deltas[string(t.w.liveCountKey(code))] += live
	}
	for k, d := range deltas {
		if d == 0 {
			continue
		}
		if err := addCount(t.tx, []byte(k), d); err != nil {
			return err
		}
	}
	return nil
}

// addTo adds the counter changes of the entry appearing (sign 1) or going
// (sign -1) to deltas.
func (e *indexEntry) addTo(deltas map[string]int64, sign int64) {
	deltas[string(e.count)] += sign
	if e.sum != nil {
		deltas[string(e.sum)] += sign * e.amount
	}
}

func addCount(tx store.Tx, k []byte, d int64) error {
	n, err := readCount(tx, k)
	if err != nil {
		return err
	}
	n += d
	if n == 0 {
		return tx.Delete(k)
	}
	return tx.Set(k, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

func readCount(tx store.Reader, k []byte) (int64, error) {
	b, err := tx.Get(k)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return counterValue(k, b)
}
