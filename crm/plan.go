package crm

import (
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
)

// The planner turns a filter into a plan: a tree of index scans (source)
// that yields candidate record IDs, and whether the candidates need the
// filter evaluated on each record (the residual). It
//
//   - answers equality and IN on counted indexes (single fields and
//     composite IndexDefs) from their counters, without a scan;
//   - picks the most selective index for an AND, from counters for
//     equalities and from a probe of the first keys for ranges (probes of
//     several ranges advance together, so the smallest stops them);
//   - intersects ID-ordered scans of similar size, and unions the scans of
//     an OR whose every branch has an index;
//   - falls back to a streamed scan of every record only when no index
//     covers any part of an AND (NOT, !=, behavioural fields, unindexed
//     fields).
//
// Index keys are exact for text (folded), bools, times, dates and float
// numbers; integer fields (amounts, employees) are held as floats, so
// their ranges are taken inclusive and rechecked on the records.

// probeMax caps how many keys of each range a probe reads for a count;
// listing members, which stops after a page, probes at most probePage.
const (
	probeMax  = 1 << 20
	probePage = 4096
	// intersectRatio bounds how much larger than the driver an ID-ordered
	// scan may be and still be intersected with it.
	intersectRatio = 8
)

type planner struct {
	tx     store.Reader
	w      *Workspace
	code   byte
	idLen  int
	set    *indexSet
	schema *Schema
	live   int64
	// probeLimit caps range probes (probeMax or probePage).
	probeLimit int64
	// columns says the kind's column projections hold every field the
	// filter reads, so candidates are checked on them (see columns.go).
	columns bool
}

// plan is a source and whether it covers the whole filter exactly.
type plan struct {
	src *source
	// exact means every candidate matches the filter and every match is a
	// candidate: no residual.
	exact bool
	// columns says the residual is checked on column projections.
	columns bool
}

// planFor returns the plan of e (relative times already resolved).
// forceRange, if not empty, makes the range scan of that index the driver
// (a cursor continues it); idOrder makes the plan yield IDs in order (an
// ID cursor continues it).
func (p *planner) planFor(e filter.Expr, forceRange string, idOrder bool) (plan, error) {
	pl, err := p.planOf(e, forceRange, idOrder)
	if err == nil && !pl.exact && p.columns {
		pl.columns = true
		if pl.src.kind == srcAll {
			s := *pl.src
			s.columns = true
			pl.src = &s
		}
	}
	return pl, err
}

func (p *planner) planOf(e filter.Expr, forceRange string, idOrder bool) (plan, error) {
	src, full, err := p.node(e)
	if err != nil {
		return plan{}, err
	}
	if src != nil && (forceRange != "" || idOrder) {
		src, full = p.constrain(e, src, full, forceRange, idOrder)
	}
	if forceRange != "" && (src == nil || src.kind != srcRange || src.fi.name != forceRange) {
		return plan{}, ErrBadCursor
	}
	if src == nil {
		return plan{src: &source{kind: srcAll, est: p.live, estExact: true, sorted: true}}, nil
	}
	if src.recLo != nil && forceRange == "" && !(full && src.exact) {
		// The records themselves must be read: read them in a run from
		// the range's first ID rather than one by one.
		return plan{src: &source{kind: srcAll, recLo: src.recLo, est: src.est, sorted: true, what: src.what}}, nil
	}
	return plan{src: src, exact: full && src.exact}, nil
}

// constrain re-picks an AND's driver to honour a cursor.
func (p *planner) constrain(e filter.Expr, src *source, full bool, forceRange string, idOrder bool) (*source, bool) {
	ok := func(s *source) bool {
		if forceRange != "" {
			return s.kind == srcRange && s.fi.name == forceRange
		}
		return s.kind != srcRange
	}
	if ok(src) {
		return src, full
	}
	x, isAnd := e.(*filter.AndExpr)
	if !isAnd {
		return nil, false
	}
	opts, _ := p.options(x)
	var best *option
	for i := range opts {
		if ok(opts[i].src) && (best == nil || opts[i].src.est < best.src.est) {
			best = &opts[i]
		}
	}
	if best == nil {
		return nil, false
	}
	return best.src, false
}

