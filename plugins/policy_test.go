package plugins_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A workspace of two teams, a and b, each with a contact and a deal, and
// the test plugin as a member of team a. Its roles: contacts_reader reads
// its team's contacts, with their titles hidden, and nothing else;
// deal_guard reads every deal besides.
var (
	read         = []crm.Action{crm.ActionRead}
	hiddenTitle  = []crm.FieldRule{{Field: "contact.title", Access: crm.FieldHidden}}
	pluginPolicy = crm.Policy{
		Roles: []crm.Role{
			{Name: "contacts_reader", Fields: hiddenTitle, Grants: []crm.Grant{
				{Kind: crm.KindContact, Actions: read, Scope: crm.ScopeTeam},
			}},
			{Name: "deal_guard", Fields: hiddenTitle, Grants: []crm.Grant{
				{Kind: crm.KindContact, Actions: read, Scope: crm.ScopeTeam},
				{Kind: crm.KindDeal, Actions: read, Scope: crm.ScopeAll},
			}},
		},
		Teams: []crm.TeamDef{
			{Name: "a", Members: []string{"ann", plugins.PrincipalID("testplugin")}},
			{Name: "b", Members: []string{"bob"}},
		},
	}
)

// teams is a workspace under pluginPolicy with its records, written as
// the System principal.
type teams struct {
	*env
	sys                    context.Context
	annC, bobC, annD, bobD string
}

func newTeams(t *testing.T, policy crm.Policy) *teams {
	ctx := context.Background()
	e := newEnv(t, func(string) []plugins.Spec { return nil }, plugins.Config{})
	_, err := e.ws.SetPolicy(ctx, policy)
	require.NoError(t, err)
	tm := &teams{env: e, sys: crm.As(ctx, crm.System())}
	for _, owner := range []string{"ann", "bob"} {
		c, err := e.ws.Contacts().Create(tm.sys, crm.Contact{FirstName: owner + "'s lead", Title: "CEO", OwnerID: owner})
		require.NoError(t, err)
		d, err := e.ws.Deals().Create(tm.sys, crm.Deal{Name: owner + "'s deal", OwnerID: owner})
		require.NoError(t, err)
		if owner == "ann" {
			tm.annC, tm.annD = c.ID, d.ID
		} else {
			tm.bobC, tm.bobD = c.ID, d.ID
		}
	}
	return tm
}

// gets is TESTPLUGIN_GETS for the team's records.
func (tm *teams) gets() string {
	return fmt.Sprintf("TESTPLUGIN_GETS=contact/%s contact/%s deal/%s deal/%s", tm.annC, tm.bobC, tm.annD, tm.bobD)
}

// load starts the test plugin with env vars and the spec's role.
func (tm *teams) load(role string, env ...string) plugins.Info {
	s := spec(tm.t, tm.out, env...)
	s.Role = role
	h, err := tm.open(plugins.Config{Plugins: []plugins.Spec{s}})
	require.NoError(tm.t, err)
	tm.host = h
	require.Len(tm.t, h.Plugins(), 1)
	return h.Plugins()[0]
}

