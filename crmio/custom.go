package crmio

import (
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// customField is a custom field of the workspace: "custom.<name>".
func customField[T any](def crm.FieldDef, get func(*T) *crm.Custom) *field[T] {
	name := "custom." + def.Name
	aliases := []string{def.Name}
	if def.Label != "" {
		aliases = append(aliases, def.Label)
	}
	return &field[T]{
		name: name, aliases: aliases, paths: []string{name}, multi: def.Type == crm.FieldMultiSelect, object: def.Type == crm.FieldMoney,
		parse: func(rc *rowCtx, r *T, c cell) {
			v, ok := customValue(rc, def, c)
			if !ok {
				return
			}
			if *get(r) == nil {
				*get(r) = crm.Custom{}
			}
			if old, had := (*get(r))[def.Name].([]string); had && def.Type == crm.FieldMultiSelect {
				v = append(old, v.([]string)...)
			}
			(*get(r))[def.Name] = v
		},
		merge: func(dst, src *T, replace bool) {
			v, ok := (*get(src))[def.Name]
			if !ok {
				delete(*get(dst), def.Name)
				return
			}
			if *get(dst) == nil {
				*get(dst) = crm.Custom{}
			}
			if l, isList := v.([]string); isList && !replace {
				old, _ := (*get(dst))[def.Name].([]string)
				v = mergeStrings(old, l, false, strings.EqualFold)
			}
			(*get(dst))[def.Name] = v
		},
		export: func(_ *exportCtx, r *T) any { return (*get(r))[def.Name] },
	}
}

// customValue converts a cell to the Go type of a custom field.
func customValue(rc *rowCtx, def crm.FieldDef, c cell) (any, bool) {
	switch def.Type {
	case crm.FieldNumber:
		s, ok := rc.text(c)
		if !ok {
			return nil, false
		}
		f, err := parseFloat(s, rc.o.DecimalComma)
		if err != nil {
			rc.fail("%v", err)
			return nil, false
		}
		return f, true
	case crm.FieldMoney:
		m, ok := rc.money(c)
		return m, ok
	case crm.FieldDate:
		d, ok := rc.date(c)
		return d, ok
	case crm.FieldBool:
		b, ok := rc.bool(c)
		return b, ok
	case crm.FieldSelect:
		s, ok := rc.text(c)
		return matchOption(def.Options, s), ok
	case crm.FieldMultiSelect:
		list := rc.list(c)
		for i, s := range list {
			list[i] = matchOption(def.Options, s)
		}
		return list, true
	}
	s, ok := rc.text(c)
	if def.Type == crm.FieldEmail {
		s = strings.ToLower(s)
	}
	return s, ok
}

// matchOption returns the option that equals s ignoring case, or s.
func matchOption(options []string, s string) string {
	for _, o := range options {
		if strings.EqualFold(o, s) {
			return o
		}
	}
	return s
}
