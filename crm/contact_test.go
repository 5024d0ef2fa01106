package crm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestContactCreateAndLookups(t *testing.T) {
	e := setup(t)
	cs := e.ws.Contacts()
	ada, err := cs.Create(e.ctx, crm.Contact{
		FirstName: " Ada ", LastName: "Lovelace",
		Emails:      []string{"Ada@Example.COM", "ada.l@analytical.org"},
		Phones:      []crm.Phone{{Number: "+44 20 7946 0958", Label: "work"}},
		Address:     crm.Address{City: "London", Country: "gb"},
		Birthday:    crm.Date{Year: 1815, Month: 12, Day: 10},
		Lifecycle:   "Lead",
		Tags:        []string{"VIP", "vip", "math"},
		ExternalIDs: map[string]string{"hubspot": "101"},
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(ada.ID, "con_"))
	assert.Equal(t, int64(1), ada.Version)
	assert.Equal(t, "Ada", ada.FirstName, "text is trimmed")
	assert.Equal(t, []string{"Ada@example.com", "ada.l@analytical.org"}, ada.Emails, "domains are lower-cased")
	assert.Equal(t, "GB", ada.Address.Country)
	assert.Equal(t, "lead", ada.Lifecycle)
	assert.Equal(t, []string{"vip", "math"}, ada.Tags)
	assert.Equal(t, "u_test", ada.CreatedBy)
	assert.Equal(t, e.clock.Now(), ada.CreatedAt)

	got, err := cs.Get(e.ctx, ada.ID)
	require.NoError(t, err)
	assert.Equal(t, ada, got)

	for _, email := range []string{"ada@example.com", "ADA@EXAMPLE.COM", " ada.L@Analytical.org "} {
		got, err := cs.GetByEmail(e.ctx, email)
		require.NoError(t, err, email)
		assert.Equal(t, ada.ID, got.ID)
	}
	got, err = cs.GetByExternalID(e.ctx, "HubSpot", "101")
	require.NoError(t, err)
	assert.Equal(t, ada.ID, got.ID)

	_, err = cs.GetByEmail(e.ctx, "nobody@example.com")
	assert.ErrorIs(t, err, crm.ErrNotFound)
	_, err = cs.Get(e.ctx, "con_missing")
	assert.ErrorIs(t, err, crm.ErrNotFound)
}

func TestContactValidation(t *testing.T) {
	e := setup(t)
	cs := e.ws.Contacts()
	_, err := cs.Create(e.ctx, crm.Contact{FirstName: "Existing", Emails: []string{"taken@example.com"}})
	require.NoError(t, err)

	tests := []struct {
		name   string
		c      crm.Contact
		fields []string
	}{
		{"no name or email", crm.Contact{}, []string{"first_name"}},
		{"bad email", crm.Contact{FirstName: "A", Emails: []string{"not-an-email"}}, []string{"emails[0]"}},
		{"email with display name", crm.Contact{FirstName: "A", Emails: []string{"Bob <bob@example.com>"}}, []string{"emails[0]"}},
		{"duplicate email other case", crm.Contact{FirstName: "A", Emails: []string{"TAKEN@example.com"}}, []string{"emails[0]"}},
		{"bad phone", crm.Contact{FirstName: "A", Phones: []crm.Phone{{Number: "call me"}}}, []string{"phones[0].number"}},
		{"bad country", crm.Contact{FirstName: "A", Address: crm.Address{Country: "Atlantis"}}, []string{"address.country"}},
		{"birthday out of range", crm.Contact{FirstName: "A", Birthday: crm.Date{Year: 1200, Month: 1, Day: 1}}, []string{"birthday"}},
		{"impossible date", crm.Contact{FirstName: "A", Birthday: crm.Date{Year: 1990, Month: 2, Day: 30}}, []string{"birthday"}},
		{"future birthday", crm.Contact{FirstName: "A", Birthday: crm.Date{Year: 2100, Month: 1, Day: 1}}, []string{"birthday"}},
		{"unknown lifecycle", crm.Contact{FirstName: "A", Lifecycle: "whale"}, []string{"lifecycle"}},
		{"unknown channel", crm.Contact{FirstName: "A", PreferredChannel: "pigeon"}, []string{"preferred_channel"}},
		{"oversized name", crm.Contact{FirstName: strings.Repeat("x", 300)}, []string{"first_name"}},
		{"control characters", crm.Contact{FirstName: "A\x00B"}, []string{"first_name"}},
		{"unknown company", crm.Contact{FirstName: "A", Companies: []crm.CompanyRole{{CompanyID: "com_nope"}}}, []string{"companies[0].company_id"}},
		{"unknown custom field", crm.Contact{FirstName: "A", Custom: crm.Custom{"shoe_size": 42}}, []string{"custom.shoe_size"}},
		{"several at once", crm.Contact{FirstName: "A", Emails: []string{"x"}, Address: crm.Address{Country: "ZZZ"}}, []string{"emails[0]", "address.country"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cs.Create(e.ctx, tc.c)
			require.Error(t, err)
			assert.ErrorIs(t, err, crm.ErrInvalid)
			assert.Equal(t, tc.fields, fieldErrors(t, err))
		})
	}
	n := 0
	for _, err := range cs.List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 1, n, "no rejected contact was written")
}