// node plans one expression: its source (nil when no index helps) and
// whether the source covers all of it.
func (p *planner) node(e filter.Expr) (*source, bool, error) {
	switch x := e.(type) {
	case *filter.Cond:
		s, err := p.cond(x)
		return s, s != nil, err
	case *filter.AndExpr:
		return p.and(x)
	case *filter.OrExpr:
		var kids []*source
		full, exact := true, true
		var est int64
		for _, c := range x.Exprs {
			s, f, err := p.node(c)
			if err != nil || s == nil {
				return nil, false, err
			}
			kids = append(kids, s)
			full = full && f
			exact = exact && s.exact
			est += s.est
		}
		return &source{kind: srcOr, kids: kids, est: est, sorted: true, exact: exact && full, what: "OR"}, full, nil
	}
	return nil, false, nil
}

// option is one way into an AND: a source and the operands it covers.
type option struct {
	src    *source
	covers []int
}

func (p *planner) options(x *filter.AndExpr) ([]option, error) {
	var opts []option
	for i, c := range x.Exprs {
		s, full, err := p.node(c)
		if err != nil {
			return nil, err
		}
		if s != nil {
			o := option{src: s}
			if full {
				o.covers = []int{i}
			}
			opts = append(opts, o)
		}
	}
	for _, fi := range p.set.composite {
		if o, ok := p.composite(x, fi); ok {
			opts = append(opts, o)
		}
	}
	return opts, p.settle(opts)
}

func (p *planner) and(x *filter.AndExpr) (*source, bool, error) {
	opts, err := p.options(x)
	if err != nil || len(opts) == 0 {
		return nil, false, err
	}
	best := 0
	for i, o := range opts {
		b := opts[best]
		if o.src.est < b.src.est || o.src.est == b.src.est && len(o.covers) > len(b.covers) {
			best = i
		}
	}
	chosen := []option{opts[best]}
	if opts[best].src.sorted {
		for i, o := range opts {
			if i != best && o.src.sorted && o.src.est <= intersectRatio*max(opts[best].src.est, 1) && disjoint(chosen, o) {
				chosen = append(chosen, o)
			}
		}
	}
	covered := map[int]bool{}
	exact := true
	for _, o := range chosen {
		for _, i := range o.covers {
			covered[i] = true
		}
		exact = exact && o.src.exact
	}
	full := len(covered) == len(x.Exprs)
	if len(chosen) == 1 {
		s := *chosen[0].src
		s.exact = s.exact && full
		return &s, full, nil
	}
	s := &source{kind: srcAnd, est: opts[best].src.est, sorted: true, exact: exact && full, what: "AND"}
	for _, o := range chosen {
		s.kids = append(s.kids, o.src)
	}
	return s, full, nil
}

func disjoint(chosen []option, o option) bool {
	for _, c := range chosen {
		for _, i := range c.covers {
			if slices.Contains(o.covers, i) {
				return false
			}
		}
	}
	return true
}

// settle gives every range option whose size is unknown an estimate by
// reading their keys side by side, one from each in turn, until the
// smallest ends (or probeMax keys each): the smallest gets its exact
// size, the others a lower bound, and no more is read than the smallest
// range times the number of ranges.
func (p *planner) settle(opts []option) error {
	var open []*source
	for _, o := range opts {
		if o.src.kind == srcRange && !o.src.estExact {
			open = append(open, o.src)
		}
	}
	if len(open) == 0 {
		return nil
	}
	nexts := make([]func() (store.Entry, error, bool), len(open))
	for i, s := range open {
		next, stop := iter.Pull2(p.tx.Scan(store.Range{Start: s.lo, End: s.hi, KeysOnly: true}))
		defer stop()
		nexts[i] = next
	}
	counts := make([]int64, len(open))
	for n := int64(0); n < p.probeLimit; n++ {
		for i, next := range nexts {
			_, err, ok := next()
			if err != nil {
				return err
			}
			if !ok {
				open[i].est, open[i].estExact = counts[i], true
				for j, s := range open {
					if j != i {
						s.est = max(counts[j], p.live/3)
					}
				}
				return nil
			}
			counts[i]++
		}
	}
	for i, s := range open {
		s.est = max(counts[i], p.live/3)
	}
	return nil
}

