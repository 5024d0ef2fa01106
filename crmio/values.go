package crmio

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/crmkit/crmkit/crm"
)

// DefaultDateLayout is the layout tried for dates written with slashes
// when ImportOptions.DateLayout is empty: day first, as most of the world
// writes them (02/01/2006 is the 2nd of January). Set
// ImportOptions.DateLayout to "01/02/2006" for files written month first.
const DefaultDateLayout = "02/01/2006"

// minorUnits lists the currencies whose minor unit is not a hundredth
// (ISO 4217).
var minorUnits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// MinorUnits returns the number of decimal places of a currency's minor
// unit: 2 for EUR and USD, 0 for JPY, 3 for KWD.
func MinorUnits(currency string) int {
	if n, ok := minorUnits[strings.ToUpper(currency)]; ok {
		return n
	}
	return 2
}

// currencySymbols maps the symbols ParseMoney understands to currencies.
// "$" alone is taken as US dollars.
var currencySymbols = []struct{ sym, code string }{
	{"US$", "USD"}, {"C$", "CAD"}, {"A$", "AUD"}, {"NZ$", "NZD"}, {"R$", "BRL"},
	{"$", "USD"}, {"€", "EUR"}, {"£", "GBP"}, {"¥", "JPY"}, {"₹", "INR"},
	{"₩", "KRW"}, {"₽", "RUB"}, {"₺", "TRY"}, {"₪", "ILS"}, {"₫", "VND"},
}

// ParseMoney parses an amount with an optional currency into integer minor
// units, exactly: "1,234.50 EUR", "EUR 1234.5", "$1,234.50", "€ 12",
// "-3.10", "(3.10)" (an accounting negative). Without a currency code or
// symbol the amount is in defaultCurrency. The decimal separator is '.';
// ',', ' ' and '\” group thousands (in groups of three). Amounts with more
// decimals than the currency has minor units are refused unless the extra
// digits are zeros: the result is never rounded. An empty string is the
// zero Money.
func ParseMoney(s, defaultCurrency string) (crm.Money, error) {
	return parseMoney(s, defaultCurrency, false)
}

func parseMoney(s, defaultCurrency string, decimalComma bool) (crm.Money, error) {
	in := s
	s = strings.TrimSpace(s)
	if s == "" {
		return crm.Money{}, nil
	}
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg = true
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if strings.HasPrefix(s, "-") {
		neg = !neg
		s = strings.TrimSpace(s[1:])
	}
	currency := ""
	// A three-letter code before or after the number.
	if len(s) > 3 && isAlpha3(s[len(s)-3:]) && !isLetter(rune(s[len(s)-4])) {
		currency, s = strings.ToUpper(s[len(s)-3:]), strings.TrimSpace(s[:len(s)-3])
	} else if len(s) > 3 && isAlpha3(s[:3]) && !isLetter(rune(s[3])) {
		currency, s = strings.ToUpper(s[:3]), strings.TrimSpace(s[3:])
	}
	for _, cs := range currencySymbols {
		if strings.HasPrefix(s, cs.sym) {
			s = strings.TrimSpace(s[len(cs.sym):])
		} else if strings.HasSuffix(s, cs.sym) {
			s = strings.TrimSpace(s[:len(s)-len(cs.sym)])
		} else {
			continue
		}
		if currency != "" && currency != cs.code {
			return crm.Money{}, fmt.Errorf("%q names two currencies, %s and %s", in, currency, cs.code)
		}
		currency = cs.code
		break
	}
	if strings.HasPrefix(s, "-") && !neg {
		neg = true
		s = strings.TrimSpace(s[1:])
	}
	if currency == "" {
		currency = strings.ToUpper(defaultCurrency)
	}
	if currency == "" {
		return crm.Money{}, fmt.Errorf("%q has no currency and no default currency is set", in)
	}
	whole, frac, err := splitDecimal(s, decimalComma)
	if err != nil {
		return crm.Money{}, fmt.Errorf("%q is not an amount: %v", in, err)
	}
	mu := MinorUnits(currency)
	if len(frac) > mu {
		if strings.Trim(frac[mu:], "0") != "" {
			return crm.Money{}, fmt.Errorf("%q has more decimals than %s has minor units (%d)", in, currency, mu)
		}
		frac = frac[:mu]
	}
	frac += strings.Repeat("0", mu-len(frac))
	digits := strings.TrimLeft(whole+frac, "0")
	var amount int64
	if digits != "" {
		amount, err = strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return crm.Money{}, fmt.Errorf("%q is too large", in)
		}
	}
	if neg {
		amount = -amount
	}
	return crm.Money{Amount: amount, Currency: currency}, nil
}

