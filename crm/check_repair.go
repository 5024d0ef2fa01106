package crm

import (
	"bytes"
	"errors"

	"github.com/crmkit/crmkit/store"
)

// fix is one repair the check queued.
type fix struct {
	// An entry: the record it belongs to, the key and the value found
	// (del) or wanted.
	code  byte
	id    string
	key   []byte
	value []byte
	del   bool
	// A counter: add count to it, or with reset set it to count.
	counter bool
	reset   bool
	count   int64
	// issue is the fix's index in the report's Issues, or -1.
	issue int
}

// flush applies the queued fixes in one write transaction.
func (ck *checker) flush() error {
	if len(ck.fixes) == 0 {
		return nil
	}
	var done []int
	_, err := ck.w.write(ck.ctx, func(t *txn) error {
		done = done[:0]
		if err := t.checkWorkspace(); err != nil {
			return err
		}
		for i, f := range ck.fixes {
			ok, err := ck.apply(t, f)
			if err != nil {
				return err
			}
			if ok {
				done = append(done, i)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, i := range done {
		ck.report.Repaired++
		if n := ck.fixes[i].issue; n >= 0 {
			ck.report.Issues[n].Repaired = true
		}
	}
	ck.fixes = ck.fixes[:0]
	return nil
}

// apply makes one fix in t if the records still want it, and reports
// whether it did.
func (ck *checker) apply(t *txn, f fix) (bool, error) {
	if f.counter {
		if f.reset {
			return true, setCount(t.tx, t.w, f.key, f.count)
		}
		t.addCount(f.key, f.count)
		return true, nil
	}
	k, ok := checkKindByCode(f.code)
	if !ok {
		return false, nil
	}
	cur, err := t.tx.Get(f.key)
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if f.del {
		if !found || !bytes.Equal(cur, f.value) {
			return false, nil // changed since the check: not ours to judge
		}
		st, err := ck.owner(t, k, f.id, f.key, cur)
		if err != nil || st == ownerClaims || st == ownerUnreadable {
			return false, err
		}
		return true, t.tx.Delete(f.key)
	}
	st, err := ck.owner(t, k, f.id, f.key, f.value)
	if err != nil || st != ownerClaims {
		return false, err // the record changed and no longer needs it
	}
	if found && bytes.Equal(cur, f.value) {
		return false, nil // already right
	}
	if found {
		// A unique entry held by another record that claims it too is a
		// conflict, not drift.
		other, err := ck.owner(t, k, string(cur), f.key, cur)
		if err != nil || other == ownerClaims {
			return false, err
		}
	}
	return true, t.tx.Set(f.key, f.value)
}