// eqValues returns the encoded values of an equality condition (=, IN,
// CONTAINS on a list), or false when the condition is not one or has a
// null.
func (p *planner) eqValues(c *filter.Cond, t filter.Type) ([][]byte, bool) {
	switch c.Op {
	case filter.OpEq, filter.OpIn:
	case filter.OpContains:
		if t != filter.TypeList {
			return nil, false
		}
	default:
		return nil, false
	}
	var out [][]byte
	for _, v := range c.Values {
		enc, ok := p.encodeLiteral(v, t)
		if !ok {
			return nil, false
		}
		if !slices.ContainsFunc(out, func(b []byte) bool { return string(b) == string(enc) }) {
			out = append(out, enc)
		}
	}
	return out, len(out) > 0
}

// encodeLiteral encodes a filter value as the index holds values of type
// t. It returns false for values the index cannot look up (null, times
// beyond the keys' range).
func (p *planner) encodeLiteral(v filter.Value, t filter.Type) ([]byte, bool) {
	switch t {
	case filter.TypeText, filter.TypeList:
		s, ok := v.AsString()
		return encodeText(s), ok
	case filter.TypeBool:
		b, ok := v.AsBool()
		return encodeValues(b)[0], ok
	case filter.TypeNumber:
		f, ok := v.AsNumber()
		return encodeFloat(f), ok
	case filter.TypeTime, filter.TypeDate:
		tm, ok := v.AsTime()
		if !ok || tm.Year() < 1678 || tm.Year() > 2261 {
			return nil, false
		}
		if t == filter.TypeDate {
			tm = time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
		}
		return key{}.time(tm), true
	}
	return nil, false
}

// cond plans one condition on an indexed field.
func (p *planner) cond(c *filter.Cond) (*source, error) {
	fi, ok := p.set.byField[c.Field]
	if !ok {
		return nil, nil
	}
	t, ok := p.schema.FieldType(c.Field)
	if !ok {
		return nil, nil
	}
	base := p.w.indexKey(p.code, fi.name)
	exactType := !(t == filter.TypeNumber && p.schema.intField(c.Field))
	list := t == filter.TypeList
	if encs, ok := p.eqValues(c, t); ok {
		s := &source{kind: srcEq, fi: fi, sorted: true, exact: exactType, what: c.String()}
		for _, e := range encs {
			s.prefixes = append(s.prefixes, append(base[:len(base):len(base)], e...))
		}
		if fi.counted {
			for _, e := range encs {
				n, err := readCount(p.tx, p.w, append(p.w.countKey(p.code, fi.name), e...))
				if err != nil {
					return nil, err
				}
				s.est += n
			}
			s.counted = true
			s.estExact = exactType && (len(encs) == 1 || !list)
		} else {
			s.est = max(1, p.live/100)
		}
		return s, nil
	}
	s := &source{kind: srcRange, fi: fi, base: base, lo: base, hi: key(store.PrefixEnd(base)), exact: exactType, multi: list, what: c.String()}
	bound := func(v filter.Value) (key, bool) {
		enc, ok := p.encodeLiteral(v, t)
		return append(base[:len(base):len(base)], enc...), ok
	}
	after := func(k key) key { return key(store.PrefixEnd(k)) }
	inclusive := !exactType // integers as floats: widen, then recheck
	switch c.Op {
	case filter.OpGt, filter.OpGe:
		k, ok := bound(c.Values[0])
		if !ok {
			return nil, nil
		}
		s.recLo = p.createdFloor(c)
		s.lo = k
		if c.Op == filter.OpGt && !inclusive {
			s.lo = after(k)
		}
	case filter.OpLt, filter.OpLe:
		k, ok := bound(c.Values[0])
		if !ok {
			return nil, nil
		}
		s.hi = k
		if c.Op == filter.OpLe || inclusive {
			s.hi = after(k)
		}
	case filter.OpBetween:
		lo, ok1 := bound(c.Values[0])
		hi, ok2 := bound(c.Values[1])
		if !ok1 || !ok2 {
			return nil, nil
		}
		s.lo, s.hi = lo, after(hi)
		s.recLo = p.createdFloor(c)
	case filter.OpStartsWith:
		str, _ := c.Values[0].AsString()
		enc := encodeText(str)
		s.lo = append(base[:len(base):len(base)], enc[:len(enc)-2]...) // without the terminator
		s.hi = after(s.lo)
	case filter.OpIsSet:
	default:
		return nil, nil
	}
	if t == filter.TypeBool && c.Op != filter.OpIsSet {
		return nil, nil
	}
	if string(s.lo) >= string(s.hi) {
		s.est, s.estExact = 0, true
	} else {
		s.est = p.live / 3
	}
	if !s.multi {
		return s, nil
	}
	// A list field's range yields a record once per matching element:
	// materialise it, deduplicated and in ID order.
	if err := p.settle([]option{{src: s}}); err != nil {
		return nil, err
	}
	return &source{kind: srcOr, kids: []*source{s}, est: s.est, sorted: true, exact: s.exact, what: c.String()}, nil
}

