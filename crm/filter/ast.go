package filter

import "strings"

// Expr is a filter expression: *AndExpr, *OrExpr, *NotExpr or *Cond. The
// set is closed; nothing outside this package implements Expr.
type Expr interface {
	// String returns the expression in canonical text form, as Format.
	String() string
	isExpr()
}

// AndExpr matches when every operand matches. Parse, ParseJSON and And
// produce it with at least two operands; Check rejects fewer.
type AndExpr struct {
	Exprs []Expr
}

// OrExpr matches when at least one operand matches. Parse, ParseJSON and Or
// produce it with at least two operands; Check rejects fewer.
type OrExpr struct {
	Exprs []Expr
}

// NotExpr matches when its operand does not match. Under two-valued logic
// (see the package documentation) it is the exact complement.
type NotExpr struct {
	Expr Expr
}

// Cond is one condition on one field, such as country IN ("DE", "AT").
type Cond struct {
	// Field is a field name, a dotted path of identifiers such as
	// first_name, address.country or custom.score.
	Field string
	// Op is the comparison.
	Op Op
	// Values holds as many values as Op takes: none for IS SET and IS NOT
	// SET, two for BETWEEN, one or more for IN and NOT IN, one otherwise.
	Values []Value
}

func (*AndExpr) isExpr() {}
func (*OrExpr) isExpr()  {}
func (*NotExpr) isExpr() {}
func (*Cond) isExpr()    {}

// String returns Format(e).
func (e *AndExpr) String() string { return Format(e) }

// String returns Format(e).
func (e *OrExpr) String() string { return Format(e) }

// String returns Format(e).
func (e *NotExpr) String() string { return Format(e) }

// String returns Format(e).
func (e *Cond) String() string { return Format(e) }

// Op is the operator of a condition. Its value is its canonical text, as
// written in both the text and the JSON form.
type Op string

// Operators. Each negated operator (!=, NOT IN, NOT CONTAINS) is exactly
// NOT of its positive form, also on unset fields and lists.
const (
	OpEq          Op = "="
	OpNe          Op = "!="
	OpLt          Op = "<"
	OpLe          Op = "<="
	OpGt          Op = ">"
	OpGe          Op = ">="
	OpIn          Op = "IN"
	OpNotIn       Op = "NOT IN"
	OpBetween     Op = "BETWEEN" // inclusive at both ends
	OpContains    Op = "CONTAINS"
	OpNotContains Op = "NOT CONTAINS"
	OpStartsWith  Op = "STARTS WITH"
	OpMatches     Op = "MATCHES" // case-insensitive wildcard pattern: * any run, ? one character
	OpIsSet       Op = "IS SET"
	OpIsNotSet    Op = "IS NOT SET"
)

// arity values: how many values an operator takes.
const (
	aryNone = iota
	aryOne
	aryTwo
	aryMany // one or more
)

type opInfo struct {
	arity int
	// positive is the operator a negated operator complements.
	positive Op
	// null reports whether null is an allowed value.
	null bool
}

// infoOf returns what the operator takes. A switch rather than a map:
// Eval asks for every condition it evaluates.
func infoOf(op Op) (opInfo, bool) {
	switch op {
	case OpEq:
		return opInfo{arity: aryOne, null: true}, true
	case OpNe:
		return opInfo{arity: aryOne, null: true, positive: OpEq}, true
	case OpLt, OpLe, OpGt, OpGe, OpContains, OpStartsWith, OpMatches:
		return opInfo{arity: aryOne}, true
	case OpIn:
		return opInfo{arity: aryMany, null: true}, true
	case OpNotIn:
		return opInfo{arity: aryMany, null: true, positive: OpIn}, true
	case OpBetween:
		return opInfo{arity: aryTwo}, true
	case OpNotContains:
		return opInfo{arity: aryOne, positive: OpContains}, true
	case OpIsSet, OpIsNotSet:
		return opInfo{arity: aryNone}, true
	}
	return opInfo{}, false
}

// Valid reports whether op is one of the operators above.
func (op Op) Valid() bool {
	_, ok := infoOf(op)
	return ok
}

// String returns the operator's canonical text.
func (op Op) String() string { return string(op) }

// ParseOp returns the operator written s: its canonical text or, for
// clients that cannot send symbols, a word form, case-insensitively and
// with underscores for spaces ("not_in", "is set", "eq", "ne", "lt", "lte",
// "gt", "gte").
func ParseOp(s string) (Op, bool) {
	s = strings.Join(strings.Fields(strings.ReplaceAll(strings.ToUpper(s), "_", " ")), " ")
	if op := Op(s); op.Valid() {
		return op, true
	}
	switch s {
	case "EQ":
		return OpEq, true
	case "NE", "NEQ":
		return OpNe, true
	case "LT":
		return OpLt, true
	case "LE", "LTE":
		return OpLe, true
	case "GT":
		return OpGt, true
	case "GE", "GTE":
		return OpGe, true
	}
	return "", false
}

// Equal reports whether a and b are the same expression: the same tree of
// nodes with the same fields, operators and (Equal) values. Nil
// expressions are equal only to nil.
func Equal(a, b Expr) bool {
	switch x := a.(type) {
	case *AndExpr:
		y, ok := b.(*AndExpr)
		return ok && (x == nil) == (y == nil) && (x == nil || equalList(x.Exprs, y.Exprs))
	case *OrExpr:
		y, ok := b.(*OrExpr)
		return ok && (x == nil) == (y == nil) && (x == nil || equalList(x.Exprs, y.Exprs))
	case *NotExpr:
		y, ok := b.(*NotExpr)
		return ok && (x == nil) == (y == nil) && (x == nil || Equal(x.Expr, y.Expr))
	case *Cond:
		y, ok := b.(*Cond)
		if !ok || (x == nil) != (y == nil) {
			return false
		}
		if x == nil {
			return true
		}
		if x.Field != y.Field || x.Op != y.Op || len(x.Values) != len(y.Values) {
			return false
		}
		for i := range x.Values {
			if !x.Values[i].Equal(y.Values[i]) {
				return false
			}
		}
		return true
	}
	return a == nil && b == nil
}

func equalList(a, b []Expr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
