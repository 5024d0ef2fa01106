package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// JSONError reports where and why the JSON form failed to parse. It
// matches ErrSyntax.
type JSONError struct {
	// Path locates the problem from the root, e.g. "and[1].or[0].op";
	// empty for the root itself.
	Path string
	// Reason says what is wrong, in lower case.
	Reason string
}

// Error returns "filter: path: reason", or "filter: reason" at the root.
func (e *JSONError) Error() string {
	if e.Path == "" {
		return "filter: " + e.Reason
	}
	return "filter: " + e.Path + ": " + e.Reason
}

// Unwrap returns ErrSyntax.
func (e *JSONError) Unwrap() error { return ErrSyntax }

// ToJSON returns the JSON form of e (see the package documentation). It
// refuses expressions that fail Check(e, nil), so that its output always
// parses back to an Equal expression.
func ToJSON(e Expr) ([]byte, error) {
	if err := Check(e, nil); err != nil {
		return nil, err
	}
	var b strings.Builder
	writeJSON(&b, e)
	return []byte(b.String()), nil
}

// MarshalJSON returns ToJSON(e).
func (e *AndExpr) MarshalJSON() ([]byte, error) { return ToJSON(e) }

// MarshalJSON returns ToJSON(e).
func (e *OrExpr) MarshalJSON() ([]byte, error) { return ToJSON(e) }

// MarshalJSON returns ToJSON(e).
func (e *NotExpr) MarshalJSON() ([]byte, error) { return ToJSON(e) }

// MarshalJSON returns ToJSON(e).
func (e *Cond) MarshalJSON() ([]byte, error) { return ToJSON(e) }

// MarshalJSON writes the value as in a condition's "value": a JSON
// string, number, bool or null, or an object {"date": "2024-05-01"},
// {"time": "2024-05-01T10:00:00Z"} or {"relative": "now() - 60d"}.
func (v Value) MarshalJSON() ([]byte, error) {
	if p := v.problem(); p != "" {
		return nil, &FieldError{Reason: p}
	}
	var b strings.Builder
	writeJSONValue(&b, v)
	return []byte(b.String()), nil
}

func writeJSON(b *strings.Builder, e Expr) {
	switch x := e.(type) {
	case *AndExpr:
		writeJSONGroup(b, "and", x.Exprs)
	case *OrExpr:
		writeJSONGroup(b, "or", x.Exprs)
	case *NotExpr:
		b.WriteString(`{"not":`)
		writeJSON(b, x.Expr)
		b.WriteByte('}')
	case *Cond:
		b.WriteString(`{"field":`)
		writeJSONString(b, x.Field)
		b.WriteString(`,"op":`)
		writeJSONString(b, string(x.Op))
		switch info, _ := infoOf(x.Op); info.arity {
		case aryOne:
			b.WriteString(`,"value":`)
			writeJSONValue(b, x.Values[0])
		case aryTwo, aryMany:
			b.WriteString(`,"values":[`)
			for i, v := range x.Values {
				if i > 0 {
					b.WriteByte(',')
				}
				writeJSONValue(b, v)
			}
			b.WriteByte(']')
		}
		b.WriteByte('}')
	}
}

func writeJSONGroup(b *strings.Builder, key string, list []Expr) {
	b.WriteString(`{"` + key + `":[`)
	for i, e := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSON(b, e)
	}
	b.WriteString("]}")
}

func writeJSONValue(b *strings.Builder, v Value) {
	switch v.kind {
	case KindString:
		writeJSONString(b, v.str)
	case KindNumber:
		j, _ := json.Marshal(v.num) // finite: the constructor refuses others
		b.Write(j)
	case KindBool:
		b.WriteString(strconv.FormatBool(v.b))
	case KindTime:
		if s := formatTime(v.t); len(s) == len(time.DateOnly) {
			b.WriteString(`{"date":"` + s + `"}`)
		} else {
			b.WriteString(`{"time":"` + s + `"}`)
		}
	case KindRelative:
		b.WriteString(`{"relative":`)
		writeJSONString(b, v.String())
		b.WriteByte('}')
	default:
		b.WriteString("null")
	}
}

// writeJSONString writes s as a JSON string: the text form's escapes are
// JSON's, so the text form's writer serves both.
func writeJSONString(b *strings.Builder, s string) { writeString(b, s) }

// ParseJSON parses the JSON form of a filter (see the package
// documentation). A group of one operand ({"and": [c]}) is read as the
// operand itself, which keeps forms built by UIs simple; an empty group is
// an error, since a filter must say something. The result passes
// Check(e, nil). Errors are *JSONError naming the path of the problem.
func ParseJSON(data []byte) (Expr, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return nil, &JSONError{Reason: "invalid JSON: " + strings.TrimPrefix(fmt.Sprint(err), "json: ")}
	}
	return parseJSONExpr(data, "", 0)
}

