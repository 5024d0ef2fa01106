//go:build linux

package plugins_test

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPluginRunsAsAnotherUser: a plugin given a user runs as that user
// (and cannot read the host's files), and serves as any plugin does,
// host service included.
func TestPluginRunsAsAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running a plugin as another user takes root (or CAP_SETUID and CAP_SETGID)")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	ctx := context.Background()
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("hunter2"), 0o600))
	shared, err := os.MkdirTemp("", "plugins-shared") // not under t.TempDir's, which only root enters
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(shared) })
	require.NoError(t, os.Chmod(shared, 0o777))
	e := newEnv(t, func(string) []plugins.Spec { return nil }, plugins.Config{})
	e.out = filepath.Join(shared, "events")
	s := spec(t, e.out, "TESTPLUGIN_ENV=1", "TESTPLUGIN_READ="+secret)
	s.User = "nobody"
	h, err := e.open(plugins.Config{Plugins: []plugins.Spec{s}, SocketGroup: nobody.Gid})
	require.NoError(t, err)
	info := h.Plugins()[0]
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", info.PID))
	require.NoError(t, err)
	assert.Contains(t, string(status), "\nUid:\t"+nobody.Uid+"\t")
	assert.True(t, info.Contained, "root runs it in a PID namespace")

	line := e.waitRecorded("env ")
	assert.Contains(t, line, "read=false", "the plugin read the host's file")
	_, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "veto"})
	require.ErrorIs(t, err, crm.ErrVetoed)
	_, err = e.ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	line = e.waitRecorded("contact.created")
	assert.Contains(t, line, "write-own=OK", "the host service reaches it")
	assert.True(t, strings.HasPrefix(line, "acme "))
}
