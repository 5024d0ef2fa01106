package crm_test

import (
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDuplicatesByIdentity stores contacts and companies whose phones,
// addresses and domains are one identity written differently, and others
// that only look alike, and checks that duplicate detection reports
// exactly the pairs that are one identity.
func TestDuplicatesByIdentity(t *testing.T) {
	e := setup(t)
	ws, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: "ident", Name: "Identity", PhoneRegion: "DE"})
	require.NoError(t, err)
	phone := func(n, region string) []crm.Phone { return []crm.Phone{{Number: n, Region: region}} }
	contacts := []crm.Contact{
		// One identity each, two spellings.
		{FirstName: "Albert", Phones: phone("+44 (0)20 7946 0958", "")},
		{FirstName: "Beatrix", Phones: phone("+44 20 7946 0958", "")},
		{FirstName: "Cornelius", Phones: phone("030 12345678", "")}, // the workspace's region, DE
		{FirstName: "Dagmar", Phones: phone("0049 30 12345678", "")},
		{FirstName: "Eustace", Phones: phone("+1 650 253 0000 x123", "")},
		{FirstName: "Fenella", Phones: phone("(650) 253-0000", "US")},
		{FirstName: "Gideon", Phones: phone("8 (495) 123-45-67", "RU")},
		{FirstName: "Hortensia", Phones: phone("+7 495 123 45 67", "")},
		{FirstName: "Ignatius", Emails: []string{"John.Smith@gmail.com"}},
		{FirstName: "Jacinta", Emails: []string{"johnsmith+crm@googlemail.com"}},
		// Alike, not one identity.
		{FirstName: "Kasimir", Phones: phone("+33 30 1234567", "")},
		{FirstName: "Leopoldine", Phones: phone("030 1234567", "")},
		{FirstName: "Mortimer", Phones: phone("040 12345678", "")},
		{FirstName: "Nerissa", Emails: []string{"ann.lee@example.com"}},
		{FirstName: "Octavian", Emails: []string{"annlee@example.com"}},
		{FirstName: "Philippa", Emails: []string{"ada@bücher.de"}},
		{FirstName: "Quentin", Emails: []string{"ada@bucher.de"}},
	}
	got, err := ws.Contacts().CreateMany(e.ctx, contacts)
	require.NoError(t, err)
	name := map[string]string{}
	for _, c := range got {
		name[c.ID] = c.FirstName
	}
	var pairs [][2]string
	for d, err := range ws.Contacts().FindDuplicates(e.ctx, crm.DuplicateOptions{}) {
		require.NoError(t, err)
		pairs = append(pairs, [2]string{name[d.A], name[d.B]})
	}
	assert.ElementsMatch(t, [][2]string{
		{"Albert", "Beatrix"}, {"Cornelius", "Dagmar"}, {"Eustace", "Fenella"},
		{"Gideon", "Hortensia"}, {"Ignatius", "Jacinta"},
	}, pairs)

	companies := []crm.Company{
		{Name: "Northwind", Domain: "bücher.de"},
		{Name: "Contoso", Domain: "shop.xn--bcher-kva.de"},
		{Name: "Fabrikam", Domain: "acme.co.uk"},
		{Name: "Tailspin", Domain: "eu.acme.co.uk"},
		{Name: "Wingtip", Domain: "city.kawasaki.jp"},
		{Name: "Litware", Domain: "www2.city.kawasaki.jp"},
		// Different sites under one public suffix.
		{Name: "Proseware", Domain: "alice.github.io"},
		{Name: "Adatum", Domain: "bob.github.io"},
		{Name: "Lucerne", Domain: "alice.blogspot.com"},
		{Name: "Margie", Domain: "bob.blogspot.com"},
		{Name: "Humongous", Domain: "smith.me.uk"},
		{Name: "Coho", Domain: "jones.me.uk"},
		{Name: "Trey", Domain: "a.b.kawasaki.jp"},
		{Name: "Vanarsdel", Domain: "c.b.kawasaki.jp"},
	}
	cos, err := ws.Companies().CreateMany(e.ctx, companies)
	require.NoError(t, err)
	for _, c := range cos {
		name[c.ID] = c.Name
	}
	pairs = nil
	for d, err := range ws.Companies().FindDuplicates(e.ctx, crm.DuplicateOptions{}) {
		require.NoError(t, err)
		pairs = append(pairs, [2]string{name[d.A], name[d.B]})
	}
	assert.ElementsMatch(t, [][2]string{
		{"Northwind", "Contoso"}, {"Fabrikam", "Tailspin"}, {"Wingtip", "Litware"},
	}, pairs)
}
