package crm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
)

// Query selects the live records of one kind that match a filter: count
// them, stream them, test one, or explain how it runs. Build one with
// Workspace.Query; it holds no transaction and may be run many times.
// Relative times (now() - 30d) resolve against the CRM's clock at each run.
type Query struct {
	w      *Workspace
	object string
	expr   filter.Expr
}

// Member is one record a query or segment selects.
type Member struct {
	// ID is the record's ID.
	ID string `json:"id"`
	// Record is the record: a Contact, Company or Deal (not a pointer).
	Record any `json:"record"`
	// Cursor continues the stream after this member (MemberOptions.After).
	Cursor string `json:"cursor"`
}

// MemberOptions pages through members.
type MemberOptions struct {
	// After continues after the member whose Cursor it is. Cursors are
	// opaque and valid for the same filter.
	After string
	// Limit caps a page (default 50, at most 1000); Members ignores it.
	Limit int
}

// Query returns a query of the object kind (KindContact, KindCompany or
// KindDeal) selecting the records that match e. Problems with e (unknown
// fields, type mismatches) are reported when it runs, as errors matching
// filter.ErrInvalid.
func (w *Workspace) Query(object Kind, e filter.Expr) *Query {
	return &Query{w: w, object: object.name, expr: e}
}

// Filter returns the query's filter.
func (q *Query) Filter() filter.Expr { return q.expr }

// Schema returns the filter schema of an object kind in the workspace: its
// built-in, custom and behavioural fields, for filter.Check.
func (w *Workspace) Schema(ctx context.Context, object Kind) (*Schema, error) {
	if _, ok := filterObjects[object.name]; !ok {
		return nil, unknownObject(object.name)
	}
	var s *Schema
	err := w.read(ctx, func(tx store.Tx) error {
		var err error
		s, _, err = loadSchema(tx, w, object.name)
		return err
	})
	return s, err
}

func unknownObject(object string) error {
	return &ValidationError{Kind: "query", Fields: []FieldError{{"object", fmt.Sprintf("%q is not contact, company or deal", object)}}}
}

// run is a query prepared inside a read transaction.
type run struct {
	q    *Query
	tx   store.Reader
	now  time.Time
	expr filter.Expr // relative times resolved
	p    *planner
	pc   *partialCodec
	g    *guard // the principal's, nil for all records
	// cols reads column projections, when they hold every field the
	// filter reads (nil otherwise); colCustom says the filter reads
	// custom fields, which partial rows may lack, and colID that it
	// reads the ID.
	cols      *colReader
	prepared  *filter.Prepared
	colCustom bool
	colID     bool
	// counting says the caller counts matches and needs no IDs.
	counting bool
}

// prepare prepares the query in tx for the principal of g: it selects
// only the records g lets the principal read.
func (q *Query) prepare(tx store.Reader, g *guard) (*run, error) {
	code, ok := filterObjects[q.object]
	if !ok {
		return nil, unknownObject(q.object)
	}
	schema, defs, err := loadSchema(tx, q.w, q.object)
	if err != nil {
		return nil, err
	}
	if q.expr != nil || g == nil {
		if err := filter.Check(q.expr, schema); err != nil {
			return nil, err
		}
	}
	expr, err := g.scoped(q.object, q.expr)
	if err != nil {
		return nil, err
	}
	if g != nil {
		// The owner condition is checked like the caller's, which fits.
		if err := filter.Check(expr, schema); err != nil {
			return nil, err
		}
	}
	set, err := loadIndexes(tx, q.w, q.object, defs)
	if err != nil {
		return nil, err
	}
	live, err := readCount(tx, q.w, q.w.liveCountKey(code))
	if err != nil {
		return nil, err
	}
	now := q.w.crm.now()
	p := &planner{tx: tx, w: q.w, code: code, idLen: idLenOf(code), set: set, schema: schema, live: live, probeLimit: probeMax}
	pc := partialFor(recordType(code), recordKeys(q.object, expr))
	r := &run{q: q, tx: tx, now: now, expr: filter.Resolve(expr, now), p: p, pc: pc, g: g}
	if ok, custom := columnsCover(code, r.expr); ok {
		r.cols, r.colCustom, p.columns = newColReader(code, r.expr), custom, true
		if r.prepared, err = filter.Prepare(r.expr); err != nil {
			r.prepared = nil // Eval reports it where it reaches it
		}
		walkConds(r.expr, func(c *filter.Cond) { r.colID = r.colID || c.Field == "id" })
	}
	return r, nil
}

