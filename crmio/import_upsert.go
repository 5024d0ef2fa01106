package crmio

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

func (im *importer[T]) checkUpsert() error {
	by := im.o.UpsertBy
	switch {
	case by == "" || by == "id":
	case slices.Contains(im.k.upsert, by):
	case strings.HasPrefix(by, "external_id.") && im.k.extIDs != nil && len(by) > len("external_id."):
		by = "external_id." + strings.ToLower(strings.TrimPrefix(by, "external_id."))
	default:
		valid := append([]string{"id"}, im.k.upsert...)
		if im.k.extIDs != nil {
			valid = append(valid, "external_id.<system>")
		}
		return fmt.Errorf("%w: cannot upsert %ss by %q (want %s)", ErrOptions, im.k.name, by, strings.Join(valid, ", "))
	}
	im.by = by
	return nil
}

// checkKeyColumn checks that a column feeds the upsert key, so that an
// upsert cannot silently turn into creating every row.
func (im *importer[T]) checkKeyColumn() error {
	if im.by == "" {
		return nil
	}
	want := map[string]bool{im.by: true}
	switch {
	case im.by == "email":
		want = map[string]bool{"emails": true}
	case strings.HasPrefix(im.by, "external_id."):
		want["external_ids"] = true
	}
	for _, b := range im.bindings {
		if want[b.f.name] {
			return nil
		}
	}
	return fmt.Errorf("%w: UpsertBy %q, but no column is mapped to it", ErrMapping, im.o.UpsertBy)
}

// add processes one row into the batch, committing the batch when it is
// full or when the row depends on a record the batch creates.
func (im *importer[T]) add(row *Row) error {
	e := &entry[T]{line: row.Line, end: row.end, crc: row.crc, raw: im.stripRejectsColumns(row.Raw)}
	if row.Problem != nil {
		e.st, e.problems = eReject, []Problem{*row.Problem}
		return im.push(e, "")
	}
	if im.o.Transform != nil {
		if err := im.o.Transform(row); err != nil {
			var p *Problem
			if !errors.As(err, &p) {
				p = &Problem{Reason: err.Error()}
			}
			e.st, e.problems = eReject, []Problem{*p}
			return im.push(e, "")
		}
	}
	rec, rc, set, nonEmpty, err := im.build(row)
	if err != nil {
		return err
	}
	if rc.pending && !im.o.DryRun {
		if err := im.flush(); err != nil {
			return err
		}
		rec, rc, set, nonEmpty, _ = im.build(row)
	}
	if len(rc.missing) > 0 && len(rc.problems) == 0 && im.rv.err == nil {
		// Only a row with nothing else wrong creates companies.
		if err := im.createCompanies(rc); err != nil {
			return err
		}
		if len(rc.problems) == 0 {
			rec, rc, set, nonEmpty, _ = im.build(row)
			for _, m := range rc.missing {
				rc.col, rc.paths = m.col, nil
				rc.fail("no company named %q or with that domain", m.ref)
			}
		}
	}
	if im.rv.err != nil {
		return im.rv.err
	}
	e.rec, e.set = rec, set
	if im.k.grouped {
		e.groupID = rc.id
	}
	if len(rc.problems) == 0 && !nonEmpty {
		e.st = eSkip // a row of empty cells
		return im.push(e, "")
	}
	if im.k.grouped && e.groupID != "" && im.group != nil && im.group.groupID == e.groupID {
		if im.k.finish != nil {
			im.k.finish(rc, &e.rec, nil)
		}
		if len(rc.problems) > 0 {
			// A line of a purchase alone is no purchase for the CRM to
			// check: its problems are crmio's only.
			e.st, e.problems = eReject, rc.problems
			return im.push(e, e.groupID)
		}
		e.st = eCreate // joins its leader's fate
		return im.push(e, e.groupID)
	}

	// A row with problems goes on to its key and stage, so that it is
	// checked whole and rejected once with every problem.
	var existing *T
	key := ""
	if im.by != "" {
		key = im.keyOf(rc, &rec)
	}
	if key != "" {
		pk := im.by + "\x00" + key
		if im.keys[pk] {
			if im.o.DryRun {
				e.st = eUpdate
				if len(rc.problems) > 0 {
					e.st, e.problems = eReject, rc.problems
				}
				return im.push(e, e.groupID)
			}
			if err := im.flush(); err != nil {
				return err
			}
		}
		var found T
		var ok bool
		var err error
		if im.by == "name" {
			// Company names are not indexed by the CRM: match them with
			// the resolver's table of names.
			var id string
			rc.col, rc.paths = im.paths["name"], []string{"name"}
			id, ok = im.rv.companyNamed(rc, key)
			if im.rv.err != nil {
				return im.rv.err
			}
			if ok {
				found, ok, err = im.k.lookup(im.ctx, im.ws, "id", id)
			}
		} else {
			found, ok, err = im.k.lookup(im.ctx, im.ws, im.by, key)
		}
		if err != nil {
			return fmt.Errorf("crmio: looking up %s %s: %w", im.by, key, err)
		}
		if ok {
			existing = &found
		}
	}
	if im.k.finish != nil {
		im.k.finish(rc, &e.rec, existing)
		if im.rv.err != nil {
			return im.rv.err
		}
	}
	if existing != nil {
		m := im.k.meta(existing)
		e.id, e.version = m.ID, m.Version
	}
	if len(rc.problems) > 0 {
		e.st, e.problems = eReject, rc.problems
		e.check, e.failed = !im.o.DryRun, rc.failed
		return im.push(e, e.groupID)
	}
	if existing != nil {
		e.st = eUpdate
		return im.push(e, e.groupID)
	}
	e.st = eCreate
	if key != "" {
		im.keys[im.by+"\x00"+key] = true
	}
	if im.k.names != nil {
		for _, n := range im.k.names(&e.rec) {
			im.rv.pending[n] = true
		}
	}
	return im.push(e, e.groupID)
}

func (im *importer[T]) keyOf(rc *rowCtx, r *T) string {
	switch {
	case im.by == "id":
		return rc.id
	case strings.HasPrefix(im.by, "external_id."):
		return (*im.k.extIDs(r))[strings.TrimPrefix(im.by, "external_id.")]
	}
	return im.k.key(rc, r, im.by)
}
