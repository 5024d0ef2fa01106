package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/vmihailenco/msgpack/v5"
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
	// Object is the record kind the field belongs to: "contact",
	// "company", "deal", "activity" or "purchase".
	Object string `msgpack:"object" json:"object"`
	// Name is the key in the record's Custom map: a lower-case letter
	// followed by up to 63 lower-case letters, digits or underscores.
	Name  string    `msgpack:"name" json:"name"`
	Label string    `msgpack:"label,omitempty" json:"label,omitempty"`
	Type  FieldType `msgpack:"type" json:"type"`
	// Required fields must have a value on create, and once set cannot be
	// cleared.
	Required bool `msgpack:"required,omitempty" json:"required,omitempty"`
	// Unique fields hold a different value in every record of the
	// workspace (text compares case-insensitively).
	Unique bool `msgpack:"unique,omitempty" json:"unique,omitempty"`
	// Indexed fields are indexed for segments and lookups.
	Indexed bool `msgpack:"indexed,omitempty" json:"indexed,omitempty"`
	// Default is stored when a record is created without the field.
	Default any `msgpack:"default,omitempty" json:"default,omitempty"`
	// Pattern is a regular expression (RE2) text values must match.
	Pattern string `msgpack:"pattern,omitempty" json:"pattern,omitempty"`
	// Min and Max bound numbers, money amounts, and the length of text.
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

// Value tags in the stored form of Custom.
const (
	cvString byte = 's'
	cvNumber byte = 'n'
	cvBool   byte = 'b'
	cvMoney  byte = 'm'
	cvDate   byte = 'd'
	cvList   byte = 'l'
)