// FormatMoney writes m as ParseMoney reads it: "1234.50 EUR", "-3 JPY".
// The zero Money is "".
func FormatMoney(m crm.Money) string {
	if m.IsZero() {
		return ""
	}
	mu := MinorUnits(m.Currency)
	a := m.Amount
	sign := ""
	if a < 0 {
		sign = "-"
	}
	digits := strconv.FormatUint(absInt(a), 10)
	if mu > 0 {
		if len(digits) <= mu {
			digits = strings.Repeat("0", mu-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-mu] + "." + digits[len(digits)-mu:]
	}
	if m.Currency == "" {
		return sign + digits
	}
	return sign + digits + " " + m.Currency
}

func absInt(a int64) uint64 {
	if a < 0 {
		return uint64(-(a + 1)) + 1
	}
	return uint64(a)
}

func isAlpha3(s string) bool {
	return len(s) == 3 && isLetter(rune(s[0])) && isLetter(rune(s[1])) && isLetter(rune(s[2]))
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

// splitDecimal splits a plain decimal number into its integer digits and
// its fraction digits, removing thousands separators. It refuses anything
// else, including separators that do not group by three (so that "1,5"
// is not silently read as fifteen).
func splitDecimal(s string, decimalComma bool) (whole, frac string, err error) {
	dec, group := '.', ','
	if decimalComma {
		dec, group = ',', '.'
	}
	if s == "" {
		return "", "", fmt.Errorf("no digits")
	}
	intPart, fracPart, hasFrac := strings.Cut(s, string(dec))
	if hasFrac {
		if fracPart == "" && intPart == "" {
			return "", "", fmt.Errorf("no digits")
		}
		for _, r := range fracPart {
			if r < '0' || r > '9' {
				return "", "", fmt.Errorf("unexpected %q in the decimals", r)
			}
		}
	}
	var b strings.Builder
	groupLen, groups := 0, 0
	for _, r := range intPart {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			groupLen++
		case r == group || r == ' ' || r == '\'' || r == '\u00a0' || r == '\u202f':
			if b.Len() == 0 || (groups > 0 && groupLen != 3) || (groups == 0 && groupLen > 3) {
				return "", "", fmt.Errorf("misplaced thousands separator %q", r)
			}
			groups++
			groupLen = 0
		default:
			return "", "", fmt.Errorf("unexpected %q", r)
		}
	}
	if groups > 0 && groupLen != 3 {
		return "", "", fmt.Errorf("misplaced thousands separator")
	}
	if b.Len() == 0 && fracPart == "" {
		return "", "", fmt.Errorf("no digits")
	}
	return b.String(), fracPart, nil
}

// parseInt parses a whole number, allowing thousands separators and a zero
// fraction ("1,200", "1200.0").
func parseInt(s string, decimalComma bool) (int64, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	whole, frac, err := splitDecimal(s, decimalComma)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number: %v", s, err)
	}
	if strings.Trim(frac, "0") != "" {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	if whole == "" {
		whole = "0"
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	if neg {
		n = -n
	}
	return n, nil
}

// parseFloat parses a decimal number, allowing thousands separators and an
// exponent.
func parseFloat(s string, decimalComma bool) (float64, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil && !decimalComma && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return f, nil
	}
	neg := strings.HasPrefix(s, "-")
	t := strings.TrimPrefix(s, "-")
	whole, frac, err := splitDecimal(t, decimalComma)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number: %v", s, err)
	}
	f, err := strconv.ParseFloat(whole+"."+frac+"0", 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if neg {
		f = -f
	}
	return f, nil
}

// ParseBool parses yes/no, true/false, y/n, t/f, on/off and 1/0, in any
// case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "y", "true", "t", "1", "on":
		return true, nil
	case "no", "n", "false", "f", "0", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes/no, true/false or 1/0", s)
}