func joinPath(path, elem string) string {
	if path == "" {
		return elem
	}
	return path + "." + elem
}

// jsonKind names the JSON type of a raw value, for error messages.
func jsonKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a bool"
	case 'n':
		return "null"
	}
	return "a number"
}

func parseJSONExpr(data json.RawMessage, path string, depth int) (Expr, error) {
	if depth > maxDepth {
		return nil, &JSONError{Path: path, Reason: fmt.Sprintf("nested deeper than %d levels", maxDepth)}
	}
	var obj map[string]json.RawMessage
	if jsonKind(data) != "an object" || json.Unmarshal(data, &obj) != nil {
		return nil, &JSONError{Path: path, Reason: "expected an object with \"and\", \"or\", \"not\" or \"field\", found " + jsonKind(data)}
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, group := range []string{"and", "or", "not"} {
		raw, ok := obj[group]
		if !ok {
			continue
		}
		for _, k := range keys {
			if k != group {
				return nil, &JSONError{Path: joinPath(path, k), Reason: fmt.Sprintf("unexpected key beside %q", group)}
			}
		}
		if group == "not" {
			in, err := parseJSONExpr(raw, joinPath(path, "not"), depth+1)
			if err != nil {
				return nil, err
			}
			return &NotExpr{Expr: in}, nil
		}
		var list []json.RawMessage
		if jsonKind(raw) != "an array" || json.Unmarshal(raw, &list) != nil {
			return nil, &JSONError{Path: joinPath(path, group), Reason: "expected an array, found " + jsonKind(raw)}
		}
		if len(list) == 0 {
			return nil, &JSONError{Path: joinPath(path, group), Reason: "expected at least one condition, found an empty array"}
		}
		exprs := make([]Expr, len(list))
		for i, r := range list {
			e, err := parseJSONExpr(r, fmt.Sprintf("%s[%d]", joinPath(path, group), i), depth+1)
			if err != nil {
				return nil, err
			}
			exprs[i] = e
		}
		if len(exprs) == 1 {
			return exprs[0], nil
		}
		if group == "and" {
			return &AndExpr{Exprs: exprs}, nil
		}
		return &OrExpr{Exprs: exprs}, nil
	}
	return parseJSONCond(obj, keys, path)
}

func parseJSONCond(obj map[string]json.RawMessage, keys []string, path string) (Expr, error) {
	for _, k := range keys {
		switch k {
		case "field", "op", "value", "values":
		default:
			return nil, &JSONError{Path: joinPath(path, k), Reason: `unknown key (want "field", "op", "value" or "values")`}
		}
	}
	c := &Cond{}
	raw, ok := obj["field"]
	if !ok {
		return nil, &JSONError{Path: path, Reason: `missing "field"`}
	}
	if err := json.Unmarshal(raw, &c.Field); err != nil || jsonKind(raw) != "a string" {
		return nil, &JSONError{Path: joinPath(path, "field"), Reason: "expected a string, found " + jsonKind(raw)}
	}
	if !validField(c.Field) {
		return nil, &JSONError{Path: joinPath(path, "field"), Reason: fmt.Sprintf("%q is not a field name", c.Field)}
	}
	raw, ok = obj["op"]
	if !ok {
		return nil, &JSONError{Path: path, Reason: `missing "op"`}
	}
	var opText string
	if err := json.Unmarshal(raw, &opText); err != nil || jsonKind(raw) != "a string" {
		return nil, &JSONError{Path: joinPath(path, "op"), Reason: "expected a string, found " + jsonKind(raw)}
	}
	if c.Op, ok = ParseOp(opText); !ok {
		return nil, &JSONError{Path: joinPath(path, "op"), Reason: fmt.Sprintf("unknown operator %q", opText)}
	}
	info, _ := infoOf(c.Op)
	rawValue, hasValue := obj["value"]
	rawValues, hasValues := obj["values"]
	switch info.arity {
	case aryNone:
		if hasValue || hasValues {
			k := "value"
			if hasValues {
				k = "values"
			}
			return nil, &JSONError{Path: joinPath(path, k), Reason: fmt.Sprintf("%s takes no value", c.Op)}
		}
	case aryOne:
		if hasValues {
			return nil, &JSONError{Path: joinPath(path, "values"), Reason: fmt.Sprintf(`%s takes one "value", not "values"`, c.Op)}
		}
		if !hasValue {
			return nil, &JSONError{Path: path, Reason: fmt.Sprintf(`missing "value" for %s`, c.Op)}
		}
		v, err := parseJSONValue(rawValue, joinPath(path, "value"), info.null)
		if err != nil {
			return nil, err
		}
		c.Values = []Value{v}
	case aryTwo, aryMany:
		if hasValue {
			return nil, &JSONError{Path: joinPath(path, "value"), Reason: fmt.Sprintf(`%s takes a list in "values", not "value"`, c.Op)}
		}
		if !hasValues {
			return nil, &JSONError{Path: path, Reason: fmt.Sprintf(`missing "values" for %s`, c.Op)}
		}
		var list []json.RawMessage
		if jsonKind(rawValues) != "an array" || json.Unmarshal(rawValues, &list) != nil {
			return nil, &JSONError{Path: joinPath(path, "values"), Reason: "expected an array, found " + jsonKind(rawValues)}
		}
		if info.arity == aryTwo && len(list) != 2 {
			return nil, &JSONError{Path: joinPath(path, "values"), Reason: fmt.Sprintf("%s takes two values, found %d", c.Op, len(list))}
		}
		if len(list) == 0 {
			return nil, &JSONError{Path: joinPath(path, "values"), Reason: fmt.Sprintf("%s takes at least one value, found none", c.Op)}
		}
		c.Values = make([]Value, len(list))
		for i, r := range list {
			v, err := parseJSONValue(r, fmt.Sprintf("%s[%d]", joinPath(path, "values"), i), info.null)
			if err != nil {
				return nil, err
			}
			c.Values[i] = v
		}
	}
	return c, nil
}

func parseJSONValue(raw json.RawMessage, path string, nullOK bool) (Value, error) {
	switch jsonKind(raw) {
	case "a string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return Value{}, &JSONError{Path: path, Reason: "invalid string"}
		}
		return StringValue(s), nil
	case "a number":
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return Value{}, &JSONError{Path: path, Reason: fmt.Sprintf("%s is not a finite number", bytes.TrimSpace(raw))}
		}
		return NumberValue(f), nil
	case "a bool":
		var b bool
		_ = json.Unmarshal(raw, &b) // valid JSON starting with t or f
		return BoolValue(b), nil
	case "null":
		if !nullOK {
			return Value{}, &JSONError{Path: path, Reason: "expected a value other than null"}
		}
		return NullValue(), nil
	case "an object":
		return parseJSONTimeValue(raw, path)
	}
	return Value{}, &JSONError{Path: path, Reason: fmt.Sprintf(`expected a single value, found %s (lists go in "values")`, jsonKind(raw))}
}

