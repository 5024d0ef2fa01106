package crmio

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
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
