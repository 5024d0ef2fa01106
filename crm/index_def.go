package crm

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/store"
)

// IndexDef defines a composite index of one object kind: the tuple of its
// fields' values, with a count per tuple, so that a filter of equalities
// on exactly these fields (lifecycle = "customer" AND address.country IN
// ("DE", "AT")) is counted with a few reads, and its members are listed
// without scanning either field's index alone. Every field must be one a
// filter may name with a text, list or bool type, stored on the record
// (not behavioural).
type IndexDef struct {
	// Object is KindContact, KindCompany or KindDeal.
	Object Kind `msgpack:"object" json:"object"`
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
	code, ok := filterObjects[d.Object.name]
	if !ok {
		p.add("object", "%q is not contact, company or deal", d.Object)
		return d, p.err()
	}
	if len(d.Fields) < 2 || len(d.Fields) > 4 {
		p.add("fields", "a composite index has 2 to 4 fields, not %d", len(d.Fields))
	}
	for i, f := range d.Fields {
		t, ok := builtinFields[d.Object.name][f]
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
		if _, err := t.may("workspace", ActionUpdate); err != nil {
			return err
		}
		defs, err := loadIndexDefs(t.tx, t.w, d.Object.name)
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
		if err := t.setMeta(t.w.indexDefsKey(d.Object.name), b); err != nil {
			return err
		}
		one := &indexSet{all: []fieldIndex{{name: d.name(), fields: d.Fields, counted: true}}}
		return t.buildIndex(code, one)
	})
	return d, err
}

// List streams the composite indexes of an object kind.
func (s *Indexes) List(ctx context.Context, object Kind) iter.Seq2[IndexDef, error] {
	return listOf(ctx, s.w, func(tx store.Reader) ([]IndexDef, error) { return loadIndexDefs(tx, s.w, object.name) })
}
