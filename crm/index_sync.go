package crm

import (
	"errors"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/store"
)

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
		if err := deleteRange(t.tx, t.w.indexKey(code, "f.custom."+name)); err != nil {
			return err
		}
		if err := t.deleteCounters(t.w.countKey(code, "f.custom."+name)); err != nil {
			return err
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
		if MetaOf(r).Deleted() {
			continue
		}
		ix = fieldEntries(t.w, code, set, MetaOf(r).ID, v.stored, ix)
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

func kindName(code byte) string {
	for n, c := range filterObjects {
		if c == code {
			return n
		}
	}
	return ""
}

// MetaOf returns the Meta of a record (a pointer to a Contact, Company,
// Deal, Activity, Purchase or Pipeline), or an empty Meta for anything
// else.
func MetaOf(r any) *Meta {
	switch x := r.(type) {
	case *Contact:
		return &x.Meta
	case *Company:
		return &x.Meta
	case *Deal:
		return &x.Meta
	case *Activity:
		return &x.Meta
	case *Purchase:
		return &x.Meta
	case *Pipeline:
		return &x.Meta
	}
	return &Meta{}
}
