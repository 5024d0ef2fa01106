package filter

import (
	"fmt"
	"math"
	"time"
)

// Record is what Eval reads fields from.
type Record interface {
	// Field returns the value of the named field and whether the record
	// has the field at all. Values are string, bool, any integer or float
	// type, time.Time (an instant), a CalendarDate (a date), or []string
	// (a list). A missing field, nil, "", an empty list, a zero
	// time.Time, a zero CalendarDate and NaN all count as unset.
	Field(name string) (any, bool)
}

// MapRecord is a Record held in a map from field name to value.
type MapRecord map[string]any

// Field returns m[name].
func (m MapRecord) Field(name string) (any, bool) {
	v, ok := m[name]
	return v, ok
}

// Eval reports whether the record r matches e, with relative times
// resolved against now (see the package documentation for the exact
// semantics). A nil r is a record without fields. It returns an error
// matching ErrInvalid when e is malformed or a record value cannot be
// compared with the filter's value (for example text against a number);
// only the conditions Eval actually evaluates are checked, so run Check
// first to catch every problem. Unlike Check, Eval accepts a group of one
// operand, which means the operand.
func Eval(e Expr, r Record, now time.Time) (bool, error) {
	ev := evaluator{r: r, now: now.UTC()}
	return ev.expr(e, 0)
}

// Prepared is a filter whose conditions have had their shape (operator,
// number and kinds of values) checked once, for evaluation over many
// records: a scan evaluates one filter a million times.
type Prepared struct{ e Expr }

// Prepare checks the shape of every condition of e once. It returns an
// error matching ErrInvalid if one is malformed; Eval of e then reports
// the same problem when it reaches that condition.
func Prepare(e Expr) (*Prepared, error) {
	var chk checker
	var walk func(e Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case *AndExpr:
			if x != nil {
				for _, c := range x.Exprs {
					walk(c)
				}
			}
		case *OrExpr:
			if x != nil {
				for _, c := range x.Exprs {
					walk(c)
				}
			}
		case *NotExpr:
			if x != nil {
				walk(x.Expr)
			}
		case *Cond:
			if x != nil {
				chk.condShape(x)
			}
		}
	}
	walk(e)
	if len(chk.errs) > 0 {
		return nil, chk.errs[0]
	}
	return &Prepared{e: e}, nil
}

// Eval reports whether r matches the filter, as Eval does.
func (p *Prepared) Eval(r Record, now time.Time) (bool, error) {
	ev := evaluator{r: r, now: now.UTC(), shaped: true}
	return ev.expr(p.e, 0)
}

type evaluator struct {
	r   Record
	now time.Time
	// shaped says the conditions' shapes were checked (Prepare).
	shaped bool
}

func (ev *evaluator) expr(e Expr, depth int) (bool, error) {
	if depth > maxDepth {
		return false, &FieldError{Reason: fmt.Sprintf("nested deeper than %d levels", maxDepth)}
	}
	switch x := e.(type) {
	case *AndExpr:
		if x == nil {
			break
		}
		if len(x.Exprs) == 0 {
			return false, &FieldError{Reason: "AND group has no operands"}
		}
		for _, c := range x.Exprs {
			if m, err := ev.expr(c, depth+1); err != nil || !m {
				return false, err
			}
		}
		return true, nil
	case *OrExpr:
		if x == nil {
			break
		}
		if len(x.Exprs) == 0 {
			return false, &FieldError{Reason: "OR group has no operands"}
		}
		for _, c := range x.Exprs {
			if m, err := ev.expr(c, depth+1); err != nil || m {
				return m && err == nil, err
			}
		}
		return false, nil
	case *NotExpr:
		if x == nil {
			break
		}
		m, err := ev.expr(x.Expr, depth+1)
		return !m && err == nil, err
	case *Cond:
		if x == nil {
			break
		}
		return ev.cond(x)
	}
	return false, &FieldError{Reason: "missing expression (nil)"}
}

