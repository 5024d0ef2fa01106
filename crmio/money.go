package crmio

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

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
