package crm

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
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
	return w.k(tagUnique).byte(code).str(keyName(index))
}

func (w *Workspace) indexKey(code byte, index string) key {
	return w.k(tagIndex).byte(code).str(keyName(index))
}

func uniqueEntry(field string, k key, id string) indexEntry {
	return indexEntry{unique: true, field: field, key: k, value: []byte(id)}
}

// plainEntry is an entry of a non-unique index: the key ends with the
// record's ID, and the value is one byte, the length of that ID's
// encoding at the end of the key (entryOwner reads it back). Stores of
// older versions hold the ID itself as the value.
func plainEntry(field string, k key, id string) indexEntry {
	n := len(k)
	k = k.str(id)
	return indexEntry{field: field, key: k, value: []byte{byte(len(k) - n)}}
}

// entryOwner returns the ID of the record an index entry belongs to.
func entryOwner(k, value []byte) string {
	if len(value) == 1 && int(value[0]) <= len(k) && value[0] >= 2 {
		r := tuple.NewReader(k[len(k)-int(value[0]):])
		if id := r.Str(); r.Err() == nil && len(r.Rest()) == 0 {
			return id
		}
	}
	return string(value)
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
	if e, ok := columnEntry(t.w, k.code, any(r)); ok {
		ix = append(ix, e)
	}
	if slices.Contains(searchKinds, k.name) {
		defs, err := t.fieldDefs(k.name)
		if err != nil {
			return nil, err
		}
		ix = searchEntries(t.w, k.code, m.ID, r, searchable(defs), ix)
	}
	if k.sortName != nil {
		ix = append(ix, plainEntry("name", t.w.indexKey(k.code, "name").str(foldName(k.sortName(r))), m.ID))
	}
	return ix, nil
}

// MaxIDLength is the length in bytes of the longest record ID the CRM
// takes as input. The IDs it makes are far shorter; a longer one names no
// record and is refused with a *ValidationError before the store is
// reached.
const MaxIDLength = 256

// checkID refuses an ID longer than MaxIDLength.
func checkID(kindName, id string) error {
	if len(id) > MaxIDLength {
		return &ValidationError{Kind: kindName, Fields: []FieldError{{"id", fmt.Sprintf("is %d bytes long; an ID has at most %d", len(id), MaxIDLength)}}}
	}
	return nil
}

// get reads a record by ID inside tx.
func get[T any](tx store.Reader, w *Workspace, k *kind[T], id string) (*T, error) {
	if id == "" {
		return nil, notFound(k.name, `""`)
	}
	if err := checkID(k.name, id); err != nil {
		return nil, err
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