func (ev *evaluator) cond(c *Cond) (bool, error) {
	if !ev.shaped {
		var chk checker
		if chk.condShape(c); len(chk.errs) > 0 {
			return false, chk.errs[0]
		}
	}
	var raw any
	var ok bool
	if ev.r != nil {
		raw, ok = ev.r.Field(c.Field)
	}
	rv, set, err := readValue(c.Field, raw, ok)
	if err != nil {
		return false, err
	}
	switch c.Op {
	case OpIsSet:
		return set, nil
	case OpIsNotSet:
		return !set, nil
	}
	op, negate := c.Op, false
	if info, _ := infoOf(op); info.positive != "" {
		op, negate = info.positive, true
	}
	m, err := ev.match(c.Field, op, c.Values, rv, set)
	if err != nil {
		return false, err
	}
	return m != negate, nil
}

// recKind is the kind of a record value.
type recKind uint8

const (
	recText recKind = iota + 1
	recNumber
	recBool
	recTime
	recDate
	recList
)

var recKindNames = [...]string{"", "text", "number", "bool", "time", "date", "list"}

// recValue is a record's value in the form Eval compares.
type recValue struct {
	kind  recKind
	str   string
	list  []string
	num   float64
	i     int64 // the exact value of an integer, when isInt
	isInt bool
	b     bool
	t     time.Time // recTime: the instant; recDate: midnight UTC of the date
}

// readValue converts a record's value, reporting whether it is set.
func readValue(field string, raw any, ok bool) (recValue, bool, error) {
	if !ok || raw == nil {
		return recValue{}, false, nil
	}
	switch x := raw.(type) {
	case string:
		return recValue{kind: recText, str: x}, x != "", nil
	case []string:
		return recValue{kind: recList, list: x}, len(x) > 0, nil
	case bool:
		return recValue{kind: recBool, b: x}, true, nil
	case time.Time:
		return recValue{kind: recTime, t: x}, !x.IsZero(), nil
	case CalendarDate:
		if x.IsZero() {
			return recValue{kind: recDate}, false, nil
		}
		y, m, d := x.Time().Date()
		return recValue{kind: recDate, t: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}, true, nil
	case int:
		return intValue(int64(x)), true, nil
	case int8:
		return intValue(int64(x)), true, nil
	case int16:
		return intValue(int64(x)), true, nil
	case int32:
		return intValue(int64(x)), true, nil
	case int64:
		return intValue(x), true, nil
	case uint8:
		return intValue(int64(x)), true, nil
	case uint16:
		return intValue(int64(x)), true, nil
	case uint32:
		return intValue(int64(x)), true, nil
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return intValue(int64(x)), true, nil
		}
	case uint64:
		if x <= math.MaxInt64 {
			return intValue(int64(x)), true, nil
		}
	}
	if f, ok := toFloat(raw); ok {
		return recValue{kind: recNumber, num: f}, !math.IsNaN(f), nil
	}
	return recValue{}, false, &FieldError{Field: field, Reason: fmt.Sprintf("record value of type %T is not supported", raw)}
}

func intValue(i int64) recValue {
	return recValue{kind: recNumber, num: float64(i), i: i, isInt: true}
}

// match evaluates a positive operator (not IS SET, IS NOT SET or a
// negation).
func (ev *evaluator) match(field string, op Op, lits []Value, rv recValue, set bool) (bool, error) {
	switch op {
	case OpEq, OpIn:
		for _, lit := range lits {
			if lit.kind == KindNull {
				if !set {
					return true, nil
				}
				continue
			}
			if !set {
				continue
			}
			if m, err := ev.equal(field, rv, lit); err != nil || m {
				return m, err
			}
		}
		return false, nil
	}
	if !set {
		return false, nil
	}
	switch op {
	case OpLt, OpLe, OpGt, OpGe:
		c, err := ev.order(field, op, rv, lits[0])
		if err != nil {
			return false, err
		}
		switch op {
		case OpLt:
			return c < 0, nil
		case OpLe:
			return c <= 0, nil
		case OpGt:
			return c > 0, nil
		}
		return c >= 0, nil
	case OpBetween:
		lo, err := ev.order(field, op, rv, lits[0])
		if err != nil {
			return false, err
		}
		hi, err := ev.order(field, op, rv, lits[1])
		return err == nil && lo >= 0 && hi <= 0, err
	case OpContains, OpStartsWith, OpMatches:
		return ev.textOp(field, op, rv, lits[0])
	}
	return false, &FieldError{Field: field, Reason: fmt.Sprintf("unknown operator %q", string(op))}
}

