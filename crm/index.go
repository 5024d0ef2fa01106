package crm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
)

// Field indexes serve filters (segments and queries). Each indexed field
// has entries
//
//	ws 'i' k str("f.<field>") value str(id)
//
// one per value (a list field has one per element), written and removed
// with the record by put and erase. Values are encoded so that byte order
// is the filter's order: text folded (filter.Fold), numbers as ordered
// float bits, times and dates as nanoseconds. Counted indexes (text,
// lists and bools, whose values repeat) also keep, per value,
//
//	ws 'n' k str("f.<field>") value -> int64
//
// the number of live records with that value, so a count of an equality
// needs one read instead of a scan. Composite indexes (IndexDef) do the
// same for a tuple of counted fields: "x.<f1>,<f2>". ws 'n' k str("*")
// counts the kind's live records.
//
// The counters are plain keys read and written in the record's
// transaction. They are not sharded: every write of a workspace already
// reads and writes the workspace's outbox head, so writers of one
// workspace conflict with each other anyway (and take turns inside one
// process); shards would add reads without removing a conflict. A write
// that loses a conflict is run again from the start and recomputes its
// counter deltas from what it reads, so counts stay exact.

// fieldIndex describes one indexed field.
type fieldIndex struct {
	field   string
	name    string // index name: "f.<field>", "x.<f1>,<f2>", or "updated"
	fields  []string
	counted bool
	// shared means the entries are written by another part of the CRM
	// (updated_at's is the list index "updated").
	shared bool
}

func fieldIdx(field string, counted bool) fieldIndex {
	return fieldIndex{field: field, name: "f." + field, fields: []string{field}, counted: counted}
}

// builtinIndexes are the built-in fields each kind indexes.
var builtinIndexes = map[byte][]fieldIndex{
	'c': {
		fieldIdx("lifecycle", true), fieldIdx("lead_source", true), fieldIdx("address.country", true),
		fieldIdx("address.city", true), fieldIdx("preferred_channel", true), fieldIdx("owner_id", true),
		fieldIdx("tags", true), fieldIdx("interests", true), fieldIdx("company_ids", true),
		fieldIdx("created_at", false), fieldIdx("birthday", false), updatedIndex,
	},
	'o': {
		fieldIdx("industry", true), fieldIdx("address.country", true), fieldIdx("owner_id", true),
		fieldIdx("tags", true), fieldIdx("created_at", false), fieldIdx("employees", false),
		fieldIdx("annual_revenue", false), updatedIndex,
	},
	'd': {
		fieldIdx("status", true), fieldIdx("pipeline_id", true), fieldIdx("stage_id", true),
		fieldIdx("owner_id", true), fieldIdx("source", true), fieldIdx("company_id", true),
		fieldIdx("created_at", false), fieldIdx("amount", false), fieldIdx("close_date", false),
		fieldIdx("closed_at", false), updatedIndex,
	},
}

var updatedIndex = fieldIndex{field: "updated_at", name: "updated", fields: []string{"updated_at"}, shared: true}

// countedType reports whether a field of filter type t gets a counted
// index: types whose values repeat and encode exactly.
func countedType(t filter.Type) bool {
	return t == filter.TypeText || t == filter.TypeList || t == filter.TypeBool
}

// indexSet is every field index of one kind in one workspace.
type indexSet struct {
	byField   map[string]fieldIndex
	composite []fieldIndex
	all       []fieldIndex
}

// loadIndexes returns the field indexes of a kind: the built-in ones, the
// custom fields marked Indexed, and the composite ones defined with
// Indexes.Define.
func loadIndexes(tx store.Reader, w *Workspace, object string, defs []FieldDef) (*indexSet, error) {
	code := filterObjects[object]
	s := &indexSet{byField: map[string]fieldIndex{}}
	for _, fi := range builtinIndexes[code] {
		s.byField[fi.field] = fi
		s.all = append(s.all, fi)
	}
	synced, err := loadSynced(tx, w, object)
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		if d.Indexed && slices.Contains(synced, syncName(d)) {
			fi := fieldIdx("custom."+d.Name, countedType(customType(d.Type)))
			s.byField[fi.field] = fi
			s.all = append(s.all, fi)
		}
	}
	comps, err := loadIndexDefs(tx, w, object)
	if err != nil {
		return nil, err
	}
	for _, c := range comps {
		fi := fieldIndex{name: c.name(), fields: c.Fields, counted: true}
		s.composite = append(s.composite, fi)
		s.all = append(s.all, fi)
	}
	return s, nil
}

