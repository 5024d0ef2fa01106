package crm

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"regexp"
	"slices"

	"github.com/crmkit/crmkit/store"
)

// FieldType is the type of a custom field.
type FieldType string

// Custom field types and the Go type of their values in Custom.
const (
	FieldText        FieldType = "text"         // string
	FieldNumber      FieldType = "number"       // float64
	FieldMoney       FieldType = "money"        // Money
	FieldDate        FieldType = "date"         // Date
	FieldBool        FieldType = "bool"         // bool
	FieldSelect      FieldType = "select"       // string, one of Options
	FieldMultiSelect FieldType = "multi_select" // []string, each one of Options
	FieldURL         FieldType = "url"          // string
	FieldEmail       FieldType = "email"        // string
	FieldPhone       FieldType = "phone"        // string
)

// FieldDef defines a custom field of one object type.
type FieldDef struct {
	// Object is the record kind the field belongs to: KindContact,
	// KindCompany, KindDeal, KindActivity or KindPurchase.
	Object Kind `msgpack:"object" json:"object"`
	// Name is the key in the record's Custom map: a lower-case letter
	// followed by up to 63 lower-case letters, digits or underscores.
	Name  string    `msgpack:"name" json:"name"`
	Label string    `msgpack:"label,omitempty" json:"label,omitempty"`
	Type  FieldType `msgpack:"type" json:"type"`
	// Required fields must have a value on create, and once set cannot be
	// cleared.
	Required bool `msgpack:"required,omitempty" json:"required,omitempty"`
	// Unique fields hold a different value in every record of the
	// workspace (text compares case-insensitively, as filters compare
	// it). A value of a unique or indexed field becomes part of a key:
	// text longer than about 2,000 bytes is refused with a
	// *ValidationError naming the field.
	Unique bool `msgpack:"unique,omitempty" json:"unique,omitempty"`
	// Indexed fields are indexed for segments and lookups.
	Indexed bool `msgpack:"indexed,omitempty" json:"indexed,omitempty"`
	// Searchable fields (text, select, multi-select, email, phone and URL
	// fields of contacts, companies and deals) are found by
	// Workspace.Search, word by word.
	Searchable bool `msgpack:"searchable,omitempty" json:"searchable,omitempty"`
	// Default is stored when a record is created without the field.
	Default any `msgpack:"default,omitempty" json:"default,omitempty"`
	// Pattern is a regular expression (RE2) text values must match.
	Pattern string `msgpack:"pattern,omitempty" json:"pattern,omitempty"`
	// Min and Max bound numbers, money amounts, and the length of text.
	// They must be finite.
	Min *float64 `msgpack:"min,omitempty" json:"min,omitempty"`
	Max *float64 `msgpack:"max,omitempty" json:"max,omitempty"`
	// Options are the allowed values of select and multi-select fields.
	Options []string `msgpack:"options,omitempty" json:"options,omitempty"`
}

// Custom holds a record's custom field values by field name. Values have
// the Go type of their FieldType; on write, convertible values are accepted
// (any number for a number field, "2024-05-01" for a date, []any of strings
// for a multi-select) and stored in canonical form.
type Custom map[string]any

var fieldNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// fieldsKey is where a workspace keeps the custom field definitions of one
// object kind, all in one value: a write reads it, so a concurrent change
// of definitions conflicts with the write instead of slipping past it.
func (w *Workspace) fieldsKey(object string) key { return w.k(tagMeta).str("fields").str(object) }

func (t *txn) fieldDefs(object string) ([]FieldDef, error) {
	if defs, ok := t.defs[object]; ok {
		return slices.Clip(defs), nil
	}
	defs, err := loadFieldDefs(t.tx, t.w, object)
	if err != nil {
		return nil, err
	}
	if t.defs == nil {
		t.defs = map[string][]FieldDef{}
	}
	t.defs[object] = defs
	return slices.Clip(defs), nil
}

func loadFieldDefs(tx store.Reader, w *Workspace, object string) ([]FieldDef, error) {
	b, err := tx.Get(w.fieldsKey(object))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var defs []FieldDef
	return defs, decode(b, &defs)
}

// Fields manages the custom field definitions of a workspace.
type Fields struct{ w *Workspace }

// Fields returns the workspace's custom field definitions service.
func (w *Workspace) Fields() *Fields { return &Fields{w} }