func TestPluginReadsOnlyWhatItsRoleAllows(t *testing.T) {
	tm := newTeams(t, pluginPolicy)
	info := tm.load("", "TESTPLUGIN_ROLE=contacts_reader", tm.gets())
	assert.Equal(t, "contacts_reader", info.Manifest.Role)
	assert.Equal(t, "contacts_reader", info.Role, "the manifest's role, the host configuring none")

	// Through the host service: its team's contact without the hidden
	// title; not the other team's, no deal, no writes.
	line := tm.waitRecorded("contact.created " + tm.annC)
	assert.Contains(t, line, `title=""`, "the event carries no hidden field")
	assert.Contains(t, line, fmt.Sprintf(`contact/%s=OK:title=""`, tm.annC))
	assert.Contains(t, line, fmt.Sprintf("contact/%s=NotFound", tm.bobC), "another team's record does not exist for it")
	assert.Contains(t, line, fmt.Sprintf("deal/%s=PermissionDenied", tm.annD), "its role reads no deals, though its capabilities do")
	assert.Contains(t, line, fmt.Sprintf("deal/%s=PermissionDenied", tm.bobD))
	assert.Contains(t, line, "update=PermissionDenied", "write:contact is declared, but the role only reads")
	assert.NotContains(t, line, "CEO")

	// A later change of the hidden field reaches it without the field.
	_, err := tm.ws.Contacts().Update(tm.sys, tm.annC, func(c *crm.Contact) error {
		c.Title, c.LastName = "CTO", "Lovelace"
		return nil
	})
	require.NoError(t, err)
	line = tm.waitRecorded("contact.updated " + tm.annC)
	assert.Contains(t, line, `title="" fields=last_name`)
	_, err = tm.ws.Contacts().Update(tm.sys, tm.bobC, func(c *crm.Contact) error { c.LastName = "Smith"; return nil })
	require.NoError(t, err)
	c, err := tm.ws.Contacts().Create(tm.sys, crm.Contact{FirstName: "ann's second", OwnerID: "ann"})
	require.NoError(t, err)
	tm.waitRecorded("contact.created " + c.ID)

	// Delivery is in order: by now every earlier event was delivered or
	// left out.
	for _, l := range tm.recorded() {
		assert.NotContains(t, l, "deal.", "no deal event reaches it")
		assert.NotContains(t, l, " "+tm.bobC+" ", "no event of the other team's contact reaches it")
		assert.NotContains(t, l, "CEO")
		assert.NotContains(t, l, "CTO")
	}
	info = tm.host.Plugins()[0]
	assert.Zero(t, info.Violations, "the policy's refusals are not violations of its grants")

	// A before-hook would hand it deals, which its role may not read: the
	// hook fails (closed) without calling it.
	_, err = tm.ws.Deals().Create(tm.sys, crm.Deal{Name: "veto"})
	require.ErrorIs(t, err, plugins.ErrCapability)
	require.ErrorIs(t, err, crm.ErrVetoed)
	assert.Contains(t, err.Error(), "may not read deal records")
	var pe *plugins.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "testplugin", pe.Plugin)
}

func TestPluginBeforeHookReadsWithItsRole(t *testing.T) {
	tm := newTeams(t, pluginPolicy)
	info := tm.load("deal_guard")
	assert.Equal(t, "deal_guard", info.Role)
	assert.Empty(t, info.Manifest.Role)

	d, err := tm.ws.Deals().Create(tm.sys, crm.Deal{Name: "peek contact/" + tm.annC})
	require.NoError(t, err)
	assert.Equal(t, "for ann's lead", d.Name, "its team's contact, without the hidden title")

	_, err = tm.ws.Deals().Create(tm.sys, crm.Deal{Name: "peek contact/" + tm.bobC})
	require.ErrorIs(t, err, crm.ErrVetoed, "the hook failed, closed")
	assert.Contains(t, err.Error(), "NotFound", "the other team's contact does not exist for it")

	d, err = tm.ws.Deals().Create(tm.sys, crm.Deal{Name: "peek deal/" + tm.bobD})
	require.NoError(t, err)
	assert.Equal(t, "for bob's deal", d.Name, "its role reads every deal")

	_, err = tm.ws.Deals().Create(tm.sys, crm.Deal{Name: "veto"})
	require.ErrorIs(t, err, crm.ErrVetoed)
	var veto *plugins.VetoError
	require.ErrorAs(t, err, &veto, "a guard its role lets read deals runs")

	// Without a policy, reads see the write's transaction, as before.
	require.NoError(t, tm.ws.ClearPolicy(tm.sys))
	d, err = tm.ws.Deals().Create(context.Background(), crm.Deal{Name: "peek contact/" + tm.bobC})
	require.NoError(t, err)
	assert.Equal(t, "for bob's lead, CEO", d.Name)
}

func TestPluginDefaultRoleIsIntegration(t *testing.T) {
	// The policy narrows the built-in integration role: contacts only,
	// titles hidden, no writes.
	policy := crm.Policy{Roles: []crm.Role{{Name: plugins.DefaultRole, Fields: hiddenTitle, Grants: []crm.Grant{
		{Kind: crm.KindContact, Actions: read, Scope: crm.ScopeAll},
	}}}}
	tm := newTeams(t, policy)
	info := tm.load("", tm.gets())
	assert.Equal(t, "integration", info.Role)
	line := tm.waitRecorded("contact.created " + tm.bobC)
	assert.Contains(t, line, fmt.Sprintf(`contact/%s=OK:title=""`, tm.annC))
	assert.Contains(t, line, fmt.Sprintf(`contact/%s=OK:title=""`, tm.bobC))
	assert.Contains(t, line, fmt.Sprintf("deal/%s=PermissionDenied", tm.annD))
	assert.Contains(t, line, "update=PermissionDenied")
	assert.NotContains(t, line, "CEO")
}

