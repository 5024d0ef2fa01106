package crmio

import (
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// field is one importable and exportable field of an object type: a
// column name, the header names it is guessed from, how a cell is parsed
// into a record, how a parsed value is merged into a stored record on
// update, and how it is written on export.
type field[T any] struct {
	name    string
	aliases []string
	// paths are the crm validation field names the field feeds, so a
	// *crm.ValidationError can be mapped back to the source column.
	paths []string
	// multi fields (lists) may be fed by several columns.
	multi bool
	// late fields are parsed after the others of the row (they depend on
	// them).
	late bool
	// readOnly fields are exported but not imported.
	readOnly bool
	// noExport fields are imported but not exported.
	noExport bool
	// object fields take a JSON object as one value (amounts, external
	// IDs); other fields bound to a key holding an object are skipped in
	// favour of the object's own keys ("address": {"city": ...}).
	object bool
	parse  func(rc *rowCtx, r *T, c cell)
	// merge copies the parsed value from src into the stored record dst.
	// replace is ImportOptions.Overwrite: lists are replaced instead of
	// extended.
	merge  func(dst, src *T, replace bool)
	export func(x *exportCtx, r *T) any
}

// Field constructors. Each takes the column name, an accessor to the
// record's field and the header aliases it is guessed from.

func textField[T any](name string, get func(*T) *string, aliases ...string) *field[T] {
	return &field[T]{
		name: name, aliases: aliases, paths: []string{name},
		parse: func(rc *rowCtx, r *T, c cell) {
			if s, ok := rc.text(c); ok {
				*get(r) = s
			}
		},
		merge:  func(dst, src *T, _ bool) { *get(dst) = *get(src) },
		export: func(_ *exportCtx, r *T) any { return *get(r) },
	}
}

func listField[T any](name string, get func(*T) *[]string, aliases ...string) *field[T] {
	return &field[T]{
		name: name, aliases: aliases, paths: []string{name}, multi: true,
		parse: func(rc *rowCtx, r *T, c cell) {
			*get(r) = append(*get(r), rc.list(c)...)
		},
		merge: func(dst, src *T, replace bool) {
			*get(dst) = mergeStrings(*get(dst), *get(src), replace, strings.EqualFold)
		},
		export: func(_ *exportCtx, r *T) any { return *get(r) },
	}
}

func dateField[T any](name string, get func(*T) *crm.Date, aliases ...string) *field[T] {
	return &field[T]{
		name: name, aliases: aliases, paths: []string{name},
		parse: func(rc *rowCtx, r *T, c cell) {
			if d, ok := rc.date(c); ok {
				*get(r) = d
			}
		},
		merge: func(dst, src *T, _ bool) { *get(dst) = *get(src) },
		export: func(_ *exportCtx, r *T) any {
			if get(r).IsZero() {
				return nil
			}
			return *get(r)
		},
	}
}

func timeField[T any](name string, get func(*T) *time.Time, aliases ...string) *field[T] {
	return &field[T]{
		name: name, aliases: aliases, paths: []string{name},
		parse: func(rc *rowCtx, r *T, c cell) {
			if t, ok := rc.time(c); ok {
				*get(r) = t
			}
		},
		merge:  func(dst, src *T, _ bool) { *get(dst) = *get(src) },
		export: func(_ *exportCtx, r *T) any { return *get(r) },
	}
}

// stampField is a time the CRM sets: exported, never imported.
func stampField[T any](name string, get func(*T) time.Time) *field[T] {
	return &field[T]{name: name, readOnly: true, export: func(_ *exportCtx, r *T) any { return get(r) }}
}

func moneyField[T any](name string, get func(*T) *crm.Money, aliases ...string) *field[T] {
	return &field[T]{
		name: name, aliases: aliases, paths: []string{name}, object: true,
		parse: func(rc *rowCtx, r *T, c cell) {
			if m, ok := rc.money(c); ok {
				*get(r) = m
			}
		},
		merge:  func(dst, src *T, _ bool) { *get(dst) = *get(src) },
		export: func(_ *exportCtx, r *T) any { return *get(r) },
	}
}

func intField[T any](name string, get func(*T) *int64, aliases ...string) *field[T] {
	return &field[T]{
		name: name, aliases: aliases, paths: []string{name},
		parse: func(rc *rowCtx, r *T, c cell) {
			if n, ok := rc.int(c); ok {
				*get(r) = n
			}
		},
		merge: func(dst, src *T, _ bool) { *get(dst) = *get(src) },
		export: func(_ *exportCtx, r *T) any {
			if *get(r) == 0 {
				return nil
			}
			return *get(r)
		},
	}
}

func boolField[T any](name string, get func(*T) *bool, aliases ...string) *field[T] {
	return &field[T]{
		name: name, aliases: aliases, paths: []string{name},
		parse: func(rc *rowCtx, r *T, c cell) {
			if b, ok := rc.bool(c); ok {
				*get(r) = b
			}
		},
		merge: func(dst, src *T, _ bool) { *get(dst) = *get(src) },
		export: func(_ *exportCtx, r *T) any {
			if !*get(r) {
				return nil
			}
			return true
		},
	}
}

func durationField[T any](name string, get func(*T) *time.Duration, aliases ...string) *field[T] {
	return &field[T]{
		name: name, aliases: aliases, paths: []string{name},
		parse: func(rc *rowCtx, r *T, c cell) {
			s, ok := rc.text(c)
			if !ok {
				return
			}
			d, err := parseDuration(s)
			if err != nil {
				rc.fail("%v", err)
				return
			}
			*get(r) = d
		},
		merge:  func(dst, src *T, _ bool) { *get(dst) = *get(src) },
		export: func(_ *exportCtx, r *T) any { return *get(r) },
	}
}

// emailsField reads email addresses as written: the CRM normalises them
// (crm.NormalizeEmail) and compares them by crm.EmailKey.
func emailsField[T any](name string, get func(*T) *[]string, aliases ...string) *field[T] {
	return listField(name, get, aliases...)
}

// emailKey is how crmio tells two spellings of an address apart, as the
// CRM does; text that is not an address keys as itself, lower-cased.
func emailKey(s string) string {
	if k, err := crm.EmailKey(s); err == nil {
		return k
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// phonesField reads "number (label)" items.
func phonesField[T any](name string, get func(*T) *[]crm.Phone, label string, aliases ...string) *field[T] {
	return &field[T]{
		name: name, aliases: aliases, paths: []string{"phones"}, multi: true, noExport: label != "",
		parse: func(rc *rowCtx, r *T, c cell) {
			for _, s := range rc.list(c) {
				p := splitPhone(s)
				if p.Label == "" {
					p.Label = label
				}
				*get(r) = append(*get(r), p)
			}
		},
		merge: func(dst, src *T, replace bool) {
			if replace {
				*get(dst) = nil
			}
			for _, p := range *get(src) {
				if !slices.ContainsFunc(*get(dst), func(q crm.Phone) bool { return samePhone(q, p) }) {
					*get(dst) = append(*get(dst), p)
				}
			}
		},
		export: func(_ *exportCtx, r *T) any {
			out := make([]string, len(*get(r)))
			for i, p := range *get(r) {
				out[i] = formatPhone(p)
			}
			return out
		},
	}
}

// samePhone reports whether a stored phone and one read from a file are
// one number: the same text, or the same E.164 form where the file's
// names its country (as exports write a number: formatPhone).
func samePhone(stored, in crm.Phone) bool {
	if stored.Number == in.Number {
		return true
	}
	p, err := crm.ParsePhone(in.Number, in.Region)
	return err == nil && stored.E164 != "" && p.E164 == stored.E164 && p.Extension == stored.Extension
}

// externalIDsField reads "system:id" items (a JSON object in JSON Lines).
func externalIDsField[T any](get func(*T) *map[string]string) *field[T] {
	return &field[T]{
		name: "external_ids", aliases: []string{"external_ids"}, paths: []string{"external_ids"}, multi: true, object: true,
		parse: func(rc *rowCtx, r *T, c cell) {
			m := *get(r)
			if m == nil {
				m = map[string]string{}
			}
			if c.kind == cObject {
				for sys, v := range c.obj {
					m[strings.ToLower(sys)] = jsonCell(v).text()
				}
			} else {
				for _, item := range rc.list(c) {
					sys, id, ok := strings.Cut(item, ":")
					if !ok || strings.TrimSpace(sys) == "" || strings.TrimSpace(id) == "" {
						rc.fail("%q is not system:id", item)
						continue
					}
					m[strings.ToLower(strings.TrimSpace(sys))] = strings.TrimSpace(id)
				}
			}
			*get(r) = m
		},
		merge: func(dst, src *T, replace bool) {
			if replace || *get(dst) == nil {
				*get(dst) = map[string]string{}
			}
			for k, v := range *get(src) {
				(*get(dst))[k] = v
			}
		},
		export: func(_ *exportCtx, r *T) any { return *get(r) },
	}
}

// externalIDField is one system's ID in its own column:
// "external_id.<system>".
func externalIDField[T any](system string, get func(*T) *map[string]string) *field[T] {
	system = strings.ToLower(system)
	return &field[T]{
		name: "external_id." + system, paths: []string{"external_ids." + system},
		parse: func(rc *rowCtx, r *T, c cell) {
			s, ok := rc.text(c)
			if !ok || s == "" {
				return
			}
			if *get(r) == nil {
				*get(r) = map[string]string{}
			}
			(*get(r))[system] = s
		},
		merge: func(dst, src *T, _ bool) {
			v, ok := (*get(src))[system]
			if !ok {
				delete(*get(dst), system)
				return
			}
			if *get(dst) == nil {
				*get(dst) = map[string]string{}
			}
			(*get(dst))[system] = v
		},
	}
}

// addressFields are the five parts of an address.
func addressFields[T any](get func(*T) *crm.Address) []*field[T] {
	return []*field[T]{
		textField("address.street", func(r *T) *string { return &get(r).Street }, "street", "address", "street_address", "address_1", "address_line_1", "address1"),
		textField("address.city", func(r *T) *string { return &get(r).City }, "city", "town"),
		textField("address.region", func(r *T) *string { return &get(r).Region }, "region", "state", "province", "county", "state_region", "state_province"),
		textField("address.postal_code", func(r *T) *string { return &get(r).PostalCode }, "postal_code", "zip", "zip_code", "postcode", "post_code", "zipcode"),
		textField("address.country", func(r *T) *string { return &get(r).Country }, "country", "country_code"),
	}
}

// mergeStrings adds the items of src missing from dst, or replaces dst.
func mergeStrings(dst, src []string, replace bool, eq func(a, b string) bool) []string {
	if replace {
		return slices.Clone(src)
	}
	out := slices.Clone(dst)
	for _, s := range src {
		if !slices.ContainsFunc(out, func(d string) bool { return eq(d, s) }) {
			out = append(out, s)
		}
	}
	return out
}
