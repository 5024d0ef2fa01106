package crm

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

// Date is a calendar date without a time zone, such as a birthday or an
// expected close date. The zero value means "not set".
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("crm: date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// Before reports whether d is before e.
// In returns the midnight that starts the date in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

func (d Date) Before(e Date) bool { return d.Time().Before(e.Time()) }

func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

func (d Date) valid() bool {
	return d.Year >= minYear && d.Year <= maxYear && DateOf(d.Time()) == d
}

// MarshalJSON writes the date as "YYYY-MM-DD", or null when unset.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON reads "YYYY-MM-DD" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil || *s == "" {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(*s)
	*d = v
	return err
}

// EncodeMsgpack stores the date as one integer, YYYYMMDD.
func (d Date) EncodeMsgpack(e *msgpack.Encoder) error {
	return e.EncodeInt(int64(d.Year*10000 + int(d.Month)*100 + d.Day))
}

// DecodeMsgpack reads a date stored by EncodeMsgpack.
func (d *Date) DecodeMsgpack(dec *msgpack.Decoder) error {
	n, err := dec.DecodeInt64()
	if err != nil {
		return err
	}
	if n == 0 {
		*d = Date{}
		return nil
	}
	*d = Date{int(n / 10000), time.Month(n / 100 % 100), int(n % 100)}
	return nil
}

// Address is a postal address with its geography.
type Address struct {
	Street     string `msgpack:"street,omitempty" json:"street,omitempty"`
	City       string `msgpack:"city,omitempty" json:"city,omitempty"`
	Region     string `msgpack:"region,omitempty" json:"region,omitempty"`
	PostalCode string `msgpack:"postal_code,omitempty" json:"postal_code,omitempty"`
	// Country is an ISO 3166-1 alpha-2 code such as "DE".
	Country string `msgpack:"country,omitempty" json:"country,omitempty"`
}

// Limits on text fields, in bytes, and on the entries of a list field
// (emails, phones, external IDs, links, tags, multi-select values; a
// purchase's line items have a limit of their own).
const (
	maxShortText = 256
	maxLongText  = 64 << 10
	maxListLen   = 100
	maxEmailLen  = 254 // RFC 5321's limit on a path
	minYear      = 1800
	maxYear      = 2200
)

// cleanText trims s, and reports it if it is too long, not UTF-8 or holds
// control characters.
func cleanText(p *problems, field, s string, limit int) string {
	s = strings.TrimSpace(s)
	switch {
	case len(s) > limit:
		p.add(field, "is %d bytes, limit is %d", len(s), limit)
	case !utf8.ValidString(s):
		p.add(field, "is not valid UTF-8")
	case limit == maxShortText && strings.IndexFunc(s, unicode.IsControl) >= 0:
		p.add(field, "contains control characters")
	}
	return s
}

// cleanKeyword lower-cases and trims a keyword such as a tag or a stage.
func cleanKeyword(p *problems, field, s string) string {
	s = strings.ToLower(cleanText(p, field, s, maxShortText))
	if s == "" {
		p.add(field, "is empty")
	}
	return s
}

// cleanKeywords cleans each keyword and drops duplicates, keeping order.
func cleanKeywords(p *problems, field string, list []string) []string {
	if !checkListLen(p, field, len(list)) {
		return list
	}
	out := list[:0:0]
	seen := map[string]bool{}
	for i, s := range list {
		s = cleanKeyword(p, fmt.Sprintf("%s[%d]", field, i), s)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func cleanURL(p *problems, field, s string) string {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > 2048 {
		p.add(field, "%q is not a valid http(s) URL", s)
	}
	return s
}

// checkMoney validates an amount, filling in the workspace currency when
// only an amount is given. Negative amounts are refused unless allowed.
func checkMoney(p *problems, field string, m Money, defaultCurrency string, allowNegative bool) Money {
	if m.IsZero() {
		return m
	}
	if m.Currency == "" {
		m.Currency = defaultCurrency
	}
	m.Currency = checkCurrency(p, field+".currency", m.Currency)
	if m.Amount < 0 && !allowNegative {
		p.add(field+".amount", "must not be negative")
	}
	if m.Amount > MaxAmount || m.Amount < -MaxAmount {
		p.add(field+".amount", "%d is beyond the limit of %d minor units", m.Amount, int64(MaxAmount))
	}
	return m
}

func checkDate(p *problems, field string, d Date) {
	if !d.IsZero() && !d.valid() {
		p.add(field, "%04d-%02d-%02d is not a date between %d and %d", d.Year, d.Month, d.Day, minYear, maxYear)
	}
}

func checkTime(p *problems, field string, t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	if t.Year() < minYear || t.Year() > maxYear {
		p.add(field, "%s is not between years %d and %d", t.Format(time.RFC3339), minYear, maxYear)
	}
	return t.UTC().Round(time.Microsecond)
}

func cleanAddress(p *problems, field string, a Address) Address {
	a.Street = cleanText(p, field+".street", a.Street, maxShortText)
	a.City = cleanText(p, field+".city", a.City, maxShortText)
	a.Region = cleanText(p, field+".region", a.Region, maxShortText)
	a.PostalCode = cleanText(p, field+".postal_code", a.PostalCode, maxShortText)
	a.Country = checkCountry(p, field+".country", a.Country)
	return a
}

// cleanExternalIDs validates external IDs: system name -> ID in that
// system.
func cleanExternalIDs(p *problems, field string, ids map[string]string) map[string]string {
	if len(ids) == 0 {
		return nil
	}
	if !checkListLen(p, field, len(ids)) {
		return ids
	}
	out := make(map[string]string, len(ids))
	for sys, id := range ids {
		s := cleanKeyword(p, field, sys)
		v := cleanText(p, field+"."+s, id, maxShortText)
		if v == "" {
			p.add(field+"."+s, "is empty")
		}
		out[s] = v
	}
	return out
}

// checkListLen reports a list field of more than maxListLen entries, and
// whether it is within the limit.
func checkListLen(p *problems, field string, n int) bool {
	if n > maxListLen {
		p.add(field, "has %d entries, limit is %d", n, maxListLen)
		return false
	}
	return true
}

// foldName is the sort and match form of a name: lower case, single-spaced.
func foldName(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// checkRef reports a reference to a record that does not exist in the
// workspace (or is deleted).
func checkRef[T any](t *txn, p *problems, field string, k *kind[T], id string) error {
	if id == "" {
		return nil
	}
	if len(id) > MaxIDLength {
		p.add(field, "is %d bytes long; an ID has at most %d", len(id), MaxIDLength)
		return nil
	}
	_, err := getLive(t.tx, t.w, k, id)
	switch {
	case err == nil:
		return nil
	case isNotFoundOrDeleted(err):
		p.add(field, "no %s %s in this workspace", k.name, id)
		return nil
	default:
		return err
	}
}
