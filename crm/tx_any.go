package crm

import (
	"fmt"
	"iter"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
)

// Records of any kind, for packages that act on a kind named at run time
// (an automation rule's object): records are passed as pointers (a
// *Contact, *Company, *Deal, *Activity, *Purchase or *Pipeline) and
// MetaOf reads their common fields.

// Record returns the record ref names, soft-deleted or not, as a pointer;
// a missing one fails with ErrNotFound.
func (rt *ReadTx) Record(ref Ref) (any, error) {
	k, ok := kindsByName[ref.Kind.name]
	if !ok {
		return nil, unknownKind(ref.Kind.name)
	}
	r, err := k.get(rt.tx, rt.w, ref.ID)
	if err == nil && rt.g != nil {
		if err = rt.g.check(k.name, rt.g.read); err == nil && !rt.g.seesAny(k.name, r) {
			err = notFound(k.name, ref.ID)
		}
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Records streams the live records of a kind in ID order, after the
// record with ID after ("" for all of them), as pointers.
func (rt *ReadTx) Records(kind Kind, after string) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		k, ok := kindsByName[kind.name]
		if !ok {
			yield(nil, unknownKind(kind.name))
			return
		}
		if rt.g != nil {
			if err := rt.g.check(kind.name, rt.g.read); err != nil {
				yield(nil, err)
				return
			}
		}
		prefix := rt.w.k(tagRecord).byte(k.code)
		rng := store.Range{Prefix: prefix}
		if after != "" {
			rng.Start = append(prefix.str(after), 0)
		}
		for e, err := range rt.tx.Scan(rng) {
			if err != nil {
				yield(nil, err)
				return
			}
			r, err := k.decode(e.Value)
			if err != nil {
				yield(nil, err)
				return
			}
			if MetaOf(r).Deleted() || !rt.g.seesAny(k.name, r) {
				continue
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

// UpdateRecord loads the live record ref names, lets mutate change it (a
// pointer of the kind's type) and saves it, as the kind's
// RecordWriter.Update does, and returns it as stored.
func (tx *Tx) UpdateRecord(ref Ref, mutate func(rec any) error) (any, error) {
	k, ok := kindsByName[ref.Kind.name]
	if !ok {
		return nil, unknownKind(ref.Kind.name)
	}
	return k.update(tx.t, ref.ID, mutate)
}

// linkIndexes are the fields By looks records up by, per kind: the
// index that holds them.
var linkIndexes = map[string]map[string]func(w *Workspace, v string) key{
	"contact": {
		"owner_id":    func(w *Workspace, v string) key { return w.indexKey('c', "owner").str(v) },
		"company_ids": func(w *Workspace, v string) key { return w.indexKey('c', "company").str(v) },
	},
	"company": {
		"owner_id":  func(w *Workspace, v string) key { return w.indexKey('o', "owner").str(v) },
		"parent_id": func(w *Workspace, v string) key { return w.indexKey('o', "parent").str(v) },
	},
	"deal": {
		"owner_id":    func(w *Workspace, v string) key { return w.indexKey('d', "owner").str(v) },
		"company_id":  func(w *Workspace, v string) key { return w.indexKey('d', "company").str(v) },
		"contact_ids": func(w *Workspace, v string) key { return w.indexKey('d', "contact").str(v) },
	},
	"activity": {
		"contact_ids": func(w *Workspace, v string) key { return w.indexKey('a', "link").byte('c').str(v) },
		"company_ids": func(w *Workspace, v string) key { return w.indexKey('a', "link").byte('o').str(v) },
		"deal_ids":    func(w *Workspace, v string) key { return w.indexKey('a', "link").byte('d').str(v) },
	},
	"purchase": {
		"contact_id": func(w *Workspace, v string) key { return w.indexKey('p', "contact").str(v) },
		"company_id": func(w *Workspace, v string) key { return w.indexKey('p', "company").str(v) },
	},
}

// By streams the live records whose field holds value, read from the
// index that links them: a record's owner ("owner_id" of contacts,
// companies and deals), its company ("company_ids" of contacts,
// "company_id" of deals and purchases, "parent_id" of companies), its
// contact ("contact_ids" of deals, "contact_id" of purchases), or what an
// activity is linked to ("contact_ids", "company_ids", "deal_ids"). Any
// other field fails with a *ValidationError: Matching plans queries on
// every field.
func (r RecordReader[T]) By(field, value string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		ix, ok := linkIndexes[r.k.name][field]
		if !ok {
			yield(zero, &ValidationError{Kind: r.k.name, Fields: []FieldError{{field, "is not a field records are looked up by (use Matching)"}}})
			return
		}
		stopped := false
		err := eachIndexed(r.rt.tx, r.rt.w, r.k, ix(r.rt.w, value), func(rec *T) bool {
			if !sees(r.rt.g, r.k, rec) {
				return true
			}
			stopped = !yield(*rec, nil)
			return !stopped
		})
		if err != nil && !stopped {
			yield(zero, err)
		}
	}
}

// Match reports whether a contact, company or deal (a pointer) matches e
// at the transaction's time, reading the fields it computes from related
// records (company.*, activity counts, open deals, spend) in the
// transaction. A nil e matches.
func (rt *ReadTx) Match(e filter.Expr, r any) (bool, error) {
	if e == nil {
		return true, nil
	}
	if err := checkFilterRecord(r); err != nil {
		return false, err
	}
	v := viewOf(rt.tx, rt.w, rt.now, r)
	ok, err := filter.Eval(e, v, rt.now)
	if v.err != nil {
		return false, v.err
	}
	return ok, err
}

// Field returns a field of a contact, company or deal (a pointer) as
// filters read it, a computed one read in the transaction; ok is false
// for a field the record does not have or leaves unset.
func (rt *ReadTx) Field(r any, name string) (v any, ok bool, err error) {
	if err := checkFilterRecord(r); err != nil {
		return nil, false, err
	}
	view := viewOf(rt.tx, rt.w, rt.now, r)
	v, ok = view.Field(name)
	if view.err != nil {
		return nil, false, view.err
	}
	return v, ok, nil
}

// MatchStored reports whether a contact, company or deal (a pointer)
// matches e at now, reading only the fields the record stores: a field
// computed from other records reads as unset. It needs no transaction,
// so it answers from an event's copy of a record; StoredOnly says whether
// its answer is the whole answer.
func MatchStored(e filter.Expr, r any, now time.Time) (bool, error) {
	if e == nil {
		return true, nil
	}
	if err := checkFilterRecord(r); err != nil {
		return false, err
	}
	return filter.Eval(e, viewOf(nil, nil, now, r), now)
}

// StoredOnly reports whether e reads only fields that records of object
// store (built-in and custom fields), so that MatchStored answers it.
func StoredOnly(object Kind, e filter.Expr) bool {
	return storedOnly(e, &Schema{object: object.name})
}

func checkFilterRecord(r any) error {
	switch r.(type) {
	case *Contact, *Company, *Deal:
		return nil
	}
	return &ValidationError{Kind: "filter", Fields: []FieldError{{"record", fmt.Sprintf("filters read contacts, companies and deals, not %T", r)}}}
}

// AddToSegment puts records into a static segment, as Segments.Add does.
func (tx *Tx) AddToSegment(segment string, recordIDs ...string) error {
	return (&Segments{tx.w}).changeIn(tx.t, segment, recordIDs, true)
}

// RemoveFromSegment takes records out of a static segment, as
// Segments.Remove does.
func (tx *Tx) RemoveFromSegment(segment string, recordIDs ...string) error {
	return (&Segments{tx.w}).changeIn(tx.t, segment, recordIDs, false)
}

// LastEvent returns the Seq of the workspace's latest event (0 if none):
// an event with a greater Seq was committed after this transaction
// began.
func (rt *ReadTx) LastEvent() (uint64, error) { return outboxHead(rt.tx, rt.w) }
