package crm

import (
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// recordFormat is the first byte of every stored value: the encoding's
// version. Version 1 is msgpack of the record's struct with explicit field
// tags; unknown fields are skipped on decode, so old and new code read each
// other's records.
const recordFormat byte = 1

func encode(v any) ([]byte, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("crm: encode %T: %w", v, err)
	}
	out := make([]byte, 1+len(b))
	out[0] = recordFormat
	copy(out[1:], b)
	return out, nil
}

func decode(b []byte, v any) error {
	if len(b) == 0 || b[0] != recordFormat {
		return fmt.Errorf("crm: decode %T: unknown record format", v)
	}
	if c, ok := v.(*Contact); ok {
		if err := decodeContact(b[1:], c); err != nil {
			return fmt.Errorf("crm: decode %T: %w", v, err)
		}
		return nil
	}
	if err := msgpack.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("crm: decode %T: %w", v, err)
	}
	utcTimes(reflect.ValueOf(v))
	return nil
}

// Marshal encodes v as the CRM stores values: a format byte, then msgpack
// of v (field names from its msgpack tags). Packages built on crm encode
// what they keep in their Space with it, so their values read back across
// versions as records do.
func Marshal(v any) ([]byte, error) { return encode(v) }

// Unmarshal decodes into v (a pointer) what Marshal encoded; times come
// back in UTC.
func Unmarshal(b []byte, v any) error { return decode(b, v) }

var timeType = reflect.TypeFor[time.Time]()

// utcTimes sets every time.Time reachable through structs, pointers and
// slices of v to UTC, because msgpack decodes times in the local zone.
func utcTimes(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			utcTimes(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == timeType {
			if v.CanSet() {
				t := v.Addr().Interface().(*time.Time)
				if !t.IsZero() {
					*t = t.UTC()
				}
			}
			return
		}
		for _, i := range timeFields(v.Type()) {
			utcTimes(v.Field(i))
		}
	case reflect.Slice:
		if len(timeFields(v.Type())) > 0 {
			for i := 0; i < v.Len(); i++ {
				utcTimes(v.Index(i))
			}
		}
	}
}

var timeFieldsCache sync.Map // reflect.Type -> []int

// timeFields returns, for a struct type, the indexes of the exported fields
// that can hold a time.Time; for a pointer or slice type, a non-empty list
// if its elements can. The answer is computed once per type.
func timeFields(t reflect.Type) []int {
	if v, ok := timeFieldsCache.Load(t); ok {
		return v.([]int)
	}
	var out []int
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		if hasTimes(t.Elem(), map[reflect.Type]bool{}) {
			out = []int{0}
		}
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() && hasTimes(f.Type, map[reflect.Type]bool{}) {
				out = append(out, i)
			}
		}
	}
	timeFieldsCache.Store(t, out)
	return out
}

// hasTimes reports whether values of t can hold a time.Time; seen cuts
// recursive types.
func hasTimes(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		return hasTimes(t.Elem(), seen)
	case reflect.Struct:
		if t == timeType {
			return true
		}
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() && hasTimes(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}
