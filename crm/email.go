package crm

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/crmkit/crmkit/crm/filter"
	"golang.org/x/text/unicode/norm"
)

// Email addresses have one normaliser, used by contacts, custom email
// fields, lookups, the unique index and duplicate detection:
//
//   - the address is trimmed and put in Unicode NFC;
//   - the domain goes through IDNA (golang.org/x/net/idna, lookup profile),
//     which lower-cases it, maps full-width letters and dots to ASCII and
//     refuses what is not a host name ("-example.com", "exa_mple.com");
//     it is stored in its Unicode form ("bücher.de") and compared in its
//     ASCII form ("xn--bcher-kva.de"), so both spellings are one address;
//     a trailing dot (the DNS root) is dropped;
//   - the local part is stored as written: RFC 5321 leaves its case to the
//     receiving server, so changing it could change the mailbox. It is
//     compared case-insensitively (folded as filters fold text), because
//     in practice every provider treats Ada@ and ada@ as one mailbox, and
//     two contacts told apart only by case are far more often a typo than
//     two people;
//   - the syntax is the subset of RFC 5321/5322 (with RFC 6531 UTF-8) that
//     real mail uses: a dot-atom or a quoted local part of at most 64
//     bytes (a quoted one whose content is a dot-atom is unquoted:
//     "ada"@x is ada@x), and a domain name of at least two labels whose
//     top-level label is not all digits. Comments, folding white space,
//     display names and address literals ([192.168.0.1]) are refused.
//
// Gmail's dots-and-plus rules are not part of it: they are evidence for
// duplicate detection (see mailbox), not a reason to refuse an address.

// emailAddress is a parsed address.
type emailAddress struct {
	local string // as written (NFC), quoted if it needs quotes
	// domain is the Unicode form, ascii the ASCII (A-label) form.
	domain, ascii string
}

func (a emailAddress) String() string { return a.local + "@" + a.domain }

// key is the form addresses are compared and indexed by.
func (a emailAddress) key() string { return filter.Fold(a.local) + "@" + a.ascii }

// NormalizeEmail returns the form in which the CRM stores an email
// address: trimmed, NFC, the local part as written and the domain lower
// case in its Unicode form ("Ada@XN--BCHER-KVA.DE." -> "Ada@bücher.de").
// An address that is not valid fails with a *ValidationError of field
// "email" that says why.
func NormalizeEmail(s string) (string, error) {
	a, reason := parseEmail(s)
	if reason != "" {
		return "", emailError(s, reason)
	}
	return a.String(), nil
}

// EmailKey returns the form in which the CRM compares and indexes email
// addresses: the local part case-folded and the domain in ASCII, so that
// "Ada@bücher.de" and "ada@xn--bcher-kva.de" have one key. It fails as
// NormalizeEmail does.
func EmailKey(s string) (string, error) {
	a, reason := parseEmail(s)
	if reason != "" {
		return "", emailError(s, reason)
	}
	return a.key(), nil
}

func emailError(s, reason string) error {
	return &ValidationError{Kind: "email", Fields: []FieldError{{Field: "email", Reason: emailReason(s, reason)}}}
}

// emailReason is the field error of an address that is not valid. Text
// without an @ is no address at all, which needs no more words.
func emailReason(s, reason string) string {
	if reason == reasonNoAt {
		return fmt.Sprintf("%q is not a valid email address", strings.TrimSpace(s))
	}
	return fmt.Sprintf("%q is not a valid email address: %s", strings.TrimSpace(s), reason)
}

const reasonNoAt = "has no @"

// cleanEmail normalises an email address and reports one that is not
// valid.
func cleanEmail(p *problems, field, s string) string {
	a, reason := parseEmail(s)
	if reason != "" {
		p.add(field, "%s", emailReason(s, reason))
		return strings.TrimSpace(s)
	}
	return a.String()
}

// storedEmailKey is the key of an address already stored: the key of its
// parsed form, or, for an address stored by an older version that the
// parser now refuses, its folded text (the key that version wrote).
func storedEmailKey(s string) string {
	if a, reason := parseEmail(s); reason == "" {
		return a.key()
	}
	return filter.Fold(strings.TrimSpace(s))
}

// parseEmail parses an address, or says why it is not one.
func parseEmail(s string) (emailAddress, string) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return emailAddress{}, "is empty"
	case !utf8.ValidString(s):
		return emailAddress{}, "is not valid UTF-8"
	}
	s = norm.NFC.String(s)
	if len(s) > maxEmailLen {
		return emailAddress{}, fmt.Sprintf("is %d bytes long; an email address has at most %d", len(s), maxEmailLen)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return emailAddress{}, reasonNoAt
	}
	local, reason := parseLocal(s[:at])
	if reason != "" {
		return emailAddress{}, reason
	}
	host := s[at+1:]
	if strings.HasPrefix(host, "[") {
		return emailAddress{}, "address literals such as [192.168.0.1] are not accepted; real mail uses a domain name"
	}
	d, reason := parseHost(host)
	if reason != "" {
		return emailAddress{}, "domain " + reason
	}
	return emailAddress{local: local, domain: d.unicode, ascii: d.ascii}, ""
}

// parseLocal checks a local part and returns it in its stored form.
func parseLocal(l string) (string, string) {
	switch {
	case l == "":
		return "", "has nothing before the @"
	case len(l) > 64:
		return "", fmt.Sprintf("has a local part of %d bytes; the limit is 64", len(l))
	}
	if !strings.HasPrefix(l, `"`) {
		if r := dotAtom(l); r != "" {
			return "", "local part " + r
		}
		return l, ""
	}
	if len(l) < 2 || !strings.HasSuffix(l, `"`) {
		return "", "local part has an unclosed quote"
	}
	var content strings.Builder
	inner := l[1 : len(l)-1]
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		switch {
		case c == '\\':
			if i+1 == len(inner) || inner[i+1] < 32 || inner[i+1] > 126 {
				return "", "local part has a stray backslash"
			}
			i++
			content.WriteByte(inner[i])
		case c == '"':
			return "", "local part has a quote inside quotes that is not escaped"
		case c < 32 || c == 127:
			return "", "local part has a control character"
		default:
			content.WriteByte(c)
		}
	}
	if c := content.String(); c != "" && dotAtom(c) == "" {
		return c, "" // quotes it does not need
	}
	return l, ""
}

// dotAtom says what keeps s from being an RFC 5322 dot-atom (with UTF-8
// letters, RFC 6531), or "".
func dotAtom(s string) string {
	if strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return "starts or ends with a dot"
	}
	if strings.Contains(s, "..") {
		return "has two dots in a row"
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.':
		case strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r):
		case r >= utf8.RuneSelf && unicode.IsGraphic(r) && !unicode.IsSpace(r):
		case r == ' ' || r == '"' || r == '(' || r == ')' || r == ',' || r == ':' || r == ';' || r == '<' || r == '>' || r == '@' || r == '[' || r == ']' || r == '\\':
			return fmt.Sprintf("has %q, which needs quotes", r)
		default:
			return fmt.Sprintf("has the character %q", r)
		}
	}
	return ""
}
