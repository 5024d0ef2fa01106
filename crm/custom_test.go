package crm_test

import (
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr(f float64) *float64 { return &f }

func TestCustomFields(t *testing.T) {
	e := setup(t)
	f := e.ws.Fields()
	defs := []crm.FieldDef{
		{Object: crm.KindContact, Name: "score", Type: crm.FieldNumber, Min: ptr(0), Max: ptr(100), Default: 10},
		{Object: crm.KindContact, Name: "tier", Type: crm.FieldSelect, Options: []string{"gold", "silver"}, Required: true},
		{Object: crm.KindContact, Name: "badge", Type: crm.FieldText, Unique: true, Pattern: `(?i)^B-[0-9]+$`},
		{Object: crm.KindContact, Name: "renewal", Type: crm.FieldDate},
		{Object: crm.KindContact, Name: "budget", Type: crm.FieldMoney},
		{Object: crm.KindContact, Name: "langs", Type: crm.FieldMultiSelect, Options: []string{"de", "en", "fr"}},
		{Object: crm.KindContact, Name: "site", Type: crm.FieldURL},
		{Object: crm.KindContact, Name: "optin", Type: crm.FieldBool},
	}
	for _, d := range defs {
		_, err := f.Define(e.ctx, d)
		require.NoError(t, err, d.Name)
	}
	var names []string
	for d, err := range f.List(e.ctx, crm.KindContact) {
		require.NoError(t, err)
		names = append(names, d.Name)
	}
	require.Len(t, names, len(defs))
	for i, d := range defs {
		assert.Equal(t, d.Name, names[i], "definition order")
	}

	cs := e.ws.Contacts()
	c, err := cs.Create(e.ctx, crm.Contact{FirstName: "Ann", Custom: crm.Custom{
		"tier": "gold", "badge": "B-1", "renewal": "2027-01-31", "budget": crm.Money{Amount: 5000, Currency: "EUR"},
		"langs": []any{"fr", "de", "fr"}, "site": "https://example.com", "optin": true,
	}})
	require.NoError(t, err)
	assert.Equal(t, crm.Custom{
		"score": 10.0, "tier": "gold", "badge": "B-1", "renewal": crm.Date{Year: 2027, Month: 1, Day: 31},
		"budget": crm.Money{Amount: 5000, Currency: "EUR"}, "langs": []string{"de", "fr"},
		"site": "https://example.com", "optin": true,
	}, c.Custom, "values are stored in canonical form, with defaults")
	got, err := cs.Get(e.ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, c.Custom, got.Custom, "values round-trip through storage with their types")

	bad := []struct {
		name   string
		custom crm.Custom
		fields []string
	}{
		{"required missing", crm.Custom{}, []string{"custom.tier"}},
		{"wrong type", crm.Custom{"tier": "gold", "score": "high"}, []string{"custom.score"}},
		{"above max", crm.Custom{"tier": "gold", "score": 101}, []string{"custom.score"}},
		{"not an option", crm.Custom{"tier": "bronze"}, []string{"custom.tier"}},
		{"pattern", crm.Custom{"tier": "gold", "badge": "X-1"}, []string{"custom.badge"}},
		{"unique, other case", crm.Custom{"tier": "gold", "badge": "b-1"}, []string{"custom.badge"}},
		{"bad date", crm.Custom{"tier": "gold", "renewal": "31/01/2027"}, []string{"custom.renewal"}},
		{"money without currency", crm.Custom{"tier": "gold", "budget": 12}, []string{"custom.budget"}},
		{"multi option", crm.Custom{"tier": "gold", "langs": []string{"xx"}}, []string{"custom.langs"}},
		{"bad url", crm.Custom{"tier": "gold", "site": "ftp://x"}, []string{"custom.site"}},
		{"unknown", crm.Custom{"tier": "gold", "nope": 1}, []string{"custom.nope"}},
		{"all of them", crm.Custom{"score": -1, "optin": "yes"}, []string{"custom.optin", "custom.score", "custom.tier"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cs.Create(e.ctx, crm.Contact{FirstName: "X", Custom: tc.custom})
			fields := fieldErrors(t, err)
			assert.ElementsMatch(t, tc.fields, fields)
		})
	}

	// Definitions are validated too.
	for _, d := range []crm.FieldDef{
		{Object: crm.KindContact, Name: "Bad Name", Type: crm.FieldText},
		{Object: crm.KindPipeline, Name: "x", Type: crm.FieldText},
		{Object: crm.KindContact, Name: "x", Type: "blob"},
		{Object: crm.KindContact, Name: "x", Type: crm.FieldSelect},
		{Object: crm.KindContact, Name: "x", Type: crm.FieldText, Pattern: "("},
		{Object: crm.KindContact, Name: "x", Type: crm.FieldNumber, Default: "ten"},
	} {
		_, err := f.Define(e.ctx, d)
		assert.ErrorIs(t, err, crm.ErrInvalid, "%+v", d)
	}
	_, err = f.Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "score", Type: crm.FieldText})
	assert.ErrorIs(t, err, crm.ErrInvalid, "a field's type cannot change")

	// Removing a field frees its unique values and drops stored values on
	// the next write.
	require.NoError(t, f.Remove(e.ctx, crm.KindContact, "badge"))
	c, err = cs.Update(e.ctx, c.ID, func(c *crm.Contact) error { c.Title = "Boss"; return nil })
	require.NoError(t, err)
	_, has := c.Custom["badge"]
	assert.False(t, has)
	assert.ErrorIs(t, f.Remove(e.ctx, crm.KindContact, "badge"), crm.ErrNotFound)
}
