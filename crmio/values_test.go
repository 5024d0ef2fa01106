package crmio

import (
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in       string
		currency string // default currency
		decComma bool
		want     crm.Money
		err      string
	}{
		{in: "", want: crm.Money{}},
		{in: "1,234.50 EUR", want: crm.Money{Amount: 123450, Currency: "EUR"}},
		{in: "EUR 1234.5", want: crm.Money{Amount: 123450, Currency: "EUR"}},
		{in: "eur 1234.5", want: crm.Money{Amount: 123450, Currency: "EUR"}},
		{in: "$1,234.50", want: crm.Money{Amount: 123450, Currency: "USD"}},
		{in: "1234.5", currency: "GBP", want: crm.Money{Amount: 123450, Currency: "GBP"}},
		{in: "1234", currency: "USD", want: crm.Money{Amount: 123400, Currency: "USD"}},
		{in: "0.1", currency: "USD", want: crm.Money{Amount: 10, Currency: "USD"}},
		{in: ".5", currency: "USD", want: crm.Money{Amount: 50, Currency: "USD"}},
		{in: "€ 12", want: crm.Money{Amount: 1200, Currency: "EUR"}},
		{in: "12 €", want: crm.Money{Amount: 1200, Currency: "EUR"}},
		{in: "-3.10", currency: "EUR", want: crm.Money{Amount: -310, Currency: "EUR"}},
		{in: "(3.10)", currency: "EUR", want: crm.Money{Amount: -310, Currency: "EUR"}},
		{in: "-$5", want: crm.Money{Amount: -500, Currency: "USD"}},
		{in: "1500 JPY", want: crm.Money{Amount: 1500, Currency: "JPY"}},
		{in: "¥1,500", want: crm.Money{Amount: 1500, Currency: "JPY"}},
		{in: "1.234 KWD", want: crm.Money{Amount: 1234, Currency: "KWD"}},
		{in: "1'234.50 CHF", want: crm.Money{Amount: 123450, Currency: "CHF"}},
		{in: "1 234 567.89 EUR", want: crm.Money{Amount: 123456789, Currency: "EUR"}},
		{in: "12.500", currency: "EUR", want: crm.Money{Amount: 1250, Currency: "EUR"}}, // trailing zeros are exact
		{in: "1.234,50", currency: "EUR", decComma: true, want: crm.Money{Amount: 123450, Currency: "EUR"}},
		{in: "0.1 USD", want: crm.Money{Amount: 10, Currency: "USD"}},
		// Amounts past crm.MaxAmount (2^53) are refused, not rounded.
		{in: "90071992547409.92 USD", want: crm.Money{Amount: 9007199254740992, Currency: "USD"}},
		{in: "90071992547409.93 USD", err: "too large"},
		{in: "1.234,567", currency: "EUR", decComma: true, err: `"1.234,567" has more decimals`},
		{in: "12.345", currency: "EUR", err: "more decimals"},
		{in: "1.5 JPY", err: "more decimals"},
		{in: "1,5", currency: "EUR", err: "thousands separator"},
		{in: "1,23,456", currency: "EUR", err: "thousands separator"},
		{in: "12", err: "no currency"},
		{in: "abc", currency: "EUR", err: "not an amount"},
		{in: "$12 EUR", err: "two currencies"},
		{in: "12.3.4", currency: "EUR", err: "not an amount"},
		{in: "99999999999999999999", currency: "EUR", err: "too large"},
		{in: "EUR", currency: "EUR", err: "not an amount"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseMoney(tt.in, tt.currency, tt.decComma)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseDate(t *testing.T) {
	d := func(y int, m time.Month, day int) crm.Date { return crm.Date{Year: y, Month: m, Day: day} }
	tests := []struct {
		in, layout string
		want       crm.Date
		err        bool
	}{
		{in: "2024-05-01", want: d(2024, 5, 1)},
		{in: "2024/05/01", want: d(2024, 5, 1)},
		{in: "2024-05-01T23:30:00+02:00", want: d(2024, 5, 1)},
		{in: "02/01/2024", want: d(2024, 1, 2)}, // day first by default
		{in: "2/1/2024", want: d(2024, 1, 2)},
		{in: "02/01/2024", layout: "01/02/2006", want: d(2024, 2, 1)},
		{in: "12/31/2024", layout: "01/02/2006", want: d(2024, 12, 31)},
		{in: "12/31/2024", err: true}, // not day first: rejected, not swapped
		{in: "02.01.2024", want: d(2024, 1, 2)},
		{in: "2 Jan 2024", want: d(2024, 1, 2)},
		{in: "Jan 2, 2024", want: d(2024, 1, 2)},
		{in: "January 2, 2024", want: d(2024, 1, 2)},
		{in: "2024-02-30", err: true},
		{in: "yesterday", err: true},
		{in: "", want: crm.Date{}},
	}
	for _, tt := range tests {
		t.Run(tt.in+"/"+tt.layout, func(t *testing.T) {
			got, err := ParseDate(tt.in, tt.layout)
			if tt.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseTime(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	tests := []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{in: "2024-05-01T10:00:00Z", loc: time.UTC, want: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{in: "2024-05-01T10:00:00.123456Z", loc: time.UTC, want: time.Date(2024, 5, 1, 10, 0, 0, 123456000, time.UTC)},
		{in: "2024-05-01 10:00", loc: time.UTC, want: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{in: "2024-01-15 10:00", loc: berlin, want: time.Date(2024, 1, 15, 10, 0, 0, 0, berlin)},
		{in: "2024-05-01", loc: time.UTC, want: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{in: "02/01/2024 14:30", loc: time.UTC, want: time.Date(2024, 1, 2, 14, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in, "", tt.loc)
		require.NoError(t, err, tt.in)
		assert.True(t, tt.want.Equal(got), "%s: got %v want %v", tt.in, got, tt.want)
	}
	_, err = parseTime("soon", "", time.UTC)
	assert.Error(t, err)
}

func TestParseBoolAndNumbers(t *testing.T) {
	for in, want := range map[string]bool{"yes": true, "No": false, "TRUE": true, "f": false, "1": true, "0": false, " y ": true, "off": false} {
		got, err := ParseBool(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseBool("maybe")
	assert.Error(t, err)

	n, err := parseInt("1,200", false)
	require.NoError(t, err)
	assert.Equal(t, int64(1200), n)
	n, err = parseInt("1200.00", false)
	require.NoError(t, err)
	assert.Equal(t, int64(1200), n)
	_, err = parseInt("12.5", false)
	assert.Error(t, err)
	f, err := parseFloat("1.234,5", true)
	require.NoError(t, err)
	assert.Equal(t, 1234.5, f)
	f, err = parseFloat("-1e3", false)
	require.NoError(t, err)
	assert.Equal(t, -1000.0, f)

	for in, want := range map[string]time.Duration{"90": 90 * time.Second, "1h30m": 90 * time.Minute, "1:30": 90 * time.Minute, "0:01:30": 90 * time.Second} {
		got, err := parseDuration(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err = parseDuration("1:75")
	assert.Error(t, err)
}

func TestListsAndPhones(t *testing.T) {
	assert.Equal(t, []string{"a", "b c", "d"}, splitList(" a ;b c| d;;"))
	assert.Nil(t, splitList(""))
	assert.Equal(t, []string{"x", "", "z"}, splitPositional("x;;z"))
	for _, items := range [][]string{{"a", "Smith; Jones LLP", "x|y"}, {`"quoted"`, " padded ", `say "hi"`}, {"", "b"}} {
		assert.Equal(t, items, splitPositional(joinList(items)), "%q", joinList(items))
	}
	assert.Equal(t, `a; "b;c"; "d|e"`, joinList([]string{"a", "b;c", "d|e"}))
	assert.Equal(t, []string{`24" screen`, "b"}, splitList(`24" screen; b`))
	assert.Equal(t, []string{"ab c"}, splitList(`"ab" c`))
	assert.Equal(t, crm.Phone{Number: "+49 30 1234", Label: "work"}, splitPhone("+49 30 1234 (work)"))
	assert.Equal(t, crm.Phone{Number: "(030) 1234"}, splitPhone("(030) 1234"))
	assert.Equal(t, "+1 555 0100 (mobile)", formatPhone(crm.Phone{Number: "+1 555 0100", Label: "mobile"}))
}

func TestFormulaGuard(t *testing.T) {
	tests := []struct{ in, out string }{
		{`=cmd|' /C calc'!A0`, `'=cmd|' /C calc'!A0`},
		{"+1 555", "'+1 555"},
		{"-5", "'-5"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"plain", "plain"},
		{"'quoted", "'quoted"},
		{"'=already", "''=already"},
		{"''=twice", "'''=twice"},
		{"", ""},
		{"'", "'"},
	}
	for _, tt := range tests {
		got := guardCell(tt.in)
		assert.Equal(t, tt.out, got, "guard %q", tt.in)
		assert.Equal(t, tt.in, unguardCell(got), "unguard %q", got)
	}
}
