package crmio

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/crmkit/crmkit/crm"
)

// push appends an entry to the batch. Rows of a group (consecutive rows
// with the same group ID) join its leader; a new leader first commits a
// full batch.
func (im *importer[T]) push(e *entry[T], groupID string) error {
	if g := im.group; g != nil && groupID != "" && g.groupID == groupID {
		e.leader = g
		g.followers = append(g.followers, e)
		switch {
		case e.st == eReject:
			im.rejectGroup(g, e)
		case g.st == eReject:
			if g.groupWhy == "" {
				g.groupWhy = fmt.Sprintf("line %d of the same purchase was rejected: %s", g.line, firstProblem(g.problems))
			}
			e.problems = []Problem{{Reason: g.groupWhy}}
			e.done = true
		case g.st == eCreate || g.st == eUpdate:
			im.k.group(&g.rec, &e.rec)
			for _, f := range e.set {
				if !slices.Contains(g.set, f) {
					g.set = append(g.set, f)
				}
			}
		}
		e.st = g.st
		im.batch = append(im.batch, e)
		return nil
	}
	if len(im.batch) >= im.o.BatchSize {
		if err := im.flush(); err != nil {
			return err
		}
	}
	im.group = nil
	if im.k.grouped && groupID != "" {
		im.group = e
	}
	if e.st == eReject || e.st == eSkip {
		e.done = true
	}
	im.batch = append(im.batch, e)
	return nil
}

// flush commits the batch: updates first, then the new records in
// chunks. Rows the CRM refuses become rejects.
func (im *importer[T]) flush() error {
	if len(im.batch) == 0 {
		return nil
	}
	if im.o.DryRun {
		for _, e := range im.batch {
			e.done = true
		}
		return im.finalize(len(im.batch))
	}
	for _, e := range im.batch {
		if e.st != eUpdate || e.leader != nil || e.done {
			continue
		}
		set, src := e.set, &e.rec
		out, err := im.k.update(im.ctx, im.ws, e.id, func(cur *T) error {
			for _, f := range set {
				f.merge(cur, src, im.o.Overwrite)
			}
			return nil
		})
		if err != nil {
			if !im.rowLevel(err) {
				return err
			}
			im.rejectCRM(e, err)
		} else if im.k.meta(&out).Version == e.version {
			e.st = eSkip // nothing to change
		}
		im.markDone(e)
	}
	var creates []*entry[T]
	for _, e := range im.batch {
		if e.st == eCreate && e.leader == nil && !e.done {
			creates = append(creates, e)
		}
	}
	// The CRM commits CreateMany in transactions of this many records;
	// calling it per chunk makes each call all-or-nothing.
	const chunk = 256
	for start := 0; start < len(creates); start += chunk {
		part := creates[start:min(start+chunk, len(creates))]
		recs := make([]T, len(part))
		for i, e := range part {
			recs[i] = e.rec
		}
		out, err := im.k.createMany(im.ctx, im.ws, recs)
		var be *crm.BatchError
		switch {
		case err == nil || (errors.As(err, &be) && len(out) == len(recs)):
			bad := map[int]error{}
			if be != nil {
				for _, it := range be.Items {
					bad[it.Index] = it.Err
				}
			}
			for i, e := range part {
				if ierr, ok := bad[i]; ok {
					im.rejectCRM(e, ierr)
				} else {
					e.createdID = im.k.meta(&out[i]).ID
				}
				im.markDone(e)
			}
		case im.ctx.Err() == nil && im.rowLevel(err) && len(out) == 0:
			// A hook vetoed a record or writes kept conflicting: create
			// one by one to find the rows at fault.
			for _, e := range part {
				r, err := im.k.create(im.ctx, im.ws, e.rec)
				switch {
				case err == nil:
					e.createdID = im.k.meta(&r).ID
				case im.ctx.Err() == nil && im.rowLevel(err):
					im.rejectCRM(e, err)
				default:
					return err
				}
				im.markDone(e)
			}
		default:
			// Stopped: the first len(out) records were committed.
			for i := 0; i < len(out) && i < len(part); i++ {
				e := part[i]
				if id := im.k.meta(&out[i]).ID; id != "" {
					e.createdID = id
				} else {
					e.problems = []Problem{{Reason: "refused by the CRM; the reason was lost when the import stopped: import the row again"}}
					e.st = eReject
				}
				im.markDone(e)
			}
			return err
		}
	}
	return im.finalize(len(im.batch))
}

