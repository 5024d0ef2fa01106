package plugins_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/stretchr/testify/require"
)

// testPlugin is the test plugin's executable and its checksum, built once.
var testPlugin, testPluginSum string

// helpers are the test binary's other roles: run as a process of its own
// with the env var named set, it is that helper.
var helpers = map[string]func() int{"PLUGINS_TEST_HOST": hostProcess}

func TestMain(m *testing.M) {
	for env, helper := range helpers {
		if os.Getenv(env) != "" {
			os.Exit(helper())
		}
	}
	dir, err := os.MkdirTemp("", "plugins-test")
	if err != nil {
		panic(err)
	}
	testPlugin = filepath.Join(dir, "testplugin")
	if out, err := exec.Command("go", "build", "-o", testPlugin, "./internal/testplugin").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build test plugin: %v\n%s", err, out)
		os.Exit(1)
	}
	if testPluginSum, err = plugins.FileSHA256(testPlugin); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hostProcess is a host run as a separate process by the orphan test: it
// loads the plugin, prints its PID, and waits to be killed.
func hostProcess() int {
	st, err := badger.Open("", badger.WithInMemory())
	if err != nil {
		return 1
	}
	c := crm.New(st)
	h, err := plugins.Open(context.Background(), c, plugins.Config{
		Plugins: []plugins.Spec{{Path: os.Getenv("PLUGINS_TEST_HOST"), SHA256: os.Getenv("PLUGINS_TEST_SUM"), Env: hostPluginEnv()}},
	})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	info := h.Plugins()[0]
	fmt.Println("pid", info.PID, "contained", info.Contained)
	select {}
}

// hostPluginEnv is the plugin env of the host process the orphan test
// runs (PLUGINS_TEST_PLUGIN_ENV, space-separated).
func hostPluginEnv() []string { return strings.Fields(os.Getenv("PLUGINS_TEST_PLUGIN_ENV")) }

// env is one test's CRM on Badger with a plugin host.
type env struct {
	t    *testing.T
	c    *crm.CRM
	ws   *crm.Workspace
	host *plugins.Host
	out  string // where the test plugin records events
	logs *countHandler
}

// spec is the test plugin with a generous deadline (the race detector is
// slow) and env vars.
func spec(t *testing.T, out string, env ...string) plugins.Spec {
	return plugins.Spec{
		Name: "testplugin", Path: testPlugin, SHA256: testPluginSum, Timeout: 5 * time.Second,
		Env: append([]string{"TESTPLUGIN_OUT=" + out}, env...),
	}
}

// newEnv opens a CRM on a fresh Badger store and a host with the given
// plugin specs (the test plugin's record file is e.out).
func newEnv(t *testing.T, specs func(out string) []plugins.Spec, cfg plugins.Config) *env {
	t.Helper()
	st, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, c: crm.New(st), out: filepath.Join(t.TempDir(), "events"), logs: &countHandler{}}
	e.ws, err = e.c.CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "acme"})
	require.NoError(t, err)
	cfg.Plugins = specs(e.out)
	e.host, err = e.open(cfg)
	require.NoError(t, err)
	return e
}

// open opens a host on e's CRM with the tests' delivery and restart
// settings, closed when the test ends.
func (e *env) open(cfg plugins.Config) (*plugins.Host, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(e.logs)
	}
	cfg.Dispatch = append(cfg.Dispatch, crm.WithBackoff(10*time.Millisecond, 100*time.Millisecond),
		crm.WithPollInterval(50*time.Millisecond), crm.WithLease("", time.Second))
	if cfg.RestartBackoff == 0 {
		cfg.RestartBackoff = 20 * time.Millisecond
	}
	h, err := plugins.Open(context.Background(), e.c, cfg)
	if h != nil {
		e.t.Cleanup(func() { h.Close() })
	}
	return h, err
}

func one(s plugins.Spec) func(string) []plugins.Spec {
	return func(string) []plugins.Spec { return []plugins.Spec{s} }
}

// recorded returns the lines the test plugin recorded.
func (e *env) recorded() []string {
	f, err := os.Open(e.out)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(e.t, err)
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// waitRecorded waits until the plugin recorded a line containing want.
func (e *env) waitRecorded(want string) string {
	e.t.Helper()
	var found string
	require.Eventually(e.t, func() bool {
		for _, l := range e.recorded() {
			if strings.Contains(l, want) {
				found = l
				return true
			}
		}
		return false
	}, 15*time.Second, 20*time.Millisecond, "the plugin never recorded %q; it has %q", want, e.recorded())
	return found
}

// waitRunning waits until the plugin runs, after at least restarts
// restarts.
func (e *env) waitRunning(restarts int64) plugins.Info {
	e.t.Helper()
	var info plugins.Info
	require.Eventually(e.t, func() bool {
		info = e.host.Plugins()[0]
		return info.Running && info.Restarts >= restarts
	}, 15*time.Second, 10*time.Millisecond)
	return info
}

// countHandler is a slog handler counting records by message.
type countHandler struct {
	n        atomic.Int64
	throttle atomic.Int64
	flood    atomic.Int64
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	h.n.Add(1)
	switch r.Message {
	case "plugins: plugin log throttled":
		h.throttle.Add(1)
	default:
		if strings.HasSuffix(r.Message, "flood") {
			h.flood.Add(1)
		}
	}
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

// alive reports whether a process runs (a zombie counts as gone).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}
