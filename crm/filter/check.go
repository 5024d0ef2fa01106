package filter

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// ErrInvalid matches every *FieldError: the filter is well-formed text or
// JSON but cannot be evaluated as written (an unknown field, a type
// mismatch, an operator the field's type does not support, or a malformed
// tree built in code). Compare with errors.Is.
var ErrInvalid = errors.New("filter: invalid filter")

// FieldError is one problem of a filter, usually with one field. It
// matches ErrInvalid.
type FieldError struct {
	// Field is the field the problem is with; empty for problems of the
	// tree itself, such as an empty AND group.
	Field string
	// Reason says what is wrong, in lower case.
	Reason string
}

// Error returns "filter: field \"name\": reason", or "filter: reason"
// without a field.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return "filter: " + e.Reason
	}
	return "filter: field " + strconv.Quote(e.Field) + ": " + e.Reason
}

// Is reports whether target is ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Type is the type of a field, as a Schema declares it.
type Type uint8

// Field types and the operators each supports (IS SET and IS NOT SET work
// on every type). Values must have the field's type; null is allowed with
// =, !=, IN and NOT IN on every type.
const (
	// TypeText is a string: =, !=, <, <=, >, >=, BETWEEN, IN, NOT IN,
	// CONTAINS and NOT CONTAINS (substring), STARTS WITH, MATCHES; all
	// case-insensitive. Values are text.
	TypeText Type = iota + 1
	// TypeNumber is a number (money amounts included): =, !=, <, <=, >,
	// >=, BETWEEN, IN, NOT IN. Values are numbers.
	TypeNumber
	// TypeBool is true or false: =, !=, IN, NOT IN. Values are bools.
	TypeBool
	// TypeDate is a calendar date, compared by day: =, !=, <, <=, >, >=,
	// BETWEEN, IN, NOT IN. Values are dates, times or relative times.
	TypeDate
	// TypeTime is an instant: the operators of TypeDate, compared exactly.
	TypeTime
	// TypeList is a list of text such as tags or emails: =, !=, IN, NOT
	// IN, CONTAINS, NOT CONTAINS, STARTS WITH, MATCHES, each true when
	// any element matches (the negations when none does). Values are
	// text.
	TypeList
)

var typeNames = [...]string{"", "text", "number", "bool", "date", "time", "list"}

