package crm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crmkit/store"
)

// Meta is carried by every record: identity, version and audit stamps. The
// CRM sets it; values a caller puts here are ignored on create and, except
// Version (see IfVersion), on update.
type Meta struct {
	ID        string    `msgpack:"id" json:"id"`
	Version   int64     `msgpack:"version" json:"version"`
	CreatedAt time.Time `msgpack:"created_at" json:"created_at"`
	UpdatedAt time.Time `msgpack:"updated_at" json:"updated_at"`
	CreatedBy string    `msgpack:"created_by,omitempty" json:"created_by,omitempty"`
	UpdatedBy string    `msgpack:"updated_by,omitempty" json:"updated_by,omitempty"`
	// DeletedAt is set while the record is soft-deleted.
	DeletedAt time.Time `msgpack:"deleted_at,omitempty" json:"deleted_at,omitzero"`
}

// Deleted reports whether the record is soft-deleted.
func (m *Meta) Deleted() bool { return !m.DeletedAt.IsZero() }

// indexEntry is one key a record owns besides its record key.
type indexEntry struct {
	unique bool
	// field names the field the entry comes from, for error messages.
	field string
	key   key
	// value is stored at key: the record ID for index entries.
	value []byte
	// count, if set, is the counter this entry adds one to (see index.go).
	count key
	// sum, if set, is a counter this entry adds amount to: with count, an
	// aggregate the write path keeps (see dealIndexes).
	sum    key
	amount int64
}

// kind describes one object type to the generic record code.
type kind[T any] struct {
	name   string // "contact"
	code   byte   // key byte
	prefix string // ID prefix, "con_"
	meta   func(*T) *Meta
	// custom returns the record's custom fields, or nil for kinds without.
	custom func(*T) *Custom
	// prepare normalises and validates r (old is nil on create). It reports
	// field problems to p and returns only unexpected (store) errors.
	prepare func(t *txn, r, old *T, p *problems) error
	// indexes appends r's index entries (not the generic ones).
	indexes func(w *Workspace, r *T, ix []indexEntry) []indexEntry
	// name returns the value the "name" sort uses.
	sortName func(*T) string
	// before returns the kind's before-hook.
	before func(*Hooks) *hooksOf[T]
	// owner returns the record's owner, for owner_assigned events.
	owner func(*T) string
	// events appends the kind's specific event types for a change.
	events func(old, r *T, types []EventType) []EventType
	// field returns a field's value as filters read it, for the kinds
	// that filters select (nil for the others).
	field func(r *T, name string) (any, bool)
}

func (w *Workspace) recordKey(code byte, id string) key { return w.k(tagRecord).byte(code).str(id) }

func (w *Workspace) uniqueKey(code byte, index string) key {
	return w.k(tagUnique).byte(code).str(index)
}

func (w *Workspace) indexKey(code byte, index string) key {
	return w.k(tagIndex).byte(code).str(index)
}

func uniqueEntry(field string, k key, id string) indexEntry {
	return indexEntry{unique: true, field: field, key: k, value: []byte(id)}
}

func plainEntry(field string, k key, id string) indexEntry {
	return indexEntry{field: field, key: k.str(id), value: []byte(id)}
}

// allIndexes returns every index entry r owns: the kind's own, the custom
// fields', the field indexes of set (nil for kinds without) and the
// generic sort indexes. A soft-deleted record keeps only its unique entries
// (so it can be restored) and a "deleted" entry.
func allIndexes[T any](t *txn, k *kind[T], r *T, set *indexSet) ([]indexEntry, error) {
	m := k.meta(r)
	ix := k.indexes(t.w, r, nil)
	if k.custom != nil {
		var err error
		if ix, err = t.customIndexes(k.name, k.code, m.ID, *k.custom(r), ix); err != nil {
			return nil, err
		}
	}
	if set != nil && !m.Deleted() {
		ix = fieldEntries(t.w, k.code, set, m.ID, func(name string) (any, bool) { return k.field(r, name) }, ix)
	}
	if m.Deleted() {
		kept := ix[:0]
		for _, e := range ix {
			if e.unique {
				kept = append(kept, e)
			}
		}
		return append(kept, plainEntry("deleted_at", t.w.indexKey(k.code, "deleted").time(m.DeletedAt), m.ID)), nil
	}
	ix = append(ix, plainEntry("updated_at", t.w.indexKey(k.code, "updated").time(m.UpdatedAt), m.ID))
	if k.sortName != nil {
		ix = append(ix, plainEntry("name", t.w.indexKey(k.code, "name").str(foldName(k.sortName(r))), m.ID))
	}
	return ix, nil
}

