package crm

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
)

// The transaction seam: Workspace.View and Workspace.Update hand a
// function a transaction of one workspace. Everything a ReadTx reads comes
// from one consistent snapshot; everything a Tx writes goes through the
// same write path as the services' calls (validation, before-hooks,
// indexes, counters, history, events) and commits together or not at all.
// Packages built on crm (crm/report, crm/automation) and host applications
// use it alike; it is also how a host makes several changes atomically.

// ReadTx is a read transaction of one workspace, valid only inside the
// function given to Workspace.View or Workspace.Update.
type ReadTx struct {
	w    *Workspace
	ctx  context.Context
	tx   store.Tx
	now  time.Time
	info *WorkspaceInfo // read by Workspace
	// g is the access guard of the transaction's principal (see As).
	g *guard
}

// Tx is a write transaction of one workspace, valid only inside the
// function given to Workspace.Update. Its reads see its own writes.
type Tx struct {
	ReadTx
	t *txn
}

// View runs fn in a read transaction of the workspace. An error fn returns
// is returned as is.
func (w *Workspace) View(ctx context.Context, fn func(rt *ReadTx) error) error {
	return w.view(ctx, func(tx store.Tx, g *guard) error {
		return fn(&ReadTx{w: w, ctx: ctx, tx: tx, now: w.crm.now(), g: g})
	})
}

// Update runs fn in one write transaction of the workspace and commits
// what it wrote, then runs the after-hooks on its events. If fn returns an
// error nothing is written and the error is returned as is. A transaction
// that loses a conflict with a concurrent writer is run again from the
// start, so fn may run more than once and must act only through tx (keep
// no state of a failed attempt); past the retry budget the error matches
// ErrConflict.
//
// A write fn makes through tx that fails (a *ValidationError, a vetoing
// before-hook, a missing record) leaves no trace in the transaction, so fn
// may handle it and go on.
func (w *Workspace) Update(ctx context.Context, fn func(tx *Tx) error) error {
	_, err := w.write(ctx, func(t *txn) error {
		if err := t.checkWorkspace(); err != nil {
			return err
		}
		g, err := t.guard()
		if err != nil {
			return err
		}
		return fn(&Tx{ReadTx: ReadTx{w: w, ctx: ctx, tx: t.tx, now: t.now, info: t.info, g: g}, t: t})
	})
	return err
}

// Context returns the context the transaction runs under.
func (rt *ReadTx) Context() context.Context { return rt.ctx }

// Now returns the transaction's time: the CRM's clock when it started.
// Records written in a Tx carry it as their stamps.
func (rt *ReadTx) Now() time.Time { return rt.now }

// NewID returns a new unique ID that starts with prefix ("snp_"): IDs
// made later sort after it.
func (tx *Tx) NewID(prefix string) string { return tx.t.newID(prefix) }

// Workspace returns the workspace's settings as the transaction sees
// them (a handle's Info may be older).
func (rt *ReadTx) Workspace() WorkspaceInfo {
	if rt.info == nil {
		e, err := readEntry(rt.tx, rt.w.info.ID)
		if err != nil || e.Space != rt.w.space {
			return rt.w.info
		}
		rt.info = &e.WorkspaceInfo
	}
	return *rt.info
}

// RecordReader reads the records of one kind in a transaction.
type RecordReader[T any] struct {
	rt *ReadTx
	k  *kind[T]
}

// RecordWriter reads and writes the records of one kind in a Tx.
type RecordWriter[T any] struct {
	RecordReader[T]
	t *txn
}

func reader[T any](rt *ReadTx, k *kind[T]) RecordReader[T] { return RecordReader[T]{rt, k} }

func writer[T any](tx *Tx, k *kind[T]) RecordWriter[T] {
	return RecordWriter[T]{RecordReader[T]{&tx.ReadTx, k}, tx.t}
}

// Contacts reads contacts.
func (rt *ReadTx) Contacts() RecordReader[Contact] { return reader(rt, kindContact) }

// Companies reads companies.
func (rt *ReadTx) Companies() RecordReader[Company] { return reader(rt, kindCompany) }

// Deals reads deals.
func (rt *ReadTx) Deals() RecordReader[Deal] { return reader(rt, kindDeal) }

// Activities reads activities.
func (rt *ReadTx) Activities() RecordReader[Activity] { return reader(rt, kindActivity) }

// Pipelines reads pipelines.
func (rt *ReadTx) Pipelines() RecordReader[Pipeline] { return reader(rt, kindPipeline) }

// Purchases reads purchases.
func (rt *ReadTx) Purchases() RecordReader[Purchase] { return reader(rt, kindPurchase) }

// Contacts reads and writes contacts.
func (tx *Tx) Contacts() RecordWriter[Contact] { return writer(tx, kindContact) }