func (im *importer[T]) markDone(e *entry[T]) {
	e.done = true
	for _, f := range e.followers {
		f.done = true
		if e.st == eReject && f.st != eReject {
			f.problems = []Problem{{Reason: fmt.Sprintf("the purchase starting on line %d was rejected: %s", e.line, firstProblem(e.problems))}}
		}
		f.st = e.st
	}
}

// rowLevel reports whether a write error concerns the row, not the store.
func (im *importer[T]) rowLevel(err error) bool { return rowError(err) }

// rowError reports whether a write error concerns the record written
// (invalid, vetoed by a hook, referring to a record that went away, or
// colliding with concurrent writers past the CRM's retries) rather than
// the store.
func rowError(err error) bool {
	return errors.Is(err, crm.ErrInvalid) || errors.Is(err, crm.ErrNotFound) || errors.Is(err, crm.ErrDeleted) ||
		errors.Is(err, crm.ErrConflict) || errors.Is(err, crm.ErrVetoed)
}

// finalize counts the first n entries of the batch (all done), saves the
// checkpoint and reports progress.
func (im *importer[T]) finalize(n int) error {
	if n == 0 {
		return nil
	}
	im.checkRejects(im.batch[:n])
	for _, e := range im.batch[:n] {
		im.res.Read++
		switch e.st {
		case eReject:
			im.res.Rejected++
			r := newReject(e.line, e.raw, im.sortProblems(e.problems))
			im.res.Rejects = append(im.res.Rejects, r)
			im.fresh = append(im.fresh, r)
		case eSkip:
			im.res.Skipped++
		case eCreate:
			im.res.Created++
			if im.k.names != nil && e.leader == nil && !im.o.DryRun {
				if c, ok := any(&e.rec).(*crm.Company); ok {
					im.rv.addCompany(e.createdID, c.Name, c.Domain)
				}
			}
		case eUpdate:
			im.res.Updated++
			if c, ok := any(&e.rec).(*crm.Company); ok && e.leader == nil && c.Name != "" {
				im.rv.addCompany(e.id, c.Name, c.Domain)
			}
		}
	}
	last := im.batch[n-1]
	im.batch = slices.Delete(im.batch, 0, n)
	if len(im.batch) == 0 {
		// A dry run commits nothing, so what it would have created stays
		// pending to the end.
		if !im.o.DryRun {
			clear(im.keys)
			clear(im.rv.pending)
		}
		im.group = nil
	}
	im.pos.line, im.pos.end, im.pos.crc = last.line, last.end, last.crc
	im.log.Debug("crmio: batch committed", "object", im.k.name, "line", last.line, "read", im.res.Read,
		"created", im.res.Created, "updated", im.res.Updated, "skipped", im.res.Skipped, "rejected", im.res.Rejected)
	if im.cp != nil {
		if err := im.save(false); err != nil {
			return err
		}
	}
	if im.o.Progress != nil {
		im.o.Progress(Progress{Line: last.line, Bytes: last.end, Read: im.res.Read, Created: im.res.Created,
			Updated: im.res.Updated, Skipped: im.res.Skipped, Rejected: im.res.Rejected})
	}
	return nil
}

// save records the committed position in the checkpoint.
func (im *importer[T]) save(done bool) error {
	st := &CheckpointState{
		Object: im.k.name, Line: im.pos.line, Offset: im.pos.end, CRC: im.pos.crc,
		Read: im.res.Read, Created: im.res.Created, Updated: im.res.Updated, Skipped: im.res.Skipped,
		Rejected: im.res.Rejected, CompaniesCreated: im.res.CompaniesCreated, Done: done, Rejects: im.fresh,
	}
	// The checkpoint is saved even when the import's context is
	// cancelled: that is when it matters most.
	if err := im.cp.Save(context.WithoutCancel(im.ctx), st); err != nil {
		return &saveError{err}
	}
	im.fresh = nil
	return nil
}

// saveError is a failure to save the checkpoint.
type saveError struct{ err error }

// Error returns the save's error message.
func (e *saveError) Error() string { return e.err.Error() }

// Unwrap returns the save's error.
func (e *saveError) Unwrap() error { return e.err }
