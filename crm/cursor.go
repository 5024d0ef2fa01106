package crm

import "encoding/binary"

// cursor reads the binary fields crm writes by hand (column rows, the
// frames of a backup): varints, fixed runs of bytes, and byte strings
// prefixed by their length. The first failure sticks: bad is set and
// later reads return zero values.
type cursor struct {
	b   []byte
	bad bool
}

func (c *cursor) uvarint() uint64 {
	if c.bad {
		return 0
	}
	v, n := binary.Uvarint(c.b)
	if n <= 0 {
		c.bad = true
		return 0
	}
	c.b = c.b[n:]
	return v
}

func (c *cursor) varint() int64 {
	if c.bad {
		return 0
	}
	v, n := binary.Varint(c.b)
	if n <= 0 {
		c.bad = true
		return 0
	}
	c.b = c.b[n:]
	return v
}

// bytes reads the next n bytes, capped so that appending to them cannot
// overwrite what follows.
func (c *cursor) bytes(n int) []byte {
	if c.bad || n < 0 || n > len(c.b) {
		c.bad = true
		return nil
	}
	out := c.b[:n:n]
	c.b = c.b[n:]
	return out
}

func (c *cursor) byte() byte {
	if b := c.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

// raw reads a byte string prefixed by its length as a uvarint.
func (c *cursor) raw() []byte { return c.bytes(int(min(c.uvarint(), uint64(len(c.b)+1)))) }
