package crm_test

import (
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWorkspaceValidation(t *testing.T) {
	e := setup(t)
	for _, id := range []string{"", "has space", "slash/es", string(make([]byte, 65))} {
		_, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: id})
		assert.ErrorIs(t, err, crm.ErrInvalid, "id %q", id)
	}
	_, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: "acme"})
	assert.ErrorIs(t, err, crm.ErrInvalid, "a taken ID is refused")
	_, err = e.crm.Workspace(e.ctx, "nope")
	assert.ErrorIs(t, err, crm.ErrNotFound)
	ws, err := e.crm.Workspace(e.ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, "EUR", ws.Info().Currency)
	assert.Equal(t, crm.DefaultLifecycleStages, ws.Info().LifecycleStages)
	pl, err := ws.Pipelines().Default(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, "Sales", pl.Name, "a new workspace has a default pipeline")
}

// TestWorkspaceIsolation tries hard to reach one workspace's data from
// another: same emails, same domains, IDs taken from the other, workspace
// IDs that share a prefix, scans at the boundary.
func TestWorkspaceIsolation(t *testing.T) {
	e := setup(t)
	a := e.ws
	// "acme2" and "acm" share a prefix with "acme".
	b, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: "acme2"})
	require.NoError(t, err)
	c, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: "acm"})
	require.NoError(t, err)

	co, err := a.Companies().Create(e.ctx, crm.Company{Name: "Initech", Domain: "initech.com"})
	require.NoError(t, err)
	ca, err := a.Contacts().Create(e.ctx, crm.Contact{FirstName: "Peter", Emails: []string{"peter@initech.com"}, Companies: []crm.CompanyRole{{CompanyID: co.ID}}})
	require.NoError(t, err)
	deal, err := a.Deals().Create(e.ctx, crm.Deal{Name: "TPS reports", CompanyID: co.ID, Amount: crm.Money{Amount: 100}})
	require.NoError(t, err)
	_, err = a.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityNote, Body: "secret", ContactIDs: []string{ca.ID}})
	require.NoError(t, err)

	for _, other := range []*crm.Workspace{b, c} {
		// Same email and domain are free in another workspace.
		cb, err := other.Contacts().Create(e.ctx, crm.Contact{FirstName: "Other Peter", Emails: []string{"peter@initech.com"}})
		require.NoError(t, err)
		_, err = other.Companies().Create(e.ctx, crm.Company{Name: "Other Initech", Domain: "initech.com"})
		require.NoError(t, err)

		// IDs from the other workspace are unknown here.
		_, err = other.Contacts().Get(e.ctx, ca.ID)
		assert.ErrorIs(t, err, crm.ErrNotFound)
		_, err = other.Deals().Get(e.ctx, deal.ID)
		assert.ErrorIs(t, err, crm.ErrNotFound)
		_, err = other.Contacts().Update(e.ctx, ca.ID, func(c *crm.Contact) error { c.FirstName = "pwned"; return nil })
		assert.ErrorIs(t, err, crm.ErrNotFound)
		assert.ErrorIs(t, other.Contacts().Delete(e.ctx, ca.ID), crm.ErrNotFound)
		assert.ErrorIs(t, other.Contacts().Erase(e.ctx, ca.ID), crm.ErrNotFound)
		_, err = other.Contacts().Create(e.ctx, crm.Contact{FirstName: "X", Companies: []crm.CompanyRole{{CompanyID: co.ID}}})
		assert.ErrorIs(t, err, crm.ErrInvalid, "cannot link to another workspace's company")
		_, err = other.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityNote, ContactIDs: []string{ca.ID}})
		assert.ErrorIs(t, err, crm.ErrInvalid)

		// Lookups find only their own.
		got, err := other.Contacts().GetByEmail(e.ctx, "peter@initech.com")
		require.NoError(t, err)
		assert.Equal(t, cb.ID, got.ID)

		// Lists, timelines and histories see only their own.
		var names []string
		for x, err := range other.Contacts().List(e.ctx, crm.ListOptions{Sort: crm.SortName}) {
			require.NoError(t, err)
			names = append(names, x.FirstName)
		}
		assert.Equal(t, []string{"Other Peter"}, names)
		pg, err := other.Timeline(e.ctx, crm.Ref{Kind: crm.KindContact, ID: ca.ID}, "", 50)
		require.NoError(t, err)
		assert.Empty(t, pg.Items)
		n := 0
		for range other.History(e.ctx, crm.Ref{Kind: crm.KindContact, ID: ca.ID}) {
			n++
		}
		assert.Zero(t, n)
	}

	// The original is untouched.
	got, err := a.Contacts().Get(e.ctx, ca.ID)
	require.NoError(t, err)
	assert.Equal(t, "Peter", got.FirstName)
	assert.Equal(t, int64(1), got.Version)

	// Deleting a workspace removes its data only.
	require.NoError(t, e.crm.DeleteWorkspace(e.ctx, "acme2"))
	_, err = e.crm.Workspace(e.ctx, "acme2")
	assert.ErrorIs(t, err, crm.ErrNotFound)
	_, err = b.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ghost"})
	assert.ErrorIs(t, err, crm.ErrNotFound, "a handle to a deleted workspace cannot write")
	got, err = a.Contacts().GetByEmail(e.ctx, "peter@initech.com")
	require.NoError(t, err)
	assert.Equal(t, ca.ID, got.ID)
	_, err = c.Contacts().GetByEmail(e.ctx, "peter@initech.com")
	assert.NoError(t, err)
	var ids []string
	for info, err := range e.crm.Workspaces(e.ctx) {
		require.NoError(t, err)
		ids = append(ids, info.ID)
	}
	assert.Equal(t, []string{"acm", "acme"}, ids)
}

