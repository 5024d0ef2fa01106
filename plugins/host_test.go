package plugins_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBeforeHookVetoesAndChanges(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec { return []plugins.Spec{spec(t, out)} }, plugins.Config{})
	info := e.host.Plugins()[0]
	assert.Equal(t, 3, info.Protocol)
	assert.True(t, info.Channel, "before-hooks go through the channel")
	assert.Equal(t, "testplugin", info.Manifest.Name)
	assert.Equal(t, []string{"deal.*"}, info.Manifest.Before)

	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "please veto"})
	require.ErrorIs(t, err, crm.ErrVetoed)
	var veto *plugins.VetoError
	require.ErrorAs(t, err, &veto)
	assert.Equal(t, "testplugin", veto.Plugin)
	assert.Equal(t, "no deals named please veto", veto.Reason)
	var cv *crm.VetoError
	require.ErrorAs(t, err, &cv)
	assert.Equal(t, "plugin:testplugin", cv.Hook)

	d, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "rename me"})
	require.NoError(t, err)
	assert.Equal(t, "RENAME ME", d.Name)
	stored, err := e.ws.Deals().Get(ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, "RENAME ME", stored.Name, "the change is saved, not only returned")

	// The plugin reads inside the write's transaction through the host.
	ada, err := e.ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	d, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "peek " + ada.ID})
	require.NoError(t, err)
	assert.Equal(t, "for Ada", d.Name)

	n := 0
	for _, err := range e.ws.Deals().List(ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 2, n, "the vetoed deal left nothing behind")
}

func TestHostServiceConfinesPlugin(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec { return []plugins.Spec{spec(t, out)} }, plugins.Config{})
	_, err := e.c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "other"})
	require.NoError(t, err)
	ada, err := e.ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)

	line := e.waitRecorded("contact.created")
	assert.Contains(t, line, "write-own=OK")
	assert.Contains(t, line, "other-workspace=PermissionDenied")
	assert.Contains(t, line, "undeclared-read=PermissionDenied")
	assert.Contains(t, line, "undeclared-write=PermissionDenied")
	assert.Contains(t, line, "forged-grant=PermissionDenied")

	got, err := e.ws.Contacts().Get(ctx, ada.ID)
	require.NoError(t, err)
	assert.Equal(t, "scored", got.Title, "the plugin's write went through the CRM")
	info := e.host.Plugins()[0]
	assert.Equal(t, int64(4), info.Violations)
	require.Error(t, info.LastError)
	assert.ErrorIs(t, info.LastError, plugins.ErrWorkspace, "the last probe forged a grant")
	// The write the plugin made carries its name as actor and source.
	e.waitRecorded("contact.updated")
	for ch, err := range e.ws.History(ctx, crm.Ref{Kind: crm.KindContact, ID: ada.ID}) {
		require.NoError(t, err)
		if ch.Op == crm.OpUpdated {
			assert.Equal(t, "plugin:testplugin", ch.Source)
		}
	}
}

func TestChecksumMismatchIsRefused(t *testing.T) {
	ctx := context.Background()
	st := newEnv(t, func(string) []plugins.Spec { return nil }, plugins.Config{})
	bad := spec(t, st.out)
	bad.Name, bad.SHA256 = "tampered", strings.Repeat("0", 64)
	none := spec(t, st.out)
	none.Name, none.SHA256 = "unsigned", ""
	good := spec(t, st.out)
	host, err := plugins.Open(ctx, st.c, plugins.Config{Plugins: []plugins.Spec{bad, none, good}})
	require.Error(t, err)
	t.Cleanup(func() { host.Close() })
	require.ErrorIs(t, err, plugins.ErrChecksum)
	require.ErrorIs(t, err, plugins.ErrPluginFailed)
	assert.Contains(t, err.Error(), "tampered")
	assert.Contains(t, err.Error(), "unsigned")
	require.Len(t, host.Plugins(), 1, "only the verified plugin runs")
	assert.Equal(t, "testplugin", host.Plugins()[0].Name)

	_, err = st.ws.Deals().Create(ctx, crm.Deal{Name: "veto this"})
	assert.ErrorIs(t, err, crm.ErrVetoed, "the good plugin serves")
}

func TestOldProtocolPlugin(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec {
		return []plugins.Spec{spec(t, out, "TESTPLUGIN_PROTOCOL=1")}
	}, plugins.Config{})
	assert.Equal(t, 1, e.host.Plugins()[0].Protocol)

	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "veto"})
	assert.ErrorIs(t, err, crm.ErrVetoed, "version 1 vetoes")
	d, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "rename"})
	require.NoError(t, err)
	assert.Equal(t, "rename", d.Name, "version 1 has no field changes")
	_, err = e.ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	line := e.waitRecorded("contact.created")
	assert.NotContains(t, line, "write-own", "version 1 has no host service")
}

// A plugin of protocol version 2 has no before-hook channel: its
// before-hooks veto and change records through gRPC calls.
func TestVersion2PluginWithoutChannel(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec {
		return []plugins.Spec{spec(t, out, "TESTPLUGIN_PROTOCOL=2")}
	}, plugins.Config{})
	info := e.host.Plugins()[0]
	assert.Equal(t, 2, info.Protocol)
	assert.False(t, info.Channel)

	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "veto"})
	var veto *plugins.VetoError
	require.ErrorAs(t, err, &veto)
	assert.Equal(t, "testplugin", veto.Plugin)
	d, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "rename"})
	require.NoError(t, err)
	assert.Equal(t, "RENAME", d.Name, "version 2 changes fields")
	_, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "unknown-field"})
	require.ErrorIs(t, err, plugins.ErrMalformed)
}

func TestDirectoryDiscovery(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(string) []plugins.Spec { return nil }, plugins.Config{})
	dir := t.TempDir()
	b, err := osReadFile(testPlugin)
	require.NoError(t, err)
	require.NoError(t, osWriteFile(dir+"/guard", b, 0o755))
	require.NoError(t, osWriteFile(dir+"/README", []byte("not a plugin"), 0o644))
	require.NoError(t, osWriteFile(dir+"/SHA256SUMS", []byte(testPluginSum+"  guard\n"), 0o644))
	host, err := plugins.Open(ctx, e.c, plugins.Config{Dir: dir, Timeout: 5 * time.Second})
	require.NoError(t, err)
	defer host.Close()
	require.Len(t, host.Plugins(), 1)
	assert.Equal(t, "guard", host.Plugins()[0].Name)
	_, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "veto"})
	var veto *plugins.VetoError
	require.ErrorAs(t, err, &veto)
	assert.Equal(t, "guard", veto.Plugin)
}

func TestCloseEndsProcesses(t *testing.T) {
	e := newEnv(t, func(out string) []plugins.Spec { return []plugins.Spec{spec(t, out)} }, plugins.Config{})
	pid := e.host.Plugins()[0].PID
	require.NotZero(t, pid)
	require.True(t, alive(pid))
	start := time.Now()
	require.NoError(t, e.host.Close())
	assert.False(t, alive(pid), "Close waits for the process to exit")
	assert.Less(t, time.Since(start), 5*time.Second)
	_, err := e.ws.Deals().Create(context.Background(), crm.Deal{Name: "veto"})
	assert.NoError(t, err, "a closed host's hooks are unbound")
	assert.False(t, errors.Is(err, crm.ErrVetoed))
}
