package crmio

import (
	"errors"
	"strconv"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// parseMoney reads an amount as crm.ParseMoney does; with decimalComma,
// ',' is the decimal separator and '.' groups thousands ("1.234,50 EUR").
// The error is the reason alone, for a reject's cell.
func parseMoney(s, defaultCurrency string, decimalComma bool) (crm.Money, error) {
	in := s
	if decimalComma {
		s = strings.Map(func(r rune) rune {
			switch r {
			case ',':
				return '.'
			case '.':
				return ','
			}
			return r
		}, s)
	}
	m, err := crm.ParseMoney(s, defaultCurrency)
	var ve *crm.ValidationError
	if errors.As(err, &ve) && len(ve.Fields) == 1 {
		return crm.Money{}, errors.New(strings.Replace(ve.Fields[0].Reason, strconv.Quote(s), strconv.Quote(in), 1))
	}
	return m, err
}
