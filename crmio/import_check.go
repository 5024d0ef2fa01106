package crmio

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// errRollback ends the transaction of a check: nothing it wrote stays.
var errRollback = errors.New("crmio: check only, rolled back")

// checkRejects runs the CRM's validation on the rows of entries that
// crmio rejected itself (a value that did not convert, a reference to
// nothing), so that each such reject lists what the CRM finds wrong with
// the row's other fields too, and a file is fixed in one pass. It is
// best-effort: the rows are rejected whatever it finds, so a failure of
// the store or the context ends the checks and leaves those rejects with
// crmio's problems only (the next write reports the failure).
func (im *importer[T]) checkRejects(entries []*entry[T]) {
	for _, e := range entries {
		if !e.check || e.st != eReject || e.leader != nil {
			continue
		}
		e.check = false
		if err := im.check(e); err != nil {
			return
		}
	}
}

// check writes the row's record in a transaction that it then rolls
// back (the CRM writes nothing, and runs no after-hook, for a
// transaction that returns an error), and adds the fields the CRM
// refuses to the entry's problems, leaving out the complaints that only
// follow from crmio's: a field whose cell did not convert was left empty.
// A row that updates a record is checked as that update. A before-hook
// runs as for any write that does not commit; a veto is not reported (it
// will be when the fixed row is imported).
func (im *importer[T]) check(e *entry[T]) error {
	var werr error
	err := im.ws.Update(im.ctx, func(tx *crm.Tx) error {
		w := im.k.writer(tx)
		if e.id != "" {
			_, werr = w.Update(e.id, func(cur *T) error {
				for _, f := range e.set {
					if !e.failedAny(f.paths) {
						f.merge(cur, &e.rec, im.o.Overwrite)
					}
				}
				return nil
			})
		} else {
			_, werr = w.Create(e.rec)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		return err
	}
	var ve *crm.ValidationError
	if !errors.As(werr, &ve) {
		return nil
	}
	own := len(e.problems)
	for _, fe := range ve.Fields {
		p := im.problem(fe)
		if im.consequence(e, fe.Field, p.Column, e.problems[:own]) {
			continue
		}
		e.problems = append(e.problems, p)
	}
	return nil
}

// consequence reports whether the CRM's complaint about field (fed by
// column col) follows from a problem crmio found already: the field, a
// field it is part of, or a field its check depends on did not convert,
// or its column has a problem.
func (im *importer[T]) consequence(e *entry[T], field, col string, own []Problem) bool {
	path := indexRE.ReplaceAllString(field, "")
	if e.failedAny([]string{path}) || e.failedAny(im.k.depends[path]) {
		return true
	}
	return col != "" && slices.ContainsFunc(own, func(p Problem) bool { return p.Column == col })
}

// failedAny reports whether one of paths, or a field holding one of them,
// failed to convert.
func (e *entry[T]) failedAny(paths []string) bool {
	for _, p := range paths {
		for q := p; q != ""; {
			if e.failed[q] {
				return true
			}
			i := strings.LastIndexByte(q, '.')
			if i < 0 {
				break
			}
			q = q[:i]
		}
	}
	return false
}

// sortProblems puts a row's problems in a stable order, whatever found
// them: by the position of their column in the header (for JSON Lines, by
// key), problems of the row as a whole last, each problem once.
func (im *importer[T]) sortProblems(ps []Problem) []Problem {
	if len(ps) < 2 {
		return ps
	}
	out := make([]Problem, 0, len(ps))
	for _, p := range ps {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	rank := func(col string) int {
		if col == "" {
			return math.MaxInt
		}
		if i := slices.Index(im.res.Header, col); i >= 0 {
			return i
		}
		return len(im.res.Header) // not a column of the header: by name
	}
	slices.SortStableFunc(out, func(a, b Problem) int {
		ra, rb := rank(a.Column), rank(b.Column)
		if ra != rb {
			return cmp.Compare(ra, rb)
		}
		if ra == len(im.res.Header) {
			return strings.Compare(a.Column, b.Column)
		}
		return 0
	})
	return out
}
