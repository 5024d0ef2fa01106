package filter

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format returns the canonical text form of e: keywords in upper case,
// literals and anchors in lower case, single spaces, and parentheses
// exactly where the tree needs them plus around an AND group inside an OR
// group, for readability. For every e that passes Check(e, nil),
// Parse(Format(e)) returns an expression Equal to e. A nil expression
// formats as "<nil>"; other invalid parts print in a form that does not
// parse.
func Format(e Expr) string {
	var b strings.Builder
	writeExpr(&b, e)
	return b.String()
}

func writeExpr(b *strings.Builder, e Expr) {
	switch x := e.(type) {
	case *AndExpr:
		if x != nil {
			writeGroup(b, x.Exprs, " AND ")
			return
		}
	case *OrExpr:
		if x != nil {
			writeGroup(b, x.Exprs, " OR ")
			return
		}
	case *NotExpr:
		if x != nil {
			b.WriteString("NOT ")
			writeOperand(b, x.Expr)
			return
		}
	case *Cond:
		if x != nil {
			writeCond(b, x)
			return
		}
	}
	b.WriteString("<nil>")
}

// writeGroup writes the operands of an AND or OR group. A group of fewer
// than two operands has no text form of its own: one operand prints in
// parentheses (and parses as itself), none prints as "()".
func writeGroup(b *strings.Builder, list []Expr, sep string) {
	if len(list) < 2 {
		b.WriteByte('(')
		if len(list) == 1 {
			writeExpr(b, list[0])
		}
		b.WriteByte(')')
		return
	}
	for i, e := range list {
		if i > 0 {
			b.WriteString(sep)
		}
		writeOperand(b, e)
	}
}

// writeOperand writes an operand of AND, OR or NOT, in parentheses if it
// is a group.
func writeOperand(b *strings.Builder, e Expr) {
	switch x := e.(type) {
	case *AndExpr, *OrExpr:
		if x != nil {
			b.WriteByte('(')
			writeExpr(b, e)
			b.WriteByte(')')
			return
		}
	}
	writeExpr(b, e)
}

func writeCond(b *strings.Builder, c *Cond) {
	b.WriteString(c.Field)
	b.WriteByte(' ')
	b.WriteString(string(c.Op))
	switch c.Op {
	case OpIsSet, OpIsNotSet:
		if len(c.Values) == 0 {
			return
		}
	case OpIn, OpNotIn:
		b.WriteString(" (")
		for i, v := range c.Values {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, v)
		}
		b.WriteByte(')')
		return
	case OpBetween:
		if len(c.Values) == 2 {
			b.WriteByte(' ')
			writeValue(b, c.Values[0])
			b.WriteString(" AND ")
			writeValue(b, c.Values[1])
			return
		}
	}
	for i, v := range c.Values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte(' ')
		writeValue(b, v)
	}
}

func writeValue(b *strings.Builder, v Value) {
	switch v.kind {
	case KindNull:
		b.WriteString("null")
	case KindString:
		writeString(b, v.str)
	case KindNumber:
		b.WriteString(formatNumber(v.num))
	case KindBool:
		b.WriteString(strconv.FormatBool(v.b))
	case KindTime:
		b.WriteString(formatTime(v.t))
	case KindRelative:
		b.WriteString(v.anchor.String())
		switch {
		case v.offset > 0:
			b.WriteString(" + ")
			b.WriteString(formatOffset(v.offset))
		case v.offset < 0:
			b.WriteString(" - ")
			b.WriteString(formatOffset(-v.offset))
		}
	default:
		b.WriteString("<invalid: ")
		b.WriteString(v.problem())
		b.WriteByte('>')
	}
}

// formatNumber writes a number without an exponent unless it is very
// large or very small, in the shortest form that reads back exactly.
func formatNumber(f float64) string {
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// formatTime writes a date when t is midnight UTC, else RFC 3339 with as
// many fractional digits as needed.
func formatTime(t time.Time) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339Nano)
}

// formatOffset writes a non-negative offset in its largest exact unit.
func formatOffset(d time.Duration) string {
	for _, u := range offsetUnits {
		if d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + string(u.suffix)
		}
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// writeString writes s double-quoted with JSON's escapes; characters
// other than quotes, backslashes and control characters print as
// themselves.
func writeString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			_, size := utf8.DecodeRuneInString(s[i:])
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
		i++
	}
	b.WriteByte('"')
}
