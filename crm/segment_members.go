package crm

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// Query returns the query behind a dynamic segment, for its Explain and
// the like. A static segment has no query: its members are a list.
func (s *Segments) Query(ctx context.Context, id string) (*Query, error) {
	seg, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if seg.Static {
		return nil, ErrSegmentStatic
	}
	e, err := parseCached(seg.Filter)
	if err != nil {
		return nil, err
	}
	return s.w.Query(seg.Object, e), nil
}

// Count returns how many live records the segment holds.
func (s *Segments) Count(ctx context.Context, id string) (int64, error) {
	seg, err := s.Get(ctx, id)
	if err != nil {
		return 0, err
	}
	if !seg.Static {
		q, err := s.Query(ctx, id)
		if err != nil {
			return 0, err
		}
		return q.Count(ctx)
	}
	var n int64
	err = s.w.view(ctx, func(tx store.Tx, g *guard) error {
		if _, all := g.owners(seg.Object.name, g.readAction()); all {
			n, err = readCount(tx, s.w, s.w.memberCountKey(id))
			return err
		}
		// The members the principal may see, one by one.
		if err := g.check(seg.Object.name, g.read); err != nil {
			return err
		}
		return staticMembers(tx, s.w, g, seg, "", func(string, any) bool {
			n++
			return true
		})
	})
	return n, err
}

// Explain returns how a dynamic segment's filter runs now (see
// Query.Explain); for a static segment, that its list is scanned.
func (s *Segments) Explain(ctx context.Context, id string) (string, error) {
	q, err := s.Query(ctx, id)
	if errors.Is(err, ErrSegmentStatic) {
		return "scan the static member list in ID order\n", nil
	}
	if err != nil {
		return "", err
	}
	return q.Explain(ctx)
}

// Members streams the segment's live records with cursors (see
// Query.Members); a static segment's in ID order.
func (s *Segments) Members(ctx context.Context, id string, after string) iter.Seq2[Member, error] {
	return func(yield func(Member, error) bool) {
		seg, err := s.Get(ctx, id)
		if err != nil {
			yield(Member{}, err)
			return
		}
		if !seg.Static {
			q, err := s.Query(ctx, id)
			if err != nil {
				yield(Member{}, err)
				return
			}
			for m, err := range q.Members(ctx, after) {
				if !yield(m, err) || err != nil {
					return
				}
			}
			return
		}
		from, _, _, err := decodeCursor(after)
		if err != nil || (after != "" && from == "") {
			yield(Member{}, ErrBadCursor)
			return
		}
		stopped := false
		err = s.w.view(ctx, func(tx store.Tx, g *guard) error {
			if err := g.check(seg.Object.name, g.readAction()); err != nil {
				return err
			}
			return staticMembers(tx, s.w, g, seg, from, func(rid string, rec any) bool {
				m := Member{ID: rid, Record: valueOfRecord(rec), Cursor: encodeCursor(plan{src: &source{kind: srcAll}}, rid, nil)}
				stopped = !yield(m, nil)
				return !stopped
			})
		})
		if err != nil && !stopped {
			yield(Member{}, err)
		}
	}
}

// Page returns one page of the segment's members and the cursor to the
// next.
func (s *Segments) Page(ctx context.Context, id string, opts MemberOptions) (Page[Member], error) {
	return pageOf(s.Members(ctx, id, opts.After), opts.Limit)
}

// Contains reports whether the record is a live member of the segment.
func (s *Segments) Contains(ctx context.Context, id, recordID string) (bool, error) {
	seg, err := s.Get(ctx, id)
	if err != nil {
		return false, err
	}
	if !seg.Static {
		q, err := s.Query(ctx, id)
		if err != nil {
			return false, err
		}
		return q.Contains(ctx, recordID)
	}
	var ok bool
	err = s.w.view(ctx, func(tx store.Tx, g *guard) error {
		if _, err := tx.Get(s.w.memberKey(id, recordID)); errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		rec, err := getAny(tx, s.w, filterObjects[seg.Object.name], recordID)
		ok = err == nil && rec != nil && !MetaOf(rec).Deleted() && g.seesAny(seg.Object.name, rec)
		return err
	})
	return ok, err
}

// Add puts records into a static segment; records already in it are
// skipped. Every ID must name a record of the segment's kind.
func (s *Segments) Add(ctx context.Context, id string, recordIDs ...string) error {
	return s.change(ctx, id, recordIDs, true)
}

// Remove takes records out of a static segment; records not in it are
// skipped.
func (s *Segments) Remove(ctx context.Context, id string, recordIDs ...string) error {
	return s.change(ctx, id, recordIDs, false)
}

func (s *Segments) change(ctx context.Context, id string, recordIDs []string, add bool) error {
	_, err := s.w.write(ctx, func(t *txn) error { return s.changeIn(t, id, recordIDs, add) })
	return err
}

func (s *Segments) changeIn(t *txn, id string, recordIDs []string, add bool) error {
	seg, _, err := s.find(t.tx, id)
	if err != nil {
		return err
	}
	if !seg.Static {
		return fmt.Errorf("crm: segment %s: %w", id, ErrSegmentStatic)
	}
	g, err := t.may("segment", ActionUpdate)
	if err != nil {
		return err
	}
	code := filterObjects[seg.Object.name]
	p := problems{kind: "segment", id: id}
	var delta int64
	for i, rid := range recordIDs {
		rec, err := getAny(t.tx, t.w, code, rid)
		if err != nil {
			return err
		}
		if rec != nil && !g.seesAny(seg.Object.name, rec) {
			rec = nil // what the principal cannot see is not there
		}
		if rec == nil {
			p.add(fmt.Sprintf("record_ids[%d]", i), "no %s %s", seg.Object, rid)
			continue
		}
		mk := t.w.memberKey(id, rid)
		_, err = t.tx.Get(mk)
		had := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		err = nil
		live := int64(1)
		if MetaOf(rec).Deleted() {
			live = 0
		}
		switch {
		case add && !had:
			err, delta = t.tx.Set(mk, nil), delta+live
		case !add && had:
			err, delta = t.tx.Delete(mk), delta-live
		}
		if err != nil {
			return err
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	t.addCount(t.w.memberCountKey(id), delta)
	return nil
}

// staticMembers calls yield with each live member of the static segment
// seg after ID from ("" for all), in ID order, and its record, until
// yield returns false.
func staticMembers(tx store.Reader, w *Workspace, g *guard, seg Segment, from string, yield func(id string, rec any) bool) error {
	code, ok := filterObjects[seg.Object.name]
	if !ok {
		return unknownObject(seg.Object.name)
	}
	prefix := w.k(tagSegment).str(seg.ID)
	rng := store.Range{Prefix: prefix, KeysOnly: true}
	if from != "" {
		rng.Start = append(prefix.str(from), 0)
	}
	for e, err := range tx.Scan(rng) {
		if err != nil {
			return err
		}
		r := tuple.NewReader(e.Key[len(prefix):])
		id := r.Str()
		if r.Err() != nil {
			return r.Err()
		}
		rec, err := getAny(tx, w, code, id)
		if err != nil {
			return err
		}
		if rec == nil || MetaOf(rec).Deleted() || !g.seesAny(seg.Object.name, rec) {
			continue
		}
		if !yield(id, rec) {
			return nil
		}
	}
	return nil
}
