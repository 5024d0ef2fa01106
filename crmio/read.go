package crmio

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Format is the file format of an import or export.
type Format int

// The formats. The zero value is CSV.
const (
	// CSV is comma-separated values (RFC 4180) with a header row.
	CSV Format = iota
	// JSONL is JSON Lines: one JSON object per line.
	JSONL
)

// String returns "csv" or "jsonl".
func (f Format) String() string {
	switch f {
	case CSV:
		return "csv"
	case JSONL:
		return "jsonl"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// Encoding is the character encoding of an imported file.
type Encoding int

// The encodings. The zero value is UTF8.
const (
	// UTF8 reads the file as UTF-8 and rejects every row that is not valid
	// UTF-8, naming the byte.
	UTF8 Encoding = iota
	// Latin1 reads the file as ISO 8859-1: every byte is a character, so no
	// row is rejected for its encoding.
	Latin1
	// Windows1252 reads the file as Windows code page 1252, the "ANSI" of
	// Excel on Western Windows: Latin-1 with typographic quotes, dashes and
	// the euro sign in 0x80-0x9F.
	Windows1252
)

// Defaults of ReadOptions.
const (
	// DefaultMaxFieldBytes is the largest field accepted: the largest text
	// the CRM stores.
	DefaultMaxFieldBytes = 64 << 10
	// DefaultMaxRowBytes is the largest row accepted. A larger row is
	// rejected without being held in memory.
	DefaultMaxRowBytes = 1 << 20
)

// ReadOptions says how to read a file.
type ReadOptions struct {
	// Format is CSV (the default) or JSONL.
	Format Format
	// Comma is the CSV field separator, an ASCII character (default ',';
	// ';' for files from European spreadsheets, '\t' for TSV).
	Comma rune
	// Encoding is the file's character encoding (default UTF8).
	Encoding Encoding
	// StrictQuotes rejects rows with a quote inside an unquoted field or a
	// stray quote inside a quoted field (RFC 4180). By default such quotes
	// are taken literally (encoding/csv's LazyQuotes), which real files
	// with 24" screens need.
	StrictQuotes bool
	// KeepFormulaGuard keeps the apostrophe that Export puts before cells
	// starting with =, +, -, @, tab or carriage return. By default it is
	// removed, so an export imports back unchanged.
	KeepFormulaGuard bool
	// MaxFieldBytes caps one field (default DefaultMaxFieldBytes); a row
	// with a larger field is rejected.
	MaxFieldBytes int
	// MaxRowBytes caps one row (default DefaultMaxRowBytes); a larger row
	// is rejected, and never held in memory whole.
	MaxRowBytes int
}

func (o *ReadOptions) defaults() error {
	if o.Comma == 0 {
		o.Comma = ','
	}
	if o.Comma >= utf8.RuneSelf || o.Comma == '"' || o.Comma == '\r' || o.Comma == '\n' {
		return fmt.Errorf("%w: comma %q must be an ASCII character other than a quote or newline", ErrOptions, o.Comma)
	}
	if o.Format != CSV && o.Format != JSONL {
		return fmt.Errorf("%w: unknown format %d", ErrOptions, o.Format)
	}
	if o.Encoding < UTF8 || o.Encoding > Windows1252 {
		return fmt.Errorf("%w: unknown encoding %d", ErrOptions, o.Encoding)
	}
	if o.MaxFieldBytes <= 0 {
		o.MaxFieldBytes = DefaultMaxFieldBytes
	}
	if o.MaxRowBytes <= 0 {
		o.MaxRowBytes = DefaultMaxRowBytes
	}
	return nil
}

// Row is one row of a file: a CSV record under the header, or a JSON
// Lines object.
type Row struct {
	// Line is the physical line the row starts on, counting from 1 and
	// counting the newlines inside quoted fields, as an editor shows it.
	Line int
	// Raw is the row as read: the CSV fields, or the JSON line as one
	// element. It is what a reject writes back.
	Raw []string
	// Problem is set when the row could not be read: bad quoting, a wrong
	// number of fields, invalid UTF-8, a field or row too large, malformed
	// JSON. Such a row has no usable values.
	Problem *Problem

	keys  []string // CSV: the header (shared); JSONL: the object's keys
	cells []cell
	json  bool
	end   int64  // input offset after the row
	crc   uint32 // CRC-32C of the input up to end
}

// Columns returns the row's column names: the CSV header, or the keys of
// the JSON object in sorted order.
func (r *Row) Columns() []string { return r.keys }

// Get returns the value of a column ("" if there is none). A JSON value
// that is not a string is returned in its JSON form, and a nested key
// may be named with dots ("address.city").
func (r *Row) Get(column string) string {
	for i, k := range r.keys {
		if k == column && i < len(r.cells) {
			return r.cells[i].text()
		}
	}
	if head, rest, ok := strings.Cut(column, "."); ok {
		for i, k := range r.keys {
			if k == head && i < len(r.cells) && r.cells[i].kind == cObject {
				if v, ok := lookupPath(r.cells[i].obj, rest); ok {
					return jsonCell(v).text()
				}
			}
		}
	}
	return ""
}

// Set replaces the value of a column, for a Transform that repairs a
// row; for a JSON Lines row it also adds a key. It reports whether the
// value was set (false for a column a CSV file does not have).
func (r *Row) Set(column, value string) bool {
	for i, k := range r.keys {
		if k == column && i < len(r.cells) {
			r.cells[i] = cell{s: value, json: r.json}
			return true
		}
	}
	if !r.json || r.Problem != nil {
		return false
	}
	r.keys = append(r.keys, column)
	r.cells = append(r.cells, cell{s: value, json: true})
	return true
}

func lookupPath(obj map[string]any, path string) (any, bool) {
	head, rest, more := strings.Cut(path, ".")
	v, ok := obj[head]
	if !ok {
		return nil, false
	}
	if !more {
		return v, true
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	return lookupPath(m, rest)
}

// cell is one value of a row: text (all of CSV), or a JSON value.
type cell struct {
	s    string
	kind cellKind
	list []string
	obj  map[string]any
	json bool
}

type cellKind uint8

const (
	cText cellKind = iota
	cNull
	cList
	cObject
)

func (c cell) empty() bool {
	switch c.kind {
	case cNull:
		return true
	case cList:
		return len(c.list) == 0
	case cObject:
		return len(c.obj) == 0
	}
	return strings.TrimSpace(c.s) == ""
}

// text returns the cell as text: lists joined with "; ", objects as JSON.
func (c cell) text() string {
	switch c.kind {
	case cList:
		return strings.Join(c.list, "; ")
	case cObject:
		b, _ := json.Marshal(c.obj)
		return string(b)
	}
	return c.s
}

// jsonCell converts a decoded JSON value (decoded with UseNumber).
func jsonCell(v any) cell {
	switch x := v.(type) {
	case nil:
		return cell{kind: cNull, json: true}
	case string:
		return cell{s: x, json: true}
	case json.Number:
		return cell{s: string(x), json: true}
	case bool:
		return cell{s: strconv.FormatBool(x), json: true}
	case []any:
		list := make([]string, 0, len(x))
		for _, e := range x {
			switch e := e.(type) {
			case string:
				list = append(list, e)
			case nil:
			default:
				list = append(list, jsonCell(e).text())
			}
		}
		return cell{kind: cList, list: list, json: true}
	case map[string]any:
		return cell{kind: cObject, obj: x, json: true}
	}
	return cell{s: fmt.Sprint(v), json: true}
}

// Reader reads the rows of a CSV or JSON Lines file one at a time, in
// constant memory. It reports rows it cannot read in Row.Problem and goes
// on with the next; only an error of the underlying reader stops it.
//
// A CSV file is framed into rows by a scanner that follows encoding/csv's
// quoting rules (so that a row's size can be capped before it is held in
// memory, and a bad row never derails the next), and each row's fields
// are then parsed by encoding/csv.
type Reader struct {
	opts   ReadOptions
	f      framer
	header []string
	hdrErr error
	hdr    bool
	cr     *csv.Reader
	src    recordSource
}

// NewReader returns a Reader of r. Invalid options are reported by the
// first call of Header or Rows.
func NewReader(r io.Reader, opts ReadOptions) *Reader {
	rd := &Reader{opts: opts}
	if err := rd.opts.defaults(); err != nil {
		rd.hdr, rd.hdrErr = true, err
		return rd
	}
	rd.f = framer{
		br: bufio.NewReaderSize(r, 64<<10), comma: byte(rd.opts.Comma), strict: rd.opts.StrictQuotes,
		jsonl: rd.opts.Format == JSONL, max: rd.opts.MaxRowBytes, line: 1,
		stops: string([]byte{byte(rd.opts.Comma), '\n'}),
	}
	if rd.opts.StrictQuotes {
		// encoding/csv gives up on the line at a quote inside an unquoted
		// field.
		rd.f.stops += `"`
	}
	rd.cr = csv.NewReader(&rd.src)
	rd.cr.Comma = rd.opts.Comma
	rd.cr.FieldsPerRecord = -1
	rd.cr.LazyQuotes = !rd.opts.StrictQuotes
	rd.cr.ReuseRecord = false
	return rd
}

// Header returns the CSV header row, reading it if need be: the column
// names, trimmed, with a UTF-8 byte order mark removed. A JSON Lines
// file has no header: Header returns nil. A missing or unreadable header
// is an error matching ErrHeader.
func (rd *Reader) Header() ([]string, error) {
	if rd.hdr {
		return rd.header, rd.hdrErr
	}
	rd.hdr = true
	if rd.opts.Format == JSONL {
		return nil, nil
	}
	rec, line, tooBig, err := rd.f.next()
	if err == io.EOF {
		rd.hdrErr = fmt.Errorf("%w: the file is empty", ErrHeader)
		return nil, rd.hdrErr
	}
	if err != nil {
		rd.hdrErr = fmt.Errorf("crmio: reading the header: %w", err)
		return nil, rd.hdrErr
	}
	if tooBig {
		rd.hdrErr = fmt.Errorf("%w: line %d: the header is larger than %d bytes", ErrHeader, line, rd.opts.MaxRowBytes)
		return nil, rd.hdrErr
	}
	row := rd.parseCSV(rec, line)
	if row.Problem != nil {
		rd.hdrErr = fmt.Errorf("%w: line %d: %s", ErrHeader, line, row.Problem.Reason)
		return nil, rd.hdrErr
	}
	h := make([]string, len(row.Raw))
	seen := map[string]bool{}
	for i, c := range row.Raw {
		c = strings.TrimSpace(c)
		if c == "" {
			c = fmt.Sprintf("column_%d", i+1)
		}
		if seen[c] {
			c = fmt.Sprintf("%s_%d", c, i+1)
		}
		seen[c] = true
		h[i] = c
	}
	rd.header = h
	return h, nil
}

// Rows streams the rows after the header. A failure of the underlying
// reader is yielded once, after which the stream stops.
func (rd *Reader) Rows() iter.Seq2[*Row, error] {
	return func(yield func(*Row, error) bool) {
		if _, err := rd.Header(); err != nil {
			yield(nil, err)
			return
		}
		for {
			row, err := rd.next()
			if err == io.EOF {
				return
			}
			if !yield(row, err) || err != nil {
				return
			}
		}
	}
}

// next reads one row.
func (rd *Reader) next() (*Row, error) {
	rec, line, tooBig, err := rd.f.next()
	if err != nil {
		if err != io.EOF {
			err = fmt.Errorf("crmio: reading line %d: %w", rd.f.line, err)
		}
		return nil, err
	}
	var row *Row
	switch {
	case tooBig:
		row = &Row{Line: line, Problem: &Problem{Reason: fmt.Sprintf("the row is larger than %d bytes", rd.opts.MaxRowBytes)}}
	case rd.opts.Format == JSONL:
		row = rd.parseJSON(rec, line)
	default:
		row = rd.parseCSV(rec, line)
		rd.checkFields(row)
	}
	row.end, row.crc = rd.f.off, rd.f.crc
	return row, nil
}

// skipTo frames and discards rows until exactly offset bytes of input are
// consumed, and returns the line the next row starts on and the CRC of
// the skipped input. It is how a resumed import passes over the rows an
// earlier run committed.
func (rd *Reader) skipTo(offset int64) (crc uint32, err error) {
	if _, err := rd.Header(); err != nil {
		return 0, err
	}
	for rd.f.off < offset {
		_, _, _, err := rd.f.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if rd.f.off != offset {
		return 0, fmt.Errorf("%w: the input does not have a row boundary at byte %d", ErrCheckpoint, offset)
	}
	return rd.f.crc, nil
}

func (rd *Reader) decode(rec []byte) []byte {
	switch rd.opts.Encoding {
	case Latin1:
		return latin1ToUTF8(rec)
	case Windows1252:
		return cp1252ToUTF8(rec)
	}
	return rec
}

func (rd *Reader) parseCSV(rec []byte, line int) *Row {
	row := &Row{Line: line, keys: rd.header}
	rec = rd.decode(rec)
	badAt := -1
	if rd.opts.Encoding == UTF8 {
		badAt = firstInvalidUTF8(rec)
	}
	rd.src.set(rec)
	fields, err := rd.cr.Read()
	base := rd.src.lineBase
	rd.src.lineBase += bytes.Count(rec, []byte{'\n'})
	if rd.cr.InputOffset() != rd.src.fed || rd.src.rest() > 0 {
		// The framing and encoding/csv disagree about where the row ends;
		// start afresh so the next row is not affected.
		rd.cr = csv.NewReader(&rd.src)
		rd.cr.Comma, rd.cr.FieldsPerRecord, rd.cr.LazyQuotes = rd.opts.Comma, -1, !rd.opts.StrictQuotes
		rd.src.reset()
	}
	if err != nil && fields == nil {
		// Keep what the row holds for the reject: its fields read leniently.
		lr := csv.NewReader(bytes.NewReader(rec))
		lr.Comma, lr.FieldsPerRecord, lr.LazyQuotes = rd.opts.Comma, -1, true
		fields, _ = lr.Read()
	}
	row.Raw = fields
	if !rd.opts.KeepFormulaGuard {
		for i, f := range row.Raw {
			row.Raw[i] = unguardCell(f)
		}
	}
	switch {
	case badAt >= 0:
		row.Problem = &Problem{Reason: fmt.Sprintf("not valid UTF-8 (byte 0x%02X at offset %d of the row); if the file is Latin-1 or Windows-1252, import it with that Encoding", rec[badAt], badAt)}
	case err != nil && err != io.EOF:
		reason := err.Error()
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			reason = fmt.Sprintf("%v (line %d, column %d)", pe.Err, pe.Line-base-1+line, pe.Column)
			switch {
			case errors.Is(pe.Err, csv.ErrQuote):
				reason = fmt.Sprintf("a quoted field is not closed properly (line %d, column %d)", pe.Line-base-1+line, pe.Column)
			case errors.Is(pe.Err, csv.ErrBareQuote):
				reason = fmt.Sprintf("a quote inside an unquoted field (line %d, column %d)", pe.Line-base-1+line, pe.Column)
			}
		}
		row.Problem = &Problem{Reason: reason}
	}
	return row
}

// checkFields checks a CSV row against the header and the field size
// limit, and builds its cells.
func (rd *Reader) checkFields(row *Row) {
	if row.Problem != nil {
		return
	}
	n := len(rd.header)
	if len(row.Raw) > n {
		extra := false
		for _, f := range row.Raw[n:] {
			if strings.TrimSpace(f) != "" {
				extra = true
			}
		}
		if extra {
			row.Problem = &Problem{Reason: fmt.Sprintf("the row has %d fields, the header has %d", len(row.Raw), n)}
			return
		}
	}
	if len(row.Raw) < n {
		row.Problem = &Problem{Reason: fmt.Sprintf("the row has %d fields, the header has %d", len(row.Raw), n)}
		return
	}
	row.cells = make([]cell, n)
	for i := 0; i < n; i++ {
		f := row.Raw[i]
		if len(f) > rd.opts.MaxFieldBytes {
			row.Problem = &Problem{Column: rd.header[i], Reason: fmt.Sprintf("the field is %d bytes, limit is %d", len(f), rd.opts.MaxFieldBytes)}
			row.cells = nil
			return
		}
		row.cells[i] = cell{s: f}
	}
}

func (rd *Reader) parseJSON(rec []byte, line int) *Row {
	rec = rd.decode(rec)
	text := strings.TrimRight(string(rec), "\r\n")
	row := &Row{Line: line, Raw: []string{text}, json: true}
	if i := firstInvalidUTF8(rec); i >= 0 && rd.opts.Encoding == UTF8 {
		row.Problem = &Problem{Reason: fmt.Sprintf("not valid UTF-8 (byte 0x%02X at offset %d of the line); if the file is Latin-1 or Windows-1252, import it with that Encoding", rec[i], i)}
		return row
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		row.Problem = &Problem{Reason: "not a JSON object: " + strings.TrimPrefix(err.Error(), "json: ")}
		return row
	}
	if obj == nil {
		row.Problem = &Problem{Reason: "not a JSON object: null"}
		return row
	}
	if _, err := dec.Token(); err != io.EOF {
		row.Problem = &Problem{Reason: "not a JSON object: text after the object"}
		return row
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	row.keys = keys
	row.cells = make([]cell, len(keys))
	for i, k := range keys {
		c := jsonCell(obj[k])
		if c.kind == cText && len(c.s) > rd.opts.MaxFieldBytes {
			row.Problem = &Problem{Column: k, Reason: fmt.Sprintf("the field is %d bytes, limit is %d", len(c.s), rd.opts.MaxFieldBytes)}
			row.cells = nil
			return row
		}
		if !rd.opts.KeepFormulaGuard && c.kind == cText {
			c.s = unguardCell(c.s)
		}
		row.cells[i] = c
	}
	return row
}

// recordSource feeds encoding/csv one framed row at a time.
type recordSource struct {
	buf      []byte
	pos      int
	fed      int64 // bytes handed to the csv.Reader in total
	lineBase int   // the lines handed to the csv.Reader before the current row
}

func (s *recordSource) set(b []byte) { s.buf, s.pos = b, 0 }

func (s *recordSource) rest() int { return len(s.buf) - s.pos }

func (s *recordSource) reset() { s.fed, s.lineBase, s.buf, s.pos = 0, 0, nil, 0 }

// Read serves the current row's bytes, then io.EOF.
func (s *recordSource) Read(p []byte) (int, error) {
	if s.pos >= len(s.buf) {
		return 0, io.EOF
	}
	n := copy(p, s.buf[s.pos:])
	s.pos += n
	s.fed += int64(n)
	return n, nil
}

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

// latin1ToUTF8 converts ISO 8859-1 to UTF-8.
func latin1ToUTF8(b []byte) []byte {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/4)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// cp1252 maps the bytes 0x80-0x9F of Windows-1252 to runes (0 where the
// code page leaves a byte undefined; such bytes are read as the C1
// control of the same value, as Latin-1 would).
var cp1252 = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}

// cp1252ToUTF8 converts Windows-1252 to UTF-8.
func cp1252ToUTF8(b []byte) []byte {
	out := latin1ToUTF8(b)
	if len(out) == len(b) {
		return out
	}
	out = out[:0:0]
	for _, c := range b {
		r := rune(c)
		if c >= 0x80 && c <= 0x9F && cp1252[c-0x80] != 0 {
			r = cp1252[c-0x80]
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}
