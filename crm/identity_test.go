package crm_test

import (
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// identityCase is one real-world input and what the CRM makes of it: the
// stored form and the key it is compared by, or the reason it is refused
// (a part of the field error).
type identityCase struct {
	kind, in, region string
	stored, key      string
	refused          string
}

// identityCases covers the inputs the issue names and real-world numbers
// and addresses: phones of 17 countries with and without trunk prefixes,
// dial-out prefixes and extensions; IDN and full-width domains, quoted
// local parts, trailing dots and spaces; public-suffix domains; country
// names and aliases; currencies.
var identityCases = []identityCase{
	// Phones: stored is the E.164 form, key the extension.
	{kind: "phone", in: "+1 (650) 253-0000 ext. 123", stored: "+16502530000", key: "123"},
	{kind: "phone", in: "+1 650 253 0000 x123", stored: "+16502530000", key: "123"},
	{kind: "phone", in: "+1 (650) 253-0000;ext=123", stored: "+16502530000", key: "123"},
	{kind: "phone", in: "(650) 253-0000", region: "US", stored: "+16502530000"},
	{kind: "phone", in: "1-650-253-0000", region: "US", stored: "+16502530000"},
	{kind: "phone", in: "011 44 20 7946 0958", region: "US", stored: "+442079460958"},
	{kind: "phone", in: "+44 (0)20 7946 0958", stored: "+442079460958"},
	{kind: "phone", in: "+44 20 7946 0958", stored: "+442079460958"},
	{kind: "phone", in: "020 7946 0958", region: "GB", stored: "+442079460958"},
	{kind: "phone", in: "07911 123456", region: "GB", stored: "+447911123456"},
	{kind: "phone", in: "00 44 20 7946 0958", stored: "+442079460958"},
	{kind: "phone", in: "030 12345678", region: "DE", stored: "+493012345678"},
	{kind: "phone", in: "+49 (0)30 12345678", stored: "+493012345678"},
	{kind: "phone", in: "0049 30 12345678", region: "DE", stored: "+493012345678"},
	{kind: "phone", in: "0049 30 12345678", region: "US", stored: "+493012345678"},
	{kind: "phone", in: "030 1234567", region: "DE", stored: "+49301234567"},
	{kind: "phone", in: "+33 30 1234567", stored: "+33301234567"},
	{kind: "phone", in: "01 23 45 67 89", region: "FR", stored: "+33123456789"},
	{kind: "phone", in: "+33 (0)1 23 45 67 89", stored: "+33123456789"},
	{kind: "phone", in: "8 (495) 123-45-67", region: "RU", stored: "+74951234567"},
	{kind: "phone", in: "+7 495 123-45-67", stored: "+74951234567"},
	{kind: "phone", in: "06 1234 5678", region: "IT", stored: "+390612345678"},
	{kind: "phone", in: "+39 06 1234 5678", stored: "+390612345678"},
	{kind: "phone", in: "03-1234-5678", region: "JP", stored: "+81312345678"},
	{kind: "phone", in: "(02) 9876 5432", region: "AU", stored: "+61298765432"},
	{kind: "phone", in: "(11) 91234-5678", region: "BR", stored: "+5511912345678"},
	{kind: "phone", in: "098765 43210", region: "IN", stored: "+919876543210"},
	{kind: "phone", in: "010 1234 5678", region: "CN", stored: "+861012345678"},
	{kind: "phone", in: "912 34 56 78", region: "ES", stored: "+34912345678"},
	{kind: "phone", in: "020 123 4567", region: "NL", stored: "+31201234567"},
	{kind: "phone", in: "044 668 18 00", region: "CH", stored: "+41446681800"},
	{kind: "phone", in: "+41 44 668 18 00 ext 42", stored: "+41446681800", key: "42"},
	{kind: "phone", in: "55 1234 5678", region: "MX", stored: "+525512345678"},
	{kind: "phone", in: "021 123 4567", region: "ZA", stored: "+27211234567"},
	{kind: "phone", in: "08-123 456 78", region: "SE", stored: "+46812345678"},
	{kind: "phone", in: "12345", region: "DE", refused: "not a number in use"},
	{kind: "phone", in: "12345", refused: "no country code"},
	{kind: "phone", in: "030 12345678", refused: "no country code"},
	{kind: "phone", in: "call me", region: "DE", refused: "not a phone number"},
	{kind: "phone", in: "+999 123456", refused: "no such country code"},
	{kind: "phone", in: "+1 555 0100", refused: "local number"},
	{kind: "phone", in: "+49 30 1", refused: "local number"},
	{kind: "phone", in: "+12345678901234567", refused: "too many digits"},

	// Emails: stored form and key.
	{kind: "email", in: "Ada@Example.COM", stored: "Ada@example.com", key: "ada@example.com"},
	{kind: "email", in: "  ada@example.com  ", stored: "ada@example.com", key: "ada@example.com"},
	{kind: "email", in: "ada@example.com.", stored: "ada@example.com", key: "ada@example.com"},
	{kind: "email", in: "ada@bücher.de", stored: "ada@bücher.de", key: "ada@xn--bcher-kva.de"},
	{kind: "email", in: "ada@xn--bcher-kva.de", stored: "ada@bücher.de", key: "ada@xn--bcher-kva.de"},
	{kind: "email", in: "ada@BÜCHER.DE", stored: "ada@bücher.de", key: "ada@xn--bcher-kva.de"},
	{kind: "email", in: "ada@bu\u0308cher.de", stored: "ada@bücher.de", key: "ada@xn--bcher-kva.de"},
	{kind: "email", in: "ada@ｅｘａｍｐｌｅ．ｃｏｍ", stored: "ada@example.com", key: "ada@example.com"},
	{kind: "email", in: "Jöran@例え.jp", stored: "Jöran@例え.jp", key: "jÖran@xn--r8jz45g.jp"}, // folded as filters fold,
	{kind: "email", in: "john.smith+crm@gmail.com", stored: "john.smith+crm@gmail.com", key: "john.smith+crm@gmail.com"},
	{kind: "email", in: `"john doe"@example.com`, stored: `"john doe"@example.com`, key: `"john doe"@example.com`},
	{kind: "email", in: `"ada"@example.com`, stored: "ada@example.com", key: "ada@example.com"},
	{kind: "email", in: `"a\"b"@example.com`, stored: `"a\"b"@example.com`, key: `"a\"b"@example.com`},
	{kind: "email", in: "o'brien@example.ie", stored: "o'brien@example.ie", key: "o'brien@example.ie"},
	{kind: "email", in: "ada@-example.com", refused: "hyphen"},
	{kind: "email", in: "ada@exa_mple.com", refused: "not a valid host name"},
	{kind: "email", in: "ada@[192.168.0.1]", refused: "address literals"},
	{kind: "email", in: "ada@localhost", refused: "no top-level domain"},
	{kind: "email", in: "ada@1.2.3.4", refused: "all-numeric"},
	{kind: "email", in: "ada.@example.com", refused: "ends with a dot"},
	{kind: "email", in: "a..da@example.com", refused: "two dots"},
	{kind: "email", in: "ada lovelace@example.com", refused: "needs quotes"},
	{kind: "email", in: "Ada <ada@example.com>", refused: "needs quotes"},
	{kind: "email", in: "ada@example..com", refused: "empty label"},
	{kind: "email", in: "not-an-email", refused: `"not-an-email" is not a valid email address`},
	{kind: "email", in: "@example.com", refused: "nothing before the @"},

	// Company domains: stored form and registered domain.
	{kind: "domain", in: "https://WWW.Acme.com/about", stored: "acme.com", key: "acme.com"},
	{kind: "domain", in: "eu.shop.acme.com", stored: "eu.shop.acme.com", key: "acme.com"},
	{kind: "domain", in: "shop.acme.co.uk", stored: "shop.acme.co.uk", key: "acme.co.uk"},
	{kind: "domain", in: "alice.github.io", stored: "alice.github.io", key: "alice.github.io"},
	{kind: "domain", in: "news.alice.blogspot.com", stored: "news.alice.blogspot.com", key: "alice.blogspot.com"},
	{kind: "domain", in: "smith.me.uk", stored: "smith.me.uk", key: "smith.me.uk"},
	{kind: "domain", in: "www.city.kawasaki.jp", stored: "city.kawasaki.jp", key: "city.kawasaki.jp"},
	// *.kawasaki.jp are public suffixes (except city.kawasaki.jp).
	{kind: "domain", in: "shop.acme.kawasaki.jp", stored: "shop.acme.kawasaki.jp", key: "shop.acme.kawasaki.jp"},
	{kind: "domain", in: "eu.shop.acme.kawasaki.jp", stored: "eu.shop.acme.kawasaki.jp", key: "shop.acme.kawasaki.jp"},
	{kind: "domain", in: "xn--bcher-kva.de", stored: "bücher.de", key: "bücher.de"},
	{kind: "domain", in: "acme.com:8080", stored: "acme.com", key: "acme.com"},
	{kind: "domain", in: "co.uk", refused: "public suffix"},
	{kind: "domain", in: "-acme.com", refused: "hyphen"},

	// Countries.
	{kind: "country", in: "de", stored: "DE"},
	{kind: "country", in: "UK", stored: "GB"},
	{kind: "country", in: "USA", stored: "US"},
	{kind: "country", in: "United States", stored: "US"},
	{kind: "country", in: "Germany", stored: "DE"},
	{kind: "country", in: "Côte d'Ivoire", stored: "CI"},
	{kind: "country", in: "cote divoire", stored: "CI"},
	{kind: "country", in: "The Netherlands", stored: "NL"},
	{kind: "country", in: "XX", refused: "not an ISO 3166-1 country"},
	{kind: "country", in: "ZZ", refused: "not an ISO 3166-1 country"},
	{kind: "country", in: "QQ", refused: "not an ISO 3166-1 country"},
	{kind: "country", in: "EU", refused: "not an ISO 3166-1 country"},

	// Currencies.
	{kind: "currency", in: "eur", stored: "EUR"},
	{kind: "currency", in: "CLF", stored: "CLF"},
	{kind: "currency", in: "HRK", stored: "HRK"},
	{kind: "currency", in: "ABC", refused: "not an ISO 4217 currency"},
	{kind: "currency", in: "XXX", refused: "not an ISO 4217 currency"},
	{kind: "currency", in: "EURO", refused: "not an ISO 4217 currency"},
}

// identify runs one case through the CRM's exported normalisers.
func identify(c identityCase) (stored, key string, err error) {
	switch c.kind {
	case "phone":
		ph, err := crm.ParsePhone(c.in, c.region)
		return ph.E164, ph.Extension, err
	case "email":
		stored, err := crm.NormalizeEmail(c.in)
		if err != nil {
			return "", "", err
		}
		key, err := crm.EmailKey(c.in)
		return stored, key, err
	case "domain":
		stored, err := crm.NormalizeDomain(c.in)
		if err != nil {
			return "", "", err
		}
		key, err := crm.RegisteredDomain(c.in)
		return stored, key, err
	case "country":
		ve := &crm.ValidationError{Kind: "test"}
		stored := crm.CheckCountry(ve, "country", c.in)
		return stored, "", ve.Err()
	case "currency":
		ve := &crm.ValidationError{Kind: "test"}
		stored := crm.CheckCurrency(ve, "currency", c.in)
		return stored, "", ve.Err()
	}
	panic("unknown kind " + c.kind)
}

func TestIdentityNormalisers(t *testing.T) {
	require.GreaterOrEqual(t, len(identityCases), 60)
	for _, c := range identityCases {
		t.Run(c.kind+"/"+c.in+"/"+c.region, func(t *testing.T) {
			stored, key, err := identify(c)
			if c.refused != "" {
				var ve *crm.ValidationError
				require.ErrorAs(t, err, &ve)
				require.Len(t, ve.Fields, 1)
				assert.Contains(t, ve.Fields[0].Reason, c.refused)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.stored, stored)
			assert.Equal(t, c.key, key)
		})
	}
}

// TestIdentityOnRecords checks the normalisers where records use them:
// the stored forms, and field errors that name the field.
func TestIdentityOnRecords(t *testing.T) {
	e := setup(t)
	_, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: "bad-region", Name: "W", PhoneRegion: "QQ"})
	assert.Equal(t, []string{"phone_region"}, fieldErrors(t, err))
	ws, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: "uk", Name: "UK", PhoneRegion: "uk"})
	require.NoError(t, err)
	info, err := e.crm.UpdateWorkspace(e.ctx, "uk", func(i *crm.WorkspaceInfo) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, "GB", info.PhoneRegion)

	c, err := ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada",
		Emails:  []string{" Ada@BÜCHER.de. "},
		Phones:  []crm.Phone{{Number: "020 7946 0958 ext. 7", Label: "work"}, {Number: "030 12345678", Region: "Germany"}},
		Address: crm.Address{Country: "United Kingdom"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"Ada@bücher.de"}, c.Emails)
	assert.Equal(t, crm.Phone{Number: "020 7946 0958 ext. 7", Label: "work", E164: "+442079460958", Extension: "7"}, c.Phones[0])
	assert.Equal(t, crm.Phone{Number: "030 12345678", Region: "DE", E164: "+493012345678"}, c.Phones[1])
	assert.Equal(t, "GB", c.Address.Country)

	// What a caller puts in E164 and Extension is replaced.
	c, err = ws.Contacts().Update(e.ctx, c.ID, func(c *crm.Contact) error {
		c.Phones[0].E164, c.Phones[0].Extension = "+10000000000", "9"
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "+442079460958", c.Phones[0].E164)
	assert.Equal(t, "7", c.Phones[0].Extension)

	_, err = ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Bad",
		Emails:  []string{"ada@exa_mple.com", "ada@[192.168.0.1]"},
		Phones:  []crm.Phone{{Number: "12345"}, {Number: "030 1234567", Region: "XX"}},
		Address: crm.Address{Country: "ZZ"}})
	assert.ElementsMatch(t, []string{"emails[0]", "emails[1]", "phones[0].number", "phones[1].region", "address.country"}, fieldErrors(t, err))

	_, err = ws.Companies().Create(e.ctx, crm.Company{Name: "Suffix", Domain: "co.uk"})
	assert.Equal(t, []string{"domain"}, fieldErrors(t, err))
	_, err = ws.Companies().Create(e.ctx, crm.Company{Name: "Money", AnnualRevenue: crm.Money{Amount: 1, Currency: "ABC"}})
	assert.Equal(t, []string{"annual_revenue.currency"}, fieldErrors(t, err))
	co, err := ws.Companies().Create(e.ctx, crm.Company{Name: "IDN", Domain: "https://www.ｂüｃｈｅｒ.de/"})
	require.NoError(t, err)
	assert.Equal(t, "bücher.de", co.Domain)
}
