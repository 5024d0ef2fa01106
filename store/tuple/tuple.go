// Package tuple encodes keys as tuples whose byte order is the tuple
// order, the way FoundationDB's tuple layer does: strings are escaped
// and terminated, so no string is a prefix of a different one; integers
// are big-endian with the sign bit flipped, so negative numbers sort
// first; times are their Unix nanoseconds. crm lays out its keys with it,
// and packages keeping state in a crm.Space can too, so that a range of
// the space is a range of tuples.
//
// It imports only the standard library.
package tuple

import (
	"encoding/binary"
	"errors"
	"time"
)

// Key is an encoded tuple; each method appends one element and returns
// the longer key. The zero value is the empty tuple.
type Key []byte

// Byte appends one raw byte (a tag).
func (k Key) Byte(b byte) Key { return append(k, b) }

// Str appends s, escaped (0x00 -> 0x00 0xff) and terminated by 0x00 0x01.
func (k Key) Str(s string) Key {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			k = append(k, 0, 0xff)
			continue
		}
		k = append(k, s[i])
	}
	return append(k, 0, 1)
}

// Uint appends n as 8 big-endian bytes.
func (k Key) Uint(n uint64) Key { return binary.BigEndian.AppendUint64(k, n) }

// Int appends n as 8 big-endian bytes with the sign bit flipped.
func (k Key) Int(n int64) Key { return k.Uint(uint64(n) ^ (1 << 63)) }

// Time appends t as its Unix nanoseconds (an Int).
func (k Key) Time(t time.Time) Key { return k.Int(t.UnixNano()) }

// ErrMalformed is the error of a Reader reading past its key or reading
// an element the key does not hold.
var ErrMalformed = errors.New("tuple: malformed key")

// Reader decodes the elements of a Key in the order they were appended.
// The first failure sticks: later reads return zero values, and Err
// reports it.
type Reader struct {
	b   []byte
	err error
}

// NewReader returns a Reader of the tuple b.
func NewReader(b []byte) Reader { return Reader{b: b} }

// Err returns the first failure of the reads, or nil.
func (r *Reader) Err() error { return r.err }

// Rest returns the bytes not read yet.
func (r *Reader) Rest() []byte { return r.b }

// Byte reads a raw byte.
func (r *Reader) Byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.err = ErrMalformed
		return 0
	}
	b := r.b[0]
	r.b = r.b[1:]
	return b
}

// Str reads a string.
func (r *Reader) Str() string {
	if r.err != nil {
		return ""
	}
	out := make([]byte, 0, 32)
	for i := 0; i < len(r.b); i++ {
		if r.b[i] != 0 {
			out = append(out, r.b[i])
			continue
		}
		if i+1 >= len(r.b) {
			break
		}
		switch r.b[i+1] {
		case 0xff:
			out = append(out, 0)
			i++
		case 1:
			r.b = r.b[i+2:]
			return string(out)
		default:
			r.err = ErrMalformed
			return ""
		}
	}
	r.err = ErrMalformed
	return ""
}

// Uint reads an unsigned integer.
func (r *Reader) Uint() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.err = ErrMalformed
		return 0
	}
	n := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return n
}

// Int reads a signed integer.
func (r *Reader) Int() int64 { return int64(r.Uint() ^ (1 << 63)) }

// Time reads a time, in UTC.
func (r *Reader) Time() time.Time { return time.Unix(0, r.Int()).UTC() }
