package crm

import (
	"errors"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// eachColumn is each for a scan of every live record of the kind, in ID
// order from the record key recLo (if not nil) and after the ID after,
// that checks the filter on the column projections (see columns.go).
func (r *run) eachColumn(recLo key, after string, yield func(id string, rec any, pos []byte) bool, fetch bool) error {
	p := r.p
	prefix := p.w.k(tagColumn).byte(p.code)
	rng := store.Range{Prefix: prefix}
	if recPrefix := p.w.k(tagRecord).byte(p.code); len(recLo) > len(recPrefix) {
		// Record and column keys end alike: str(id).
		rng.Start = append(prefix[:len(prefix):len(prefix)], recLo[len(recPrefix):]...)
	}
	if after != "" {
		if st := append(prefix.str(after), 0); string(st) > string(rng.Start) {
			rng.Start = st
		}
	}
	for e, err := range r.tx.Scan(rng) {
		if err != nil {
			return err
		}
		rec, ok, err := r.checkColumn("", e.Key[len(prefix):], e.Value, fetch)
		if err != nil {
			return err
		}
		if ok && !yield(MetaOf(rec).ID, rec, nil) {
			return nil
		}
	}
	return nil
}

// candidateColumn reads the column projection of candidate id and says
// whether it is a live record that matches (see checkColumn).
func (r *run) candidateColumn(id string, full bool) (any, bool, error) {
	b, err := r.tx.Get(r.p.w.columnKey(r.p.code, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil // no live record
	}
	if err != nil {
		return nil, false, err
	}
	return r.checkColumn(id, nil, b, full)
}

// checkColumn reads the column projection b of a live record (its ID
// id, or encoded in idKey) and says whether it matches; with full set it
// returns the whole record, else the projection's record, valid until
// the next call.
func (r *run) checkColumn(id string, idKey, b []byte, full bool) (any, bool, error) {
	idOf := func() (string, error) {
		if id == "" {
			rd := tuple.NewReader(idKey)
			id = rd.Str()
			if rd.Err() != nil {
				return "", rd.Err()
			}
		}
		return id, nil
	}
	var rid string
	if r.colID {
		var err error
		if rid, err = idOf(); err != nil {
			return nil, false, err
		}
	}
	rec, partial, err := r.cols.decode(rid, b)
	if err != nil {
		return nil, false, err
	}
	if partial && r.colCustom {
		// A custom value the filter may read is only in the record.
		if rid, err = idOf(); err != nil {
			return nil, false, err
		}
		rb, err := r.tx.Get(r.p.w.recordKey(r.p.code, rid))
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return r.check(rb, false, full)
	}
	var ok bool
	if r.prepared != nil {
		ok, err = r.prepared.Eval(r.cols, r.now)
	} else {
		ok, err = filter.Eval(r.expr, r.cols, r.now)
	}
	if err != nil || !ok {
		return nil, false, err
	}
	if r.counting && !full {
		return rec, true, nil
	}
	if rid, err = idOf(); err != nil {
		return nil, false, err
	}
	if full {
		rb, err := r.tx.Get(r.p.w.recordKey(r.p.code, rid))
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return r.check(rb, true, true)
	}
	MetaOf(rec).ID = rid
	return rec, true, nil
}