func TestContactUpdatePatchReplaceAndVersions(t *testing.T) {
	e := setup(t)
	cs := e.ws.Contacts()
	c, err := cs.Create(e.ctx, crm.Contact{FirstName: "Grace", Emails: []string{"grace@navy.mil"}})
	require.NoError(t, err)

	e.clock.Advance(1000)
	u, err := cs.Update(e.ctx, c.ID, func(c *crm.Contact) error {
		c.LastName = "Hopper"
		c.ID = "con_hijack" // ignored: identity belongs to the CRM
		c.Version = 99
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, c.ID, u.ID)
	assert.Equal(t, int64(2), u.Version)
	assert.Equal(t, "Grace", u.FirstName, "a partial update keeps other fields")
	assert.Equal(t, "Hopper", u.LastName)
	assert.True(t, u.UpdatedAt.After(u.CreatedAt))

	// An update that changes nothing writes nothing.
	same, err := cs.Update(e.ctx, c.ID, func(*crm.Contact) error { return nil })
	require.NoError(t, err)
	assert.Equal(t, int64(2), same.Version)

	// Pinned versions.
	_, err = cs.Update(e.ctx, c.ID, func(c *crm.Contact) error { c.Title = "Admiral"; return nil }, crm.IfVersion(1))
	assert.ErrorIs(t, err, crm.ErrConflict)
	u, err = cs.Update(e.ctx, c.ID, func(c *crm.Contact) error { c.Title = "Admiral"; return nil }, crm.IfVersion(2))
	require.NoError(t, err)
	assert.Equal(t, int64(3), u.Version)

	// Replace swaps every field; a stale version is refused.
	stale := u
	stale.Version = 2
	_, err = cs.Replace(e.ctx, stale)
	assert.ErrorIs(t, err, crm.ErrConflict)
	r, err := cs.Replace(e.ctx, crm.Contact{Meta: crm.Meta{ID: c.ID, Version: 3}, FirstName: "G.", Emails: []string{"gh@example.com"}})
	require.NoError(t, err)
	assert.Equal(t, "", r.LastName)
	assert.Equal(t, "", r.Title)
	_, err = cs.GetByEmail(e.ctx, "grace@navy.mil")
	assert.ErrorIs(t, err, crm.ErrNotFound, "the replaced email's index entry is gone")

	// The mutator's own error aborts the update.
	boom := errors.New("boom")
	_, err = cs.Update(e.ctx, c.ID, func(c *crm.Contact) error { c.Title = "x"; return boom })
	assert.ErrorIs(t, err, boom)
	got, err := cs.Get(e.ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(4), got.Version)
}

func TestContactDeleteRestoreErase(t *testing.T) {
	e := setup(t)
	cs := e.ws.Contacts()
	c, err := cs.Create(e.ctx, crm.Contact{FirstName: "Temp", Emails: []string{"temp@example.com"}})
	require.NoError(t, err)

	require.NoError(t, cs.Delete(e.ctx, c.ID))
	_, err = cs.GetByEmail(e.ctx, "temp@example.com")
	assert.ErrorIs(t, err, crm.ErrNotFound, "deleted contacts leave lookups")
	got, err := cs.Get(e.ctx, c.ID)
	require.NoError(t, err)
	assert.True(t, got.Deleted())
	_, err = cs.Create(e.ctx, crm.Contact{FirstName: "Other", Emails: []string{"temp@example.com"}})
	assert.ErrorIs(t, err, crm.ErrInvalid, "a deleted contact keeps its email until erased")
	_, err = cs.Update(e.ctx, c.ID, func(c *crm.Contact) error { c.Title = "x"; return nil })
	assert.ErrorIs(t, err, crm.ErrDeleted)
	deleted, err := cs.Page(e.ctx, crm.ListOptions{Deleted: true})
	require.NoError(t, err)
	require.Len(t, deleted.Items, 1)
	live, err := cs.Page(e.ctx, crm.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, live.Items)

	require.NoError(t, cs.Restore(e.ctx, c.ID))
	got, err = cs.GetByEmail(e.ctx, "temp@example.com")
	require.NoError(t, err)
	assert.False(t, got.Deleted())

	require.NoError(t, cs.Erase(e.ctx, c.ID))
	_, err = cs.Get(e.ctx, c.ID)
	assert.ErrorIs(t, err, crm.ErrNotFound)
	var ops []crm.Op
	for ch, err := range e.ws.History(e.ctx, crm.Ref{Kind: crm.KindContact, ID: c.ID}) {
		require.NoError(t, err)
		ops = append(ops, ch.Op)
	}
	assert.Equal(t, []crm.Op{crm.OpErased}, ops, "erase leaves only its own audit entry")
	assertNoKeysMention(t, e, "temp@example.com")
	assertNoKeysMention(t, e, "Temp")
	_, err = cs.Create(e.ctx, crm.Contact{FirstName: "Other", Emails: []string{"temp@example.com"}})
	assert.NoError(t, err, "an erased contact frees its email")
}

// A value stored before the CRM checked it as strictly does not block
// changes to the record's other fields; a new value is checked in full.
func TestStoredValuesAreGrandfathered(t *testing.T) {
	e := setup(t)
	_, err := e.crm.UpdateWorkspace(e.ctx, "acme", func(info *crm.WorkspaceInfo) error { info.PhoneRegion = "DE"; return nil })
	require.NoError(t, err)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada", Phones: []crm.Phone{{Number: "030 12345678"}}})
	require.NoError(t, err)
	_, err = e.crm.UpdateWorkspace(e.ctx, "acme", func(info *crm.WorkspaceInfo) error { info.PhoneRegion = ""; return nil })
	require.NoError(t, err)
	ws, err := e.crm.Workspace(e.ctx, "acme")
	require.NoError(t, err)

	c, err = ws.Contacts().Update(e.ctx, c.ID, func(c *crm.Contact) error { c.Title = "CTO"; return nil })
	require.NoError(t, err, "the stored national number stays")
	assert.Equal(t, "030 12345678", c.Phones[0].Number)

	_, err = ws.Contacts().Update(e.ctx, c.ID, func(c *crm.Contact) error {
		c.Phones = append(c.Phones, crm.Phone{Number: "089 1234567"})
		return nil
	})
	require.ErrorIs(t, err, crm.ErrInvalid, "a new national number needs a region")
	assert.Contains(t, fieldErrors(t, err), "phones[1].number")
}
