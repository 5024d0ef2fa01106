// Package plugintest builds an example plugin and runs it under a real
// plugin host, for the examples' tests. It imports crm, plugins and the
// Badger store.
package plugintest

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/crmkit/crmkit/store/badger"
)

// Build compiles the plugin in the package directory pkg ("." for the
// test's own) and returns its spec, checksum included.
func Build(t testing.TB, pkg, name string) plugins.Spec {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("go", "build", "-o", path, pkg).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, out)
	}
	return Spec(t, path, name)
}

// Spec returns the spec of an executable, with its checksum.
func Spec(t testing.TB, path, name string) plugins.Spec {
	t.Helper()
	sum, err := plugins.FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return plugins.Spec{Name: name, Path: path, SHA256: sum, Timeout: 5 * time.Second}
}

// Open returns a CRM on a fresh Badger store with workspace "demo", and a
// host running the plugins.
func Open(t testing.TB, specs ...plugins.Spec) (*crm.CRM, *crm.Workspace, *plugins.Host) {
	t.Helper()
	st, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := crm.New(st)
	ws, err := c.CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "demo", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := plugins.Open(context.Background(), c, plugins.Config{
		Plugins:  specs,
		Dispatch: []crm.DispatcherOption{crm.WithPollInterval(50 * time.Millisecond), crm.WithBackoff(10*time.Millisecond, 200*time.Millisecond)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return c, ws, h
}
