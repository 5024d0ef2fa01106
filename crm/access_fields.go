package crm

import (
	"maps"
	"reflect"
	"strings"
)

// Field rules name fields as filters do: msgpack names, dotted into
// nested values ("address.city") and custom fields ("custom.score").
// These helpers find such a field in a record by reflection, to check a
// rule names a real field and to blank hidden fields on the way out.

var kindTypes = map[string]reflect.Type{
	"contact":  reflect.TypeFor[Contact](),
	"company":  reflect.TypeFor[Company](),
	"deal":     reflect.TypeFor[Deal](),
	"activity": reflect.TypeFor[Activity](),
	"purchase": reflect.TypeFor[Purchase](),
}

// fieldPathExists reports whether records of kind have the field at path.
func fieldPathExists(kind string, path []string) bool {
	t, ok := kindTypes[kind]
	if !ok {
		return false
	}
	if path[0] == "custom" {
		return len(path) == 2 && path[1] != ""
	}
	for _, name := range path {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return false
		}
		f, ok := structField(t, name)
		if !ok {
			return false
		}
		t = f.Type
	}
	return true
}

// structField finds the field msgpack names name in t, looking into
// inlined structs (Meta).
func structField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("msgpack"), ",")
		if tag == "" && strings.Contains(opts, "inline") {
			if g, ok := structField(f.Type, name); ok {
				g.Index = append(append([]int{}, f.Index...), g.Index...)
				return g, true
			}
			continue
		}
		if tag == name && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// blankField sets the field at path of rec (a pointer to a record) to its
// zero value; a custom field is removed. Slices of structs have the field
// blanked in every element.
func blankField(rec any, path []string) {
	blankValue(reflect.ValueOf(rec).Elem(), path)
}

func blankValue(v reflect.Value, path []string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			blankValue(v.Elem(), path)
		}
		return
	case reflect.Slice:
		for i := range v.Len() {
			blankValue(v.Index(i), path)
		}
		return
	case reflect.Map:
		if v.Type() == reflect.TypeFor[Custom]() && len(path) == 1 && !v.IsNil() {
			// A copy: the caller may share the map.
			c := maps.Clone(v.Interface().(Custom))
			delete(c, path[0])
			v.Set(reflect.ValueOf(c))
		}
		return
	case reflect.Struct:
	default:
		return
	}
	f, ok := structField(v.Type(), path[0])
	if !ok {
		return
	}
	fv := v.FieldByIndex(f.Index)
	if len(path) == 1 {
		fv.Set(reflect.Zero(fv.Type()))
		return
	}
	blankValue(fv, path[1:])
}

// fieldCovers reports whether a change of the field named name (as diff
// names it: "amount", "address.city", "custom.score", "emails[1]")
// touches the field at path or is inside it.
func fieldCovers(path []string, name string) bool {
	rule := strings.Join(path, ".")
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	return name == rule || strings.HasPrefix(name, rule+".") || strings.HasPrefix(rule, name+".")
}

// fieldValues returns the values of the field at path in rec (a pointer
// to a record), one per element of the slices on the way; a write may
// set a restricted field only by leaving these unchanged.
func fieldValues(rec any, path []string) []any {
	return appendValues(nil, reflect.ValueOf(rec).Elem(), path)
}

func appendValues(out []any, v reflect.Value, path []string) []any {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return append(out, nil)
		}
		return appendValues(out, v.Elem(), path)
	case reflect.Slice:
		if len(path) == 0 {
			break
		}
		for i := range v.Len() {
			out = appendValues(out, v.Index(i), path)
		}
		return out
	case reflect.Map:
		if c, ok := v.Interface().(Custom); ok && len(path) == 1 {
			return append(out, c[path[0]])
		}
	case reflect.Struct:
		if len(path) > 0 {
			f, ok := structField(v.Type(), path[0])
			if !ok {
				return out
			}
			return appendValues(out, v.FieldByIndex(f.Index), path[1:])
		}
	}
	if len(path) > 0 {
		return out
	}
	return append(out, v.Interface())
}
