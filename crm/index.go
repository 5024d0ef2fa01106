package crm

import (
	"encoding/binary"
	"math"
	"slices"
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
