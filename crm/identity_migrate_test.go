package crm_test

import (
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckRepairsLegacyIdentityKeys writes a contact and a company the
// way versions before the identity normalisers stored them (phones
// without E.164, email and phone index entries keyed the old way, an IDN
// domain keyed by its Unicode text) and checks that Check finds the old
// entries stale and the new ones missing, that Repair rebuilds them, and
// that lookups and duplicate detection work on the repaired store.
func TestCheckRepairsLegacyIdentityKeys(t *testing.T) {
	e := setup(t)
	ws, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: "legacy", Name: "Legacy", PhoneRegion: "DE"})
	require.NoError(t, err)
	ada, err := ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada",
		Emails: []string{"Ada@bücher.de"},
		Phones: []crm.Phone{{Number: "+44 (0)20 7946 0958"}, {Number: "030 12345678"}}})
	require.NoError(t, err)
	co, err := ws.Companies().Create(e.ctx, crm.Company{Name: "Bücher", Domain: "bücher.de"})
	require.NoError(t, err)

	rep, err := ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	require.Zero(t, rep.Drifted(), rep.Issues)

	// The old code stored the address as written with its domain lower
	// case, and keyed it, the phones and the domain by their text.
	require.NoError(t, crm.MakeLegacyIdentity(e.ctx, ws, ada.ID, co.ID, []string{"Ada@bücher.de"}, "bücher.de"))

	rep, err = ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	byIndex := map[string][]crm.DriftProblem{}
	for _, d := range rep.Issues {
		byIndex[d.Index] = append(byIndex[d.Index], d.Problem)
	}
	// email: the key of "Ada@bücher.de" is now ada@xn--bcher-kva.de;
	// phones: +4402079460958 and 03012345678 are now +442079460958 and
	// +493012345678; domain: bücher.de is now xn--bcher-kva.de.
	assert.ElementsMatch(t, []crm.DriftProblem{crm.DriftMissing, crm.DriftStale}, byIndex["email"], rep.Issues)
	assert.ElementsMatch(t, []crm.DriftProblem{crm.DriftMissing, crm.DriftMissing, crm.DriftStale, crm.DriftStale}, byIndex["phone"], rep.Issues)
	assert.ElementsMatch(t, []crm.DriftProblem{crm.DriftMissing, crm.DriftStale}, byIndex["domain"], rep.Issues)
	// The phones' E.164 digits the search index holds are gone with the
	// E.164 forms.
	assert.ElementsMatch(t, []crm.DriftProblem{crm.DriftStale, crm.DriftStale}, byIndex["search"], rep.Issues)
	assert.Equal(t, int64(10), rep.Drifted(), rep.Issues)

	// Before the repair, the IDN spellings do not find the records.
	_, err = ws.Contacts().GetByEmail(e.ctx, "ada@xn--bcher-kva.de")
	assert.ErrorIs(t, err, crm.ErrNotFound)

	rep, err = ws.Check(e.ctx, crm.CheckOptions{Repair: true})
	require.NoError(t, err)
	assert.Equal(t, int64(10), rep.Repaired, rep.Issues)
	rep, err = ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, rep.Drifted(), rep.Issues)

	for _, spelling := range []string{"ada@xn--bcher-kva.de", "ADA@BÜCHER.DE", "Ada@bücher.de."} {
		got, err := ws.Contacts().GetByEmail(e.ctx, spelling)
		require.NoError(t, err, spelling)
		assert.Equal(t, ada.ID, got.ID)
	}
	got, err := ws.Companies().GetByDomain(e.ctx, "https://www.xn--bcher-kva.de/")
	require.NoError(t, err)
	assert.Equal(t, co.ID, got.ID)

	// The repaired unique entries hold: the other spelling is refused.
	_, err = ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Copy", Emails: []string{"ada@xn--bcher-kva.de"}})
	assert.ErrorIs(t, err, crm.ErrInvalid)
	_, err = ws.Companies().Create(e.ctx, crm.Company{Name: "Copy", Domain: "xn--bcher-kva.de"})
	assert.ErrorIs(t, err, crm.ErrInvalid)

	// A legacy phone (no E.164 stored) matches a new one by E.164.
	_, err = ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada", LastName: "Twin", Phones: []crm.Phone{{Number: "+44 20 7946 0958"}}})
	require.NoError(t, err)
	var pairs int
	for d, err := range ws.Contacts().FindDuplicates(e.ctx, crm.DuplicateOptions{}) {
		require.NoError(t, err)
		assert.Equal(t, ada.ID, d.A)
		assert.Equal(t, "phone", d.Reasons[0].Rule)
		pairs++
	}
	assert.Equal(t, 1, pairs)

	// Rewriting the legacy contact fills in the E.164 forms.
	ada, err = ws.Contacts().Update(e.ctx, ada.ID, func(c *crm.Contact) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, "+442079460958", ada.Phones[0].E164)
	assert.Equal(t, "+493012345678", ada.Phones[1].E164)
}
