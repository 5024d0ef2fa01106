package crmio

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// Progress reports how far an import is.
type Progress struct {
	// Line is the last line committed.
	Line int
	// Bytes is how much of the input was read.
	Bytes                                     int64
	Read, Created, Updated, Skipped, Rejected int
}

// ImportResult is what an import did. Every row read is counted exactly
// once: Read == Created + Updated + Skipped + Rejected, and Rejected ==
// len(Rejects).
type ImportResult struct {
	Object crm.Kind
	Format Format
	// Header is the CSV header, for WriteRejects.
	Header []string
	// Mapping is the mapping used: the given one, or the guess.
	Mapping Mapping
	// Read counts the rows read (blank lines between rows are not rows).
	Read int
	// Created counts the rows that created a record, Updated those that
	// changed an existing record. For purchases, every line-item row of a
	// purchase counts.
	Created, Updated int
	// Skipped counts rows that needed no write: rows with only empty
	// cells, and upserts that matched a record with the same values.
	Skipped int
	// Rejected counts the rows not imported, each listed in Rejects.
	Rejected int
	Rejects  []Reject
	// CompaniesCreated counts the companies created because rows named
	// companies that did not exist (ImportOptions.CreateCompanies); for a
	// dry run, those it would create. They are not counted in Created,
	// which counts rows.
	CompaniesCreated int
	// Ignored lists the columns that were not imported: unknown, not
	// mapped, or read-only (created_at, status, ...). Each is listed once.
	Ignored []string
	// ResumedAfter is the line after which a resumed import started
	// reading (0 if it started at the beginning).
	ResumedAfter int
	// DryRun is set when nothing was written.
	DryRun bool
}

func firstProblem(ps []Problem) string {
	if len(ps) == 0 {
		return "rejected"
	}
	return ps[0].Error()
}

// rejectGroup rejects a whole group because of its member bad.
func (im *importer[T]) rejectGroup(g, bad *entry[T]) {
	if g.st == eReject && g != bad {
		bad.problems = append(bad.problems, Problem{Reason: g.groupWhy})
		return
	}
	g.groupWhy = fmt.Sprintf("line %d of the same purchase was rejected: %s", bad.line, firstProblem(bad.problems))
	for _, m := range append([]*entry[T]{g}, g.followers...) {
		if m != bad && m.st != eReject {
			m.problems = []Problem{{Reason: g.groupWhy}}
		}
		m.st, m.done = eReject, true
	}
}

var indexRE = regexp.MustCompile(`\[(\d+)\]`)

// rejectCRM rejects an entry (and its group) for an error of the CRM,
// naming the source column of each failing field.
func (im *importer[T]) rejectCRM(e *entry[T], err error) {
	members := append([]*entry[T]{e}, e.followers...)
	byMember := make([][]Problem, len(members))
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			member := 0
			if im.k.grouped {
				if m := indexRE.FindStringSubmatch(fe.Field); m != nil && strings.HasPrefix(fe.Field, "items[") {
					if n, _ := strconv.Atoi(m[1]); n < len(members) {
						member = n
					}
				}
			}
			byMember[member] = append(byMember[member], im.problem(fe))
		}
	} else {
		byMember[0] = []Problem{{Reason: strings.TrimPrefix(err.Error(), "crm: ")}}
	}
	first := ""
	for i, m := range members {
		if len(byMember[i]) > 0 {
			first = fmt.Sprintf("line %d: %s", m.line, byMember[i][0].Error())
			break
		}
	}
	for i, m := range members {
		m.st = eReject
		if len(byMember[i]) > 0 {
			m.problems = byMember[i]
		} else {
			m.problems = []Problem{{Reason: "another line of the same purchase was rejected (" + first + ")"}}
		}
	}
}

// problem maps a CRM field error to the source column.
func (im *importer[T]) problem(fe crm.FieldError) Problem {
	path := indexRE.ReplaceAllString(fe.Field, "")
	for p := path; p != ""; {
		if col, ok := im.paths[p]; ok {
			return Problem{Column: col, Reason: fe.Reason}
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return Problem{Reason: fe.Field + ": " + fe.Reason}
}

// WriteRejects writes the rejected rows so they can be fixed and imported
// again. For a CSV import it writes CSV: the file's header and each
// rejected row's original fields, plus a "_line" column (where the row
// was) and an "_error" column (why it was rejected); fields beyond the
// header of a ragged row follow _error. For a JSON Lines import it writes
// each rejected object with "_line" and "_error" keys added (a line that
// was not a JSON object is kept under "_raw"). Cells are guarded against
// formula injection as in Export. Each row's _error lists all of its
// problems, in the order of Reject.Error. Import recognises the _line and
// _error columns (keys) of a rejects file and skips them quietly: they
// are neither mapped nor reported in ImportResult.Ignored, and the
// rejects file of that import has only its own _line and _error.
func (r *ImportResult) WriteRejects(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if r.Format == JSONL {
		for _, rj := range r.Rejects {
			obj := map[string]any{}
			raw := ""
			if len(rj.Raw) > 0 {
				raw = rj.Raw[0]
			}
			dec := json.NewDecoder(strings.NewReader(raw))
			dec.UseNumber()
			if err := dec.Decode(&obj); err != nil || obj == nil {
				obj = map[string]any{"_raw": raw}
			}
			obj[lineColumn] = rj.Line
			obj[errorColumn] = rj.Error()
			b, err := json.Marshal(obj)
			if err != nil {
				return fmt.Errorf("crmio: writing rejects: %w", err)
			}
			bw.Write(b)
			bw.WriteByte('\n')
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("crmio: writing rejects: %w", err)
		}
		return nil
	}
	cw := csv.NewWriter(bw)
	header := append(append([]string(nil), r.Header...), lineColumn, errorColumn)
	for i := range header {
		header[i] = guardCell(header[i])
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("crmio: writing rejects: %w", err)
	}
	n := len(r.Header)
	for _, rj := range r.Rejects {
		row := make([]string, n, n+2+max(0, len(rj.Raw)-n))
		copy(row, rj.Raw)
		row = append(row, strconv.Itoa(rj.Line), rj.Error())
		if len(rj.Raw) > n {
			row = append(row, rj.Raw[n:]...)
		}
		for i := range row {
			row[i] = guardCell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("crmio: writing rejects: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("crmio: writing rejects: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("crmio: writing rejects: %w", err)
	}
	return nil
}