// Companies reads and writes companies.
func (tx *Tx) Companies() RecordWriter[Company] { return writer(tx, kindCompany) }

// Deals reads and writes deals.
func (tx *Tx) Deals() RecordWriter[Deal] { return writer(tx, kindDeal) }

// Activities reads and writes activities.
func (tx *Tx) Activities() RecordWriter[Activity] { return writer(tx, kindActivity) }

// Pipelines reads and writes pipelines.
func (tx *Tx) Pipelines() RecordWriter[Pipeline] { return writer(tx, kindPipeline) }

// Purchases reads and writes purchases.
func (tx *Tx) Purchases() RecordWriter[Purchase] { return writer(tx, kindPurchase) }

// Get returns the record with the given ID, soft-deleted or not (see
// Meta.Deleted); a missing one fails with ErrNotFound.
func (r RecordReader[T]) Get(id string) (T, error) {
	var zero T
	rec, err := get(r.rt.tx, r.rt.w, r.k, id)
	if err == nil {
		err = see(r.rt.g, r.k, rec)
	}
	if err != nil {
		return zero, err
	}
	return *rec, nil
}

// All streams the live records of the kind in ID order.
func (r RecordReader[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for e, err := range r.rt.tx.Scan(store.Range{Prefix: r.rt.w.k(tagRecord).byte(r.k.code)}) {
			if err != nil {
				yield(zero, err)
				return
			}
			rec := new(T)
			if err := decode(e.Value, rec); err != nil {
				yield(zero, err)
				return
			}
			if r.k.meta(rec).Deleted() || !sees(r.rt.g, r.k, rec) {
				continue
			}
			if !yield(*rec, nil) {
				return
			}
		}
	}
}

// Create validates and writes a new record, as the service's Create does,
// and returns it as stored.
func (r RecordWriter[T]) Create(v T) (T, error) {
	return objects[T]{r.rt.w, r.k}.createIn(r.t, v)
}

// Update loads a live record, lets mutate change it and saves it, as the
// service's Update does.
func (r RecordWriter[T]) Update(id string, mutate func(*T) error, opts ...UpdateOption) (T, error) {
	var zero T
	rec, err := objects[T]{r.rt.w, r.k}.updateIn(r.t, id, updateOptionsOf(opts).version, mutate)
	if err != nil {
		return zero, err
	}
	return *rec, nil
}

// Delete soft-deletes a record; deleting a deleted record does nothing.
func (r RecordWriter[T]) Delete(id string, opts ...UpdateOption) error {
	return objects[T]{r.rt.w, r.k}.setDeletedIn(r.t, id, true, updateOptionsOf(opts).version)
}

// Restore brings back a soft-deleted record; restoring a live record does
// nothing.
func (r RecordWriter[T]) Restore(id string) error {
	return objects[T]{r.rt.w, r.k}.setDeletedIn(r.t, id, false, 0)
}

// History streams the changes of a record, newest first, as
// Workspace.History does.
func (rt *ReadTx) History(ref Ref) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		code, ok := kindCodes[ref.Kind.name]
		if !ok {
			yield(Change{}, unknownKind(ref.Kind.name))
			return
		}
		if err := checkID(ref.Kind.name, ref.ID); err != nil {
			yield(Change{}, err)
			return
		}
		if rt.g != nil {
			if err := rt.g.seesRef(rt.tx, rt.w, ref); err != nil {
				yield(Change{}, err)
				return
			}
		}
		scanChanges(rt.tx, store.Range{Prefix: rt.w.historyPrefix(code, ref.ID), Reverse: true}, rt.g.changes(rt.tx, rt.w, yield))
	}
}

// AllHistory streams the changes of every record of the workspace still
// holding a history, grouped by record (by kind, then record ID) and
// oldest first within a record.
func (rt *ReadTx) AllHistory() iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		scanChanges(rt.tx, store.Range{Prefix: rt.w.k(tagHistory)}, rt.g.changes(rt.tx, rt.w, yield))
	}
}

func scanChanges(tx store.Reader, rng store.Range, yield func(Change, error) bool) {
	for e, err := range tx.Scan(rng) {
		if err != nil {
			yield(Change{}, err)
			return
		}
		var c Change
		if err := decodeChange(e.Value, &c); err != nil {
			yield(Change{}, err)
			return
		}
		if !yield(c, nil) {
			return
		}
	}
}

// Schema returns the fields a filter on object can use.
func (rt *ReadTx) Schema(object Kind) (*Schema, error) {
	if _, ok := filterObjects[object.name]; !ok {
		return nil, unknownObject(object.name)
	}
	s, _, err := loadSchema(rt.tx, rt.w, object.name)
	return s, err
}

