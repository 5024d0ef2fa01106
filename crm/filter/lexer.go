package filter

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// tokKind is the kind of a token of the text form.
type tokKind uint8

const (
	tokEOF     tokKind = iota
	tokIllegal         // a malformed token; expected and found say why
	tokIdent           // a name or dotted path, also keywords and anchors
	tokString          // str holds the decoded text
	tokNumber          // num holds the (unsigned) number
	tokTime            // t holds the instant, in UTC
	tokOffset          // dur holds the offset of a relative time, e.g. 60d
	tokLParen
	tokRParen
	tokComma
	tokPlus
	tokMinus
	tokEq
	tokNe
	tokLt
	tokLe
	tokGt
	tokGe
	tokEqEq // "==", lexed whole so that the error names it
)

// token is one lexeme of the text form.
type token struct {
	kind tokKind
	pos  int    // byte offset of the token (of the problem, for tokIllegal)
	text string // the source text
	str  string
	num  float64
	t    time.Time
	dur  time.Duration
	// For tokIllegal: what was expected (empty to let the parser say) and
	// what was found, ready to print.
	expected, found string
}

// keywords are reserved words of the grammar, matched case-insensitively.
// A single-segment field name cannot be one of them.
var keywords = map[string]bool{
	"and": true, "or": true, "not": true, "in": true, "between": true,
	"contains": true, "starts": true, "with": true, "matches": true,
	"is": true, "set": true, "true": true, "false": true, "null": true,
}

func isKeyword(s string) bool {
	if len(s) > len("contains") {
		return false
	}
	return keywords[strings.ToLower(s)]
}

// offsetUnits are the units of a relative offset, largest first (the
// order Format tries them in).
var offsetUnits = []struct {
	suffix byte
	unit   time.Duration
}{{'w', Week}, {'d', Day}, {'h', time.Hour}, {'m', time.Minute}, {'s', time.Second}}

// lexer splits the text form into tokens.
type lexer struct {
	src string
	pos int
}

func isDigit(c byte) bool     { return '0' <= c && c <= '9' }
func isNameStart(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }
func isNameChar(c byte) bool  { return isNameStart(c) || isDigit(c) }

// peekByte returns the byte at i, or 0 past the end.
func (l *lexer) peekByte(i int) byte {
	if i < len(l.src) {
		return l.src[i]
	}
	return 0
}

// next returns the next token.
func (l *lexer) next() token {
	for l.pos < len(l.src) {
		switch l.src[l.pos] {
		case ' ', '\t', '\n', '\r':
			l.pos++
			continue
		}
		break
	}
	start := l.pos
	if start >= len(l.src) {
		return token{kind: tokEOF, pos: start}
	}
	c := l.src[start]
	simple := func(k tokKind, n int) token {
		l.pos += n
		return token{kind: k, pos: start, text: l.src[start:l.pos]}
	}
	switch {
	case isNameStart(c):
		return l.name()
	case isDigit(c):
		return l.number()
	case c == '"':
		return l.string()
	case c == '(':
		return simple(tokLParen, 1)
	case c == ')':
		return simple(tokRParen, 1)
	case c == ',':
		return simple(tokComma, 1)
	case c == '+':
		return simple(tokPlus, 1)
	case c == '-':
		return simple(tokMinus, 1)
	case c == '=':
		if l.peekByte(start+1) == '=' {
			return simple(tokEqEq, 2)
		}
		return simple(tokEq, 1)
	case c == '!':
		if l.peekByte(start+1) == '=' {
			return simple(tokNe, 2)
		}
		l.pos++
		return l.illegal(start, `"!="`, `"!"`)
	case c == '<':
		if l.peekByte(start+1) == '=' {
			return simple(tokLe, 2)
		}
		return simple(tokLt, 1)
	case c == '>':
		if l.peekByte(start+1) == '=' {
			return simple(tokGe, 2)
		}
		return simple(tokGt, 1)
	}
	// An unexpected character: the parser says what it expected.
	_, size := utf8.DecodeRuneInString(l.src[start:])
	l.pos += size
	return l.illegal(start, "", strconv.Quote(l.src[start:l.pos]))
}

func (l *lexer) illegal(pos int, expected, found string) token {
	return token{kind: tokIllegal, pos: pos, text: l.src[pos:min(l.pos, len(l.src))], expected: expected, found: found}
}

