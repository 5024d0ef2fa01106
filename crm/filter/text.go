package filter

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text comparisons are case-insensitive under Unicode simple case folding,
// the relation strings.EqualFold uses: each rune is replaced by one
// representative of its folding orbit (lower-case ASCII where the orbit
// has an ASCII letter, so "K", "k" and the Kelvin sign all fold to "k").
// Equality, ordering, CONTAINS, STARTS WITH and MATCHES all use it, so
// they agree with one another.

// foldRune returns the representative of r's case-folding orbit.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	best := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			return foldRune(f)
		}
		best = min(best, f)
	}
	return best
}

// foldString returns s with every rune folded. It does not allocate when
// s is ASCII without upper-case letters.
func foldString(s string) string {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			break
		}
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// Fold returns s with every rune replaced by the representative of its
// case-folding orbit: two texts are equal under the filter's rules exactly
// when their folds are equal, and they order as their folds do byte-wise.
// Indexes store folded text so that index lookups agree with Eval.
func Fold(s string) string { return foldString(s) }

// foldCompare compares a and b rune by folded rune: -1, 0 or +1.
func foldCompare(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if fa, fb := foldRune(ra), foldRune(rb); fa != fb {
			if fa < fb {
				return -1
			}
			return 1
		}
		a, b = a[na:], b[nb:]
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// foldEqual reports whether a and b are equal under folding.
func foldEqual(a, b string) bool { return a == b || foldCompare(a, b) == 0 }

// foldHasPrefix reports whether s begins with prefix under folding.
func foldHasPrefix(s, prefix string) bool {
	for prefix != "" {
		if s == "" {
			return false
		}
		rs, ns := utf8.DecodeRuneInString(s)
		rp, np := utf8.DecodeRuneInString(prefix)
		if foldRune(rs) != foldRune(rp) {
			return false
		}
		s, prefix = s[ns:], prefix[np:]
	}
	return true
}

// foldContains reports whether sub occurs in s under folding.
func foldContains(s, sub string) bool {
	return strings.Contains(foldString(s), foldString(sub))
}

// globItem is one element of a MATCHES pattern.
type globItem struct {
	r    rune // a folded literal rune
	kind byte // 0 literal, '*' any run, '?' any one rune
}

// compileGlob splits a MATCHES pattern: * matches any run of characters
// (also none), ? exactly one, and a backslash makes the next character
// literal (\*, \?, \\); a trailing backslash is literal.
func compileGlob(pattern string) []globItem {
	items := make([]globItem, 0, len(pattern))
	for i := 0; i < len(pattern); {
		r, n := utf8.DecodeRuneInString(pattern[i:])
		i += n
		switch r {
		case '*':
			items = append(items, globItem{kind: '*'})
			continue
		case '?':
			items = append(items, globItem{kind: '?'})
			continue
		case '\\':
			if i < len(pattern) {
				r, n = utf8.DecodeRuneInString(pattern[i:])
				i += n
			}
		}
		items = append(items, globItem{r: foldRune(r)})
	}
	return items
}

// globMatch reports whether all of s matches the compiled pattern, under
// folding. It backtracks only to the last star, so it runs in
// O(len(pattern) * len(s)) at worst.
func globMatch(pattern []globItem, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			it := pattern[px]
			switch it.kind {
			case '*':
				starPx, starSx = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					_, n := utf8.DecodeRuneInString(s[sx:])
					px, sx = px+1, sx+n
					continue
				}
			default:
				if sx < len(s) {
					r, n := utf8.DecodeRuneInString(s[sx:])
					if foldRune(r) == it.r {
						px, sx = px+1, sx+n
						continue
					}
				}
			}
		}
		if starPx >= 0 && starSx < len(s) {
			// Let the last star swallow one more rune and retry.
			_, n := utf8.DecodeRuneInString(s[starSx:])
			starSx += n
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}
