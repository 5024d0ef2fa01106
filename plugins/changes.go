package plugins

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/plugins/proto"
)

// ChangeError is a field change the host refused: the field does not
// exist, the CRM owns it, the value does not fit, or the changed record
// fails the CRM's validation. It matches ErrMalformed (and not
// crm.ErrInvalid: the change is the plugin's failure, not the write's).
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

// schemaKinds are the record kinds whose custom fields checkCustom knows
// (those crm.ReadTx.Schema describes).
var schemaKinds = map[string]bool{"contact": true, "company": true, "deal": true}

// checkCustom checks the custom field changes of a record of kind against
// the workspace's custom field definitions, read in the write's
// transaction: a change of a field that is not defined, or to a value of
// another JSON type than the field's takes, is a *ChangeError. Clearing
// (null) is left to the CRM. Kinds without a schema are not checked.
func checkCustom(rt *crm.ReadTx, kind string, changes []*proto.FieldValue) error {
	var s *crm.Schema
	for _, c := range changes {
		name, sub, dotted := strings.Cut(c.Field, ".")
		if !dotted || name != "custom" || sub == "" || !schemaKinds[kind] {
			continue
		}
		if s == nil {
			k, err := kindOf(kind)
			if err != nil {
				return err
			}
			if s, err = rt.Schema(k); err != nil {
				return err
			}
		}
		t, ok := s.FieldType(c.Field)
		if !ok {
			return &ChangeError{Field: c.Field, Reason: "no such custom field"}
		}
		if got := jsonKind(c.Json); !fits(t, got) {
			return &ChangeError{Field: c.Field, Reason: fmt.Sprintf("a %s field does not take a JSON %s", t, got)}
		}
	}
	return nil
}

// jsonKind is the kind of a JSON value: "string", "number", "bool",
// "array", "object" or "null".
func jsonKind(v []byte) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "null"
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// fits reports whether a JSON value of kind k can be a value of a custom
// field of filter type t: plainly the wrong kind is refused, the finer
// rules (options, patterns, bounds) are left to the CRM.
func fits(t filter.Type, k string) bool {
	if k == "null" {
		return true
	}
	switch t {
	case filter.TypeText:
		return k == "string"
	case filter.TypeNumber:
		return k == "number" || k == "object" // money: an amount or a Money
	case filter.TypeBool:
		return k == "bool"
	case filter.TypeList:
		return k == "array"
	case filter.TypeDate:
		return k == "string" || k == "object" || k == "number"
	}
	return true
}