// fieldEntries appends the field index entries of a live record r.
func fieldEntries(w *Workspace, code byte, set *indexSet, id string, field func(string) (any, bool), ix []indexEntry) []indexEntry {
	for _, fi := range set.all {
		if fi.shared {
			continue
		}
		keys := []key{w.indexKey(code, fi.name)}
		for _, f := range fi.fields {
			v, ok := field(f)
			if !ok {
				keys = nil
				break
			}
			encs := encodeValues(v)
			if len(encs) == 0 {
				keys = nil
				break
			}
			next := make([]key, 0, len(keys)*len(encs))
			for _, k := range keys {
				for _, e := range encs {
					next = append(next, append(k[:len(k):len(k)], e...))
				}
			}
			keys = next
		}
		for _, k := range keys {
			e := plainEntry(fi.name, k, id)
			if fi.counted {
				e.count = append(w.countKey(code, fi.name), k[len(w.indexKey(code, fi.name)):]...)
			}
			ix = append(ix, e)
		}
	}
	return ix
}

// countKey is the prefix of an index's counters.
func (w *Workspace) countKey(code byte, index string) key {
	return w.k(tagCount).byte(code).str(index)
}

// liveCountKey counts a kind's live records.
func (w *Workspace) liveCountKey(code byte) key { return w.countKey(code, "*") }

// encodeValues returns the index encodings of a filter value: none when
// the value is unset, one per element of a list.
func encodeValues(v any) [][]byte {
	switch x := v.(type) {
	case []string:
		out := make([][]byte, 0, len(x))
		for _, s := range x {
			if s != "" {
				out = append(out, encodeText(s))
			}
		}
		return out
	case string:
		if x == "" {
			return nil
		}
		return [][]byte{encodeText(x)}
	case bool:
		if x {
			return [][]byte{{1}}
		}
		return [][]byte{{0}}
	case int64:
		return [][]byte{encodeFloat(float64(x))}
	case float64:
		if math.IsNaN(x) {
			return nil
		}
		return [][]byte{encodeFloat(x)}
	case time.Time:
		if x.IsZero() {
			return nil
		}
		return [][]byte{key{}.time(x)}
	case Date:
		if x.IsZero() {
			return nil
		}
		return [][]byte{key{}.time(x.Time())}
	}
	return nil
}

func encodeText(s string) []byte { return key{}.str(filter.Fold(s)) }

// encodeFloat encodes f so that byte order is numeric order (-0 and 0
// alike).
func encodeFloat(f float64) []byte {
	if f == 0 {
		f = 0 // -0 to 0
	}
	bits := math.Float64bits(f)
	if f >= 0 {
		bits ^= 1 << 63
	} else {
		bits = ^bits
	}
	return binary.BigEndian.AppendUint64(nil, bits)
}

// applyCounts adds the counter changes of replacing the entries old with
// the entries new, and live with the change of the kind's live count.
func applyCounts(t *txn, code byte, oldIx, newIx []indexEntry, oldSet map[string][]byte, newSet map[string]bool, live int64) error {
	deltas := map[string]int64{}
	seen := map[string]bool{}
	for _, e := range newIx {
		if e.count != nil && !seen[string(e.key)] {
			seen[string(e.key)] = true
			if _, had := oldSet[string(e.key)]; !had {
				e.addTo(deltas, 1)
			}
		}
	}
	clear(seen)
	for _, e := range oldIx {
		if e.count != nil && !seen[string(e.key)] {
			seen[string(e.key)] = true
			if !newSet[string(e.key)] {
				e.addTo(deltas, -1)
			}
		}
	}
	if live != 0 {
		deltas[string(t.w.liveCountKey(code))] += live
	}
	for k, d := range deltas {
		if d == 0 {
			continue
		}
		if err := addCount(t.tx, []byte(k), d); err != nil {
			return err
		}
	}
	return nil
}