// Define adds a custom field, or replaces the definition of an existing
// one. A field's type cannot change, and Unique or Indexed cannot be
// switched on for a field that already exists (remove it and define it
// again). The definition itself is validated: a bad pattern, options on a
// field that is not a select, a default that breaks the rules, etc. are
// reported as a *ValidationError.
func (f *Fields) Define(ctx context.Context, d FieldDef) (FieldDef, error) {
	p := problems{kind: "field"}
	if _, ok := customKinds[d.Object.name]; !ok {
		p.add("object", "%q has no custom fields (want one of contact, company, deal, activity, purchase)", d.Object)
	}
	if !fieldNameRE.MatchString(d.Name) {
		p.add("name", "%q must be a lower-case letter followed by up to 63 lower-case letters, digits or underscores", d.Name)
	}
	d.Label = cleanText(&p, "label", d.Label, maxShortText)
	switch d.Type {
	case FieldText, FieldNumber, FieldMoney, FieldDate, FieldBool, FieldURL, FieldEmail, FieldPhone:
		if len(d.Options) > 0 {
			p.add("options", "only select and multi_select fields have options")
		}
	case FieldSelect, FieldMultiSelect:
		if len(d.Options) == 0 {
			p.add("options", "a %s field needs options", d.Type)
		}
		seen := map[string]bool{}
		for i, o := range d.Options {
			d.Options[i] = cleanText(&p, fmt.Sprintf("options[%d]", i), o, maxShortText)
			if d.Options[i] == "" || seen[d.Options[i]] {
				p.add(fmt.Sprintf("options[%d]", i), "is empty or repeated")
			}
			seen[d.Options[i]] = true
		}
	default:
		p.add("type", "%q is not a field type", d.Type)
	}
	if d.Pattern != "" {
		if d.Type != FieldText {
			p.add("pattern", "only text fields have a pattern")
		} else if _, err := regexp.Compile(d.Pattern); err != nil {
			p.add("pattern", "is not a valid regular expression: %v", err)
		}
	}
	for _, b := range []struct {
		name  string
		limit *float64
	}{{"min", d.Min}, {"max", d.Max}} {
		if b.limit != nil && (math.IsNaN(*b.limit) || math.IsInf(*b.limit, 0)) {
			p.add(b.name, "must be a finite number")
		}
	}
	if d.Min != nil && d.Max != nil && *d.Min > *d.Max {
		p.add("min", "is above max")
	}
	if d.Default != nil && len(p.list) == 0 {
		cv, reason := convertValue(&d, d.Default)
		if reason != "" {
			p.add("default", "%s", reason)
		}
		d.Default = cv
	}
	if d.Unique && d.Type == FieldBool {
		p.add("unique", "a bool field cannot be unique")
	}
	if d.Searchable && !searchableType(d.Type) {
		p.add("searchable", "%s fields are not searched: text, select, multi_select, email, phone and url fields are", d.Type)
	} else if d.Searchable && !slices.Contains(searchKinds, d.Object.name) {
		p.add("searchable", "%ss are not searched: contacts, companies and deals are", d.Object)
	}
	if err := p.err(); err != nil {
		return FieldDef{}, err
	}
	_, err := f.w.write(ctx, func(t *txn) error {
		if err := t.checkWorkspace(); err != nil {
			return err
		}
		if _, err := t.may("workspace", ActionUpdate); err != nil {
			return err
		}
		defs, err := t.fieldDefs(d.Object.name)
		if err != nil {
			return err
		}
		searched := searchable(defs)
		i := slices.IndexFunc(defs, func(e FieldDef) bool { return e.Name == d.Name })
		if i < 0 {
			defs = append(defs, d)
		} else {
			old := defs[i]
			p := problems{kind: "field", id: d.Object.name + "." + d.Name}
			if old.Type != d.Type {
				p.add("type", "cannot change from %s to %s; remove the field and define it again", old.Type, d.Type)
			}
			if (d.Unique && !old.Unique) || (d.Indexed && !old.Indexed) {
				p.add("unique", "cannot index an existing field; remove the field and define it again")
			}
			if err := p.err(); err != nil {
				return err
			}
			if (old.Unique && !d.Unique) || (old.Indexed && !d.Indexed) {
				if err := t.dropFieldIndexes(d.Object.name, d.Name, old.Unique && !d.Unique, old.Indexed && !d.Indexed); err != nil {
					return err
				}
			}
			defs[i] = d
		}
		b, err := encode(&defs)
		if err != nil {
			return err
		}
		if err := t.setMeta(t.w.fieldsKey(d.Object.name), b); err != nil {
			return err
		}
		return t.resyncSearch(d.Object.name, searched, searchable(defs))
	})
	return d, err
}

// List streams the custom fields of an object kind, in definition order.
func (f *Fields) List(ctx context.Context, object Kind) iter.Seq2[FieldDef, error] {
	return listOf(ctx, f.w, func(tx store.Reader) ([]FieldDef, error) { return loadFieldDefs(tx, f.w, object.name) })
}

// Remove deletes a custom field definition and its index entries. Records
// keep their stored values until they are next written, when the value is
// dropped; reads skip nothing, so remove a field only when its values may
// go.
func (f *Fields) Remove(ctx context.Context, object Kind, name string) error {
	_, err := f.w.write(ctx, func(t *txn) error {
		if _, err := t.may("workspace", ActionUpdate); err != nil {
			return err
		}
		defs, err := t.fieldDefs(object.name)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(defs, func(e FieldDef) bool { return e.Name == name })
		if i < 0 {
			return notFound("field", object.name+"."+name)
		}
		if err := t.dropFieldIndexes(object.name, name, defs[i].Unique, defs[i].Indexed); err != nil {
			return err
		}
		searched := searchable(defs)
		defs = slices.Delete(defs, i, i+1)
		b, err := encode(&defs)
		if err != nil {
			return err
		}
		if err := t.setMeta(t.w.fieldsKey(object.name), b); err != nil {
			return err
		}
		return t.resyncSearch(object.name, searched, searchable(defs))
	})
	return err
}
