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
	if err := msgpack.Unmarshal(b[1:], v); err != nil {
		return fmt.Errorf("crm: decode %T: %w", v, err)
	}
	utcTimes(reflect.ValueOf(v))
	return nil
}

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
				t := v.Interface().(time.Time)
				if !t.IsZero() {
					v.Set(reflect.ValueOf(t.UTC()))
				}
			}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if f := v.Field(i); hasTimes(f.Type()) {
				utcTimes(f)
			}
		}
	case reflect.Slice:
		if hasTimes(v.Type().Elem()) {
			for i := 0; i < v.Len(); i++ {
				utcTimes(v.Index(i))
			}
		}
	}
}

var hasTimesCache sync.Map // reflect.Type -> bool

// hasTimes reports whether values of t can hold a time.Time.
func hasTimes(t reflect.Type) bool {
	if v, ok := hasTimesCache.Load(t); ok {
		return v.(bool)
	}
	has := computeHasTimes(t)
	hasTimesCache.Store(t, has)
	return has
}

func computeHasTimes(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		return hasTimes(t.Elem())
	case reflect.Struct:
		if t == timeType {
			return true
		}
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() && hasTimes(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
