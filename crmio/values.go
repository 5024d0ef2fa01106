package crmio

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// splitDecimal splits a written number into the digits of its whole part
// and of its fraction, as crm.SplitDecimal does with the file's decimal
// separator.
func splitDecimal(s string, decimalComma bool) (whole, frac string, err error) {
	dec := '.'
	if decimalComma {
		dec = ','
	}
	whole, frac, reason := crm.SplitDecimal(s, dec)
	if reason != "" {
		return "", "", errors.New(reason)
	}
	return whole, frac, nil
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
