package crm_test

import (
	"fmt"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collectDuplicates runs a detection to the end.
func collectDuplicates(t *testing.T, seq func(func(crm.Duplicate, error) bool)) []crm.Duplicate {
	t.Helper()
	var out []crm.Duplicate
	for d, err := range seq {
		require.NoError(t, err)
		out = append(out, d)
	}
	return out
}

func rules(d crm.Duplicate) []string {
	var out []string
	for _, r := range d.Reasons {
		out = append(out, r.Rule)
	}
	return out
}

func TestFindDuplicateContacts(t *testing.T) {
	e := setup(t)
	acme, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Acme"})
	require.NoError(t, err)
	globex, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Globex"})
	require.NoError(t, err)
	at := func(co crm.Company) []crm.CompanyRole { return []crm.CompanyRole{{CompanyID: co.ID}} }
	cs := e.ws.Contacts()
	mk := func(c crm.Contact) crm.Contact {
		t.Helper()
		c, err := cs.Create(e.ctx, c)
		require.NoError(t, err)
		return c
	}
	john := mk(crm.Contact{FirstName: "John", LastName: "Smith", Emails: []string{"John.Smith@gmail.com"}, Companies: at(acme)})
	jon := mk(crm.Contact{FirstName: "Jon", LastName: "Smith", Emails: []string{"johnsmith+crm@googlemail.com"}, Companies: at(acme)})
	mary := mk(crm.Contact{FirstName: "Mary", LastName: "Major", Phones: []crm.Phone{{Number: "+49 30 1234-5678"}}})
	m := mk(crm.Contact{FirstName: "M.", LastName: "Major", Phones: []crm.Phone{{Number: "030 12345678", Region: "DE"}}})
	peter := mk(crm.Contact{FirstName: "Peter", LastName: "Parker", Companies: at(acme)})
	pete := mk(crm.Contact{FirstName: "Peter", LastName: "Parker", Companies: at(acme), Emails: []string{"pp@example.com"}})
	// Alike but not duplicates: same name at different companies, other
	// providers' dotted addresses, different numbers.
	mk(crm.Contact{FirstName: "Peter", LastName: "Parkes", Companies: at(globex)})
	mk(crm.Contact{FirstName: "Ann", Emails: []string{"ann.lee@example.com"}})
	mk(crm.Contact{FirstName: "Ann", Emails: []string{"annlee@example.com"}})
	mk(crm.Contact{FirstName: "Bob", Phones: []crm.Phone{{Number: "030 99999999", Region: "DE"}}})
	// A soft-deleted copy is not reported.
	gone := mk(crm.Contact{FirstName: "John", LastName: "Smith", Emails: []string{"j.o.h.n.smith@gmail.com"}, Companies: at(acme)})
	require.NoError(t, cs.Delete(e.ctx, gone.ID))

	got := collectDuplicates(t, cs.FindDuplicates(e.ctx, crm.DuplicateOptions{}))
	require.Len(t, got, 3, "%+v", got)

	assert.Equal(t, [2]string{john.ID, jon.ID}, [2]string{got[0].A, got[0].B})
	assert.Equal(t, []string{"email", "name"}, rules(got[0]))
	assert.Contains(t, got[0].Reasons[0].Detail, "Gmail")
	assert.InDelta(t, 0.95, got[0].Reasons[0].Score, 1e-9)
	assert.Greater(t, got[0].Score, 0.98)

	assert.Equal(t, [2]string{mary.ID, m.ID}, [2]string{got[1].A, got[1].B})
	assert.Equal(t, []string{"phone", "name"}, rules(got[1]), "initial and last name corroborate the phone")
	assert.InDelta(t, 1-0.4*(1-0.38), got[1].Score, 0.001)

	assert.Equal(t, [2]string{peter.ID, pete.ID}, [2]string{got[2].A, got[2].B})
	assert.Equal(t, []string{"name"}, rules(got[2]))
	assert.InDelta(t, 0.8, got[2].Score, 1e-9)
	assert.Contains(t, got[2].Reasons[0].Detail, acme.ID)

	// A higher bar drops the weaker pairs; stopping early is clean.
	strict := collectDuplicates(t, cs.FindDuplicates(e.ctx, crm.DuplicateOptions{MinScore: 0.9}))
	require.Len(t, strict, 1)
	assert.Equal(t, jon.ID, strict[0].B)
	for _, err := range cs.FindDuplicates(e.ctx, crm.DuplicateOptions{}) {
		require.NoError(t, err)
		break
	}
}

func TestFindDuplicatesWindow(t *testing.T) {
	e := setup(t)
	cs := e.ws.Contacts()
	var ids []string
	for i := range 4 {
		c, err := cs.Create(e.ctx, crm.Contact{FirstName: fmt.Sprint("Caller ", i), Phones: []crm.Phone{{Number: "+1 201 555 0100"}}})
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	all := collectDuplicates(t, cs.FindDuplicates(e.ctx, crm.DuplicateOptions{}))
	assert.Len(t, all, 6, "every pair of four")
	near := collectDuplicates(t, cs.FindDuplicates(e.ctx, crm.DuplicateOptions{Window: 1}))
	require.Len(t, near, 3, "each compared with the one before it only")
	for i, d := range near {
		assert.Equal(t, [2]string{ids[i], ids[i+1]}, [2]string{d.A, d.B})
	}
}

func TestFindDuplicatesBadOptions(t *testing.T) {
	e := setup(t)
	for _, err := range e.ws.Contacts().FindDuplicates(e.ctx, crm.DuplicateOptions{MinScore: 1.5, Window: -1}) {
		assert.ErrorIs(t, err, crm.ErrInvalid)
		assert.ElementsMatch(t, []string{"min_score", "window"}, fieldErrors(t, err))
	}
}

func TestFindDuplicateCompanies(t *testing.T) {
	e := setup(t)
	cos := e.ws.Companies()
	mk := func(c crm.Company) crm.Company {
		t.Helper()
		c, err := cos.Create(e.ctx, c)
		require.NoError(t, err)
		return c
	}
	acme := mk(crm.Company{Name: "Acme, Inc.", Domain: "www.acme.com"})
	acmeEU := mk(crm.Company{Name: "ACME GmbH", Domain: "eu.acme.com"})
	globex := mk(crm.Company{Name: "Globex Corporation"})
	globex2 := mk(crm.Company{Name: "The Globex Corp."})
	uk := mk(crm.Company{Name: "Initech UK", Domain: "initech.co.uk"})
	ukShop := mk(crm.Company{Name: "Shop", Domain: "shop.initech.co.uk"})
	umbrella := mk(crm.Company{Name: "Umbrella Industries"})
	umbrella2 := mk(crm.Company{Name: "Umbrella Industry Ltd"})
	// Not duplicates: other registered domains under one public suffix,
	// names sharing only a first word.
	mk(crm.Company{Name: "Initrode", Domain: "initrode.co.uk"})
	mk(crm.Company{Name: "Acme Robotics"})

	got := collectDuplicates(t, cos.FindDuplicates(e.ctx, crm.DuplicateOptions{}))
	require.Len(t, got, 4, "%+v", got)
	pairs := map[[2]string]crm.Duplicate{}
	for _, d := range got {
		assert.Equal(t, crm.KindCompany, d.Kind)
		pairs[[2]string{d.A, d.B}] = d
	}
	d := pairs[[2]string{acme.ID, acmeEU.ID}]
	assert.Equal(t, []string{"domain", "name"}, rules(d))
	assert.Contains(t, d.Reasons[0].Detail, "acme.com")
	assert.Equal(t, []string{"name"}, rules(pairs[[2]string{globex.ID, globex2.ID}]))
	assert.InDelta(t, 0.85, pairs[[2]string{globex.ID, globex2.ID}].Score, 1e-9)
	assert.Equal(t, []string{"domain"}, rules(pairs[[2]string{uk.ID, ukShop.ID}]))
	sim := pairs[[2]string{umbrella.ID, umbrella2.ID}]
	assert.Equal(t, []string{"name"}, rules(sim))
	assert.Less(t, sim.Score, 0.7)
}
