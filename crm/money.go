package crm

import (
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount in minor units of a currency (cents for USD, yen for
// JPY): integers, never floats, so sums are exact. It prints and parses
// in major units with the currency's minor digits ("25000.00 EUR"; see
// ParseMoney).
type Money struct {
	// Amount in minor units.
	Amount int64 `msgpack:"amount" json:"amount"`
	// Currency is an ISO-4217 code such as "EUR".
	Currency string `msgpack:"currency" json:"currency"`
}

// MaxAmount is the largest amount, in minor units and either sign, that
// a record holds: 2^53, about 90 trillion of a currency with two minor
// digits, and the largest integer a float64 (a JSON number in most
// languages) holds exactly. Reports sum amounts in 64 bits with overflow
// checks: sums of up to 1,024 amounts this large are exact, and larger
// ones are reported as an overflow, never as a wrong number.
const MaxAmount = 1 << 53

// IsZero reports whether m is the zero value (no amount, no currency).
func (m Money) IsZero() bool { return m.Amount == 0 && m.Currency == "" }

// String writes m in major units as ParseMoney reads it: "25000.00 EUR",
// "-3 JPY", "0.050 KWD". The zero Money is "".
func (m Money) String() string {
	if m.IsZero() {
		return ""
	}
	digits := strconv.FormatUint(absAmount(m.Amount), 10)
	if mu := MinorUnits(m.Currency); mu > 0 {
		if len(digits) <= mu {
			digits = strings.Repeat("0", mu-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-mu] + "." + digits[len(digits)-mu:]
	}
	if m.Amount < 0 {
		digits = "-" + digits
	}
	if m.Currency == "" {
		return digits
	}
	return digits + " " + m.Currency
}

func absAmount(a int64) uint64 {
	if a < 0 {
		return uint64(-(a + 1)) + 1
	}
	return uint64(a)
}

// currencySymbols maps the symbols ParseMoney understands to currencies.
// "$" alone is taken as US dollars.
var currencySymbols = []struct{ sym, code string }{
	{"US$", "USD"}, {"C$", "CAD"}, {"A$", "AUD"}, {"NZ$", "NZD"}, {"R$", "BRL"},
	{"$", "USD"}, {"€", "EUR"}, {"£", "GBP"}, {"¥", "JPY"}, {"₹", "INR"},
	{"₩", "KRW"}, {"₽", "RUB"}, {"₺", "TRY"}, {"₪", "ILS"}, {"₫", "VND"},
}

// ParseMoney parses an amount in major units with an optional currency
// into minor units, exactly: "1,234.50 EUR", "EUR 1234.5", "$1,234.50",
// "€ 12", "-3.10", "(3.10)" (an accounting negative). Without a currency
// code or symbol the amount is in defaultCurrency. The decimal separator
// is '.'; ',', ' ' and '\” group thousands (in groups of three). Amounts
// with more decimals than the currency has minor units are refused unless
// the extra digits are zeros: the result is never rounded. An empty
// string is the zero Money. A string that is not an amount fails with a
// *ValidationError of field "amount".
func ParseMoney(s, defaultCurrency string) (Money, error) {
	m, reason := parseMoney(s, defaultCurrency)
	if reason != "" {
		return Money{}, &ValidationError{Kind: "money", Fields: []FieldError{{Field: "amount", Reason: fmt.Sprintf("%q %s", s, reason)}}}
	}
	return m, nil
}

func parseMoney(s, defaultCurrency string) (Money, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Money{}, ""
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
	if len(s) > 3 && isAlpha3(s[len(s)-3:]) && !isLetter(s[len(s)-4]) {
		currency, s = strings.ToUpper(s[len(s)-3:]), strings.TrimSpace(s[:len(s)-3])
	} else if len(s) > 3 && isAlpha3(s[:3]) && !isLetter(s[3]) {
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
			return Money{}, fmt.Sprintf("names two currencies, %s and %s", currency, cs.code)
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
		return Money{}, "has no currency and no default currency is set"
	}
	whole, frac, reason := SplitDecimal(s, '.')
	if reason != "" {
		return Money{}, "is not an amount: " + reason
	}
	mu := MinorUnits(currency)
	if len(frac) > mu {
		if strings.Trim(frac[mu:], "0") != "" {
			return Money{}, fmt.Sprintf("has more decimals than %s has minor units (%d)", currency, mu)
		}
		frac = frac[:mu]
	}
	frac += strings.Repeat("0", mu-len(frac))
	var amount int64
	if digits := strings.TrimLeft(whole+frac, "0"); digits != "" {
		n, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || n > MaxAmount {
			return Money{}, "is too large"
		}
		amount = n
	}
	if neg {
		amount = -amount
	}
	return Money{Amount: amount, Currency: currency}, ""
}

// SplitDecimal splits a written number without sign into the digits of
// its whole part and of its fraction: dec is the decimal separator ('.'
// or ','), and the other of the two, ' ', '\” and the no-break spaces
// group thousands, in groups of three. reason says what is wrong with a
// string that is not such a number.
func SplitDecimal(s string, dec rune) (whole, frac, reason string) {
	group := ','
	if dec == ',' {
		group = '.'
	}
	if s == "" {
		return "", "", "no digits"
	}
	intPart, fracPart, hasFrac := strings.Cut(s, string(dec))
	if hasFrac {
		if fracPart == "" && intPart == "" {
			return "", "", "no digits"
		}
		for _, r := range fracPart {
			if r < '0' || r > '9' {
				return "", "", fmt.Sprintf("unexpected %q in the decimals", r)
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
				return "", "", fmt.Sprintf("misplaced thousands separator %q", r)
			}
			groups++
			groupLen = 0
		default:
			return "", "", fmt.Sprintf("unexpected %q", r)
		}
	}
	if groups > 0 && groupLen != 3 {
		return "", "", "misplaced thousands separator"
	}
	if b.Len() == 0 && fracPart == "" {
		return "", "", "no digits"
	}
	return b.String(), fracPart, ""
}

func isAlpha3(s string) bool {
	return len(s) == 3 && isLetter(s[0]) && isLetter(s[1]) && isLetter(s[2])
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
