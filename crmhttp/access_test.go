package crmhttp_test

import (
	"net/http"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withPolicy gives e's workspace a policy with team east (ann and bob) and
// a contact and a deal owned by each; it returns their IDs by owner.
func withPolicy(t *testing.T, e *env) (contacts, deals map[string]string) {
	t.Helper()
	sys := crm.As(e.Ctx, crm.System())
	_, err := e.WS.SetPolicy(sys, crm.Policy{Teams: []crm.TeamDef{{Name: "east", Members: []string{"ann", "bob"}}}})
	require.NoError(t, err)
	contacts, deals = map[string]string{}, map[string]string{}
	for _, owner := range []string{"ann", "bob"} {
		c, err := e.WS.Contacts().Create(sys, crm.Contact{FirstName: owner + "'s lead", OwnerID: owner})
		require.NoError(t, err)
		d, err := e.WS.Deals().Create(sys, crm.Deal{Name: owner + "'s deal", OwnerID: owner})
		require.NoError(t, err)
		contacts[owner], deals[owner] = c.ID, d.ID
	}
	return contacts, deals
}

func TestAccess(t *testing.T) {
	e := setup(t)
	contacts, deals := withPolicy(t, e)
	bob := e.as(t, "bob", "rep")

	t.Run("a rep lists their own records", func(t *testing.T) {
		r := bob.do("GET", "/contacts", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var pg crm.Page[crm.Contact]
		r.decode(t, &pg)
		require.Len(t, pg.Items, 1)
		assert.Equal(t, contacts["bob"], pg.Items[0].ID)
	})
	t.Run("another's record is not found", func(t *testing.T) {
		for _, path := range []string{"/contacts/" + contacts["ann"], "/deals/" + deals["ann"], "/deals/" + deals["ann"] + "/timeline"} {
			p := bob.do("GET", path, nil).problem(t)
			assert.Equal(t, http.StatusNotFound, p.Status, path)
		}
		assert.Equal(t, http.StatusNotFound, bob.do("PATCH", "/contacts/"+contacts["ann"], `{"title":"x"}`).problem(t).Status)
		assert.Equal(t, http.StatusNotFound, bob.do("POST", "/deals/"+deals["ann"]+"/win", nil).problem(t).Status)
		assert.Equal(t, http.StatusOK, bob.do("GET", "/contacts/"+contacts["bob"], nil).Status)
	})
	t.Run("a refused action is forbidden", func(t *testing.T) {
		p := e.as(t, "rita", "read_only").do("POST", "/contacts", crm.Contact{FirstName: "Nope"}).problem(t)
		assert.Equal(t, http.StatusForbidden, p.Status)
		// A rep cannot give a record away.
		p = bob.do("PATCH", "/deals/"+deals["bob"], `{"owner_id":"ann"}`).problem(t)
		assert.Equal(t, http.StatusForbidden, p.Status)
		got, err := e.WS.Deals().Get(crm.As(e.Ctx, crm.System()), deals["bob"])
		require.NoError(t, err)
		assert.Equal(t, "bob", got.OwnerID)
	})
	t.Run("a rep's new record is theirs", func(t *testing.T) {
		r := bob.do("POST", "/contacts", crm.Contact{FirstName: "Fresh"})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		var c crm.Contact
		r.decode(t, &c)
		assert.Equal(t, "bob", c.OwnerID)
	})
	t.Run("search finds what the principal may read", func(t *testing.T) {
		r := bob.do("GET", "/search?q=lead", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var res struct{ Items []crm.SearchHit }
		r.decode(t, &res)
		require.Len(t, res.Items, 1)
		assert.Equal(t, contacts["bob"], res.Items[0].ID)
	})
	t.Run("unauthenticated", func(t *testing.T) {
		p := e.as(t, "", "").do("GET", "/contacts", nil).problem(t)
		assert.Equal(t, http.StatusUnauthorized, p.Status)
		p = bob.do("GET", "/contacts", nil, "X-Workspace", "globex").problem(t)
		assert.Equal(t, http.StatusNotFound, p.Status)
	})
}