func idLenOf(code byte) int {
	switch code {
	case 'c':
		return len(kindContact.prefix) + idLength
	case 'o':
		return len(kindCompany.prefix) + idLength
	}
	return len(kindDeal.prefix) + idLength
}

// match evaluates the filter on one record.
func (r *run) match(rec any) (bool, error) {
	v := viewOf(r.tx, r.q.w, r.now, rec)
	ok, err := filter.Eval(r.expr, v, r.now)
	if v.err != nil {
		return false, v.err
	}
	return ok, err
}

// getAny reads a record of the kind with code (a pointer to it); nil if
// it is missing.
func getAny(tx store.Reader, w *Workspace, code byte, id string) (any, error) {
	k, ok := kindsByCode[code]
	if !ok {
		return nil, fmt.Errorf("crm: no record kind has code %q", code)
	}
	r, err := k.get(tx, w, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return r, err
}

func valueOfRecord(r any) any {
	switch x := r.(type) {
	case *Contact:
		return *x
	case *Company:
		return *x
	case *Deal:
		return *x
	}
	return r
}

// Count returns how many live records match.
func (q *Query) Count(ctx context.Context) (int64, error) {
	var n int64
	err := q.w.view(ctx, func(tx store.Tx, g *guard) error {
		r, err := q.prepare(tx, g)
		if err != nil {
			return err
		}
		n, err = r.count(r.expr)
		return err
	})
	return n, err
}

func (r *run) count(e filter.Expr) (int64, error) {
	// NOT x, for an x the indexes answer exactly: the live records less x.
	if x, ok := e.(*filter.NotExpr); ok {
		pl, err := r.p.planFor(x.Expr, "", false)
		if err != nil {
			return 0, err
		}
		if pl.exact {
			n, err := r.count(x.Expr)
			return r.p.live - n, err
		}
	}
	pl, err := r.p.planFor(e, "", false)
	if err != nil {
		return 0, err
	}
	if pl.exact && pl.src.counted && pl.src.estExact {
		return pl.src.est, nil
	}
	var n int64
	r.counting = true
	defer func() { r.counting = false }()
	err = r.each(pl, "", nil, func(string, any, []byte) bool {
		n++
		return true
	}, false)
	return n, err
}

// each streams the plan's matching records (with fetch, when a residual
// needs them or the caller wants them) from the cursor position on.
func (r *run) each(pl plan, after string, afterPos []byte, yield func(id string, rec any, pos []byte) bool, fetch bool) error {
	src, p := pl.src, r.p
	if src.kind == srcAll && pl.columns {
		return r.eachColumn(src.recLo, after, yield, fetch)
	}
	if src.kind == srcAll {
		prefix := p.w.k(tagRecord).byte(p.code)
		rng := store.Range{Prefix: prefix, Start: src.recLo}
		if after != "" {
			if st := append(prefix.str(after), 0); string(st) > string(rng.Start) {
				rng.Start = st
			}
		}
		for e, err := range r.tx.Scan(rng) {
			if err != nil {
				return err
			}
			rec, ok, err := r.check(e.Value, false, fetch)
			if err != nil {
				return err
			}
			if ok && !yield(MetaOf(rec).ID, rec, nil) {
				return nil
			}
		}
		return nil
	}
	for ip, err := range src.stream(r.tx, p.idLen, after, afterPos) {
		if err != nil {
			return err
		}
		var rec any
		if pl.columns {
			var ok bool
			if rec, ok, err = r.candidateColumn(ip.id, fetch); err != nil {
				return err
			}
			if !ok {
				continue
			}
		} else if fetch || !pl.exact {
			b, err := r.tx.Get(p.w.recordKey(p.code, ip.id))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			var ok bool
			if rec, ok, err = r.check(b, pl.exact, fetch); err != nil {
				return err
			}
			if !ok {
				continue
			}
		}
		if !yield(ip.id, rec, ip.pos) {
			return nil
		}
	}
	return nil
}

// check reads an encoded record: whether it is live and (unless exact
// says the indexes already decided) matches, and the whole record when
// full is set.
func (r *run) check(b []byte, exact, full bool) (any, bool, error) {
	rec, err := r.pc.decode(b)
	if err != nil || MetaOf(rec).Deleted() {
		return nil, false, err
	}
	if !exact {
		ok, err := r.match(rec)
		if err != nil || !ok {
			return nil, false, err
		}
	}
	if full {
		if rec, err = decodeKind(kindName(r.p.code), b); err != nil {
			return nil, false, err
		}
		if !r.g.seesAny(r.q.object, rec) {
			return nil, false, nil
		}
	}
	return rec, true, nil
}

// Explain returns the plan the query runs with now, for people: the index
// scans, their estimated sizes, and whether records are read to check the
// rest of the filter.
func (q *Query) Explain(ctx context.Context) (string, error) {
	var out string
	err := q.w.view(ctx, func(tx store.Tx, g *guard) error {
		r, err := q.prepare(tx, g)
		if err != nil {
			return err
		}
		pl, err := r.p.planFor(r.expr, "", false)
		if err != nil {
			return err
		}
		out = pl.explain(r.expr)
		return nil
	})
	return out, err
}

// Cursors: "i" + the last ID for plans in ID order, "k" + index name + 0 +
// the last key position for a range scan in value order.
func encodeCursor(pl plan, id string, pos []byte) string {
	if pl.src.kind == srcRange {
		return base64.RawURLEncoding.EncodeToString(append([]byte("k"+pl.src.fi.name+"\x00"), pos...))
	}
	return base64.RawURLEncoding.EncodeToString([]byte("i" + id))
}

func decodeCursor(c string) (id, index string, pos []byte, err error) {
	if c == "" {
		return "", "", nil, nil
	}
	b, err := cursorBytes(c)
	if err != nil || len(b) < 2 {
		return "", "", nil, ErrBadCursor
	}
	switch b[0] {
	case 'i':
		return string(b[1:]), "", nil, nil
	case 'k':
		name, rest, ok := strings.Cut(string(b[1:]), "\x00")
		if ok && rest != "" {
			return "", name, []byte(rest), nil
		}
	}
	return "", "", nil, ErrBadCursor
}

// Members streams the matching records, in the plan's order (by ID, or by
// the value of the range the plan scans), each with a cursor that
// continues after it.
func (q *Query) Members(ctx context.Context, after string) iter.Seq2[Member, error] {
	return func(yield func(Member, error) bool) {
		id, index, pos, err := decodeCursor(after)
		if err != nil {
			yield(Member{}, err)
			return
		}
		stopped := false
		err = q.w.view(ctx, func(tx store.Tx, g *guard) error {
			r, err := q.prepare(tx, g)
			if err != nil {
				return err
			}
			r.p.probeLimit = probePage
			pl, err := r.p.planFor(r.expr, index, id != "")
			if err != nil {
				return err
			}
			return r.each(pl, id, pos, func(id string, rec any, pos []byte) bool {
				if !yield(Member{ID: id, Record: valueOfRecord(rec), Cursor: encodeCursor(pl, id, pos)}, nil) {
					stopped = true
					return false
				}
				return true
			}, true)
		})
		if err != nil && !stopped {
			yield(Member{}, err)
		}
	}
}

// Page returns one page of members and the cursor to the next.
func (q *Query) Page(ctx context.Context, opts MemberOptions) (Page[Member], error) {
	return pageOf(q.Members(ctx, opts.After), opts.Limit)
}

func pageOf(seq iter.Seq2[Member, error], limit int) (Page[Member], error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	var pg Page[Member]
	for m, err := range seq {
		if err != nil {
			return Page[Member]{}, err
		}
		if len(pg.Items) == limit {
			pg.Next = pg.Items[limit-1].Cursor
			break
		}
		pg.Items = append(pg.Items, m)
	}
	return pg, nil
}

// Contains reports whether the record id is live and matches.
func (q *Query) Contains(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := q.w.view(ctx, func(tx store.Tx, g *guard) error {
		r, err := q.prepare(tx, g)
		if err != nil {
			return err
		}
		rec, err := getAny(tx, q.w, r.p.code, id)
		if err != nil || rec == nil || MetaOf(rec).Deleted() || !g.seesAny(q.object, rec) {
			return err
		}
		ok, err = r.match(rec)
		return err
	})
	return ok, err
}