// dateLayouts are the unambiguous layouts every date and time field
// accepts, before the configurable one.
var dateLayouts = []string{
	"2006-01-02", "2006/01/02", "2006-1-2", "02.01.2006", "2.1.2006",
	"2 Jan 2006", "02 Jan 2006", "2 January 2006", "Jan 2, 2006", "January 2, 2006",
	"Jan 2 2006", "2-Jan-2006", "02-Jan-2006",
}

var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05",
	"2006-01-02 15:04", "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05 -0700 MST",
	"2006-01-02 15:04:05.999999999",
}

// ParseDate parses a calendar date. It accepts ISO 8601 ("2006-01-02"),
// RFC 3339 timestamps (the date in the timestamp's zone), dotted day-first
// dates ("02.01.2006"), dates with month names ("2 Jan 2006", "Jan 2,
// 2006") and dates in layout, the layout of the file's slashed dates; ""
// means DefaultDateLayout (day first). Single-digit days and months are
// accepted in layout too ("2/1/2006").
func ParseDate(s, layout string) (crm.Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return crm.Date{}, nil
	}
	if layout == "" {
		layout = DefaultDateLayout
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return crm.DateOf(t), nil
		}
	}
	for _, l := range layoutVariants(layout) {
		if t, err := time.Parse(l, s); err == nil {
			return crm.DateOf(t), nil
		}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return crm.DateOf(t), nil
		}
	}
	return crm.Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD or %s)", s, layoutName(layout))
}

// parseTime parses a point in time: RFC 3339, ISO dates and times without
// a zone (taken in loc), and any date ParseDate accepts (midnight in loc).
func parseTime(s, layout string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if layout == "" {
		layout = DefaultDateLayout
	}
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	for _, l := range layoutVariants(layout) {
		for _, suffix := range []string{" 15:04", " 15:04:05", " 3:04 PM", " 3:04:05 PM"} {
			if t, err := time.ParseInLocation(l+suffix, s, loc); err == nil {
				return t, nil
			}
		}
	}
	if d, err := ParseDate(s, layout); err == nil {
		return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time (want RFC 3339, YYYY-MM-DD HH:MM or %s HH:MM)", s, layoutName(layout))
}

// layoutVariants returns layout and its form with single-digit days and
// months.
func layoutVariants(layout string) []string {
	short := strings.NewReplacer("02", "2", "01", "1").Replace(layout)
	if short == layout {
		return []string{layout}
	}
	return []string{layout, short}
}

// layoutName writes a Go layout the way people read it: DD/MM/YYYY.
func layoutName(layout string) string {
	return strings.NewReplacer("2006", "YYYY", "01", "MM", "02", "DD", "15", "HH", "04", "MM", "05", "SS").Replace(layout)
}

// parseDuration parses a Go duration ("1h30m"), a clock duration
// ("1:30:00", "1:30" as hours and minutes) or a number of seconds.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 || n > float64(math.MaxInt64/int64(time.Second)) {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	parts := strings.Split(s, ":")
	if len(parts) == 2 || len(parts) == 3 {
		var d time.Duration
		units := []time.Duration{time.Hour, time.Minute, time.Second}
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 || (i > 0 && n > 59) {
				return 0, fmt.Errorf("%q is not a duration", s)
			}
			d += time.Duration(n) * units[i]
		}
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a duration (want seconds, 1h30m or H:MM:SS)", s)
}