// Matching streams the IDs of the live records of object that match e,
// planned as a Query runs. An e that does not fit the object's schema
// fails with an error matching filter.ErrInvalid.
func (rt *ReadTx) Matching(object Kind, e filter.Expr) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		r, err := rt.w.Query(object, e).prepare(rt.tx, rt.g)
		if err != nil {
			yield("", err)
			return
		}
		pl, err := r.p.planFor(r.expr, "", false)
		if err != nil {
			yield("", err)
			return
		}
		stopped := false
		err = r.each(pl, "", nil, func(id string, _ any, _ []byte) bool {
			stopped = !yield(id, nil)
			return !stopped
		}, false)
		if err != nil && !stopped {
			yield("", err)
		}
	}
}

// Count returns how many live records of object match e (all of them
// when e is nil), from the counters where the indexes answer exactly.
func (rt *ReadTx) Count(object Kind, e filter.Expr) (int64, error) {
	if e == nil {
		if err := rt.g.check(object.name, rt.g.readAction()); err != nil {
			return 0, err
		}
	}
	if _, all := rt.g.owners(object.name, rt.g.readAction()); e == nil && all {
		code, ok := filterObjects[object.name]
		if !ok {
			return 0, unknownObject(object.name)
		}
		return readCount(rt.tx, rt.w, rt.w.liveCountKey(code))
	}
	r, err := rt.w.Query(object, e).prepare(rt.tx, rt.g)
	if err != nil {
		return 0, err
	}
	return r.count(r.expr)
}

// Segment returns a saved segment.
func (rt *ReadTx) Segment(id string) (Segment, error) {
	seg, _, err := (&Segments{rt.w}).find(rt.tx, id)
	return seg, err
}

// Members streams the IDs of a segment's live members: a dynamic
// segment's as its query plans them, a static segment's in ID order.
func (rt *ReadTx) Members(seg Segment) iter.Seq2[string, error] {
	if !seg.Static {
		e, err := parseCached(seg.Filter)
		if err != nil {
			return func(yield func(string, error) bool) { yield("", err) }
		}
		return rt.Matching(seg.Object, e)
	}
	return func(yield func(string, error) bool) {
		stopped := false
		err := staticMembers(rt.tx, rt.w, rt.g, seg, "", func(id string, _ any) bool {
			stopped = !yield(id, nil)
			return !stopped
		})
		if err != nil && !stopped {
			yield("", err)
		}
	}
}

// Emit emits an event about a record that no write of this transaction
// changed, carrying the record as it is in the transaction: a custom
// event (CustomEvent+name, as an automation's "custom.escalated") or a
// signal crm leaves to packages built on it (TaskDue, TaskOverdue). It
// is delivered like every other event, after the transaction commits.
func (tx *Tx) Emit(ref Ref, et EventType) error {
	name, custom := strings.CutPrefix(string(et), CustomEvent)
	if !custom && !signalEvents[et] || custom && !ValidEventName(name) {
		return &ValidationError{Kind: "event", Fields: []FieldError{{"type", fmt.Sprintf("%q is neither %s<name> (1 to 64 letters, digits, '.', '_' or '-') nor a signal crm leaves to its packages", et, CustomEvent)}}}
	}
	k, ok := kindsByName[ref.Kind.name]
	if !ok {
		return unknownKind(ref.Kind.name)
	}
	rec, err := k.get(tx.tx, tx.w, ref.ID) // get refuses over-long IDs
	if err != nil {
		return err
	}
	return tx.t.emitOn(ref.Kind.name, rec, et)
}

// emitOn emits an event about a record that no write caused: it has a
// change ID of its own, with no history entry behind it.
func (t *txn) emitOn(object string, rec any, et EventType) error {
	b, err := encode(rec)
	if err != nil {
		return err
	}
	m := MetaOf(rec)
	ch := Change{
		ID: t.newID("chg_"), Workspace: t.w.info.ID, Kind: Kind{object}, RecordID: m.ID,
		Actor: t.actor, Source: t.source, At: t.now,
	}
	ch.Rule, ch.Depth = CauseOf(t.ctx)
	return t.emit(&ch, []EventType{et}, nil, b, uint64(m.Version), 0)
}

// Attribute makes the rest of the transaction's writes and events come
// from ctx's actor, source and cause (WithActor, WithSource, WithCause)
// instead of those of the context Update was given: a package that acts
// for several parties in one transaction (automation firing timers of
// several rules) says for whom before each part.
func (tx *Tx) Attribute(ctx context.Context) {
	tx.t.ctx, tx.t.actor, tx.t.source = ctx, actorOf(ctx), sourceOf(ctx)
	// The principal may change too.
	tx.t.guarded = false
	g, err := tx.t.guard()
	if err != nil {
		// A context that may not act at all: every read and write refuses.
		g = &guard{p: Principal{ID: "-"}, read: ActionRead}
	}
	tx.g = g
}
