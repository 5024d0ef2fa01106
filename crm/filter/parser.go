package filter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrSyntax matches every *SyntaxError and *JSONError: the input is not a
// filter at all. Compare with errors.Is.
var ErrSyntax = errors.New("filter: syntax error")

// SyntaxError reports where and why the text form failed to parse. It
// matches ErrSyntax.
type SyntaxError struct {
	// Line and Column locate the problem, both counted from 1; Column
	// counts characters (runes), not bytes.
	Line, Column int
	// Offset is the byte offset of the problem in the input.
	Offset int
	// Expected says what the parser expected there, e.g. `a value` or
	// `")"`.
	Expected string
	// Found is what it found instead, ready to print: a quoted token such
	// as `")"`, or `end of input`.
	Found string
	// Hint says how to write what was probably meant, for the mistakes
	// people make most (== for =, single quotes, an operator of another
	// language); empty when there is none.
	Hint string
}

// Error returns "filter: line:column: expected X, found Y", and the hint
// after a semicolon.
func (e *SyntaxError) Error() string {
	msg := fmt.Sprintf("filter: %d:%d: expected %s, found %s", e.Line, e.Column, e.Expected, e.Found)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// operators lists the text form's operators, for hints.
const operators = "=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, CONTAINS, STARTS WITH, MATCHES, IS SET, IS NOT SET"

// hintFor returns the hint for finding found where expected was expected.
func hintFor(expected, found string) string {
	switch {
	case expected == "an operator" && found == `"=="`:
		return "compare with a single ="
	case strings.HasPrefix(expected, "a value") && found == `">"`:
		return "write != for not equal" // <> lexes as < then >
	case expected == "an operator":
		return "the operators are " + operators
	case strings.HasPrefix(expected, "a value") && strings.HasPrefix(found, `"'`):
		return `strings are written in double quotes, as "lead"`
	}
	return ""
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// maxDepth bounds the nesting of parentheses and NOTs, so that hostile
// input cannot exhaust the stack.
const maxDepth = 64

// Parse parses the text form of a filter (see the grammar in the package
// documentation). The result passes Check(e, nil), and Format returns text
// that parses to an Equal expression. Errors are *SyntaxError.
func Parse(src string) (Expr, error) {
	p := parser{lex: lexer{src: src}}
	p.advance()
	e, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.fail(`AND, OR or end of input`)
	}
	return e, nil
}

// parser is a recursive-descent parser with one token of lookahead.
type parser struct {
	lex   lexer
	tok   token
	depth int
}

func (p *parser) advance() { p.tok = p.lex.next() }

// fail returns a syntax error at the current token.
func (p *parser) fail(expected string) *SyntaxError {
	found := ""
	switch p.tok.kind {
	case tokEOF:
		found = "end of input"
	case tokIllegal:
		found = p.tok.found
		if p.tok.expected != "" {
			expected = p.tok.expected
		}
	case tokString:
		found = shorten(p.tok.text) // already quoted
	default:
		found = strconv.Quote(shorten(p.tok.text))
	}
	err := syntaxError(p.lex.src, p.tok.pos, expected, found)
	err.Hint = hintFor(expected, found)
	return err
}

func syntaxError(src string, offset int, expected, found string) *SyntaxError {
	line, col := 1, 1
	for _, r := range src[:offset] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &SyntaxError{Line: line, Column: col, Offset: offset, Expected: expected, Found: found}
}

// shorten cuts long token text for error messages.
func shorten(s string) string {
	const limit = 40
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// isWord reports whether the current token is the keyword w (lower case).
func (p *parser) isWord(w string) bool {
	return p.tok.kind == tokIdent && len(p.tok.text) == len(w) && strings.EqualFold(p.tok.text, w)
}

// orExpr = andExpr { "OR" andExpr } .
func (p *parser) orExpr() (Expr, error) {
	first, err := p.andExpr()
	if err != nil || !p.isWord("or") {
		return first, err
	}
	list := []Expr{first}
	for p.isWord("or") {
		p.advance()
		e, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
	}
	return &OrExpr{Exprs: list}, nil
}

// andExpr = unary { "AND" unary } .
func (p *parser) andExpr() (Expr, error) {
	first, err := p.unary()
	if err != nil || !p.isWord("and") {
		return first, err
	}
	list := []Expr{first}
	for p.isWord("and") {
		p.advance()
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		list = append(list, e)
	}
	return &AndExpr{Exprs: list}, nil
}

// unary = "NOT" unary | "(" orExpr ")" | condition .
func (p *parser) unary() (Expr, error) {
	nested := p.isWord("not") || p.tok.kind == tokLParen
	if nested {
		if p.depth >= maxDepth {
			return nil, p.fail(fmt.Sprintf("at most %d nested groups and NOTs", maxDepth))
		}
		p.depth++
		defer func() { p.depth-- }()
	}
	switch {
	case p.isWord("not"):
		p.advance()
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &NotExpr{Expr: e}, nil
	case p.tok.kind == tokLParen:
		p.advance()
		e, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.fail(`AND, OR or ")"`)
		}
		p.advance()
		return e, nil
	}
	return p.condition()
}

// condition = field operator .
func (p *parser) condition() (Expr, error) {
	if p.tok.kind != tokIdent || isKeyword(p.tok.text) {
		return nil, p.fail("a condition")
	}
	c := &Cond{Field: p.tok.text}
	p.advance()
	var err error
	switch p.tok.kind {
	case tokEq, tokNe, tokLt, tokLe, tokGt, tokGe:
		c.Op = Op(p.tok.text)
		p.advance()
		err = p.values(c, 1)
		return c, err
	}
	switch {
	case p.isWord("in"):
		c.Op = OpIn
		p.advance()
		err = p.list(c)
	case p.isWord("not"):
		p.advance()
		switch {
		case p.isWord("in"):
			c.Op = OpNotIn
			p.advance()
			err = p.list(c)
		case p.isWord("contains"):
			c.Op = OpNotContains
			p.advance()
			err = p.values(c, 1)
		default:
			return nil, p.fail("IN or CONTAINS")
		}
	case p.isWord("between"):
		c.Op = OpBetween
		p.advance()
		if err = p.values(c, 1); err != nil {
			return nil, err
		}
		if !p.isWord("and") {
			return nil, p.fail("AND")
		}
		p.advance()
		err = p.values(c, 1)
	case p.isWord("contains"):
		c.Op = OpContains
		p.advance()
		err = p.values(c, 1)
	case p.isWord("starts"):
		p.advance()
		if !p.isWord("with") {
			return nil, p.fail("WITH")
		}
		c.Op = OpStartsWith
		p.advance()
		err = p.values(c, 1)
	case p.isWord("matches"):
		c.Op = OpMatches
		p.advance()
		err = p.values(c, 1)
	case p.isWord("is"):
		p.advance()
		c.Op = OpIsSet
		if p.isWord("not") {
			c.Op = OpIsNotSet
			p.advance()
		}
		if !p.isWord("set") {
			if c.Op == OpIsSet {
				return nil, p.fail("SET or NOT SET")
			}
			return nil, p.fail("SET")
		}
		p.advance()
	default:
		return nil, p.fail("an operator")
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// list = "(" value { "," value } ")" .
func (p *parser) list(c *Cond) error {
	if p.tok.kind != tokLParen {
		return p.fail(`"("`)
	}
	p.advance()
	for {
		if err := p.values(c, 1); err != nil {
			return err
		}
		switch p.tok.kind {
		case tokComma:
			p.advance()
		case tokRParen:
			p.advance()
			return nil
		default:
			return p.fail(`"," or ")"`)
		}
	}
}

// values parses n values and appends them to c.Values.
func (p *parser) values(c *Cond, n int) error {
	for range n {
		v, err := p.value()
		if err != nil {
			return err
		}
		if info, _ := infoOf(c.Op); v.kind == KindNull && !info.null {
			return p.failAt(v, "a value other than null")
		}
		c.Values = append(c.Values, v.Value)
	}
	return nil
}

// posValue is a parsed value with the token it started at, for errors
// found after parsing it.
type posValue struct {
	Value
	tok token
}

func (p *parser) failAt(v posValue, expected string) error {
	saved := p.tok
	p.tok = v.tok
	err := p.fail(expected)
	p.tok = saved
	return err
}

// value = string | [ "-" ] number | date | timestamp | "true" | "false" |
// "null" | relative .
func (p *parser) value() (posValue, error) {
	tok := p.tok
	switch tok.kind {
	case tokString:
		p.advance()
		return posValue{StringValue(tok.str), tok}, nil
	case tokNumber:
		p.advance()
		return posValue{NumberValue(tok.num), tok}, nil
	case tokMinus:
		p.advance()
		if p.tok.kind != tokNumber {
			return posValue{}, p.fail("a number")
		}
		n := p.tok.num
		p.advance()
		return posValue{NumberValue(-n), tok}, nil
	case tokTime:
		p.advance()
		return posValue{Value{kind: KindTime, t: tok.t}, tok}, nil
	case tokIdent:
		switch strings.ToLower(tok.text) {
		case "true":
			p.advance()
			return posValue{BoolValue(true), tok}, nil
		case "false":
			p.advance()
			return posValue{BoolValue(false), tok}, nil
		case "null":
			p.advance()
			return posValue{NullValue(), tok}, nil
		}
		if a, ok := anchorByName(strings.ToLower(tok.text)); ok {
			v, err := p.relative(a)
			return posValue{v, tok}, err
		}
	}
	return posValue{}, p.fail("a value")
}

// relative = anchor "(" ")" [ ( "+" | "-" ) offset ] .
func (p *parser) relative(a Anchor) (Value, error) {
	p.advance()
	if p.tok.kind != tokLParen {
		return Value{}, p.fail(`"("`)
	}
	p.advance()
	if p.tok.kind != tokRParen {
		return Value{}, p.fail(`")"`)
	}
	p.advance()
	sign := p.tok.kind
	if sign != tokPlus && sign != tokMinus {
		return RelativeValue(a, 0), nil
	}
	p.advance()
	if p.tok.kind != tokOffset {
		return Value{}, p.fail("an offset such as 30d")
	}
	d := p.tok.dur
	p.advance()
	if sign == tokMinus {
		d = -d
	}
	return RelativeValue(a, d), nil
}
