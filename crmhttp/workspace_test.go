package crmhttp_test

import (
	"net/http"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWorkspaceSettings(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	r := c.do("GET", "/workspace", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var info crm.WorkspaceInfo
	r.decode(t, &info)
	assert.Equal(t, e.WS.ID(), info.ID)
	assert.False(t, info.CreatedAt.IsZero())

	r = c.do("PATCH", "/workspace", map[string]any{"name": "Acme GmbH", "time_zone": "Europe/Berlin", "currency": "EUR"},
		"Content-Type", "application/merge-patch+json")
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var got crm.WorkspaceInfo
	r.decode(t, &got)
	assert.Equal(t, "Acme GmbH", got.Name)
	assert.Equal(t, "Europe/Berlin", got.TimeZone)
	assert.Equal(t, "EUR", got.Currency)
	assert.Equal(t, info.CreatedAt, got.CreatedAt)

	// The change holds for the next request, and for crm.
	r = c.do("GET", "/workspace", nil)
	info = crm.WorkspaceInfo{}
	r.decode(t, &info)
	assert.Equal(t, got, info)
	ws, err := e.CRM.Workspace(e.Ctx, e.WS.ID())
	require.NoError(t, err)
	assert.Equal(t, "EUR", ws.Info().Currency)

	// null clears a setting; what the patch does not name stays.
	r = c.do("PATCH", "/workspace", `{"time_zone": null}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	got = crm.WorkspaceInfo{}
	r.decode(t, &got)
	assert.Empty(t, got.TimeZone)
	assert.Equal(t, "Acme GmbH", got.Name)

	t.Run("invalid", func(t *testing.T) {
		p := c.do("PATCH", "/workspace", map[string]any{"currency": "euros", "time_zone": "Mars/Olympus"}).problem(t)
		assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
		assert.ElementsMatch(t, []string{"currency", "time_zone"}, fields(p))
		p = c.do("PATCH", "/workspace", map[string]any{"id": "other"}).problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status)
		assert.Equal(t, []string{"id"}, fields(p))
		p = c.do("PATCH", "/workspace", map[string]any{"colour": "red"}).problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status)
		p = c.do("PATCH", "/workspace", `[1]`).problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status)
		r := c.do("GET", "/workspace", nil)
		info := crm.WorkspaceInfo{}
		r.decode(t, &info)
		assert.Equal(t, "EUR", info.Currency, "an invalid patch changes nothing")
	})
}

func TestWorkspaceSettingsAccess(t *testing.T) {
	e := setup(t)
	withPolicy(t, e)
	for _, who := range []as{e.as(t, "bob", "rep"), e.as(t, "rita", "read_only"), e.as(t, "eve", "nobody")} {
		r := who.do("GET", "/workspace", nil)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", who.user, r.Body)
		p := who.do("PATCH", "/workspace", map[string]any{"name": "Mine"}).problem(t)
		assert.Equal(t, http.StatusForbidden, p.Status, who.user)
	}
	r := e.as(t, "ada", "admin").do("PATCH", "/workspace", map[string]any{"name": "Ours"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	ws, err := e.CRM.Workspace(e.Ctx, e.WS.ID())
	require.NoError(t, err)
	assert.Equal(t, "Ours", ws.Info().Name)
}
