package crm

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// idLength is the length of a generated ID after its prefix.
const idLength = 16

// idAlphabet is Crockford's base32 in lower case: it sorts in byte order, so
// IDs encoded with it sort by creation time.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// idGen makes time-ordered IDs: 48 bits of milliseconds and 32 bits that are
// random at each new millisecond and incremented within one, so IDs made by
// one generator are strictly increasing. Encoded as 16 base32 characters.
type idGen struct {
	mu     sync.Mutex
	lastMS uint64
	seq    uint32
}

func (g *idGen) next(prefix string, now time.Time) string {
	ms := uint64(now.UnixMilli())
	g.mu.Lock()
	if ms <= g.lastMS {
		ms = g.lastMS
		g.seq++
		if g.seq == 0 { // 2^32 IDs in one millisecond: borrow the next one
			ms++
		}
	} else {
		var b [4]byte
		_, _ = rand.Read(b[:])
		g.seq = binary.BigEndian.Uint32(b[:]) >> 1 // leave room to increment
	}
	g.lastMS = ms
	seq := g.seq
	g.mu.Unlock()

	// The 80-bit value ms<<32 | seq, held as 16 high bits and 64 low bits.
	hi, v := ms>>32, ms<<32|uint64(seq)
	buf := make([]byte, len(prefix)+16)
	copy(buf, prefix)
	out := buf[len(prefix):]
	// 16 characters x 5 bits = 80 bits: hi holds bits 64..79, v bits 0..63.
	for i := 15; i >= 0; i-- {
		out[i] = idAlphabet[v&31]
		v = v>>5 | (hi&31)<<59
		hi >>= 5
	}
	return string(buf)
}
