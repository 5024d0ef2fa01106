package filter

import (
	"strconv"
	"time"
)

// Anchor is the base of a relative time: the evaluation's now, or the start
// of a calendar period that contains it. Every anchor is computed in UTC.
type Anchor uint8

// Anchors, written now(), today(), start_of_week(), start_of_month(),
// start_of_quarter() and start_of_year() in the text form.
const (
	Now            Anchor = iota + 1 // the instant of evaluation
	Today                            // midnight UTC of now's date
	StartOfWeek                      // midnight UTC of the Monday on or before today
	StartOfMonth                     // midnight UTC of the 1st of now's month
	StartOfQuarter                   // midnight UTC of January, April, July or October 1st
	StartOfYear                      // midnight UTC of January 1st
)

var anchorNames = [...]string{"", "now", "today", "start_of_week", "start_of_month", "start_of_quarter", "start_of_year"}

func (a Anchor) valid() bool { return a >= Now && a <= StartOfYear }

// String returns the anchor as written in the text form, "now()".
func (a Anchor) String() string {
	if a.valid() {
		return anchorNames[a] + "()"
	}
	return "anchor(" + strconv.Itoa(int(a)) + ")"
}

// anchorByName returns the anchor with the given lower-case name.
func anchorByName(name string) (Anchor, bool) {
	for i := Now; i <= StartOfYear; i++ {
		if anchorNames[i] == name {
			return i, true
		}
	}
	return 0, false
}

// At returns the anchor's instant at now, in UTC.
func (a Anchor) At(now time.Time) time.Time {
	now = now.UTC()
	if a == Now {
		return now
	}
	y, m, d := now.Date()
	switch a {
	case StartOfWeek:
		d -= (int(now.Weekday()) + 6) % 7 // days since Monday
	case StartOfMonth:
		d = 1
	case StartOfQuarter:
		m, d = (m-1)/3*3+1, 1
	case StartOfYear:
		m, d = time.January, 1
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Resolve returns a copy of e in which every relative time is replaced by
// the absolute time it means at now, so a planner can treat it as a
// constant. Eval(Resolve(e, now), r, t) equals Eval(e, r, now) for every t.
// Nodes that hold no relative time are shared with e, not copied.
func Resolve(e Expr, now time.Time) Expr {
	switch x := e.(type) {
	case *AndExpr:
		if x == nil {
			return e
		}
		if out, ok := resolveList(x.Exprs, now); ok {
			return &AndExpr{Exprs: out}
		}
	case *OrExpr:
		if x == nil {
			return e
		}
		if out, ok := resolveList(x.Exprs, now); ok {
			return &OrExpr{Exprs: out}
		}
	case *NotExpr:
		if x == nil {
			return e
		}
		if in := Resolve(x.Expr, now); in != x.Expr {
			return &NotExpr{Expr: in}
		}
	case *Cond:
		if x == nil {
			return e
		}
		for i, v := range x.Values {
			if v.kind != KindRelative {
				continue
			}
			vs := make([]Value, len(x.Values))
			copy(vs, x.Values)
			for j := i; j < len(vs); j++ {
				vs[j] = vs[j].Resolve(now)
			}
			return &Cond{Field: x.Field, Op: x.Op, Values: vs}
		}
	}
	return e
}

func resolveList(es []Expr, now time.Time) ([]Expr, bool) {
	var out []Expr
	for i, c := range es {
		r := Resolve(c, now)
		if r != c && out == nil {
			out = make([]Expr, len(es))
			copy(out, es[:i])
		}
		if out != nil {
			out[i] = r
		}
	}
	return out, out != nil
}