// name lexes a name or a dotted path: name { "." name }.
func (l *lexer) name() token {
	start := l.pos
	for {
		for l.pos < len(l.src) && isNameChar(l.src[l.pos]) {
			l.pos++
		}
		if l.peekByte(l.pos) != '.' {
			break
		}
		if !isNameStart(l.peekByte(l.pos + 1)) {
			dot := l.pos
			l.pos++
			return l.illegal(dot+1, "a name after the dot", l.describeAt(dot+1))
		}
		l.pos++
	}
	return token{kind: tokIdent, pos: start, text: l.src[start:l.pos]}
}

// describeAt returns the character at i, ready to print, or "end of input".
func (l *lexer) describeAt(i int) string {
	if i >= len(l.src) {
		return "end of input"
	}
	_, size := utf8.DecodeRuneInString(l.src[i:])
	return strconv.Quote(l.src[i : i+size])
}

// number lexes a number (digits [ "." digits ] [ exponent ]), a date or
// timestamp (when four digits are followed by "-" and a digit), or an
// offset such as 60d.
func (l *lexer) number() token {
	start := l.pos
	if start+5 < len(l.src) && l.src[start+4] == '-' && isDigit(l.src[start+5]) &&
		isDigit(l.src[start+1]) && isDigit(l.src[start+2]) && isDigit(l.src[start+3]) {
		return l.timestamp()
	}
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
	integer := true
	if l.peekByte(l.pos) == '.' && isDigit(l.peekByte(l.pos+1)) {
		integer = false
		l.pos++
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
	}
	if e := l.peekByte(l.pos); e == 'e' || e == 'E' {
		i := l.pos + 1
		if s := l.peekByte(i); s == '+' || s == '-' {
			i++
		}
		if isDigit(l.peekByte(i)) {
			integer = false
			l.pos = i
			for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
				l.pos++
			}
		}
	}
	digitsEnd := l.pos
	if isNameChar(l.peekByte(l.pos)) {
		// A unit letter right after an integer makes an offset.
		if integer && !isNameChar(l.peekByte(l.pos+1)) {
			for _, u := range offsetUnits {
				if l.src[l.pos] == u.suffix {
					l.pos++
					return l.offset(start, digitsEnd, u.unit)
				}
			}
		}
		for l.pos < len(l.src) && (isNameChar(l.src[l.pos]) || l.src[l.pos] == '.') {
			l.pos++
		}
		return l.illegal(start, "a number", strconv.Quote(l.src[start:l.pos]))
	}
	text := l.src[start:l.pos]
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return l.illegal(start, "a finite number", strconv.Quote(text))
	}
	return token{kind: tokNumber, pos: start, text: text, num: f}
}

func (l *lexer) offset(start, digitsEnd int, unit time.Duration) token {
	text := l.src[start:l.pos]
	n, err := strconv.ParseInt(l.src[start:digitsEnd], 10, 64)
	if err != nil || n > int64(MaxOffset/unit) {
		return l.illegal(start, "an offset of at most "+formatOffset(MaxOffset), strconv.Quote(text))
	}
	return token{kind: tokOffset, pos: start, text: text, dur: time.Duration(n) * unit}
}

// timestamp lexes 2024-05-01 or an RFC 3339 timestamp such as
// 2024-05-01T10:00:00Z or 2024-05-01T10:00:00.5+02:00.
func (l *lexer) timestamp() token {
	start := l.pos
	for l.pos < len(l.src) && (isDigit(l.src[l.pos]) || l.src[l.pos] == '-') {
		l.pos++
	}
	layout := time.DateOnly
	if l.peekByte(l.pos) == 'T' {
		layout = time.RFC3339Nano
		l.pos++
		for l.pos < len(l.src) && strings.IndexByte("0123456789:.+-Z", l.src[l.pos]) >= 0 {
			l.pos++
		}
	}
	for l.pos < len(l.src) && isNameChar(l.src[l.pos]) {
		l.pos++ // swallow trailing letters so the error shows them
	}
	text := l.src[start:l.pos]
	t, err := parseTime(layout, text)
	if err != nil {
		return l.illegal(start, "a date (2024-05-01) or an RFC 3339 time (2024-05-01T10:00:00Z)", strconv.Quote(text))
	}
	v := TimeValue(t)
	if v.kind != KindTime {
		return l.illegal(start, "a time between the years 0000 and 9999 in UTC", strconv.Quote(text))
	}
	return token{kind: tokTime, pos: start, text: text, t: v.t}
}

// parseTime parses a date (time.DateOnly) or an RFC 3339 timestamp
// (time.RFC3339Nano) in exactly the shape the grammar gives: time.Parse
// alone also accepts one-digit hours and other variants.
func parseTime(layout, s string) (time.Time, error) {
	if layout == time.RFC3339Nano && !isTimestamp(s) {
		return time.Time{}, errBadTimestamp
	}
	return time.Parse(layout, s)
}

