//go:build linux

package plugins_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// impostor writes, in dir, a copy of the test plugin ("good") and a
// script that touches ran and then runs the test plugin ("evil"), and
// returns their paths.
func impostor(t *testing.T, dir, ran string) (good, evil string) {
	b, err := os.ReadFile(testPlugin)
	require.NoError(t, err)
	good, evil = filepath.Join(dir, "good"), filepath.Join(dir, "evil")
	require.NoError(t, os.WriteFile(good, b, 0o755))
	script := fmt.Sprintf("#!/bin/sh\ntouch %q\nexec %q \"$@\"\n", ran, testPlugin)
	require.NoError(t, os.WriteFile(evil, []byte(script), 0o755))
	return good, evil
}

func init() { helpers["PLUGINS_TEST_SWAP"] = swapProcess }

// swapProcess puts the two files PLUGINS_TEST_SWAP names ("<path> <a>
// <b>") at path in turn, renaming a fresh link to one over it at random
// moments up to 20ms apart (about as long as the host takes to hash the
// test plugin and start it), until it is killed. It runs as a process of
// its own, so that when it swaps is independent of what the host does.
func swapProcess() int {
	args := strings.Fields(os.Getenv("PLUGINS_TEST_SWAP"))
	path, files := args[0], args[1:]
	for i := 0; ; i++ {
		tmp := fmt.Sprintf("%s.%d", path, i)
		if err := os.Link(files[i%2], tmp); err != nil {
			fmt.Println(err)
			return 1
		}
		if err := os.Rename(tmp, path); err != nil {
			fmt.Println(err)
			return 1
		}
		time.Sleep(time.Duration(rand.IntN(20_000)) * time.Microsecond)
	}
}

// TestSwappedExecutableNeverRuns: swapping another executable in at a
// plugin's path while the host opens it never runs the other executable:
// what the host checks is what it runs.
func TestSwappedExecutableNeverRuns(t *testing.T) {
	dir := t.TempDir()
	ran := filepath.Join(dir, "evil-ran")
	good, evil := impostor(t, dir, ran)
	path := filepath.Join(dir, "plugin")
	require.NoError(t, os.Link(good, path))
	swap := exec.Command(os.Args[0], "-test.run=^$")
	swap.Env = append(os.Environ(), "PLUGINS_TEST_SWAP="+path+" "+evil+" "+good)
	swap.Stdout = os.Stderr
	require.NoError(t, swap.Start())
	stopSwap := func() { _ = swap.Process.Kill(); _ = swap.Wait() }
	t.Cleanup(stopSwap)

	e := newEnv(t, func(string) []plugins.Spec { return nil }, plugins.Config{})
	// Until the host found the right executable at the path ten times
	// (the wrong one is refused at once).
	opened, refused := 0, 0
	for start := time.Now(); opened < 10 && time.Since(start) < 10*time.Second; {
		h, err := e.open(plugins.Config{Plugins: []plugins.Spec{{
			Name: "swapped", Path: path, SHA256: testPluginSum, Timeout: 5 * time.Second,
		}}})
		if err == nil {
			opened++
		} else {
			refused++
			assert.ErrorIs(t, err, plugins.ErrChecksum)
			time.Sleep(time.Millisecond)
		}
		require.NotNil(t, h)
		h.Close()
	}
	stopSwap()
	t.Logf("%d opened, %d refused", opened, refused)
	_, err := os.Stat(ran)
	assert.True(t, os.IsNotExist(err), "the swapped-in executable ran")
}

// TestRefusedReplacementNamesTheChecksum: a plugin whose executable was
// replaced is not restarted when it crashes, and its last error keeps
// saying why, whatever writes fail after.
func TestRefusedReplacementNamesTheChecksum(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ran := filepath.Join(dir, "evil-ran")
	good, evil := impostor(t, dir, ran)
	e := newEnv(t, func(out string) []plugins.Spec {
		s := spec(t, out)
		s.Path = good
		return []plugins.Spec{s}
	}, plugins.Config{})
	require.NoError(t, os.Rename(evil, good))

	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "crash"})
	require.ErrorIs(t, err, plugins.ErrUnavailable)
	require.Eventually(t, func() bool {
		return errors.Is(e.host.Plugins()[0].LastError, plugins.ErrChecksum)
	}, 10*time.Second, 10*time.Millisecond, "the restart was refused")
	for range 3 {
		_, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "fine"})
		require.ErrorIs(t, err, plugins.ErrUnavailable, "fail-closed: the plugin is down")
		assert.ErrorIs(t, err, plugins.ErrChecksum, "the write's error says why the plugin is down")
	}
	info := e.host.Plugins()[0]
	assert.False(t, info.Running)
	require.ErrorIs(t, info.LastError, plugins.ErrChecksum)
	assert.Contains(t, info.LastError.Error(), good)
	_, err = os.Stat(ran)
	assert.True(t, os.IsNotExist(err), "the replacement ran")
}
