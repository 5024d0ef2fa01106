//go:build linux

package plugins_test

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cpuTime is the CPU time the test process has used.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestLogFloodCostsTheHostLittle: a plugin writing to its stdout and
// stderr as fast as it can costs the host a few percent of a core.
func TestLogFloodCostsTheHostLittle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec {
		return []plugins.Spec{spec(t, out, "TESTPLUGIN_FLOOD=2")}
	}, plugins.Config{LogLinesPerSecond: 100})
	require.Eventually(t, func() bool { return e.host.Plugins()[0].LogsDropped > 10_000 }, 15*time.Second, 10*time.Millisecond)
	start, cpu := time.Now(), cpuTime(t)
	dropped := e.host.Plugins()[0].LogsDropped
	time.Sleep(2 * time.Second) // the window the host's CPU time is measured over
	share := float64(cpuTime(t)-cpu) / float64(time.Since(start))
	t.Logf("host CPU while flooded: %.1f%% of a core; %d lines dropped", 100*share, e.host.Plugins()[0].LogsDropped-dropped)
	assert.Less(t, share, 0.10, "the host's CPU while a plugin floods its output")
	assert.Greater(t, e.host.Plugins()[0].LogsDropped, dropped, "the flood goes on, dropped")
	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "veto"})
	assert.ErrorIs(t, err, crm.ErrVetoed, "the plugin serves")
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// logfmt parses a line of slog's text handler into its top-level keys and
// values, in order.
func logfmt(t *testing.T, line string) [][2]string {
	var out [][2]string
	for line != "" {
		key, rest, ok := strings.Cut(line, "=")
		require.True(t, ok, "no key=value in %q", line)
		if strings.HasPrefix(key, `"`) {
			k, err := strconv.Unquote(key)
			require.NoError(t, err, "key %s", key)
			key = k
		}
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			require.NoError(t, err, "value in %q", rest)
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			val, rest, _ = strings.Cut(rest, " ")
			rest = " " + rest
		}
		out = append(out, [2]string{key, val})
		line = strings.TrimPrefix(rest, " ")
	}
	return out
}

// TestPluginCannotForgeLogLines: what a plugin writes to its stdout, its
// stderr or go-plugin's stdio stream reaches the host's log prefixed and
// escaped: it cannot pass for the host's own lines or another plugin's.
func TestPluginCannotForgeLogLines(t *testing.T) {
	ctx := context.Background()
	var buf lockedBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, func(out string) []plugins.Spec {
		return []plugins.Spec{spec(t, out, "TESTPLUGIN_FORGE=1")}
	}, plugins.Config{Logger: logger})
	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "forge"})
	require.NoError(t, err)
	// Each forged line, from stderr before serving, and from stderr and
	// stdio while serving; then from stdout.
	require.Eventually(t, func() bool { return strings.Count(buf.String(), "forged raw line") >= 3 },
		10*time.Second, 10*time.Millisecond, "the plugin's lines never reached the log:\n%s", buf.String())
	assert.Eventually(t, func() bool { return strings.Count(buf.String(), "forged raw line") >= 4 },
		5*time.Second, 10*time.Millisecond, "the plugin's stdout never reached the log")

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	forged := 0
	for _, line := range lines {
		require.True(t, strings.HasPrefix(line, "time="), "a line that is not a record: %q", line)
		kv := logfmt(t, line)
		var plugin []string
		var msg string
		for _, p := range kv {
			switch p[0] {
			case "plugin":
				plugin = append(plugin, p[1])
			case "msg":
				msg = p[1]
			}
		}
		assert.Equal(t, []string{"testplugin"}, plugin, "one plugin key, the host's: %q", line)
		if strings.Contains(line, "forged") || strings.Contains(line, "dealguard") {
			forged++
			assert.True(t, strings.HasPrefix(msg, "plugin testplugin: "), "the plugin's message is prefixed: %q", msg)
			assert.NotContains(t, msg, "\n")
			assert.NotContains(t, msg, "\r")
		}
	}
	assert.GreaterOrEqual(t, forged, 12, "every forged line was logged")
}
