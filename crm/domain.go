package crm

import (
	"fmt"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// Domains (of email addresses and of companies) are checked and
// normalised with IDNA (golang.org/x/net/idna, the lookup profile of UTS
// #46: lower case, full-width forms mapped, host name rules enforced) and
// grouped into registered domains with the Public Suffix List
// (golang.org/x/net/publicsuffix), which knows that "alice.github.io" and
// "bob.github.io" are different sites while "eu.acme.co.uk" and
// "acme.co.uk" are one.

// hostName is a checked domain name in both of its forms.
type hostName struct {
	ascii, unicode string
}

// parseHost checks a domain name (without a trailing dot, which is the
// root and dropped) or says why it is not one.
func parseHost(s string) (hostName, string) {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return hostName{}, "is empty"
	}
	ascii, err := idna.Lookup.ToASCII(s)
	if err != nil {
		for _, l := range strings.Split(s, ".") {
			switch {
			case l == "":
				return hostName{}, fmt.Sprintf("%q has an empty label", s)
			case strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-"):
				return hostName{}, fmt.Sprintf("%q: label %q starts or ends with a hyphen", s, l)
			case strings.Contains(l, "_"):
				return hostName{}, fmt.Sprintf("%q is not a valid host name: label %q has '_'; host names have letters, digits and hyphens", s, l)
			}
		}
		return hostName{}, fmt.Sprintf("%q is not a valid host name (%s)", s, strings.TrimPrefix(err.Error(), "idna: "))
	}
	if len(ascii) > 253 {
		return hostName{}, fmt.Sprintf("is %d bytes long; a domain has at most 253", len(ascii))
	}
	labels := strings.Split(ascii, ".")
	if len(labels) < 2 {
		return hostName{}, fmt.Sprintf("%q has no top-level domain", s)
	}
	for _, l := range labels {
		if r := ldhLabel(l); r != "" {
			return hostName{}, fmt.Sprintf("%q: %s", s, r)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return hostName{}, fmt.Sprintf("%q has an all-numeric top-level domain", s)
	}
	uni, err := idna.Lookup.ToUnicode(ascii)
	if err != nil {
		uni = ascii
	}
	return hostName{ascii: ascii, unicode: uni}, ""
}

// ldhLabel says what keeps an ASCII label from being a host name label
// (letters, digits and inner hyphens, 1 to 63 bytes), or "".
func ldhLabel(l string) string {
	switch {
	case l == "":
		return "has an empty label"
	case len(l) > 63:
		return fmt.Sprintf("label %q is longer than 63 bytes", l)
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Sprintf("label %q starts or ends with a hyphen", l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Sprintf("label %q has %q; host names have letters, digits and hyphens", l, c)
		}
	}
	return ""
}

// parseSite reads a company's web domain: a URL's scheme, port, path and
// query, a trailing dot and a leading "www." are dropped.
func parseSite(s string) (hostName, string) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.Contains(s[i:], "]") {
		s = s[:i]
	}
	if s == "" {
		return hostName{}, ""
	}
	h, reason := parseHost(s)
	if reason != "" {
		return h, reason
	}
	if rest, ok := strings.CutPrefix(h.ascii, "www."); ok && strings.Contains(rest, ".") {
		h, reason = parseHost(rest)
	}
	if suffix, icann := publicsuffix.PublicSuffix(h.ascii); icann && suffix == h.ascii {
		return hostName{}, fmt.Sprintf("%q is a public suffix, under which domains are registered, not a domain of its own", h.unicode)
	}
	return h, reason
}

// NormalizeDomain returns a company's web domain as the CRM stores it:
// lower case, in Unicode form, without scheme, path, port, trailing dot
// or "www." ("https://WWW.Bücher.de/about" -> "bücher.de"). A domain that
// is not a host name, or is a public suffix such as "co.uk", fails with
// a *ValidationError of field "domain".
func NormalizeDomain(s string) (string, error) {
	h, reason := parseSite(s)
	if reason != "" {
		return "", &ValidationError{Kind: "domain", Fields: []FieldError{{Field: "domain", Reason: reason}}}
	}
	return h.unicode, nil
}

// RegisteredDomain returns the domain under which a host name was
// registered, by the Public Suffix List, in Unicode form:
// "eu.shop.acme.com" -> "acme.com", "shop.acme.co.uk" -> "acme.co.uk",
// "alice.github.io" -> "alice.github.io". It fails as NormalizeDomain
// does.
func RegisteredDomain(s string) (string, error) {
	h, reason := parseSite(s)
	if reason != "" {
		return "", &ValidationError{Kind: "domain", Fields: []FieldError{{Field: "domain", Reason: reason}}}
	}
	return unicodeHost(registered(h.ascii)), nil
}

// registered returns the registered domain of an ASCII host name, or the
// name itself when it has none.
func registered(ascii string) string {
	if d, err := publicsuffix.EffectiveTLDPlusOne(ascii); err == nil {
		return d
	}
	return ascii
}

func unicodeHost(ascii string) string {
	if u, err := idna.Lookup.ToUnicode(ascii); err == nil {
		return u
	}
	return ascii
}

// cleanDomain normalises a company's web domain with NormalizeDomain's
// rules and reports one that is not valid. Empty stays empty.
func cleanDomain(p *problems, field, s string) string {
	h, reason := parseSite(s)
	if reason != "" {
		p.add(field, "%q is not a valid domain: %s", strings.TrimSpace(s), reason)
		return strings.ToLower(strings.TrimSpace(s))
	}
	return h.unicode
}

// domainKey is the form a stored company domain is indexed and compared
// by: its ASCII form, or, for a domain stored by an older version that is
// no longer accepted, its text in lower case (as that version indexed it).
func domainKey(s string) string {
	if s == "" {
		return ""
	}
	if h, reason := parseSite(s); reason == "" {
		return h.ascii
	}
	return strings.ToLower(s)
}
