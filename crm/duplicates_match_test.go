package crm

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMailbox(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		changed  bool
	}{
		{"John.Smith@Gmail.com", "johnsmith@gmail.com", true},
		{"johnsmith+crm@googlemail.com", "johnsmith@gmail.com", true},
		{"j.o.h.n.smith+a+b@gmail.com", "johnsmith@gmail.com", true},
		{"johnsmith@gmail.com", "johnsmith@gmail.com", false},
		// Other providers keep dots and tags: they may be different mailboxes.
		{"John.Smith+x@Example.com", "john.smith+x@example.com", false},
		{"no-at-sign", "no-at-sign", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, changed := mailbox(tc.in)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.changed, changed)
		})
	}
}

func TestSamePhone(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"+49 30 1234-5678", "+49 (30) 12345678", true},
		{"+49 30 12345678", "030 12345678", true},
		{"0049 30 12345678", "+49 30 12345678", true},
		{"030 12345678", "040 12345678", false},
		{"+49 30 12345678", "+33 30 12345678", false},
		{"+1 555 0100", "555 0100", false}, // too few digits to tell
		{"", "", false},
	} {
		t.Run(tc.a+"~"+tc.b, func(t *testing.T) {
			assert.Equal(t, tc.want, samePhone(phoneDigits(tc.a), phoneDigits(tc.b)))
			assert.Equal(t, tc.want, samePhone(phoneDigits(tc.b), phoneDigits(tc.a)), "symmetric")
		})
	}
}

func TestCompanyWordsAndSites(t *testing.T) {
	assert.Equal(t, []string{"acme"}, companyWords("Acme, Inc."))
	assert.Equal(t, []string{"acme"}, companyWords("ACME GmbH"))
	assert.Equal(t, []string{"smith", "and", "sons"}, companyWords("The Smith & Sons Co., Ltd."))
	assert.Equal(t, []string{"societe", "generale"}, companyWords("Société Générale S.A."))
	assert.Equal(t, []string{"inc"}, companyWords("Inc"), "a name that is only a legal form stays")

	assert.Equal(t, "acme.com", siteDomain("eu.shop.acme.com"))
	assert.Equal(t, "acme.com", siteDomain("www.acme.com"))
	assert.Equal(t, "acme.co.uk", siteDomain("shop.acme.co.uk"))
	assert.Equal(t, "acme.co.uk", siteDomain("acme.co.uk"))
	assert.Equal(t, "co.uk", siteDomain("co.uk"))
}

func TestSimilarity(t *testing.T) {
	assert.InDelta(t, 0.961, jaroWinkler("martha", "marhta"), 0.001)
	assert.InDelta(t, 0.813, jaroWinkler("dixon", "dicksonx"), 0.001)
	assert.Equal(t, 0.0, jaroWinkler("abc", "xyz"))
	assert.Equal(t, 0.0, jaroWinkler("", "xyz"))

	assert.Equal(t, []string{"zoe", "obrien", "smith"}, foldPerson("Zoë O'Brien-Smith"))
	assert.Equal(t, 1.0, personSimilarity(foldPerson("Zoë Smith"), foldPerson("zoe SMITH")))
	assert.InDelta(t, 0.97, personSimilarity(foldPerson("Smith John"), foldPerson("John Smith")), 0.001)
	assert.InDelta(t, 0.95, personSimilarity(foldPerson("J. Smith"), foldPerson("John Smith")), 0.001)
	assert.Greater(t, personSimilarity(foldPerson("Jon Smith"), foldPerson("John Smith")), 0.9)
	assert.Less(t, personSimilarity(foldPerson("Peter Parker"), foldPerson("Mary Jane")), 0.6)
	assert.Equal(t, 0.0, personSimilarity(nil, foldPerson("Mary Jane")))
}
