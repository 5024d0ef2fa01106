package crm

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Names are matched (duplicate detection, country names) in a folded form
// built on golang.org/x/text's Unicode normalisation: the text is
// decomposed (NFKD, which also turns full-width and other compatibility
// letters into their plain forms), combining marks are dropped ("Nguyễn"
// is "nguyen", "Ștefan" is "stefan"), and the Latin letters that carry
// their stroke or ligature in the letter itself and so do not decompose
// are spelled out (see undecomposed). Stored names are never changed:
// folding is only how they are compared.

// undecomposed spells out, in lower case, the letters that Unicode does
// not decompose into a base letter and a mark.
var undecomposed = map[rune]string{
	'ł': "l", 'ø': "o", 'đ': "d", 'ð': "d", 'ß': "ss", 'æ': "ae", 'œ': "oe",
	'þ': "th", 'ı': "i", 'ħ': "h", 'ŧ': "t", 'ĸ': "k",
	'ɨ': "i", 'ƀ': "b", 'ƒ': "f", 'ɲ': "n", 'ŋ': "ng",
}

// foldMarks returns s in lower case with marks removed and undecomposed
// letters spelled out: "Đặng Łukasz Ørsted Straße" -> "dang lukasz orsted
// strasse".
func foldMarks(s string) string {
	s = norm.NFKD.String(strings.ToLower(s))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
		case undecomposed[r] != "":
			b.WriteString(undecomposed[r])
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// foldPerson returns the words of a name folded by foldMarks, without
// punctuation: "Zoë O'Brien-Smith" -> [zoe obrien smith].
func foldPerson(s string) []string {
	var b strings.Builder
	for _, r := range foldMarks(s) {
		switch {
		case r == '\'' || r == '.' || r == '\u2019':
			// "O'Brien", "J.R." stay one word
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		default:
			b.WriteByte(' ')
		}
	}
	return strings.Fields(b.String())
}