// EncodeMsgpack stores each value with its type, so values read back with
// the exact Go type they were written with.
func (c Custom) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeMapLen(len(c)); err != nil {
		return err
	}
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := e.EncodeString(n); err != nil {
			return err
		}
		var err error
		switch v := c[n].(type) {
		case string:
			err = e.Encode([]any{cvString, v})
		case float64:
			err = e.Encode([]any{cvNumber, v})
		case bool:
			err = e.Encode([]any{cvBool, v})
		case Money:
			err = e.Encode([]any{cvMoney, v.Amount, v.Currency})
		case Date:
			err = e.Encode([]any{cvDate, v})
		case []string:
			err = e.Encode([]any{cvList, v})
		default:
			err = fmt.Errorf("crm: custom field %s: cannot store %T", n, v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack reads values stored by EncodeMsgpack.
func (c *Custom) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := d.DecodeMapLen()
	if err != nil {
		return err
	}
	if n <= 0 {
		*c = nil
		return nil
	}
	out := make(Custom, n)
	for i := 0; i < n; i++ {
		name, err := d.DecodeString()
		if err != nil {
			return err
		}
		if _, err := d.DecodeArrayLen(); err != nil {
			return err
		}
		tag, err := d.DecodeUint8()
		if err != nil {
			return err
		}
		switch tag {
		case cvString:
			out[name], err = d.DecodeString()
		case cvNumber:
			out[name], err = d.DecodeFloat64()
		case cvBool:
			out[name], err = d.DecodeBool()
		case cvMoney:
			var m Money
			if m.Amount, err = d.DecodeInt64(); err == nil {
				m.Currency, err = d.DecodeString()
			}
			out[name] = m
		case cvDate:
			var dt Date
			err = dt.DecodeMsgpack(d)
			out[name] = dt
		case cvList:
			var l []string
			err = d.Decode(&l)
			out[name] = l
		default:
			err = d.Skip()
		}
		if err != nil {
			return err
		}
	}
	*c = out
	return nil
}

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

// checkCustom validates and converts custom values against the object's
// definitions, and fills in defaults on create. old is the stored record's
// custom values (nil on create): a value of a field that has since been
// removed is dropped if it is unchanged, and refused if it is new.
func (t *txn) checkCustom(object string, c *Custom, old Custom, p *problems) error {
	defs, err := t.fieldDefs(object)
	if err != nil {
		return err
	}
	creating := p.id == ""
	byName := make(map[string]*FieldDef, len(defs))
	for i := range defs {
		byName[defs[i].Name] = &defs[i]
	}
	for name, v := range *c {
		d := byName[name]
		if d == nil {
			if ov, had := old[name]; had && equalValues(ov, v) {
				delete(*c, name)
				continue
			}
			p.add("custom."+name, "unknown field")
			continue
		}
		if isEmptyValue(v) {
			delete(*c, name)
			continue
		}
		cv, reason := convertValue(d, v)
		if reason != "" {
			p.add("custom."+name, "%s", reason)
			continue
		}
		(*c)[name] = cv
	}
	for i := range defs {
		d := &defs[i]
		if _, ok := (*c)[d.Name]; ok {
			continue
		}
		if creating && d.Default != nil {
			if cv, reason := convertValue(d, d.Default); reason == "" {
				if *c == nil {
					*c = Custom{}
				}
				(*c)[d.Name] = cv
				continue
			}
		}
		if _, had := old[d.Name]; d.Required && (creating || had) {
			p.add("custom."+d.Name, "is required")
		}
	}
	return nil
}

func isEmptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(v) == ""
	case []string:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// convertValue converts v to the canonical type of d and checks d's rules.
// It returns a reason when v is not acceptable.
func convertValue(d *FieldDef, v any) (any, string) {
	switch d.Type {
	case FieldText, FieldSelect, FieldURL, FieldEmail, FieldPhone:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Sprintf("want text, got %T", v)
		}
		var p problems
		switch d.Type {
		case FieldText:
			s = cleanText(&p, "", s, maxLongText)
		case FieldURL:
			s = cleanURL(&p, "", s)
		case FieldEmail:
			s = cleanEmail(&p, "", s)
		case FieldPhone:
			s = cleanPhone(&p, "", s)
		case FieldSelect:
			s = strings.TrimSpace(s)
			if !slices.Contains(d.Options, s) {
				return nil, fmt.Sprintf("%q is not one of %s", s, strings.Join(d.Options, ", "))
			}
		}
		if len(p.list) > 0 {
			return nil, p.list[0].Reason
		}
		if d.Pattern != "" {
			if re, err := regexp.Compile(d.Pattern); err == nil && !re.MatchString(s) {
				return nil, fmt.Sprintf("%q does not match %s", s, d.Pattern)
			}
		}
		if r := checkBounds(d, float64(len([]rune(s))), "length"); r != "" {
			return nil, r
		}
		return s, ""
	case FieldNumber:
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Sprintf("want a number, got %T", v)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, "must be a finite number"
		}
		return f, checkBounds(d, f, "value")
	case FieldMoney:
		var m Money
		switch x := v.(type) {
		case Money:
			m = x
		case map[string]any:
			a, ok1 := toFloat(x["amount"])
			c, ok2 := x["currency"].(string)
			if !ok1 || !ok2 || a != math.Trunc(a) {
				return nil, "want {amount: integer minor units, currency: code}"
			}
			m = Money{Amount: int64(a), Currency: c}
		default:
			return nil, fmt.Sprintf("want money, got %T", v)
		}
		var p problems
		m = checkMoney(&p, "", m, "", true)
		if m.Currency == "" || len(p.list) > 0 {
			return nil, "want an amount with an ISO-4217 currency"
		}
		return m, checkBounds(d, float64(m.Amount), "amount")
	case FieldDate:
		var dt Date
		switch x := v.(type) {
		case Date:
			dt = x
		case time.Time:
			dt = DateOf(x)
		case string:
			var err error
			if dt, err = ParseDate(strings.TrimSpace(x)); err != nil {
				return nil, fmt.Sprintf("%q is not a date (YYYY-MM-DD)", x)
			}
		default:
			return nil, fmt.Sprintf("want a date, got %T", v)
		}
		if !dt.valid() {
			return nil, fmt.Sprintf("date must be between %d and %d", minYear, maxYear)
		}
		return dt, ""
	case FieldBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Sprintf("want true or false, got %T", v)
		}
		return b, ""
	case FieldMultiSelect:
		var list []string
		switch x := v.(type) {
		case []string:
			list = slices.Clone(x)
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Sprintf("want a list of text, got an element of type %T", e)
				}
				list = append(list, s)
			}
		default:
			return nil, fmt.Sprintf("want a list of text, got %T", v)
		}
		for i, s := range list {
			list[i] = strings.TrimSpace(s)
			if !slices.Contains(d.Options, list[i]) {
				return nil, fmt.Sprintf("%q is not one of %s", s, strings.Join(d.Options, ", "))
			}
		}
		slices.Sort(list)
		return slices.Compact(list), ""
	}
	return nil, fmt.Sprintf("field type %q is not supported", d.Type)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func checkBounds(d *FieldDef, f float64, what string) string {
	if d.Min != nil && f < *d.Min {
		return fmt.Sprintf("%s %v is below the minimum %v", what, f, *d.Min)
	}
	if d.Max != nil && f > *d.Max {
		return fmt.Sprintf("%s %v is above the maximum %v", what, f, *d.Max)
	}
	return ""
}