// splitList splits a list cell on ';' and '|', trimming each item and
// dropping empty ones. An item may be quoted ("Smith; Jones LLP") to hold
// a separator; joinList quotes such items.
func splitList(s string) []string {
	var out []string
	for _, item := range splitItems(s) {
		if item != "" {
			out = append(out, item)
		}
	}
	return out
}

// splitPositional splits a parallel list cell keeping empty items, so
// positions line up with another list.
func splitPositional(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return splitItems(s)
}

// splitItems splits on ';' and '|' outside quoted items.
func splitItems(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t")
		var item string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			item = b.String()
			s = s[i:]
			j := strings.IndexAny(s, ";|")
			if j < 0 {
				// Text after the closing quote belongs to the item.
				item += strings.TrimRight(s, " \t")
				return append(out, item)
			}
			item += strings.TrimSpace(s[:j])
			s = s[j:]
		} else {
			j := strings.IndexAny(s, ";|")
			if j < 0 {
				return append(out, strings.TrimSpace(s))
			}
			item, s = strings.TrimSpace(s[:j]), s[j:]
		}
		out = append(out, item)
		s = s[1:] // the separator
	}
}

// joinList writes a list cell: items joined with "; ", those holding a
// separator, a leading quote or surrounding spaces quoted.
func joinList(items []string) string {
	var b strings.Builder
	for i, s := range items {
		if i > 0 {
			b.WriteString("; ")
		}
		if strings.ContainsAny(s, ";|") || strings.HasPrefix(s, `"`) || s != strings.TrimSpace(s) {
			b.WriteString(`"` + strings.ReplaceAll(s, `"`, `""`) + `"`)
		} else {
			b.WriteString(s)
		}
	}
	return b.String()
}

// splitPhone splits "number (label)" into its parts. A trailing
// parenthesis is a label only if it holds a letter, so "(030) 1234" stays
// a number.
func splitPhone(s string) crm.Phone {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, ")") {
		if i := strings.LastIndex(s, "("); i > 0 {
			label := s[i+1 : len(s)-1]
			if strings.IndexFunc(label, unicode.IsLetter) >= 0 {
				return crm.Phone{Number: strings.TrimSpace(s[:i]), Label: strings.TrimSpace(label)}
			}
		}
	}
	return crm.Phone{Number: s}
}

func formatPhone(p crm.Phone) string {
	if p.Label == "" {
		return p.Number
	}
	return p.Number + " (" + p.Label + ")"
}

// guardChars are the characters that make a spreadsheet read a cell as a
// formula (OWASP, CSV injection).
func isGuardChar(b byte) bool {
	return b == '=' || b == '+' || b == '-' || b == '@' || b == '\t' || b == '\r'
}

// needsGuard reports whether a cell would be read as a formula: it starts
// with a formula character, or it is a guarded cell already (so that
// guarding is reversible).
func needsGuard(s string) bool {
	for len(s) > 0 && s[0] == '\'' {
		s = s[1:]
		if len(s) == 0 {
			return false
		}
		if isGuardChar(s[0]) {
			return true
		}
		if s[0] != '\'' {
			return false
		}
	}
	return len(s) > 0 && isGuardChar(s[0])
}

// guardCell neutralises formula injection: a cell that a spreadsheet would
// evaluate gets a leading apostrophe.
func guardCell(s string) string {
	if needsGuard(s) {
		return "'" + s
	}
	return s
}

// unguardCell undoes guardCell.
func unguardCell(s string) string {
	if len(s) > 1 && s[0] == '\'' && needsGuard(s[1:]) {
		return s[1:]
	}
	return s
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