func TestPluginRoleMismatchIsRefused(t *testing.T) {
	e := newEnv(t, func(string) []plugins.Spec { return nil }, plugins.Config{})
	s := spec(t, e.out, "TESTPLUGIN_ROLE=admin")
	s.Role = "read_only"
	h, err := e.open(plugins.Config{Plugins: []plugins.Spec{s}})
	require.Error(t, err)
	require.ErrorIs(t, err, plugins.ErrMalformed)
	require.ErrorIs(t, err, plugins.ErrPluginFailed)
	assert.Contains(t, err.Error(), `asks for role "admin", but the host configured role "read_only"`)
	require.NotNil(t, h)
	assert.Empty(t, h.Plugins(), "the plugin is not loaded")
	_, err = e.ws.Deals().Create(context.Background(), crm.Deal{Name: "veto"})
	assert.NoError(t, err, "nor are its hooks bound")

	// The same role on both sides is fine.
	s.Role = "admin"
	h, err = e.open(plugins.Config{Plugins: []plugins.Spec{s}})
	require.NoError(t, err)
	require.Len(t, h.Plugins(), 1)
	assert.Equal(t, "admin", h.Plugins()[0].Role)
}

func TestPluginRoleConfiguration(t *testing.T) {
	e := newEnv(t, func(string) []plugins.Spec { return nil }, plugins.Config{})
	dir := t.TempDir()
	b, err := os.ReadFile(testPlugin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dir+"/guard", b, 0o755))
	h, err := e.open(plugins.Config{Dir: dir, Checksums: map[string]string{"guard": testPluginSum}, Timeout: 5 * time.Second, Role: "read_only"})
	require.NoError(t, err)
	require.Len(t, h.Plugins(), 1)
	assert.Equal(t, "read_only", h.Plugins()[0].Role, "Config.Role applies to the plugins in Dir")

	for _, bad := range []string{"two words", strings.Repeat("r", 129), "tab\there"} {
		s := spec(t, e.out)
		s.Role = bad
		h, err := e.open(plugins.Config{Plugins: []plugins.Spec{s}})
		require.Error(t, err, "role %q", bad)
		assert.Nil(t, h)
		assert.Contains(t, err.Error(), "is not a role name")
		h, err = e.open(plugins.Config{Dir: dir, Checksums: map[string]string{"guard": testPluginSum}, Role: bad})
		require.Error(t, err, "role %q", bad)
		assert.Nil(t, h)
	}
}

// TestPluginBeforeHookSeesTheWriteAsItsRole: the record a before-hook is
// handed is redacted for the plugin's role, and a write of a record out
// of its scope does not reach it at all.
func TestPluginBeforeHookSeesTheWriteAsItsRole(t *testing.T) {
	policy := crm.Policy{
		Roles: []crm.Role{{Name: "team_guard",
			Fields: []crm.FieldRule{{Field: "deal.source", Access: crm.FieldHidden}},
			Grants: []crm.Grant{{Kind: crm.KindDeal, Actions: read, Scope: crm.ScopeTeam}},
		}},
		Teams: pluginPolicy.Teams,
	}
	tm := newTeams(t, policy)
	tm.load("team_guard")

	d, err := tm.ws.Deals().Create(tm.sys, crm.Deal{Name: "echo", Source: "secret-source", OwnerID: "ann"})
	require.NoError(t, err)
	assert.Equal(t, `echo source="" owner="ann"`, d.Name, "its team's deal, without the hidden source")
	assert.Equal(t, "secret-source", d.Source, "the hidden field is kept")

	d, err = tm.ws.Deals().Create(tm.sys, crm.Deal{Name: "echo", Source: "secret-source", OwnerID: "bob"})
	require.NoError(t, err)
	assert.Equal(t, "echo", d.Name, "another team's deal never reaches it")

	// Nor may it change a field hidden from it: the write fails closed.
	_, err = tm.ws.Deals().Create(tm.sys, crm.Deal{Name: "set-source", Source: "web", OwnerID: "ann"})
	require.ErrorIs(t, err, crm.ErrForbidden)
	assert.Contains(t, err.Error(), "deal.source")
}