// addTo adds the counter changes of the entry appearing (sign 1) or going
// (sign -1) to deltas.
func (e *indexEntry) addTo(deltas map[string]int64, sign int64) {
	deltas[string(e.count)] += sign
	if e.sum != nil {
		deltas[string(e.sum)] += sign * e.amount
	}
}

func addCount(tx store.Tx, k []byte, d int64) error {
	n, err := readCount(tx, k)
	if err != nil {
		return err
	}
	n += d
	if n == 0 {
		return tx.Delete(k)
	}
	return tx.Set(k, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

func readCount(tx store.Reader, k []byte) (int64, error) {
	b, err := tx.Get(k)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return counterValue(k, b)
}

// IndexDef defines a composite index of one object kind: the tuple of its
// fields' values, with a count per tuple, so that a filter of equalities
// on exactly these fields (lifecycle = "customer" AND address.country IN
// ("DE", "AT")) is counted with a few reads, and its members are listed
// without scanning either field's index alone. Every field must be one a
// filter may name with a text, list or bool type, stored on the record
// (not behavioural).
type IndexDef struct {
	// Object is "contact", "company" or "deal".
	Object string `msgpack:"object" json:"object"`
	// Fields are two to four field names, in the order of the tuple.
	Fields []string `msgpack:"fields" json:"fields"`
}

func (d IndexDef) name() string { return "x." + strings.Join(d.Fields, ",") }

func (w *Workspace) indexDefsKey(object string) key { return w.k(tagMeta).str("indexes").str(object) }

func loadIndexDefs(tx store.Reader, w *Workspace, object string) ([]IndexDef, error) {
	b, err := tx.Get(w.indexDefsKey(object))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var defs []IndexDef
	return defs, decode(b, &defs)
}

// Indexes manages a workspace's composite indexes.
type Indexes struct{ w *Workspace }

// Indexes returns the workspace's composite index service.
func (w *Workspace) Indexes() *Indexes { return &Indexes{w} }

// Define adds a composite index and builds it from the records already
// stored, in the same transaction: define indexes before a large import.
// Defining an index that exists does nothing.
func (s *Indexes) Define(ctx context.Context, d IndexDef) (IndexDef, error) {
	p := problems{kind: "index"}
	code, ok := filterObjects[d.Object]
	if !ok {
		p.add("object", "%q is not contact, company or deal", d.Object)
		return d, p.err()
	}
	if len(d.Fields) < 2 || len(d.Fields) > 4 {
		p.add("fields", "a composite index has 2 to 4 fields, not %d", len(d.Fields))
	}
	for i, f := range d.Fields {
		t, ok := builtinFields[d.Object][f]
		if !ok {
			p.add(fmt.Sprintf("fields[%d]", i), "%q is not a stored field of a %s (custom fields cannot be in a composite index)", f, d.Object)
		} else if !countedType(t) {
			p.add(fmt.Sprintf("fields[%d]", i), "%q is a %s field; composite indexes take text, list and bool fields", f, t)
		}
		if slices.Index(d.Fields, f) != i {
			p.add(fmt.Sprintf("fields[%d]", i), "%q is repeated", f)
		}
	}
	if err := p.err(); err != nil {
		return d, err
	}
	_, err := s.w.write(ctx, func(t *txn) error {
		if err := t.checkWorkspace(); err != nil {
			return err
		}
		defs, err := loadIndexDefs(t.tx, t.w, d.Object)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(defs, func(e IndexDef) bool { return slices.Equal(e.Fields, d.Fields) }) {
			return nil
		}
		defs = append(defs, d)
		b, err := encode(&defs)
		if err != nil {
			return err
		}
		if err := t.setMeta(t.w.indexDefsKey(d.Object), b); err != nil {
			return err
		}
		one := &indexSet{all: []fieldIndex{{name: d.name(), fields: d.Fields, counted: true}}}
		return t.buildIndex(code, one)
	})
	return d, err
}

// buildIndex writes the entries and counters of set for every live record
// of the kind.
func (t *txn) buildIndex(code byte, set *indexSet) error {
	var ix []indexEntry
	prefix := t.w.k(tagRecord).byte(code)
	for e, err := range t.tx.Scan(store.Range{Prefix: prefix}) {
		if err != nil {
			return err
		}
		r, err := decodeKind(kindName(code), e.Value)
		if err != nil {
			return err
		}
		v := viewOf(nil, t.w, t.now, r)
		if metaOf(r).Deleted() {
			continue
		}
		ix = fieldEntries(t.w, code, set, metaOf(r).ID, v.stored, ix)
	}
	// Entries already there (an index built before) are left as they
	// are and not counted again, so building is idempotent.
	added := ix[:0]
	for _, e := range ix {
		_, err := t.tx.Get(e.key)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := t.tx.Set(e.key, e.value); err != nil {
			return err
		}
		added = append(added, e)
	}
	return applyCounts(t, code, nil, added, nil, nil, 0)
}

// List returns the composite indexes of an object kind.
func (s *Indexes) List(ctx context.Context, object string) ([]IndexDef, error) {
	var defs []IndexDef
	err := s.w.read(ctx, func(tx store.Tx) error {
		var err error
		defs, err = loadIndexDefs(tx, s.w, object)
		return err
	})
	return defs, err
}

func kindName(code byte) string {
	for n, c := range filterObjects {
		if c == code {
			return n
		}
	}
	return ""
}

func metaOf(r any) *Meta {
	switch x := r.(type) {
	case *Contact:
		return &x.Meta
	case *Company:
		return &x.Meta
	case *Deal:
		return &x.Meta
	}
	return &Meta{}
}

// Custom fields come and go (Fields.Define and Remove), and a record keeps
// a removed field's value until it is next written. So that the field
// indexes never hold entries of a definition that is gone, the kind keeps
// the list of indexed custom fields ("name:type") its entries were built
// for, ws 'm' str("findexed") str(object). The first write after the
// definitions change brings the indexes in line: it drops the entries and
// counters of fields no longer indexed and builds those of new ones from
// the stored records. Until then queries use only the listed fields.

func (w *Workspace) syncedKey(object string) key { return w.k(tagMeta).str("findexed").str(object) }

func syncName(d FieldDef) string { return d.Name + ":" + string(d.Type) }

func loadSynced(tx store.Reader, w *Workspace, object string) ([]string, error) {
	b, err := tx.Get(w.syncedKey(object))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	return names, decode(b, &names)
}

// syncFieldIndexes brings the custom field indexes of a kind in line with
// its field definitions.
func (t *txn) syncFieldIndexes(object string, code byte) error {
	defs, err := t.fieldDefs(object)
	if err != nil {
		return err
	}
	var want []string
	for _, d := range defs {
		if d.Indexed {
			want = append(want, syncName(d))
		}
	}
	slices.Sort(want)
	have, err := loadSynced(t.tx, t.w, object)
	if err != nil || slices.Equal(want, have) {
		return err
	}
	for _, h := range have {
		if slices.Contains(want, h) {
			continue
		}
		name, _, _ := strings.Cut(h, ":")
		for _, k := range []key{t.w.indexKey(code, "f.custom."+name), t.w.countKey(code, "f.custom."+name)} {
			if err := deleteRange(t.tx, k); err != nil {
				return err
			}
		}
	}
	for _, d := range defs {
		if d.Indexed && !slices.Contains(have, syncName(d)) {
			one := &indexSet{all: []fieldIndex{fieldIdx("custom."+d.Name, countedType(customType(d.Type)))}}
			if err := t.buildIndex(code, one); err != nil {
				return err
			}
		}
	}
	if len(want) == 0 {
		return t.setMeta(t.w.syncedKey(object), nil)
	}
	b, err := encode(&want)
	if err != nil {
		return err
	}
	return t.setMeta(t.w.syncedKey(object), b)
}