func TestUpdateWorkspace(t *testing.T) {
	e := setup(t)
	old := e.ws // a handle taken before the change
	info, err := e.crm.UpdateWorkspace(e.ctx, "acme", func(w *crm.WorkspaceInfo) error {
		w.Name = "Acme GmbH"
		w.LifecycleStages = append(w.LifecycleStages, "Partner")
		w.Currency = "chf"
		w.ID = "hijack"
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "acme", info.ID)
	assert.Equal(t, "CHF", info.Currency)
	c, err := old.Contacts().Create(e.ctx, crm.Contact{FirstName: "P", Lifecycle: "partner"})
	require.NoError(t, err, "writes validate against the current settings, even through an old handle")
	assert.Equal(t, "partner", c.Lifecycle)
	d, err := old.Deals().Create(e.ctx, crm.Deal{Name: "x", Amount: crm.Money{Amount: 5}})
	require.NoError(t, err)
	assert.Equal(t, "CHF", d.Amount.Currency)

	_, err = e.crm.UpdateWorkspace(e.ctx, "acme", func(w *crm.WorkspaceInfo) error { w.Currency = "swiss francs"; return nil })
	assert.Equal(t, []string{"currency"}, fieldErrors(t, err))
	_, err = e.crm.UpdateWorkspace(e.ctx, "nope", func(w *crm.WorkspaceInfo) error { return nil })
	assert.ErrorIs(t, err, crm.ErrNotFound)
}

func TestEnsureWorkspace(t *testing.T) {
	e := setup(t)
	ws, err := e.crm.EnsureWorkspace(e.ctx, crm.WorkspaceInfo{ID: "acme", Name: "Renamed"})
	require.NoError(t, err)
	assert.Equal(t, "Acme", ws.Info().Name, "an existing workspace keeps its settings")

	const n = 8
	handles := make(chan *crm.Workspace, n)
	for range n {
		go func() {
			ws, err := e.crm.EnsureWorkspace(e.ctx, crm.WorkspaceInfo{ID: "globex", Name: "Globex"})
			assert.NoError(t, err)
			handles <- ws
		}()
	}
	for range n {
		ws := <-handles
		require.NotNil(t, ws)
		assert.Equal(t, "globex", ws.ID())
	}
	n2 := 0
	for info, err := range e.crm.Workspaces(e.ctx) {
		require.NoError(t, err)
		if info.ID == "globex" {
			n2++
		}
	}
	assert.Equal(t, 1, n2, "created once")
	_, err = e.crm.EnsureWorkspace(e.ctx, crm.WorkspaceInfo{ID: "bad id!"})
	assert.ErrorIs(t, err, crm.ErrInvalid)
}