// customIndexes appends the index entries of a record's unique and indexed
// custom fields.
func (t *txn) customIndexes(object string, code byte, id string, c Custom, ix []indexEntry) ([]indexEntry, error) {
	if len(c) == 0 {
		return ix, nil
	}
	defs, err := t.fieldDefs(object)
	if err != nil {
		return nil, err
	}
	for i := range defs {
		d := &defs[i]
		v, ok := c[d.Name]
		if !ok || !(d.Unique || d.Indexed) {
			continue
		}
		field := "custom." + d.Name
		vals := []any{v}
		if l, ok := v.([]string); ok {
			vals = vals[:0]
			for _, s := range l {
				vals = append(vals, s)
			}
		}
		for _, v := range vals {
			if d.Unique {
				ix = append(ix, uniqueEntry(field, appendValueKey(t.w.uniqueKey(code, field), v), id))
			}
			if d.Indexed {
				ix = append(ix, plainEntry(field, appendValueKey(t.w.indexKey(code, field), v), id))
			}
		}
	}
	return ix, nil
}

// appendValueKey appends an order-preserving encoding of a field value.
// Text is folded to lower case, so uniqueness and lookups ignore case.
func appendValueKey(k key, v any) key {
	switch x := v.(type) {
	case string:
		return k.str(strings.ToLower(x))
	case float64:
		bits := math.Float64bits(x)
		if x >= 0 {
			bits ^= 1 << 63
		} else {
			bits = ^bits
		}
		return k.uint(bits)
	case bool:
		if x {
			return k.byte(1)
		}
		return k.byte(0)
	case Money:
		return k.str(x.Currency).int(x.Amount)
	case Date:
		return k.int(int64(x.Year*10000 + int(x.Month)*100 + x.Day))
	}
	return k.str(fmt.Sprint(v))
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
	d.Object = strings.TrimSpace(d.Object)
	if _, ok := customKinds[d.Object]; !ok {
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
	if err := p.err(); err != nil {
		return FieldDef{}, err
	}
	_, err := f.w.write(ctx, func(t *txn) error {
		if err := t.checkWorkspace(); err != nil {
			return err
		}
		defs, err := t.fieldDefs(d.Object)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(defs, func(e FieldDef) bool { return e.Name == d.Name })
		if i < 0 {
			defs = append(defs, d)
		} else {
			old := defs[i]
			p := problems{kind: "field", id: d.Object + "." + d.Name}
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
				if err := t.dropFieldIndexes(d.Object, d.Name, old.Unique && !d.Unique, old.Indexed && !d.Indexed); err != nil {
					return err
				}
			}
			defs[i] = d
		}
		b, err := encode(&defs)
		if err != nil {
			return err
		}
		return t.setMeta(t.w.fieldsKey(d.Object), b)
	})
	return d, err
}

// List returns the custom fields of an object kind, in definition order.
func (f *Fields) List(ctx context.Context, object string) ([]FieldDef, error) {
	var defs []FieldDef
	err := f.w.read(ctx, func(tx store.Tx) error {
		var err error
		defs, err = loadFieldDefs(tx, f.w, object)
		return err
	})
	return defs, err
}

// Remove deletes a custom field definition and its index entries. Records
// keep their stored values until they are next written, when the value is
// dropped; reads skip nothing, so remove a field only when its values may
// go.
func (f *Fields) Remove(ctx context.Context, object, name string) error {
	_, err := f.w.write(ctx, func(t *txn) error {
		defs, err := t.fieldDefs(object)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(defs, func(e FieldDef) bool { return e.Name == name })
		if i < 0 {
			return notFound("field", object+"."+name)
		}
		if err := t.dropFieldIndexes(object, name, defs[i].Unique, defs[i].Indexed); err != nil {
			return err
		}
		defs = slices.Delete(defs, i, i+1)
		b, err := encode(&defs)
		if err != nil {
			return err
		}
		return t.setMeta(t.w.fieldsKey(object), b)
	})
	return err
}

func (t *txn) dropFieldIndexes(object, name string, unique, indexed bool) error {
	code := customKinds[object]
	if unique {
		if err := deleteRange(t.tx, t.w.uniqueKey(code, "custom."+name)); err != nil {
			return err
		}
	}
	if indexed {
		return deleteRange(t.tx, t.w.indexKey(code, "custom."+name))
	}
	return nil
}
