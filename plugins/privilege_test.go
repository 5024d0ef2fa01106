package plugins_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/crmkit/crmkit/plugins/proto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// companies counts the workspace's companies.
func companies(t *testing.T, ws *crm.Workspace) int {
	n := 0
	for _, err := range ws.Companies().List(context.Background(), crm.ListOptions{}) {
		require.NoError(t, err)
		n++
	}
	return n
}

// TestChangedManifestIsRefused: a plugin loaded without capabilities
// that crashes and comes back declaring "write:*" is not restarted; the
// host approves the change by loading it again, within the capabilities
// it grants.
func TestChangedManifestIsRefused(t *testing.T) {
	ctx := context.Background()
	marker := filepath.Join(t.TempDir(), "escalated")
	e := newEnv(t, func(out string) []plugins.Spec {
		return []plugins.Spec{spec(t, out, "TESTPLUGIN_ESCALATE="+marker)}
	}, plugins.Config{})
	assert.Empty(t, e.host.Plugins()[0].Manifest.Capabilities)

	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "crash"})
	require.ErrorIs(t, err, plugins.ErrUnavailable)
	require.Eventually(t, func() bool {
		info := e.host.Plugins()[0]
		return info.Restarts > 0 && (info.Running || errors.Is(info.LastError, plugins.ErrManifestChanged))
	}, 10*time.Second, 10*time.Millisecond)
	info := e.host.Plugins()[0]
	require.False(t, info.Running, "the plugin came back with other capabilities")
	require.ErrorIs(t, info.LastError, plugins.ErrManifestChanged)
	assert.Contains(t, info.LastError.Error(), "write:*")
	assert.Empty(t, info.Manifest.Capabilities, "the pinned manifest")
	_, err = e.ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	assert.Zero(t, companies(t, e.ws))
	_, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "fine"})
	require.ErrorIs(t, err, plugins.ErrManifestChanged, "fail-closed, saying why")
	e.host.Close()

	// The host decides: granted nothing, the plugin is refused; granted
	// what it asks for, it runs.
	s := spec(t, e.out, "TESTPLUGIN_ESCALATE="+marker)
	s.Capabilities = []string{}
	h, err := e.open(plugins.Config{Plugins: []plugins.Spec{s}})
	require.ErrorIs(t, err, plugins.ErrCapability)
	assert.Contains(t, err.Error(), "write:*")
	assert.Empty(t, h.Plugins())
	s.Capabilities = []string{"write:*"}
	h, err = e.open(plugins.Config{Plugins: []plugins.Spec{s}})
	require.NoError(t, err)
	assert.Equal(t, []string{"write:*"}, h.Plugins()[0].Manifest.Capabilities)
}

// TestPluginEnvironmentIsMinimal: a plugin's environment is what the host
// configures for it (and go-plugin's handshake), not the host's, and its
// stdin is the null device.
func TestPluginEnvironmentIsMinimal(t *testing.T) {
	t.Setenv("CRMKIT_TEST_DB_PASSWORD", "hunter2")
	r, w, err := os.Pipe()
	require.NoError(t, err)
	stdin := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = stdin; r.Close(); w.Close() })
	e := newEnv(t, func(out string) []plugins.Spec {
		return []plugins.Spec{spec(t, out, "TESTPLUGIN_ENV=1")}
	}, plugins.Config{})
	line := e.waitRecorded("env ")
	assert.Contains(t, line, "secret=false", "the host's secret reached the plugin")
	assert.Contains(t, line, "stdin-devnull=true")
	names := strings.Fields(line)[1]
	for _, name := range strings.Split(names, ",") {
		ok := name == "TESTPLUGIN_OUT" || name == "TESTPLUGIN_ENV" || name == "PATH" ||
			name == proto.MagicCookieKey || strings.HasPrefix(name, "PLUGIN_")
		assert.True(t, ok, "the plugin's environment holds %s", name)
	}
}

// TestPluginSeesOnlyItsWorkspaces: a plugin configured for a set of
// workspaces receives the events of those only, runs before their writes
// only, and reaches nothing else through the host service.
func TestPluginSeesOnlyItsWorkspaces(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec {
		s := spec(t, out)
		s.Workspaces = []string{"acme"}
		return []plugins.Spec{s}
	}, plugins.Config{})
	assert.Equal(t, []string{"acme"}, e.host.Plugins()[0].Workspaces)
	other, err := e.c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "other"})
	require.NoError(t, err)

	_, err = other.Deals().Create(ctx, crm.Deal{Name: "veto"})
	require.NoError(t, err, "its before-hook does not run for another workspace")
	_, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "veto"})
	require.ErrorIs(t, err, crm.ErrVetoed)

	_, err = other.Contacts().Create(ctx, crm.Contact{FirstName: "Bob"})
	require.NoError(t, err)
	head, err := other.OutboxHead(ctx)
	require.NoError(t, err)
	d := e.host.Dispatcher("testplugin")
	require.Eventually(t, func() bool {
		cur, err := d.Cursor(ctx, "other", plugins.ConsumerName("testplugin"))
		return err == nil && cur == head
	}, 10*time.Second, 10*time.Millisecond, "the other workspace's events are acknowledged")
	_, err = e.ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	line := e.waitRecorded("contact.created")
	assert.True(t, strings.HasPrefix(line, "acme "), line)
	assert.Contains(t, line, "write-own=OK")
	assert.Contains(t, line, "other-workspace=PermissionDenied")
	for _, l := range e.recorded() {
		assert.False(t, strings.HasPrefix(l, "other "), "an event of another workspace reached it: %s", l)
	}

	// Every workspace, explicitly.
	s := spec(t, e.out)
	s.Name, s.Workspaces = "everywhere", []string{plugins.AllWorkspaces}
	h, err := e.open(plugins.Config{Plugins: []plugins.Spec{s}})
	require.NoError(t, err)
	assert.Equal(t, []string{plugins.AllWorkspaces}, h.Plugins()[0].Workspaces)
	_, err = other.Deals().Create(ctx, crm.Deal{Name: "veto"})
	require.ErrorIs(t, err, crm.ErrVetoed)
}

// TestTimelineNeedsEveryKind: a plugin reading a contact's timeline with
// read:contact but not read:activity receives the contact's changes, not
// the activities linked to it.
func TestTimelineNeedsEveryKind(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec {
		return []plugins.Spec{spec(t, out, "TESTPLUGIN_TIMELINE=1")}
	}, plugins.Config{})
	ada, err := e.ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	_, err = e.ws.Activities().Log(ctx, crm.Activity{Type: crm.ActivityNote, Body: "the secret body", ContactIDs: []string{ada.ID}})
	require.NoError(t, err)
	_, err = e.ws.Contacts().Update(ctx, ada.ID, func(c *crm.Contact) error { c.LastName = "Lovelace"; return nil })
	require.NoError(t, err)
	line := e.waitRecorded("Lovelace")
	assert.Contains(t, line, "timeline=")
	assert.Contains(t, line, `"change"`, "the contact's own changes")
	assert.NotContains(t, line, "the secret body")
	assert.NotContains(t, line, `"activity"`)
}
