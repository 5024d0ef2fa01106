package crmio

import (
	"bufio"
	"bytes"
	"hash/crc32"
	"io"
)

// framer splits the input into rows without parsing their fields. For
// CSV it follows encoding/csv's rules: a field that starts with a quote
// runs to the matching quote, across newlines; a row ends at the first
// newline outside such a field; empty lines are skipped; after a quoting
// error the row ends at the end of the line. For JSON Lines a row is a
// line. A row larger than max is consumed but not kept.
type framer struct {
	br     *bufio.Reader
	comma  byte
	strict bool
	jsonl  bool
	max    int
	line   int    // the line the next byte is on
	off    int64  // bytes consumed
	crc    uint32 // CRC-32C of the bytes consumed
	buf    []byte
	bom    bool   // the start of the input was checked for a byte order mark
	stops  string // the bytes that end an unquoted field
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const (
	sFieldStart = iota
	sUnquoted
	sQuoted
	sQuoteSeen
	sSkipLine
)

// next returns the next row's bytes (valid until the next call), the line
// it starts on, and
// whether it was too large to keep. It returns io.EOF after the last row.
func (f *framer) next() (rec []byte, line int, tooBig bool, err error) {
	if !f.bom {
		f.bom = true
		if b, err := f.br.Peek(3); err == nil && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
			f.consume(b)
			_, _ = f.br.Discard(3)
		}
	}
	f.buf = f.buf[:0]
	state := sFieldStart
	size := 0
	line = f.line
	for {
		chunk, rerr := f.br.ReadSlice('\n')
		if len(chunk) > 0 {
			f.consume(chunk)
			if !f.jsonl {
				state = f.scan(chunk, state)
			}
			size += len(chunk)
			if size <= f.max {
				f.buf = append(f.buf, chunk...)
			} else {
				tooBig = true
				f.buf = f.buf[:0]
			}
		}
		switch {
		case rerr == bufio.ErrBufferFull:
			continue
		case rerr == io.EOF:
			if size == 0 || (!tooBig && isBlank(f.buf)) {
				return nil, 0, false, io.EOF
			}
			return f.buf, line, tooBig, nil
		case rerr != nil:
			return nil, 0, false, rerr
		}
		// A complete line.
		f.line++
		if state == sQuoted {
			continue
		}
		if size > 0 && !tooBig && isBlank(f.buf) {
			// An empty line between rows: skipped, as encoding/csv does.
			f.buf, size, state, line = f.buf[:0], 0, sFieldStart, f.line
			continue
		}
		return f.buf, line, tooBig, nil
	}
}

// isBlank reports whether a line holds only its line ending.
func isBlank(b []byte) bool {
	return len(b) == 0 || string(b) == "\n" || string(b) == "\r\n" || string(b) == "\r"
}

func (f *framer) consume(b []byte) {
	f.off += int64(len(b))
	f.crc = crc32.Update(f.crc, castagnoli, b)
}

// scan runs the quoting state machine over one piece of a line (which
// ends with '\n' unless the line continues or the input ends) and returns
// the state after it.
func (f *framer) scan(b []byte, state int) int {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch state {
		case sFieldStart:
			switch c {
			case '"':
				state = sQuoted
			case f.comma, '\n':
			default:
				state = sUnquoted
			}
		case sUnquoted:
			// Fast path: skip to the next separator or newline.
			j := bytes.IndexAny(b[i:], f.stops)
			if j < 0 {
				return sUnquoted
			}
			i += j
			state = sFieldStart
			if b[i] == '"' {
				state = sSkipLine
			}
		case sQuoted:
			j := bytes.IndexByte(b[i:], '"')
			if j < 0 {
				return sQuoted
			}
			i += j
			state = sQuoteSeen
		case sQuoteSeen:
			switch {
			case c == '"':
				state = sQuoted
			case c == f.comma, c == '\n':
				state = sFieldStart
			case c == '\r' && (i+1 == len(b) || b[i+1] == '\n'):
				// "\r\n" after a closing quote ends the row; a '\r' at
				// the end of the input is dropped by encoding/csv.
				state = sFieldStart
			case f.strict:
				state = sSkipLine
			default:
				state = sQuoted
			}
		case sSkipLine:
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				return sSkipLine
			}
			i += j
			state = sFieldStart
		}
	}
	return state
}
