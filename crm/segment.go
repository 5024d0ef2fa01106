package crm

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
)

// Segment events. They are emitted in the transaction of the change that
// flips a record's membership of a dynamic segment, after the change's own
// events and with the same ChangeID, Kind and RecordID; their Fields hold
// one entry, {Field: "segment", New: the segment's ID}. Membership that
// changes only because time passes (now() - 60d) or because a related
// record changed (a logged activity, a company's industry) emits nothing:
// those are evaluated when read.
const (
	SegmentEntered EventType = "segment.entered"
	SegmentLeft    EventType = "segment.left"
)

// Segment is a named selection of contacts, companies or deals. A dynamic
// segment is its filter, evaluated whenever it is read; a static segment
// is a list of members, frozen from its filter when created and then
// changed only by Add and Remove.
type Segment struct {
	ID string `msgpack:"id" json:"id"`
	// Name is unique among the workspace's segments (case-insensitively).
	Name string `msgpack:"name" json:"name"`
	// Object is KindContact, KindCompany or KindDeal.
	Object Kind `msgpack:"object" json:"object"`
	// Filter is the filter in text form (package filter); stored in
	// canonical form. Optional for a static segment (empty: no members
	// at first).
	Filter string `msgpack:"filter,omitempty" json:"filter,omitempty"`
	// Static makes the segment a frozen member list.
	Static    bool      `msgpack:"static,omitempty" json:"static,omitempty"`
	CreatedAt time.Time `msgpack:"created_at" json:"created_at"`
	UpdatedAt time.Time `msgpack:"updated_at" json:"updated_at"`
}

// Segments are kept per kind in one value, which every write of a record
// of the kind reads (for membership events):
// ws 'm' str("segments") str(object).
func (w *Workspace) segmentsKey(object string) key { return w.k(tagMeta).str("segments").str(object) }

func (w *Workspace) memberKey(seg, id string) key { return w.k(tagSegment).str(seg).str(id) }

func (w *Workspace) memberCountKey(seg string) key { return w.k(tagCount).byte('s').str(seg) }

func loadSegments(tx store.Reader, w *Workspace, object string) ([]Segment, error) {
	b, err := tx.Get(w.segmentsKey(object))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var segs []Segment
	return segs, decode(b, &segs)
}

// parsed caches parsed filters by text: writes evaluate every dynamic
// segment of the record's kind.
var parsed sync.Map // string -> filter.Expr

func parseCached(text string) (filter.Expr, error) {
	if e, ok := parsed.Load(text); ok {
		return e.(filter.Expr), nil
	}
	e, err := filter.Parse(text)
	if err != nil {
		return nil, err
	}
	parsed.Store(text, e)
	return e, nil
}