// get reads a record by ID inside tx.
func get[T any](tx store.Reader, w *Workspace, k *kind[T], id string) (*T, error) {
	if id == "" {
		return nil, notFound(k.name, `""`)
	}
	b, err := tx.Get(w.recordKey(k.code, id))
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrKeyTooLarge) {
		return nil, notFound(k.name, id)
	}
	if err != nil {
		return nil, err
	}
	r := new(T)
	if err := decode(b, r); err != nil {
		return nil, err
	}
	return r, nil
}

// getLive is get that also refuses soft-deleted records.
func getLive[T any](tx store.Reader, w *Workspace, k *kind[T], id string) (*T, error) {
	r, err := get(tx, w, k, id)
	if err != nil {
		return nil, err
	}
	if k.meta(r).Deleted() {
		return nil, fmt.Errorf("crm: %s %s: %w", k.name, id, ErrDeleted)
	}
	return r, nil
}

// clone deep-copies a record through its encoding.
func clone[T any](r *T) (*T, error) {
	b, err := encode(r)
	if err != nil {
		return nil, err
	}
	c := new(T)
	return c, decode(b, c)
}

// put validates r and writes it with its index entries and history. old is
// the stored version (nil on create). It is the one place records are
// written.
func put[T any](t *txn, k *kind[T], old, r *T, op Op) error {
	if err := t.checkWorkspace(); err != nil {
		return err
	}
	m := k.meta(r)
	p := problems{kind: k.name, id: m.ID}
	if old == nil {
		p.id = ""
	}
	m0 := *m
	if err := validate(t, k, old, r, &p); err != nil {
		return err
	}
	// Before-hooks see a valid record and may veto or change it; a changed
	// record is validated again.
	op0 := op
	if old != nil && op == OpUpdated && len(p.list) == 0 && len(diff(old, r)) == 0 {
		op0 = "" // nothing to do: no hooks
	}
	if len(p.list) == 0 && op0 != "" {
		ran, err := runBefore(t, k, op, old, r, eventTypes(k, op, old, r))
		if err != nil {
			return err
		}
		if ran {
			*k.meta(r) = m0 // identity and stamps stay the CRM's
			if err := validate(t, k, old, r, &p); err != nil {
				return err
			}
		}
	}
	// Invalid records still go through the unique checks below, so the
	// error names every failing field at once.
	invalid := len(p.list) > 0
	var fields []FieldChange
	if old != nil && !invalid {
		fields = diff(old, r)
		if len(fields) == 0 && op == OpUpdated {
			*m = *k.meta(old)
			return nil // nothing changed: no write, no history
		}
	}
	if old == nil {
		m.Version = 1
		m.CreatedAt, m.CreatedBy = t.now, t.actor
	} else {
		om := k.meta(old)
		m.ID, m.CreatedAt, m.CreatedBy = om.ID, om.CreatedAt, om.CreatedBy
		m.Version = om.Version + 1
		if op == OpUpdated {
			m.DeletedAt = om.DeletedAt
		}
	}
	m.UpdatedAt, m.UpdatedBy = t.now, t.actor

	set, err := writeIndexes(t, k)
	if err != nil {
		return err
	}
	newIx, err := allIndexes(t, k, r, set)
	if err != nil {
		return err
	}
	var oldIx []indexEntry
	if old != nil {
		if oldIx, err = allIndexes(t, k, old, set); err != nil {
			return err
		}
	}
	oldSet := make(map[string][]byte, len(oldIx))
	for _, e := range oldIx {
		oldSet[string(e.key)] = e.value
	}
	// Check every unique entry before writing anything, so a rejected
	// record leaves no trace in the transaction.
	newSet := make(map[string]bool, len(newIx))
	writes := newIx[:0:0]
	for _, e := range newIx {
		if newSet[string(e.key)] {
			if e.unique {
				p.add(e.field, "duplicate value")
			}
			continue
		}
		newSet[string(e.key)] = true
		v, had := oldSet[string(e.key)]
		if e.unique && !had {
			owner, err := t.tx.Get(e.key)
			switch {
			case err == nil && string(owner) != m.ID:
				p.add(e.field, "already used by %s %s", k.name, owner)
				continue
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		if !had || string(v) != string(e.value) {
			writes = append(writes, e)
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	for _, e := range writes {
		if err := t.tx.Set(e.key, e.value); err != nil {
			return err
		}
	}
	for _, e := range oldIx {
		if !newSet[string(e.key)] {
			if err := t.tx.Delete(e.key); err != nil {
				return err
			}
		}
	}
	if set != nil {
		if err := applyCounts(t, k.code, oldIx, newIx, oldSet, newSet, liveOf(k, r)-liveOf(k, old)); err != nil {
			return err
		}
	}
	b, err := encode(r)
	if err != nil {
		return err
	}
	if err := t.tx.Set(t.w.recordKey(k.code, m.ID), b); err != nil {
		return err
	}
	ch, err := t.record(k.name, k.code, m.ID, op, fields)
	if err != nil {
		return err
	}
	var before []byte
	if old != nil {
		if before, err = encode(old); err != nil {
			return err
		}
	}
	if err := t.emit(ch, eventTypes(k, op, old, r), before, b); err != nil {
		return err
	}
	return segmentEvents(t, k, ch, old, r, before, b)
}

// validate normalises and checks r, reporting field problems to p.
func validate[T any](t *txn, k *kind[T], old, r *T, p *problems) error {
	if err := k.prepare(t, r, old, p); err != nil {
		return err
	}
	if k.custom == nil {
		return nil
	}
	var oc Custom
	if old != nil {
		oc = *k.custom(old)
	}
	return t.checkCustom(k.name, k.custom(r), oc, p)
}

// erase removes a record, its index entries, its history and its timeline.
func erase[T any](t *txn, k *kind[T], r *T) error {
	m := k.meta(r)
	set, err := writeIndexes(t, k)
	if err != nil {
		return err
	}
	ix, err := allIndexes(t, k, r, set)
	if err != nil {
		return err
	}
	for _, e := range ix {
		if err := t.tx.Delete(e.key); err != nil {
			return err
		}
	}
	if set != nil {
		if err := applyCounts(t, k.code, ix, nil, nil, map[string]bool{}, -liveOf(k, r)); err != nil {
			return err
		}
	}
	if err := eraseMemberships(t, k, r); err != nil {
		return err
	}
	for _, prefix := range []key{t.w.historyPrefix(k.code, m.ID), t.w.timelinePrefix(k.code, m.ID)} {
		if err := deleteRange(t.tx, prefix); err != nil {
			return err
		}
	}
	if err := t.tx.Delete(t.w.recordKey(k.code, m.ID)); err != nil {
		return err
	}
	if err := t.redactEvents(k.code, m.ID); err != nil {
		return err
	}
	ch := Change{
		ID: t.newID("chg_"), Workspace: t.w.info.ID, Kind: k.name, RecordID: m.ID,
		Op: OpErased, Actor: t.actor, Source: t.source, At: t.now,
	}
	// The erase event names the record but carries none of its data.
	return t.emit(&ch, []EventType{EventType(k.name + "." + string(OpErased))}, nil, nil)
}

func deleteRange(tx store.Tx, prefix key) error {
	var keys [][]byte
	for e, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
		if err != nil {
			return err
		}
		keys = append(keys, append([]byte(nil), e.Key...))
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// objects is the generic service behind each typed service: create, get,
// update, delete, restore, erase and list for one kind.
type objects[T any] struct {
	w *Workspace
	k *kind[T]
}

// UpdateOption adjusts an update.
type UpdateOption func(*updateOptions)

type updateOptions struct{ version int64 }

// IfVersion makes an update or delete fail with ErrConflict unless the
// record's stored version is v: the optimistic lock for a caller that read
// the record, showed it to a user, and saves the user's edit.
func IfVersion(v int64) UpdateOption { return func(o *updateOptions) { o.version = v } }

func (o objects[T]) create(ctx context.Context, r T) (T, error) {
	var out T
	_, err := o.w.write(ctx, func(t *txn) error {
		c, err := o.createIn(t, r)
		out = c
		return err
	})
	return out, err
}

func (o objects[T]) createIn(t *txn, r T) (T, error) {
	if err := t.checkWorkspace(); err != nil {
		return r, err
	}
	rec := &r
	m := o.k.meta(rec)
	*m = Meta{ID: t.newID(o.k.prefix)}
	if err := put(t, o.k, nil, rec, OpCreated); err != nil {
		return r, err
	}
	return *rec, nil
}

func (o objects[T]) get(ctx context.Context, id string) (T, error) {
	var out T
	err := o.w.read(ctx, func(tx store.Tx) error {
		r, err := get(tx, o.w, o.k, id)
		if err == nil {
			out = *r
		}
		return err
	})
	return out, err
}

// update loads the record, lets mutate change it and saves it. mutate may
// run more than once if the write is retried after a conflict.
func (o objects[T]) update(ctx context.Context, id string, mutate func(*T) error, opts ...UpdateOption) (T, error) {
	var uo updateOptions
	for _, opt := range opts {
		opt(&uo)
	}
	var out T
	_, err := o.w.write(ctx, func(t *txn) error {
		r, err := o.updateIn(t, id, uo.version, mutate)
		if err == nil {
			out = *r
		}
		return err
	})
	return out, err
}

func (o objects[T]) updateIn(t *txn, id string, version int64, mutate func(*T) error) (*T, error) {
	old, err := getLive(t.tx, t.w, o.k, id)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(o.k.name, o.k.meta(old), version); err != nil {
		return nil, err
	}
	r, err := clone(old)
	if err != nil {
		return nil, err
	}
	if err := mutate(r); err != nil {
		return nil, err
	}
	// The identity and audit stamps are the CRM's, whatever mutate did.
	*o.k.meta(r) = *o.k.meta(old)
	if err := put(t, o.k, old, r, OpUpdated); err != nil {
		return nil, err
	}
	return r, nil
}

func checkVersion(kindName string, m *Meta, want int64) error {
	if want != 0 && m.Version != want {
		return fmt.Errorf("crm: %s %s is at version %d, not %d: %w", kindName, m.ID, m.Version, want, ErrConflict)
	}
	return nil
}

func (o objects[T]) setDeleted(ctx context.Context, id string, deleted bool, opts ...UpdateOption) error {
	var uo updateOptions
	for _, opt := range opts {
		opt(&uo)
	}
	_, err := o.w.write(ctx, func(t *txn) error {
		old, err := get(t.tx, t.w, o.k, id)
		if err != nil {
			return err
		}
		om := o.k.meta(old)
		if err := checkVersion(o.k.name, om, uo.version); err != nil {
			return err
		}
		if om.Deleted() == deleted {
			return nil
		}
		r, err := clone(old)
		if err != nil {
			return err
		}
		op := OpRestored
		m := o.k.meta(r)
		m.DeletedAt = time.Time{}
		if deleted {
			op = OpDeleted
			m.DeletedAt = t.now
		}
		return put(t, o.k, old, r, op)
	})
	return err
}

func (o objects[T]) erase(ctx context.Context, id string) error {
	_, err := o.w.write(ctx, func(t *txn) error {
		r, err := get(t.tx, t.w, o.k, id)
		if err != nil {
			return err
		}
		return erase(t, o.k, r)
	})
	return err
}

func (o objects[T]) replace(ctx context.Context, id string, version int64, r T) (T, error) {
	var opts []UpdateOption
	if version != 0 {
		opts = append(opts, IfVersion(version))
	}
	return o.update(ctx, id, func(cur *T) error {
		*cur = r
		return nil
	}, opts...)
}

// createMany creates records in transactions of up to batchSize, skipping
// invalid ones and reporting them in a *BatchError.
func (o objects[T]) createMany(ctx context.Context, rs []T) ([]T, error) {
	return o.batch(ctx, len(rs), isInvalid, func(t *txn, i int) (T, error) {
		return o.createIn(t, rs[i])
	})
}

// updateMany applies mutate to the records with the given IDs, in
// transactions of up to batchSize. A record that is missing, deleted,
// refused by a before-hook or invalid after mutate (which may also return
// an error matching ErrInvalid) is skipped and reported in a *BatchError;
// mutate may run more than once for an ID if a batch is retried.
func (o objects[T]) updateMany(ctx context.Context, ids []string, mutate func(*T) error) ([]T, error) {
	skip := func(err error) bool {
		return isInvalid(err) || isNotFoundOrDeleted(err) || errors.Is(err, ErrVetoed)
	}
	return o.batch(ctx, len(ids), skip, func(t *txn, i int) (T, error) {
		r, err := o.updateIn(t, ids[i], 0, mutate)
		if err != nil {
			var zero T
			return zero, err
		}
		return *r, nil
	})
}

func isInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// batch runs write for the items 0..n-1, up to batchSize of them per
// transaction. An item whose error skip accepts leaves no trace and is
// reported in a *BatchError; any other error stops the batch, returning
// the items of the committed transactions before it, joined with the
// *BatchError of the items those refused.
func (o objects[T]) batch(ctx context.Context, n int, skip func(error) bool, write func(t *txn, i int) (T, error)) ([]T, error) {
	const batchSize = 256
	out := make([]T, n)
	var bad []ItemError
	for start := 0; start < n; start += batchSize {
		end := min(start+batchSize, n)
		var chunkBad []ItemError
		_, err := o.w.write(ctx, func(t *txn) error {
			chunkBad = chunkBad[:0]
			// A missing workspace fails the batch, never one item.
			if err := t.checkWorkspace(); err != nil {
				return err
			}
			for i := start; i < end; i++ {
				r, err := write(t, i)
				if err != nil {
					if !skip(err) {
						return err
					}
					chunkBad = append(chunkBad, ItemError{Index: i, Err: err})
					continue
				}
				out[i] = r
			}
			return nil
		})
		if err != nil {
			if len(bad) > 0 {
				err = errors.Join(err, &BatchError{Items: bad})
			}
			return out[:start], err
		}
		bad = append(bad, chunkBad...)
		for _, b := range chunkBad {
			var zero T
			out[b.Index] = zero
		}
	}
	if len(bad) > 0 {
		return out, &BatchError{Items: bad}
	}
	return out, nil
}

// getByUnique returns the live record a unique index entry points at.
func (o objects[T]) getByUnique(ctx context.Context, what string, k key) (T, error) {
	var out T
	err := o.w.read(ctx, func(tx store.Tx) error {
		id, err := tx.Get(k)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrKeyTooLarge) {
			return notFound(o.k.name, "with "+what)
		}
		if err != nil {
			return err
		}
		r, err := getLive(tx, o.w, o.k, string(id))
		if isNotFoundOrDeleted(err) {
			return notFound(o.k.name, "with "+what)
		}
		if err == nil {
			out = *r
		}
		return err
	})
	return out, err
}

func isNotFoundOrDeleted(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrDeleted)
}

// kindIndexes returns the field indexes of k in t's workspace, or nil for
// kinds that filters do not select.
func kindIndexes[T any](t *txn, k *kind[T]) (*indexSet, error) {
	if k.field == nil {
		return nil, nil
	}
	defs, err := t.fieldDefs(k.name)
	if err != nil {
		return nil, err
	}
	return loadIndexes(t.tx, t.w, k.name, defs)
}

// writeIndexes is kindIndexes for a write: it first brings the custom
// field indexes in line with the field definitions.
func writeIndexes[T any](t *txn, k *kind[T]) (*indexSet, error) {
	if k.field == nil {
		return nil, nil
	}
	if set, ok := t.ixs[k.code]; ok {
		return set, nil
	}
	if err := t.syncFieldIndexes(k.name, k.code); err != nil {
		return nil, err
	}
	set, err := kindIndexes(t, k)
	if err != nil {
		return nil, err
	}
	if t.ixs == nil {
		t.ixs = map[byte]*indexSet{}
	}
	t.ixs[k.code] = set
	return set, nil
}

// liveOf is 1 for a stored record that is not soft-deleted, else 0.
func liveOf[T any](k *kind[T], r *T) int64 {
	if r == nil || k.meta(r).Deleted() {
		return 0
	}
	return 1
}
