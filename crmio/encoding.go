package crmio

import "unicode/utf8"

// Encoding is the character encoding of an imported file.
type Encoding int

// The encodings. The zero value is UTF8.
const (
	// UTF8 reads the file as UTF-8 and rejects every row that is not valid
	// UTF-8, naming the byte.
	UTF8 Encoding = iota
	// Latin1 reads the file as ISO 8859-1: every byte is a character, so no
	// row is rejected for its encoding.
	Latin1
	// Windows1252 reads the file as Windows code page 1252, the "ANSI" of
	// Excel on Western Windows: Latin-1 with typographic quotes, dashes and
	// the euro sign in 0x80-0x9F.
	Windows1252
)

func (rd *Reader) decode(rec []byte) []byte {
	switch rd.opts.Encoding {
	case Latin1:
		return latin1ToUTF8(rec)
	case Windows1252:
		return cp1252ToUTF8(rec)
	}
	return rec
}

// latin1ToUTF8 converts ISO 8859-1 to UTF-8.
func latin1ToUTF8(b []byte) []byte {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/4)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// cp1252 maps the bytes 0x80-0x9F of Windows-1252 to runes (0 where the
// code page leaves a byte undefined; such bytes are read as the C1
// control of the same value, as Latin-1 would).
var cp1252 = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}

// cp1252ToUTF8 converts Windows-1252 to UTF-8.
func cp1252ToUTF8(b []byte) []byte {
	out := latin1ToUTF8(b)
	if len(out) == len(b) {
		return out
	}
	out = out[:0:0]
	for _, c := range b {
		r := rune(c)
		if c >= 0x80 && c <= 0x9F && cp1252[c-0x80] != 0 {
			r = cp1252[c-0x80]
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// firstInvalidUTF8 returns the byte offset of the first invalid UTF-8
// sequence in b, or -1.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}
