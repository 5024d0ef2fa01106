//go:build linux

package plugins_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closeWithin closes h, failing the test if it takes longer than d (and
// not waiting for it past twice d).
func closeWithin(t *testing.T, h *plugins.Host, d time.Duration) {
	t.Helper()
	done := make(chan struct{})
	start := time.Now()
	go func() { h.Close(); close(done) }()
	select {
	case <-done:
		assert.Less(t, time.Since(start), d, "Close took too long")
	case <-time.After(2 * d):
		t.Fatalf("Close did not return within %v", 2*d)
	}
}

// reachable returns the processes a host can stop with a plugin: all of
// them where the plugin runs in a PID namespace of its own, else those
// that stayed in its process group (not the detached one), saying so.
func reachable(t *testing.T, pids []int, contained bool) []int {
	if contained {
		return pids
	}
	t.Log("no PID namespace for plugins here: a process the plugin detached escapes it")
	var out []int
	for _, pid := range pids {
		if !strings.HasSuffix(argv0(pid), "-detached") {
			out = append(out, pid)
		}
	}
	return out
}

// bothWays runs a test with plugins in PID namespaces of their own where
// the system allows them, and in their process groups only, as on
// systems that do not.
func bothWays(t *testing.T, test func(t *testing.T)) {
	t.Run("namespace", test)
	t.Run("group", func(t *testing.T) { plugins.WithoutNamespaces(func() { test(t) }) })
}

// TestPluginChildrenEndWithIt: a plugin that starts a child sharing its
// stdout and stderr, and a detached one, and then exits, is restarted,
// and what it started ends with it; Close ends the new instance and its
// children too, quickly.
func TestPluginChildrenEndWithIt(t *testing.T) { bothWays(t, testPluginChildrenEndWithIt) }

func testPluginChildrenEndWithIt(t *testing.T) {
	ctx := context.Background()
	token := newToken(t)
	e := newEnv(t, func(out string) []plugins.Spec {
		return []plugins.Spec{spec(t, out, token, "TESTPLUGIN_SPAWN=spawned")}
	}, plugins.Config{})
	first := e.host.Plugins()[0]
	kids := waitMarked(t, token, 3) // the plugin, its child, the detached one
	assert.Contains(t, kids, first.PID)

	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "crash"})
	require.ErrorIs(t, err, plugins.ErrUnavailable)
	info := e.waitRunning(1)
	assert.NotEqual(t, first.PID, info.PID)
	waitGone(t, reachable(t, kids, first.Contained), "the first instance and what it started")

	kids = waitMarked(t, token, 3)
	assert.Contains(t, kids, info.PID)
	_, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "veto"})
	require.ErrorIs(t, err, crm.ErrVetoed, "the restarted plugin serves")
	closeWithin(t, e.host, 5*time.Second)
	waitGone(t, reachable(t, kids, info.Contained), "Close: the plugin and what it started")
}

// TestCloseIsBounded: Close returns within 5s whatever the plugin does,
// here stopped (it answers nothing, go-plugin's shutdown included) with
// children holding its output open.
func TestCloseIsBounded(t *testing.T) { bothWays(t, testCloseIsBounded) }

func testCloseIsBounded(t *testing.T) {
	token := newToken(t)
	e := newEnv(t, func(out string) []plugins.Spec {
		return []plugins.Spec{spec(t, out, token, "TESTPLUGIN_SPAWN=spawned")}
	}, plugins.Config{})
	info := e.host.Plugins()[0]
	kids := waitMarked(t, token, 3)
	require.NoError(t, syscall.Kill(info.PID, syscall.SIGSTOP))
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", info.PID))
		_, rest, _ := strings.Cut(string(b), ") ")
		return strings.HasPrefix(rest, "T")
	}, 5*time.Second, time.Millisecond, "the plugin never stopped")
	closeWithin(t, e.host, 5*time.Second)
	waitGone(t, reachable(t, kids, info.Contained), "Close: the stopped plugin and what it started")
}

// TestNoOrphanWhenHostIsKilled: a host killed with SIGKILL leaves no
// plugin process behind, nor anything a plugin started, detached or not.
func TestNoOrphanWhenHostIsKilled(t *testing.T) {
	token := newToken(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PLUGINS_TEST_HOST="+testPlugin, "PLUGINS_TEST_SUM="+testPluginSum,
		"PLUGINS_TEST_PLUGIN_ENV="+token+" TESTPLUGIN_SPAWN=spawned")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	var pid int
	var contained bool
	_, err = fmt.Sscanf(line, "pid %d contained %t", &pid, &contained)
	require.NoError(t, err, "host said %q", line)
	require.True(t, alive(pid))
	kids := waitMarked(t, token, 3)
	assert.Contains(t, kids, pid)

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	if !contained {
		// Only the plugin: the kernel kills it with its parent, and
		// nothing is left to stop what it started.
		t.Log("no PID namespace for plugins here: what a plugin started may outlive a killed host")
		kids = []int{pid}
	}
	waitGone(t, kids, "the killed host's plugin and what it started")
}

// TestStartTimeoutBoundsTheWholeStart: a plugin that prints its handshake
// line and never completes the TLS handshake is given up on after
// StartTimeout, and the other plugins serve meanwhile.
func TestStartTimeoutBoundsTheWholeStart(t *testing.T) {
	ctx := context.Background()
	token := newToken(t)
	e := newEnv(t, func(string) []plugins.Spec { return nil }, plugins.Config{})
	stall := spec(t, e.out, token, "TESTPLUGIN_STALL=1")
	stall.Name = "stall"
	type opened struct {
		h   *plugins.Host
		err error
	}
	done := make(chan opened, 1)
	start := time.Now()
	go func() {
		h, err := e.open(plugins.Config{Plugins: []plugins.Spec{stall, spec(t, e.out)}, StartTimeout: 2 * time.Second})
		done <- opened{h, err}
	}()
	// The well-behaved plugin serves while the other one still starts.
	require.Eventually(t, func() bool {
		_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "veto"})
		return errors.Is(err, crm.ErrVetoed)
	}, 10*time.Second, 20*time.Millisecond, "the plugin that started never served")
	select {
	case <-done:
		t.Fatal("Open returned before the stalled plugin's start timed out")
	default:
	}
	var o opened
	select {
	case o = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Open did not return")
	}
	assert.Less(t, time.Since(start), 4*time.Second, "StartTimeout bounds the whole start")
	require.ErrorIs(t, o.err, plugins.ErrTimeout)
	assert.Contains(t, o.err.Error(), "stall")
	require.NotNil(t, o.h)
	require.Len(t, o.h.Plugins(), 1)
	assert.Equal(t, "testplugin", o.h.Plugins()[0].Name)
	waitGone(t, marked(token), "the stalled plugin")
	assert.Empty(t, marked(token))
}
