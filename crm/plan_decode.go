package crm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/vmihailenco/msgpack/v5"
)

// Filters over many records read few of each record's fields. A partial
// codec decodes only those: it walks the record's msgpack map, skips the
// values of other keys without decoding them, and decodes the values of
// the keys a filter reads (and the ID and deletion time) into a record of the kind, text and
// times by hand and anything else with msgpack. A record read this way is
// only evaluated, never returned.
type partialCodec struct {
	full  reflect.Type
	slots map[string]slot // msgpack key -> field
}

type slot struct {
	path []int
	kind byte // 's' string, 't' time.Time, 'v' anything else
}

var partialCodecs sync.Map // string -> *partialCodec

// partialFor returns the codec of full (Contact, Company or Deal) for the
// msgpack keys keys.
func partialFor(full reflect.Type, keys []string) *partialCodec {
	id := full.Name() + ":" + strings.Join(keys, ",")
	if pc, ok := partialCodecs.Load(id); ok {
		return pc.(*partialCodec)
	}
	pc := &partialCodec{full: full, slots: map[string]slot{}}
	add := func(f reflect.StructField, path []int) {
		k := byte('v')
		switch {
		case f.Type.Kind() == reflect.String:
			k = 's'
		case f.Type == timeType:
			k = 't'
		}
		pc.slots[fieldName(f)] = slot{path: path, kind: k}
	}
	for i := 0; i < full.NumField(); i++ {
		f := full.Field(i)
		if f.Anonymous && f.Type == reflect.TypeFor[Meta]() {
			for j := 0; j < f.Type.NumField(); j++ {
				// The ID and deletion always; other stamps when read.
				if mf := f.Type.Field(j); mf.Name == "ID" || mf.Name == "DeletedAt" || slices.Contains(keys, fieldName(mf)) {
					add(mf, []int{i, j})
				}
			}
			continue
		}
		if slices.Contains(keys, fieldName(f)) {
			add(f, []int{i})
		}
	}
	partialCodecs.Store(id, pc)
	return pc
}

var errMsgpack = errors.New("crm: malformed record encoding")

// decode reads the codec's fields of an encoded record into a new record.
func (pc *partialCodec) decode(b []byte) (any, error) {
	if len(b) == 0 || b[0] != recordFormat {
		return nil, fmt.Errorf("crm: decode %s: unknown record format", pc.full.Name())
	}
	b = b[1:]
	n, b, err := mapLen(b)
	if err != nil {
		return nil, err
	}
	out := reflect.New(pc.full)
	rec := out.Elem()
	for range n {
		var k []byte
		if k, b, err = strBytes(b); err != nil {
			return nil, err
		}
		sl, want := pc.slots[string(k)]
		val := b
		if b, err = skipValue(b); err != nil {
			return nil, err
		}
		if !want {
			continue
		}
		val = val[:len(val)-len(b)]
		f := rec.FieldByIndex(sl.path)
		switch {
		case val[0] == 0xc0: // nil
		case sl.kind == 's' && isStr(val[0]):
			s, _, err := strBytes(val)
			if err != nil {
				return nil, err
			}
			f.SetString(string(s))
		case sl.kind == 't' && timeExt(val, f):
		default:
			if err := msgpack.Unmarshal(val, f.Addr().Interface()); err != nil {
				return nil, fmt.Errorf("crm: decode %s.%s: %w", pc.full.Name(), k, err)
			}
			utcTimes(f)
		}
	}
	return out.Interface(), nil
}

func isStr(c byte) bool { return c >= 0xa0 && c <= 0xbf || c >= 0xd9 && c <= 0xdb }

// timeExt decodes msgpack's timestamp extension (type -1) into f.
func timeExt(b []byte, f reflect.Value) bool {
	t, ok := extTime(b)
	if ok {
		f.Set(reflect.ValueOf(t.UTC()))
	}
	return ok
}

// extTime decodes msgpack's timestamp extension (type -1), one value.
func extTime(b []byte) (time.Time, bool) {
	var sec, nsec uint64
	switch {
	case len(b) == 6 && b[0] == 0xd6 && b[1] == 0xff:
		sec = uint64(binary.BigEndian.Uint32(b[2:]))
	case len(b) == 10 && b[0] == 0xd7 && b[1] == 0xff:
		v := binary.BigEndian.Uint64(b[2:])
		nsec, sec = v>>34, v&(1<<34-1)
	case len(b) == 15 && b[0] == 0xc7 && b[1] == 12 && b[2] == 0xff:
		nsec, sec = uint64(binary.BigEndian.Uint32(b[3:])), binary.BigEndian.Uint64(b[7:])
	default:
		return time.Time{}, false
	}
	return time.Unix(int64(sec), int64(nsec)), true
}

func need(b []byte, n int) error {
	if len(b) < n {
		return errMsgpack
	}
	return nil
}