// equal compares rv with one non-null literal; on a list, any element.
func (ev *evaluator) equal(field string, rv recValue, lit Value) (bool, error) {
	switch rv.kind {
	case recText:
		if lit.kind == KindString {
			return foldEqual(rv.str, lit.str), nil
		}
	case recList:
		if lit.kind == KindString {
			for _, s := range rv.list {
				if foldEqual(s, lit.str) {
					return true, nil
				}
			}
			return false, nil
		}
	case recBool:
		if lit.kind == KindBool {
			return rv.b == lit.b, nil
		}
	case recNumber, recTime, recDate:
		c, err := ev.order(field, OpEq, rv, lit)
		return err == nil && c == 0, err
	}
	return false, mismatch(field, rv, lit)
}

// order compares rv with lit: -1, 0 or +1.
func (ev *evaluator) order(field string, op Op, rv recValue, lit Value) (int, error) {
	switch rv.kind {
	case recText:
		if lit.kind == KindString {
			return foldCompare(rv.str, lit.str), nil
		}
	case recNumber:
		if lit.kind == KindNumber {
			return compareNumber(rv, lit.num), nil
		}
	case recTime, recDate:
		if lit.kind == KindTime || lit.kind == KindRelative {
			r := lit.Resolve(ev.now)
			if r.kind != KindTime {
				return 0, &FieldError{Field: field, Reason: fmt.Sprintf("%s at %s: %s", lit, ev.now.Format(time.RFC3339), r.problem())}
			}
			t := r.t
			if rv.kind == recDate {
				y, m, d := t.Date()
				t = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
			}
			return rv.t.Compare(t), nil
		}
	default:
		return 0, unsupported(field, op, rv)
	}
	return 0, mismatch(field, rv, lit)
}

// compareNumber compares a record number with a literal exactly, also
// for integers beyond float64's 53 bits of precision.
func compareNumber(rv recValue, f float64) int {
	if rv.isInt && f == math.Trunc(f) && f >= -(1<<63) && f < 1<<63 {
		i := int64(f)
		switch {
		case rv.i < i:
			return -1
		case rv.i > i:
			return 1
		}
		return 0
	}
	switch {
	case rv.num < f:
		return -1
	case rv.num > f:
		return 1
	}
	return 0
}

// textOp evaluates CONTAINS, STARTS WITH and MATCHES.
func (ev *evaluator) textOp(field string, op Op, rv recValue, lit Value) (bool, error) {
	if rv.kind != recText && rv.kind != recList {
		return false, unsupported(field, op, rv)
	}
	if lit.kind != KindString {
		return false, mismatch(field, rv, lit)
	}
	var glob []globItem
	if op == OpMatches {
		glob = compileGlob(lit.str)
	}
	one := func(s string) bool {
		switch op {
		case OpContains:
			if rv.kind == recList {
				return foldEqual(s, lit.str) // an element, not a substring
			}
			return foldContains(s, lit.str)
		case OpStartsWith:
			return foldHasPrefix(s, lit.str)
		}
		return globMatch(glob, s)
	}
	if rv.kind == recText {
		return one(rv.str), nil
	}
	for _, s := range rv.list {
		if one(s) {
			return true, nil
		}
	}
	return false, nil
}

func mismatch(field string, rv recValue, lit Value) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf("cannot compare a %s value with %s %s", recKindNames[rv.kind], describeKind(lit.kind), lit)}
}

func unsupported(field string, op Op, rv recValue) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf("operator %s is not supported on a %s value", op, recKindNames[rv.kind])}
}