// composite returns the option of a composite index whose every field an
// equality of x constrains.
func (p *planner) composite(x *filter.AndExpr, fi fieldIndex) (option, bool) {
	var o option
	tuples := [][]byte{nil}
	exactCount := true
	for _, f := range fi.fields {
		found := false
		for i, e := range x.Exprs {
			c, ok := e.(*filter.Cond)
			if !ok || c.Field != f || slices.Contains(o.covers, i) {
				continue
			}
			t, _ := p.schema.FieldType(f)
			encs, ok := p.eqValues(c, t)
			if !ok {
				continue
			}
			if len(encs) > 1 && t == filter.TypeList {
				exactCount = false
			}
			var next [][]byte
			for _, tu := range tuples {
				for _, e := range encs {
					next = append(next, append(tu[:len(tu):len(tu)], e...))
				}
			}
			tuples = next
			o.covers = append(o.covers, i)
			found = true
			break
		}
		if !found || len(tuples) > 256 {
			return option{}, false
		}
	}
	base := p.w.indexKey(p.code, fi.name)
	s := &source{kind: srcEq, fi: fi, sorted: true, exact: true, counted: true, estExact: exactCount}
	var what []string
	for _, i := range o.covers {
		what = append(what, x.Exprs[i].String())
	}
	s.what = strings.Join(what, " AND ")
	for _, tu := range tuples {
		s.prefixes = append(s.prefixes, append(base[:len(base):len(base)], tu...))
		n, err := readCount(p.tx, p.w, append(p.w.countKey(p.code, fi.name), tu...))
		if err != nil {
			return option{}, false
		}
		s.est += n
	}
	o.src = s
	return o, true
}

// explain writes a plan for people.
func (pl plan) explain(e filter.Expr) string {
	var b strings.Builder
	pl.src.describe(&b, 0)
	switch {
	case pl.exact:
		b.WriteString("no residual: the indexes answer the filter exactly\n")
	case pl.columns:
		fmt.Fprintf(&b, "then read each candidate's column projection, not its record, and keep those matching %s\n", e)
	default:
		fmt.Fprintf(&b, "then read each candidate and keep those matching %s\n", e)
	}
	return b.String()
}

// createdFloor returns, for a lower bound on created_at, the key of a
// record ID below every record created at or after the bound: IDs are
// minted from the same clock as created_at, as the time's millisecond
// (never less) and a sequence number. nil for other conditions.
func (p *planner) createdFloor(c *filter.Cond) key {
	if c.Field != "created_at" {
		return nil
	}
	t, ok := c.Values[0].AsTime()
	if !ok || t.UnixMilli() <= 0 {
		return nil
	}
	ms := uint64(t.UnixMilli()) - 1
	// The largest ID of the millisecond before the bound: a generator whose
	// last ID had that millisecond and the largest-but-one sequence.
	g := idGen{lastMS: ms, seq: math.MaxUint32 - 1}
	var prefix string
	switch p.code {
	case 'c':
		prefix = kindContact.prefix
	case 'o':
		prefix = kindCompany.prefix
	default:
		prefix = kindDeal.prefix
	}
	return p.w.recordKey(p.code, g.next(prefix, time.UnixMilli(int64(ms))))
}
