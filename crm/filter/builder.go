package filter

// Field names a field for building conditions in code:
//
//	filter.Where("country").In("DE", "AT")
//	filter.Field("amount").Between(1000, 5000)
//
// Values are converted with ValueOf: nil is null, Go numbers become
// numbers, time.Time and CalendarDate become times, and a Value is used as
// is (for relative times: filter.Ago(30*filter.Day)). An argument of
// another type yields an invalid value that Check, Eval and ToJSON report,
// so a builder chain never panics.
type Field string

// Where returns the field named name, to start a condition.
func Where(name string) Field { return Field(name) }

func (f Field) cond(op Op, vs ...any) *Cond {
	c := &Cond{Field: string(f), Op: op, Values: make([]Value, len(vs))}
	for i, v := range vs {
		c.Values[i] = valueOf(v)
	}
	return c
}

// Eq returns the condition f = v.
func (f Field) Eq(v any) Expr { return f.cond(OpEq, v) }

// Ne returns the condition f != v.
func (f Field) Ne(v any) Expr { return f.cond(OpNe, v) }

// Lt returns the condition f < v.
func (f Field) Lt(v any) Expr { return f.cond(OpLt, v) }

// Le returns the condition f <= v.
func (f Field) Le(v any) Expr { return f.cond(OpLe, v) }

// Gt returns the condition f > v.
func (f Field) Gt(v any) Expr { return f.cond(OpGt, v) }

// Ge returns the condition f >= v.
func (f Field) Ge(v any) Expr { return f.cond(OpGe, v) }

// In returns the condition f IN (vs...).
func (f Field) In(vs ...any) Expr { return f.cond(OpIn, vs...) }

// NotIn returns the condition f NOT IN (vs...).
func (f Field) NotIn(vs ...any) Expr { return f.cond(OpNotIn, vs...) }

// Between returns the condition f BETWEEN lo AND hi (inclusive).
func (f Field) Between(lo, hi any) Expr { return f.cond(OpBetween, lo, hi) }

// Contains returns the condition f CONTAINS v: an element of a list, a
// substring of text.
func (f Field) Contains(v any) Expr { return f.cond(OpContains, v) }

// NotContains returns the condition f NOT CONTAINS v.
func (f Field) NotContains(v any) Expr { return f.cond(OpNotContains, v) }

// StartsWith returns the condition f STARTS WITH prefix.
func (f Field) StartsWith(prefix string) Expr { return f.cond(OpStartsWith, prefix) }

// Matches returns the condition f MATCHES pattern (* any run, ? one
// character, case-insensitive).
func (f Field) Matches(pattern string) Expr { return f.cond(OpMatches, pattern) }

// IsSet returns the condition f IS SET.
func (f Field) IsSet() Expr { return f.cond(OpIsSet) }

// IsNotSet returns the condition f IS NOT SET.
func (f Field) IsNotSet() Expr { return f.cond(OpIsNotSet) }

// And returns an expression that matches when every operand does.
// Operands that are themselves *AndExpr are spliced in, so
// And(And(a, b), c) equals Parse("a AND b AND c"); a single operand is
// returned as is. And() with no operands returns an empty group, which
// Check reports.
func And(es ...Expr) Expr {
	list := flatten(es, func(e Expr) ([]Expr, bool) {
		a, ok := e.(*AndExpr)
		if !ok || a == nil {
			return nil, false
		}
		return a.Exprs, true
	})
	if len(list) == 1 {
		return list[0]
	}
	return &AndExpr{Exprs: list}
}

// Or returns an expression that matches when at least one operand does.
// Like And, it splices in operands that are *OrExpr and returns a single
// operand as is.
func Or(es ...Expr) Expr {
	list := flatten(es, func(e Expr) ([]Expr, bool) {
		o, ok := e.(*OrExpr)
		if !ok || o == nil {
			return nil, false
		}
		return o.Exprs, true
	})
	if len(list) == 1 {
		return list[0]
	}
	return &OrExpr{Exprs: list}
}

// Not returns an expression that matches when e does not.
func Not(e Expr) Expr { return &NotExpr{Expr: e} }

func flatten(es []Expr, open func(Expr) ([]Expr, bool)) []Expr {
	list := make([]Expr, 0, len(es))
	for _, e := range es {
		if inner, ok := open(e); ok {
			list = append(list, inner...)
		} else {
			list = append(list, e)
		}
	}
	return list
}
