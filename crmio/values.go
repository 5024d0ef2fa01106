package crmio

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

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