// String returns the type's name: "text", "number", "bool", "date",
// "time" or "list".
func (t Type) String() string {
	if t >= TypeText && t <= TypeList {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// typeOps lists the operators each type supports besides IS SET and IS
// NOT SET.
var typeOps = map[Type][]Op{
	TypeText:   {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpBetween, OpIn, OpNotIn, OpContains, OpNotContains, OpStartsWith, OpMatches},
	TypeNumber: {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpBetween, OpIn, OpNotIn},
	TypeBool:   {OpEq, OpNe, OpIn, OpNotIn},
	TypeDate:   {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpBetween, OpIn, OpNotIn},
	TypeTime:   {OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpBetween, OpIn, OpNotIn},
	TypeList:   {OpEq, OpNe, OpIn, OpNotIn, OpContains, OpNotContains, OpStartsWith, OpMatches},
}

func (t Type) supports(op Op) bool {
	if op == OpIsSet || op == OpIsNotSet {
		return true
	}
	for _, o := range typeOps[t] {
		if o == op {
			return true
		}
	}
	return false
}

// accepts reports whether a value of kind k can be compared with a field
// of type t.
func (t Type) accepts(k Kind) bool {
	switch t {
	case TypeText, TypeList:
		return k == KindString
	case TypeNumber:
		return k == KindNumber
	case TypeBool:
		return k == KindBool
	case TypeDate, TypeTime:
		return k == KindTime || k == KindRelative
	}
	return false
}

// Schema tells Check the type of each field a filter may use.
type Schema interface {
	// FieldType returns the type of the named field, and false if there
	// is no such field.
	FieldType(name string) (Type, bool)
}

// FieldLister is a Schema that can list its fields' names, so that Check
// suggests the close ones for an unknown field ("did you mean
// address.country?").
type FieldLister interface {
	FieldNames() []string
}

// MapSchema is a Schema held in a map from field name to type.
type MapSchema map[string]Type

// FieldType returns s[name].
func (s MapSchema) FieldType(name string) (Type, bool) {
	t, ok := s[name]
	return t, ok
}

// FieldNames returns the schema's field names, sorted.
func (s MapSchema) FieldNames() []string { return slices.Sorted(maps.Keys(s)) }

// suggest returns up to three of names close to name: those that end
// with it after a dot (country: address.country), that add a suffix to
// it (owner: owner_id) and those a few edits away (lifecyle: lifecycle),
// closest first.
func suggest(name string, names []string) []string {
	type cand struct {
		name string
		dist int
	}
	var cands []cand
	limit := max(1, min(3, len(name)/3))
	for _, n := range names {
		switch d := editDistance(strings.ToLower(name), strings.ToLower(n)); {
		case n == name:
		case strings.HasSuffix(n, "."+name):
			cands = append(cands, cand{n, 0})
		case strings.HasPrefix(n, name+"_"): // owner: owner_id
			cands = append(cands, cand{n, 1})
		case d <= limit:
			cands = append(cands, cand{n, d})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return cmp.Compare(a.dist, b.dist) })
	out := make([]string, 0, 3)
	for _, c := range cands[:min(3, len(cands))] {
		out = append(out, c.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Check reports every problem of e as a *FieldError, joined with
// errors.Join when there are several (errors.As finds the first). With a
// nil schema it checks only the structure: no nil nodes, AND and OR groups
// of at least two operands, valid field names, known operators with the
// right number of values, null only where allowed, and valid values. With
// a schema it also checks that each field exists, that its type supports
// the operator, and that each value has the field's type.
func Check(e Expr, s Schema) error {
	c := checker{schema: s}
	c.expr(e, 0)
	return errors.Join(c.errs...)
}

type checker struct {
	schema Schema
	errs   []error
}

func (c *checker) add(field, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (c *checker) expr(e Expr, depth int) {
	if depth > maxDepth {
		c.add("", "nested deeper than %d levels", maxDepth)
		return
	}
	switch x := e.(type) {
	case *AndExpr:
		if x != nil {
			c.group("AND", x.Exprs, depth)
			return
		}
	case *OrExpr:
		if x != nil {
			c.group("OR", x.Exprs, depth)
			return
		}
	case *NotExpr:
		if x != nil {
			c.expr(x.Expr, depth+1)
			return
		}
	case *Cond:
		if x != nil {
			c.cond(x)
			return
		}
	}
	c.add("", "missing expression (nil)")
}

func (c *checker) group(name string, list []Expr, depth int) {
	switch len(list) {
	case 0:
		c.add("", "%s group has no operands, needs at least two", name)
	case 1:
		c.add("", "%s group has one operand, needs at least two", name)
	}
	for _, e := range list {
		c.expr(e, depth+1)
	}
}

func (c *checker) cond(x *Cond) {
	n := len(c.errs)
	c.condShape(x)
	if c.schema == nil || len(c.errs) > n || !validField(x.Field) {
		return
	}
	t, ok := c.schema.FieldType(x.Field)
	if !ok {
		reason := "unknown field"
		if l, ok := c.schema.(FieldLister); ok {
			if close := suggest(x.Field, l.FieldNames()); len(close) > 0 {
				reason += "; did you mean " + strings.Join(close, " or ") + "?"
			}
		}
		c.add(x.Field, "%s", reason)
		return
	}
	if !t.supports(x.Op) {
		c.add(x.Field, "operator %s is not supported on a %s field", x.Op, t)
		return
	}
	for _, v := range x.Values {
		if v.kind == KindNull || t.accepts(v.kind) {
			continue
		}
		hint := ""
		if v.kind == KindString && (t == TypeDate || t == TypeTime) {
			hint = " (write dates and times without quotes: 2024-05-01, 2024-05-01T10:00:00Z)"
		}
		c.add(x.Field, "cannot compare a %s field with %s %s%s", t, describeKind(v.kind), v, hint)
	}
}

// condShape checks what does not depend on a schema. Eval uses it too.
func (c *checker) condShape(x *Cond) {
	if !validField(x.Field) {
		c.add(x.Field, "%q is not a field name (want names like first_name or address.country, not a keyword)", x.Field)
	}
	info, ok := infoOf(x.Op)
	if !ok {
		c.add(x.Field, "unknown operator %q", string(x.Op))
		return
	}
	n := len(x.Values)
	switch {
	case info.arity == aryNone && n != 0:
		c.add(x.Field, "%s takes no value, found %d", x.Op, n)
	case info.arity == aryOne && n != 1:
		c.add(x.Field, "%s takes one value, found %d", x.Op, n)
	case info.arity == aryTwo && n != 2:
		c.add(x.Field, "%s takes two values, found %d", x.Op, n)
	case info.arity == aryMany && n == 0:
		c.add(x.Field, "%s takes at least one value, found none", x.Op)
	}
	for _, v := range x.Values {
		if p := v.problem(); p != "" {
			c.add(x.Field, "invalid value: %s", p)
		} else if v.kind == KindNull && !info.null {
			c.add(x.Field, "%s cannot compare with null (use IS SET or IS NOT SET)", x.Op)
		}
	}
}

// validField reports whether name is a field name the text form can
// write: name { "." name }, where a name is a letter or underscore and
// then letters, digits and underscores (ASCII), and a single name is not a
// keyword.
func validField(name string) bool {
	if name == "" || isKeyword(name) {
		return false
	}
	start := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case start:
			if !isNameStart(c) {
				return false
			}
			start = false
		case c == '.':
			start = true
		case !isNameChar(c):
			return false
		}
	}
	return !start
}

func describeKind(k Kind) string {
	switch k {
	case KindString:
		return "text"
	case KindNumber:
		return "the number"
	case KindBool:
		return "the bool"
	case KindTime:
		return "the time"
	case KindRelative:
		return "the relative time"
	}
	return k.String()
}
