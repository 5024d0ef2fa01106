package crm_test

import (
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMoneyPrintsMajorUnits(t *testing.T) {
	for m, want := range map[crm.Money]string{
		{Amount: 2_500_000, Currency: "EUR"}: "25000.00 EUR",
		{Amount: 5, Currency: "USD"}:         "0.05 USD",
		{Amount: -5, Currency: "USD"}:        "-0.05 USD",
		{Amount: 1500, Currency: "JPY"}:      "1500 JPY",
		{Amount: 1, Currency: "KWD"}:         "0.001 KWD",
		{Amount: 42}:                         "0.42",
		{}:                                   "",
	} {
		assert.Equal(t, want, m.String())
	}
	assert.Equal(t, 0, crm.MinorUnits("jpy"))
	assert.Equal(t, 3, crm.MinorUnits("KWD"))
	assert.Equal(t, 2, crm.MinorUnits("EUR"))
}

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in, currency string
		want         crm.Money
		err          string
	}{
		{in: "", want: crm.Money{}},
		{in: "1,234.50 EUR", want: crm.Money{Amount: 123450, Currency: "EUR"}},
		{in: "eur 1234.5", want: crm.Money{Amount: 123450, Currency: "EUR"}},
		{in: "$1,234.50", want: crm.Money{Amount: 123450, Currency: "USD"}},
		{in: "1234", currency: "usd", want: crm.Money{Amount: 123400, Currency: "USD"}},
		{in: ".5", currency: "USD", want: crm.Money{Amount: 50, Currency: "USD"}},
		{in: "12 €", want: crm.Money{Amount: 1200, Currency: "EUR"}},
		{in: "(3.10)", currency: "EUR", want: crm.Money{Amount: -310, Currency: "EUR"}},
		{in: "-$5", want: crm.Money{Amount: -500, Currency: "USD"}},
		{in: "¥1,500", want: crm.Money{Amount: 1500, Currency: "JPY"}},
		{in: "1.234 KWD", want: crm.Money{Amount: 1234, Currency: "KWD"}},
		{in: "1'234.50 CHF", want: crm.Money{Amount: 123450, Currency: "CHF"}},
		{in: "1 234 567.89 EUR", want: crm.Money{Amount: 123456789, Currency: "EUR"}},
		{in: "12.500", currency: "EUR", want: crm.Money{Amount: 1250, Currency: "EUR"}},
		{in: "90071992547409.92 USD", want: crm.Money{Amount: crm.MaxAmount, Currency: "USD"}},
		{in: "90071992547409.93 USD", err: "too large"},
		{in: "12.345", currency: "EUR", err: "more decimals"},
		{in: "1.5 JPY", err: "more decimals"},
		{in: "1,5", currency: "EUR", err: "thousands separator"},
		{in: "12", err: "no currency"},
		{in: "abc", currency: "EUR", err: "not an amount"},
		{in: "$12 EUR", err: "two currencies"},
		{in: "12.3.4", currency: "EUR", err: "not an amount"},
	}
	for _, tt := range tests {
		got, err := crm.ParseMoney(tt.in, tt.currency)
		if tt.err != "" {
			require.ErrorIs(t, err, crm.ErrInvalid, tt.in)
			assert.Contains(t, err.Error(), tt.err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
		if !got.IsZero() {
			back, err := crm.ParseMoney(got.String(), "")
			require.NoError(t, err, tt.in)
			assert.Equal(t, got, back, "String and ParseMoney round-trip")
		}
	}
}
