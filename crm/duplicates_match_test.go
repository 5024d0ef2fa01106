package crm

import (
	"strings"
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

func TestPhoneKeys(t *testing.T) {
	for _, tc := range []struct {
		a, ra, b, rb string
		want         bool
	}{
		{"+49 30 1234-5678", "", "+49 (30) 12345678", "", true},
		{"+49 30 12345678", "", "030 12345678", "DE", true},
		{"0049 30 12345678", "DE", "+49 30 12345678", "", true},
		{"030 12345678", "DE", "040 12345678", "DE", false},
		{"+49 30 1234567", "", "+33 30 1234567", "", false},
		{"030 1234567", "DE", "+33 30 1234567", "", false},
		{"+44 (0)20 7946 0958", "", "+44 20 7946 0958", "", true},
		{"8 (495) 123-45-67", "RU", "+7 495 123 45 67", "", true},
		{"011 44 20 7946 0958", "US", "+44 20 7946 0958", "", true},
		{"+1 650 253 0000 x123", "", "+1 (650) 253-0000", "", true},
		{"12345", "DE", "12345", "DE", false}, // not a number: no key
	} {
		t.Run(tc.a+"~"+tc.b, func(t *testing.T) {
			a, b := phoneKey(Phone{Number: tc.a}, tc.ra), phoneKey(Phone{Number: tc.b}, tc.rb)
			assert.Equal(t, tc.want, a != "" && a == b, "%q and %q", a, b)
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
	// Public Suffix List: private suffixes and wildcard rules.
	assert.Equal(t, "alice.github.io", siteDomain("www.alice.github.io"))
	assert.Equal(t, "alice.blogspot.com", siteDomain("news.alice.blogspot.com"))
	assert.Equal(t, "smith.me.uk", siteDomain("shop.smith.me.uk"))
	assert.Equal(t, "city.kawasaki.jp", siteDomain("www.city.kawasaki.jp"))
	assert.Equal(t, "a.b.kawasaki.jp", siteDomain("x.a.b.kawasaki.jp"))
	assert.Equal(t, "xn--bcher-kva.de", siteDomain("shop.bücher.de"))
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

func TestFoldPersonLetters(t *testing.T) {
	for in, want := range map[string]string{
		"Nguyễn Văn An":     "nguyen van an",
		"Ștefan Șerban":     "stefan serban",
		"Ştefan Şerban":     "stefan serban", // cedilla forms
		"Đặng Thị Đào":      "dang thi dao",
		"Łukasz Żółć":       "lukasz zolc",
		"Søren Ørsted":      "soren orsted",
		"Straße":            "strasse",
		"Æsa Cœur":          "aesa coeur",
		"Þór Guðmundsson":   "thor gudmundsson",
		"Ｊｏｈｎ　Ｓｍｉｔｈ":        "john smith",
		"Zoë O'Brien-Smith": "zoe obrien smith",
		"İlknur Işık":       "ilknur isik",
	} {
		assert.Equal(t, want, strings.Join(foldPerson(in), " "), in)
	}
	assert.Equal(t, 1.0, personSimilarity(foldPerson("Nguyễn Đặng"), foldPerson("Nguyen Dang")))
}