// segmentEvents emits the membership events of a change of r (old is the
// stored record, nil on create) and keeps static segments' counts in step
// with the records' deletion and restoration.
func segmentEvents[T any](t *txn, k *kind[T], ch *Change, old, r *T, before, after []byte) error {
	if k.field == nil {
		return nil
	}
	segs, err := loadSegments(t.tx, t.w, k.name)
	if err != nil || len(segs) == 0 {
		return err
	}
	id := k.meta(r).ID
	liveDelta := liveOf(k, r) - liveOf(k, old)
	for _, s := range segs {
		if s.Static {
			if liveDelta == 0 {
				continue
			}
			if _, err := t.tx.Get(t.w.memberKey(s.ID, id)); err == nil {
				t.addCount(t.w.memberCountKey(s.ID), liveDelta)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			continue
		}
		e, err := parseCached(s.Filter)
		if err != nil {
			return err
		}
		was, err := matchIn(t, e, old, liveOf(k, old) == 1)
		if err != nil {
			return err
		}
		is, err := matchIn(t, e, r, liveOf(k, r) == 1)
		if err != nil {
			return err
		}
		if was == is {
			continue
		}
		typ := SegmentEntered
		if was {
			typ = SegmentLeft
		}
		sc := *ch
		sc.Op = "" // the event's fields are its own, not the change's
		sc.Fields = []FieldChange{{Field: "segment", New: s.ID}}
		if err := t.emit(&sc, []EventType{typ}, before, after, uint64(k.meta(r).Version), beforeVersionOf(k, old)); err != nil {
			return err
		}
	}
	return nil
}

func beforeVersionOf[T any](k *kind[T], old *T) uint64 {
	if old == nil {
		return 0
	}
	return uint64(k.meta(old).Version)
}

// matchIn evaluates e on a live record inside a write. A filter that no
// longer fits the schema (a custom field was removed) matches nothing.
func matchIn[T any](t *txn, e filter.Expr, r *T, live bool) (bool, error) {
	if r == nil || !live {
		return false, nil
	}
	v := viewOf(t.tx, t.w, t.now, r)
	ok, err := filter.Eval(e, v, t.now)
	if v.err != nil {
		return false, v.err
	}
	if errors.Is(err, filter.ErrInvalid) {
		return false, nil
	}
	return ok, err
}

// eraseMemberships removes an erased record from static segments (and
// their counts) and drops the activity links kept for its filters. An
// erase emits no segment events: its own erased event, which carries no
// data, says the record is gone from every segment.
func eraseMemberships[T any](t *txn, k *kind[T], r *T) error {
	if k.field == nil {
		return nil
	}
	id := k.meta(r).ID
	if err := deleteRange(t.tx, t.w.indexKey('a', "link").byte(k.code).str(id)); err != nil {
		return err
	}
	segs, err := loadSegments(t.tx, t.w, k.name)
	if err != nil {
		return err
	}
	for _, s := range segs {
		if !s.Static {
			continue
		}
		mk := t.w.memberKey(s.ID, id)
		if _, err := t.tx.Get(mk); errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if err := t.tx.Delete(mk); err != nil {
			return err
		}
		t.addCount(t.w.memberCountKey(s.ID), -liveOf(k, r))
	}
	return nil
}

// Segments manages a workspace's segments.
type Segments struct{ w *Workspace }

// Segments returns the workspace's segment service.
func (w *Workspace) Segments() *Segments { return &Segments{w} }

// Create validates and saves a new segment. Its filter is checked against
// the kind's schema (unknown fields, type mismatches: a *ValidationError
// naming "filter" that wraps the filter's error). A static segment with a
// filter starts with the records that match it now.
func (s *Segments) Create(ctx context.Context, seg Segment) (Segment, error) {
	_, err := s.w.write(ctx, func(t *txn) error {
		if err := t.checkWorkspace(); err != nil {
			return err
		}
		if _, err := t.may("segment", ActionCreate); err != nil {
			return err
		}
		seg.ID = t.newID("seg_")
		seg.CreatedAt, seg.UpdatedAt = t.now, t.now
		e, segs, err := s.validate(t, &seg, "")
		if err != nil {
			return err
		}
		if err := s.save(t, seg.Object.name, append(segs, seg)); err != nil {
			return err
		}
		if !seg.Static || e == nil {
			return nil
		}
		// Freeze the current matches.
		q := &Query{w: t.w, object: seg.Object.name, expr: e}
		g, err := t.guard()
		if err != nil {
			return err
		}
		r, err := q.prepare(t.tx, g)
		if err != nil {
			return err
		}
		pl, err := r.p.planFor(r.expr, "", false)
		if err != nil {
			return err
		}
		var ids []string
		if err := r.each(pl, "", nil, func(id string, _ any, _ []byte) bool {
			ids = append(ids, id)
			return true
		}, false); err != nil {
			return err
		}
		for _, id := range ids {
			if err := t.tx.Set(t.w.memberKey(seg.ID, id), nil); err != nil {
				return err
			}
		}
		t.addCount(t.w.memberCountKey(seg.ID), int64(len(ids)))
		return nil
	})
	return seg, err
}

// validate checks seg and returns its parsed filter (nil if none) and the
// kind's segments without the one being replaced (self).
func (s *Segments) validate(t *txn, seg *Segment, self string) (filter.Expr, []Segment, error) {
	p := problems{kind: "segment", id: self}
	seg.Name = cleanText(&p, "name", seg.Name, maxShortText)
	if seg.Name == "" {
		p.add("name", "is required")
	}
	if _, ok := filterObjects[seg.Object.name]; !ok {
		p.add("object", "%q is not contact, company or deal", seg.Object)
		return nil, nil, p.err()
	}
	var e filter.Expr
	var ferr error
	switch {
	case strings.TrimSpace(seg.Filter) == "" && !seg.Static:
		p.add("filter", "a dynamic segment needs a filter")
	case strings.TrimSpace(seg.Filter) != "":
		var err error
		if e, err = filter.Parse(seg.Filter); err == nil {
			var schema *Schema
			if schema, _, err = loadSchema(t.tx, t.w, seg.Object.name); err != nil {
				return nil, nil, err
			}
			err = filter.Check(e, schema)
		}
		if err != nil {
			p.add("filter", "%s", strings.NewReplacer("filter: ", "", "\n", "; ").Replace(err.Error()))
			ferr = err
		} else {
			seg.Filter = filter.Format(e)
		}
	}
	var others []Segment
	for _, obj := range []string{"contact", "company", "deal"} {
		segs, err := loadSegments(t.tx, t.w, obj)
		if err != nil {
			return nil, nil, err
		}
		for _, o := range segs {
			if o.ID != self && foldName(o.Name) == foldName(seg.Name) {
				p.add("name", "segment %s is already called %q", o.ID, o.Name)
			}
			if o.ID != self && obj == seg.Object.name {
				others = append(others, o)
			}
		}
	}
	if err := p.err(); err != nil {
		err.(*ValidationError).cause = ferr
		return nil, nil, err
	}
	return e, others, nil
}

func (s *Segments) save(t *txn, object string, segs []Segment) error {
	if len(segs) == 0 {
		return t.tx.Delete(t.w.segmentsKey(object))
	}
	b, err := encode(&segs)
	if err != nil {
		return err
	}
	return t.tx.Set(t.w.segmentsKey(object), b)
}

// find returns the segment id and its kind's segment list.
func (s *Segments) find(tx store.Reader, id string) (Segment, []Segment, error) {
	for _, obj := range []string{"contact", "company", "deal"} {
		segs, err := loadSegments(tx, s.w, obj)
		if err != nil {
			return Segment{}, nil, err
		}
		if i := slices.IndexFunc(segs, func(g Segment) bool { return g.ID == id }); i >= 0 {
			return segs[i], segs, nil
		}
	}
	return Segment{}, nil, notFound("segment", id)
}

// Get returns a segment.
func (s *Segments) Get(ctx context.Context, id string) (Segment, error) {
	var seg Segment
	err := s.w.view(ctx, func(tx store.Tx, g *guard) error {
		if err := g.check("segment", ActionRead); err != nil {
			return err
		}
		var err error
		seg, _, err = s.find(tx, id)
		return err
	})
	return seg, err
}

// List streams the workspace's segments: contacts', companies', then
// deals', each in creation order.
func (s *Segments) List(ctx context.Context) iter.Seq2[Segment, error] {
	return func(yield func(Segment, error) bool) {
		var all []Segment
		err := s.w.view(ctx, func(tx store.Tx, g *guard) error {
			if err := g.check("segment", ActionRead); err != nil {
				return err
			}
			for _, obj := range []string{"contact", "company", "deal"} {
				segs, err := loadSegments(tx, s.w, obj)
				if err != nil {
					return err
				}
				all = append(all, segs...)
			}
			return nil
		})
		if err != nil {
			yield(Segment{}, err)
			return
		}
		for _, g := range all {
			if !yield(g, nil) {
				return
			}
		}
	}
}

// Update changes a segment's name or, for a dynamic segment, its filter.
// Object and Static cannot change.
func (s *Segments) Update(ctx context.Context, id string, mutate func(*Segment) error) (Segment, error) {
	var out Segment
	_, err := s.w.write(ctx, func(t *txn) error {
		if _, err := t.may("segment", ActionUpdate); err != nil {
			return err
		}
		old, _, err := s.find(t.tx, id)
		if err != nil {
			return err
		}
		seg := old
		if err := mutate(&seg); err != nil {
			return err
		}
		seg.ID, seg.Object, seg.Static, seg.CreatedAt, seg.UpdatedAt = old.ID, old.Object, old.Static, old.CreatedAt, t.now
		if old.Static {
			seg.Filter = old.Filter
		}
		_, others, err := s.validate(t, &seg, id)
		if err != nil {
			return err
		}
		out = seg
		i := slices.IndexFunc(others, func(g Segment) bool { return g.ID > id })
		if i < 0 {
			i = len(others)
		}
		return s.save(t, seg.Object.name, slices.Insert(others, i, seg))
	})
	return out, err
}

// Delete removes a segment and, for a static one, its member list.
func (s *Segments) Delete(ctx context.Context, id string) error {
	_, err := s.w.write(ctx, func(t *txn) error {
		if _, err := t.may("segment", ActionDelete); err != nil {
			return err
		}
		seg, segs, err := s.find(t.tx, id)
		if err != nil {
			return err
		}
		segs = slices.DeleteFunc(segs, func(g Segment) bool { return g.ID == id })
		if err := s.save(t, seg.Object.name, segs); err != nil {
			return err
		}
		if err := deleteRange(t.tx, t.w.k(tagSegment).str(id)); err != nil {
			return err
		}
		return t.deleteCounters(t.w.memberCountKey(id))
	})
	return err
}
