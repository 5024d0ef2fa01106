package crmio

import (
	"errors"
	"strings"
)

// Errors that stop an import or export before or while it runs. They are
// wrapped with detail; compare with errors.Is. Problems with single rows
// never stop an import: they are Rejects.
var (
	// ErrOptions reports invalid ImportOptions or ExportOptions.
	ErrOptions = errors.New("crmio: invalid options")
	// ErrMapping reports a mapping that names a column the file does not
	// have or a field the object does not have.
	ErrMapping = errors.New("crmio: invalid mapping")
	// ErrHeader reports a CSV file without a readable header row.
	ErrHeader = errors.New("crmio: no header")
	// ErrCheckpoint reports a checkpoint that does not belong to the input
	// being imported (another file, or the file changed since), or that
	// cannot be read.
	ErrCheckpoint = errors.New("crmio: checkpoint does not match")
)

// Problem is one reason a row was rejected: the source column (empty when
// the problem is with the row as a whole) and what is wrong, in lower
// case.
type Problem struct {
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

// Error makes a Problem an error, so that a Transform can return one to
// reject a row and name the column.
func (p *Problem) Error() string {
	if p.Column == "" {
		return p.Reason
	}
	return p.Column + ": " + p.Reason
}

// Reject is a row that was not imported, with where and why.
type Reject struct {
	// Line is the physical line the row starts on (1-based, counting the
	// newlines inside quoted fields).
	Line int `json:"line"`
	// Column is the source column of the first problem, or empty when the
	// row as a whole is at fault (bad quoting, a reference to nothing).
	Column string `json:"column,omitempty"`
	// Reason is what is wrong with Column.
	Reason string `json:"reason"`
	// Raw is the row as read: the CSV fields, or the JSON line. It is nil
	// for a row too large to keep.
	Raw []string `json:"raw"`
	// Problems lists every problem found in the row, crmio's and the
	// CRM's, in the order of their columns in the file (problems of the
	// row as a whole last); the first is Column and Reason.
	Problems []Problem `json:"problems,omitempty"`
}

// Error is the reject's problems in one line: "email: ...; country: ...".
func (r *Reject) Error() string {
	if len(r.Problems) == 0 {
		return (&Problem{Column: r.Column, Reason: r.Reason}).Error()
	}
	parts := make([]string, len(r.Problems))
	for i := range r.Problems {
		parts[i] = r.Problems[i].Error()
	}
	return strings.Join(parts, "; ")
}

func newReject(line int, raw []string, problems []Problem) Reject {
	r := Reject{Line: line, Raw: raw, Problems: problems}
	if len(problems) > 0 {
		r.Column, r.Reason = problems[0].Column, problems[0].Reason
	}
	return r
}