// mapLen reads a map header.
func mapLen(b []byte) (int, []byte, error) {
	if err := need(b, 1); err != nil {
		return 0, nil, err
	}
	switch c := b[0]; {
	case c >= 0x80 && c <= 0x8f:
		return int(c & 0x0f), b[1:], nil
	case c == 0xde && len(b) >= 3:
		return int(binary.BigEndian.Uint16(b[1:])), b[3:], nil
	case c == 0xdf && len(b) >= 5:
		return int(binary.BigEndian.Uint32(b[1:])), b[5:], nil
	}
	return 0, nil, errMsgpack
}

// strBytes reads a string, returning its bytes (not copied).
func strBytes(b []byte) ([]byte, []byte, error) {
	if err := need(b, 1); err != nil {
		return nil, nil, err
	}
	var n, h int
	switch c := b[0]; {
	case c >= 0xa0 && c <= 0xbf:
		n, h = int(c&0x1f), 1
	case c == 0xd9 && len(b) >= 2:
		n, h = int(b[1]), 2
	case c == 0xda && len(b) >= 3:
		n, h = int(binary.BigEndian.Uint16(b[1:])), 3
	case c == 0xdb && len(b) >= 5:
		n, h = int(binary.BigEndian.Uint32(b[1:])), 5
	default:
		return nil, nil, errMsgpack
	}
	if len(b) < h+n {
		return nil, nil, errMsgpack
	}
	return b[h : h+n], b[h+n:], nil
}

// skipValue returns b after one msgpack value.
func skipValue(b []byte) ([]byte, error) {
	for items := 1; items > 0; items-- {
		if err := need(b, 1); err != nil {
			return nil, err
		}
		c := b[0]
		size, extra := 1, 0 // bytes to skip; items to add
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
		case c >= 0x80 && c <= 0x8f:
			extra = 2 * int(c&0x0f)
		case c >= 0x90 && c <= 0x9f:
			extra = int(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf:
			size = 1 + int(c&0x1f)
		case c == 0xc4, c == 0xd9:
			if err := need(b, 2); err != nil {
				return nil, err
			}
			size = 2 + int(b[1])
		case c == 0xc5, c == 0xda:
			if err := need(b, 3); err != nil {
				return nil, err
			}
			size = 3 + int(binary.BigEndian.Uint16(b[1:]))
		case c == 0xc6, c == 0xdb:
			if err := need(b, 5); err != nil {
				return nil, err
			}
			size = 5 + int(binary.BigEndian.Uint32(b[1:]))
		case c == 0xc7:
			if err := need(b, 2); err != nil {
				return nil, err
			}
			size = 3 + int(b[1])
		case c == 0xc8:
			if err := need(b, 3); err != nil {
				return nil, err
			}
			size = 4 + int(binary.BigEndian.Uint16(b[1:]))
		case c == 0xc9:
			if err := need(b, 5); err != nil {
				return nil, err
			}
			size = 6 + int(binary.BigEndian.Uint32(b[1:]))
		case c == 0xca, c == 0xce, c == 0xd2:
			size = 5
		case c == 0xcb, c == 0xcf, c == 0xd3:
			size = 9
		case c == 0xcc, c == 0xd0:
			size = 2
		case c == 0xcd, c == 0xd1:
			size = 3
		case c >= 0xd4 && c <= 0xd8:
			size = 2 + 1<<(c-0xd4)
		case c == 0xdc, c == 0xde:
			if err := need(b, 3); err != nil {
				return nil, err
			}
			size, extra = 3, int(binary.BigEndian.Uint16(b[1:]))
			if c == 0xde {
				extra *= 2
			}
		case c == 0xdd, c == 0xdf:
			if err := need(b, 5); err != nil {
				return nil, err
			}
			size, extra = 5, int(binary.BigEndian.Uint32(b[1:]))
			if c == 0xdf {
				extra *= 2
			}
		default:
			return nil, errMsgpack
		}
		if size > len(b) || extra < 0 {
			return nil, errMsgpack
		}
		b = b[size:]
		items += extra
	}
	return b, nil
}

// recordKeys returns the msgpack keys of an object's record that a filter
// reads, besides Meta's.
func recordKeys(object string, e filter.Expr) []string {
	var keys []string
	add := func(k string) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	walkConds(e, func(c *filter.Cond) {
		f := c.Field
		switch {
		case strings.HasPrefix(f, "company."):
			if object == "deal" {
				add("company_id")
			} else {
				add("companies")
			}
		case f == "company_ids":
			add("companies")
		case f == "contact_ids":
			add("contacts")
		case strings.HasSuffix(f, "_currency"):
			add(strings.TrimSuffix(f, "_currency"))
		default:
			head, _, _ := strings.Cut(f, ".")
			add(head)
		}
	})
	slices.Sort(keys)
	return keys
}

// recordType returns the Go type of a filter kind's records.
func recordType(code byte) reflect.Type {
	switch code {
	case 'c':
		return reflect.TypeFor[Contact]()
	case 'o':
		return reflect.TypeFor[Company]()
	}
	return reflect.TypeFor[Deal]()
}