// parseJSONTimeValue reads {"date": "..."}, {"time": "..."} or
// {"relative": "..."}.
func parseJSONTimeValue(raw json.RawMessage, path string) (Value, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || len(obj) != 1 {
		return Value{}, &JSONError{Path: path, Reason: `expected an object with one key, "date", "time" or "relative"`}
	}
	var k string
	var r json.RawMessage
	for k, r = range obj { // the only key
	}
	p := joinPath(path, k)
	var s string
	if err := json.Unmarshal(r, &s); err != nil || jsonKind(r) != "a string" {
		return Value{}, &JSONError{Path: p, Reason: "expected a string, found " + jsonKind(r)}
	}
	switch k {
	case "date":
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return Value{}, &JSONError{Path: p, Reason: fmt.Sprintf("%q is not a date like 2024-05-01", s)}
		}
		return TimeValue(t), nil
	case "time":
		t, err := parseTime(time.RFC3339Nano, s)
		v := TimeValue(t)
		if err != nil || v.kind != KindTime {
			return Value{}, &JSONError{Path: p, Reason: fmt.Sprintf("%q is not an RFC 3339 time like 2024-05-01T10:00:00Z between the years 0000 and 9999", s)}
		}
		return v, nil
	case "relative":
		return parseRelative(s, p)
	default:
		return Value{}, &JSONError{Path: p, Reason: `unknown key (want "date", "time" or "relative")`}
	}
}

// parseRelative parses the text form of a relative time, "now() - 60d".
func parseRelative(s, path string) (Value, error) {
	p := parser{lex: lexer{src: s}}
	p.advance()
	reason := func(err *SyntaxError) error {
		return &JSONError{Path: path, Reason: fmt.Sprintf("%q: column %d: expected %s, found %s", s, err.Column, err.Expected, err.Found)}
	}
	a, ok := Anchor(0), false
	if p.tok.kind == tokIdent {
		a, ok = anchorByName(strings.ToLower(p.tok.text))
	}
	if !ok {
		return Value{}, reason(p.fail("now(), today(), start_of_week(), start_of_month(), start_of_quarter() or start_of_year()"))
	}
	v, err := p.relative(a)
	var se *SyntaxError
	if errors.As(err, &se) {
		return Value{}, reason(se)
	}
	if p.tok.kind != tokEOF {
		return Value{}, reason(p.fail("end of input"))
	}
	return v, nil
}
