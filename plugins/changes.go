package plugins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/crmkit/crmkit/plugins/proto"
)

// ChangeError is a field change the host refused: the field does not
// exist, the CRM owns it, or the value does not fit. It matches
// ErrMalformed.
type ChangeError struct {
	Field  string
	Reason string
}

func (e *ChangeError) Error() string { return fmt.Sprintf("plugins: field %s: %s", e.Field, e.Reason) }

// Is reports whether target is ErrMalformed.
func (e *ChangeError) Is(target error) bool { return target == ErrMalformed }

// crmOwned are the JSON fields of crm.Meta: identity and audit stamps
// nobody but the CRM sets.
var crmOwned = map[string]bool{
	"id": true, "version": true, "created_at": true, "updated_at": true,
	"created_by": true, "updated_by": true, "deleted_at": true,
}

// applyChanges sets fields of r, named by their JSON names ("name",
// "custom.score") to JSON values, through r's JSON form. r is changed only
// if every change applies.
func applyChanges[T any](r *T, changes []*proto.FieldValue) error {
	if len(changes) == 0 {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	known := jsonFields(reflect.TypeFor[T]())
	var custom map[string]json.RawMessage
	for _, c := range changes {
		if !json.Valid(c.Json) {
			return &ChangeError{Field: c.Field, Reason: "value is not valid JSON"}
		}
		name, sub, dotted := strings.Cut(c.Field, ".")
		switch {
		case dotted && name == "custom" && known["custom"] && sub != "":
			if custom == nil {
				custom = map[string]json.RawMessage{}
				if raw, ok := m["custom"]; ok && !bytes.Equal(raw, []byte("null")) {
					if err := json.Unmarshal(raw, &custom); err != nil {
						return err
					}
				}
			}
			if bytes.Equal(c.Json, []byte("null")) {
				delete(custom, sub)
			} else {
				custom[sub] = c.Json
			}
		case dotted || !known[c.Field]:
			return &ChangeError{Field: c.Field, Reason: "no such field"}
		case crmOwned[c.Field]:
			return &ChangeError{Field: c.Field, Reason: "is set by the CRM"}
		default:
			m[c.Field] = c.Json
		}
	}
	if custom != nil {
		if m["custom"], err = json.Marshal(custom); err != nil {
			return err
		}
	}
	if b, err = json.Marshal(m); err != nil {
		return err
	}
	out := new(T)
	if err := json.Unmarshal(b, out); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &ChangeError{Field: te.Field, Reason: "wants a JSON " + te.Type.Kind().String() + ", not " + te.Value}
		}
		return &ChangeError{Field: "record", Reason: err.Error()}
	}
	*r = *out
	return nil
}

var fieldsCache sync.Map // reflect.Type -> map[string]bool

// jsonFields returns the JSON names of a struct's fields, with embedded
// structs' fields flattened as encoding/json does.
func jsonFields(t reflect.Type) map[string]bool {
	if v, ok := fieldsCache.Load(t); ok {
		return v.(map[string]bool)
	}
	out := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			name, _, _ := strings.Cut(tag, ",")
			switch {
			case name == "-" || !f.IsExported():
			case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
				walk(f.Type)
			case name == "":
				out[f.Name] = true
			default:
				out[name] = true
			}
		}
	}
	walk(t)
	fieldsCache.Store(t, out)
	return out
}
