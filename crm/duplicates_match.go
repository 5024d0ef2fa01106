package crm

import (
	"strings"
	"unicode/utf8"
)

// The normal forms and similarity measures duplicate detection compares
// records by. Each normal form is also a blocking key: two records are only
// compared when they share one.

// mailbox returns the form that every spelling of an address's mailbox
// shares, and whether the provider's rules changed it. Addresses compare
// by EmailKey: the local part case-insensitively, the domain in its ASCII
// form. Gmail (gmail.com and its old name googlemail.com) ignores dots in
// the local part and everything from a '+' on, as Google documents;
// other providers' rules differ or are not documented, so their
// addresses are only compared by key. These rules are evidence for
// duplicate detection, never part of the unique key.
func mailbox(email string) (string, bool) {
	e := storedEmailKey(email)
	local, domain, ok := cutLast(e, "@")
	if !ok {
		return e, false
	}
	if domain != "gmail.com" && domain != "googlemail.com" {
		return e, false
	}
	local, _, _ = strings.Cut(local, "+")
	local = strings.ReplaceAll(local, ".", "")
	out := local + "@gmail.com"
	return out, out != e
}

// cutLast cuts s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// personSimilarity scores how alike two names are, from 0 to 1: 1 for the
// same words in the same order, a little less for the same words in another
// order ("Smith John"), and otherwise the better of the words compared one
// by one (an initial matches its word: "J Smith" ~ "John Smith") and
// Jaro-Winkler over the whole names.
func personSimilarity(a, b []string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	ja, jb := strings.Join(a, " "), strings.Join(b, " ")
	if ja == jb {
		return 1
	}
	best := jaroWinkler(ja, jb)
	if len(a) == len(b) {
		best = max(best, wordsSimilarity(a, b))
		if len(a) == 2 {
			best = max(best, 0.97*wordsSimilarity(a, []string{b[1], b[0]}))
		}
	}
	return best
}

// wordsSimilarity averages the similarity of the words at each position.
func wordsSimilarity(a, b []string) float64 {
	sum := 0.0
	for i := range a {
		x, y := a[i], b[i]
		switch {
		case x == y:
			sum++
		case utf8.RuneCountInString(x) == 1 && strings.HasPrefix(y, x),
			utf8.RuneCountInString(y) == 1 && strings.HasPrefix(x, y):
			sum += 0.9
		default:
			sum += jaroWinkler(x, y)
		}
	}
	return sum / float64(len(a))
}

// legalForms are company name endings that say only what kind of legal
// entity it is: "Acme Inc." and "ACME GmbH" are the same name. Dots are
// removed before the comparison ("S.A." is "sa").
var legalForms = map[string]bool{
	"inc": true, "incorporated": true, "corp": true, "corporation": true, "co": true,
	"company": true, "ltd": true, "limited": true, "llc": true, "llp": true, "lp": true,
	"plc": true, "gmbh": true, "mbh": true, "ag": true, "kg": true, "kgaa": true, "ohg": true,
	"ug": true, "ev": true, "sa": true, "sas": true, "sarl": true, "sl": true, "srl": true,
	"spa": true, "bv": true, "nv": true, "ab": true, "asa": true, "oy": true, "oyj": true,
	"aps": true, "kk": true, "pty": true, "pvt": true, "pte": true, "sdn": true, "bhd": true,
	"se": true, "sro": true, "zoo": true, "sp": true, "doo": true, "ooo": true,
}

// companyWords returns the words of a company name without its legal form,
// punctuation, accents, a leading "the" and with "&" read as "and":
// "The Smith & Sons Co., Ltd." -> [smith and sons].
func companyWords(name string) []string {
	words := foldPerson(strings.ReplaceAll(name, "&", " and "))
	if len(words) > 1 && words[0] == "the" {
		words = words[1:]
	}
	for len(words) > 1 && legalForms[words[len(words)-1]] {
		words = words[:len(words)-1]
	}
	return words
}

// siteDomain returns the registered domain a stored company domain
// belongs to, by the Public Suffix List, in ASCII form:
// "eu.shop.acme.com" -> "acme.com", "www.acme.co.uk" -> "acme.co.uk",
// "alice.github.io" -> "alice.github.io".
func siteDomain(host string) string {
	return registered(domainKey(host))
}

// jaroWinkler returns the Jaro-Winkler similarity of two strings, from 0
// (nothing in common) to 1 (equal), comparing runes.
func jaroWinkler(a, b string) float64 {
	if a == b {
		return 1
	}
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 || len(rb) == 0 {
		return 0
	}
	window := max(len(ra), len(rb))/2 - 1
	window = max(window, 0)
	ma, mb := make([]bool, len(ra)), make([]bool, len(rb))
	matches := 0
	for i, r := range ra {
		lo, hi := max(0, i-window), min(len(rb), i+window+1)
		for j := lo; j < hi; j++ {
			if !mb[j] && rb[j] == r {
				ma[i], mb[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	transpositions, j := 0, 0
	for i := range ra {
		if !ma[i] {
			continue
		}
		for !mb[j] {
			j++
		}
		if ra[i] != rb[j] {
			transpositions++
		}
		j++
	}
	m := float64(matches)
	jaro := (m/float64(len(ra)) + m/float64(len(rb)) + (m-float64(transpositions)/2)/m) / 3
	prefix := 0
	for prefix < min(4, len(ra), len(rb)) && ra[prefix] == rb[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}
