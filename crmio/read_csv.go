package crmio

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

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