var errBadTimestamp = errors.New("filter: not an RFC 3339 timestamp")

// isTimestamp reports whether s has the shape
// 2006-01-02T15:04:05[.digits](Z|+07:00|-07:00).
func isTimestamp(s string) bool {
	const shape = "0000-00-00T00:00:00"
	if len(s) < len(shape)+1 {
		return false
	}
	for i := 0; i < len(shape); i++ {
		if shape[i] == '0' && !isDigit(s[i]) || shape[i] != '0' && s[i] != shape[i] {
			return false
		}
	}
	rest := s[len(shape):]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && isDigit(rest[n]) {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" {
		return true
	}
	return len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') &&
		isDigit(rest[1]) && isDigit(rest[2]) && rest[3] == ':' && isDigit(rest[4]) && isDigit(rest[5])
}

// string lexes a double-quoted string with JSON's escapes: \" \\ \/ \b \f
// \n \r \t and \uXXXX (with surrogate pairs for characters beyond the
// BMP). Raw control characters and invalid UTF-8 are refused.
func (l *lexer) string() token {
	start := l.pos
	i := start + 1
	var b []byte // nil until the first escape: then the decoded text
	plainFrom := i
	for {
		if i >= len(l.src) {
			l.pos = i
			return l.illegal(i, `a closing '"'`, "end of input")
		}
		c := l.src[i]
		switch {
		case c == '"':
			l.pos = i + 1
			tok := token{kind: tokString, pos: start, text: l.src[start:l.pos]}
			if b == nil {
				tok.str = l.src[start+1 : i]
			} else {
				tok.str = string(append(b, l.src[plainFrom:i]...))
			}
			return tok
		case c == '\\':
			if b == nil {
				b = make([]byte, 0, len(l.src)-start)
			}
			b = append(b, l.src[plainFrom:i]...)
			r, n := l.escape(i)
			if n < 0 {
				l.pos = min(i+2, len(l.src))
				return l.illegal(i, "a valid escape sequence", l.escapeText(i))
			}
			b = utf8.AppendRune(b, r)
			i += n
			plainFrom = i
		case c == '\n':
			l.pos = i
			return l.illegal(i, `a closing '"'`, "end of line")
		case c < 0x20 || c == 0x7f:
			l.pos = i + 1
			return l.illegal(i, `an escaped control character such as \t`, strconv.Quote(l.src[i:i+1]))
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(l.src[i:])
			if r == utf8.RuneError && size == 1 {
				l.pos = i + 1
				return l.illegal(i, "valid UTF-8", strconv.Quote(l.src[i:i+1]))
			}
			i += size
		default:
			i++
		}
	}
}

// escape decodes the escape sequence at i (a backslash) and returns the
// rune and the sequence's length, or n < 0 if it is not valid.
func (l *lexer) escape(i int) (r rune, n int) {
	switch l.peekByte(i + 1) {
	case '"':
		return '"', 2
	case '\\':
		return '\\', 2
	case '/':
		return '/', 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r1, ok := l.hex4(i + 2)
		if !ok {
			return 0, -1
		}
		if !utf16.IsSurrogate(r1) {
			return r1, 6
		}
		if l.peekByte(i+6) != '\\' || l.peekByte(i+7) != 'u' {
			return 0, -1
		}
		r2, ok := l.hex4(i + 8)
		if r := utf16.DecodeRune(r1, r2); ok && r != utf8.RuneError {
			return r, 12
		}
	}
	return 0, -1
}

func (l *lexer) hex4(i int) (rune, bool) {
	if i+4 > len(l.src) {
		return 0, false
	}
	n, err := strconv.ParseUint(l.src[i:i+4], 16, 32)
	return rune(n), err == nil
}

// escapeText returns the bad escape sequence at i, ready to print.
func (l *lexer) escapeText(i int) string {
	end := i + 2
	if l.peekByte(i+1) == 'u' {
		end = i + 6
		if l.hex4ok(i+2) && l.peekByte(i+6) == '\\' && l.peekByte(i+7) == 'u' {
			end = i + 12
		}
	}
	end = min(end, len(l.src))
	for end < len(l.src) && !utf8.RuneStart(l.src[end]) {
		end++
	}
	return strconv.Quote(l.src[i:end])
}

func (l *lexer) hex4ok(i int) bool {
	_, ok := l.hex4(i)
	return ok
}
