package plugins_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var (
	osReadFile  = os.ReadFile
	osWriteFile = os.WriteFile
)

// jsonRoundTrip is the in-process hook's stand-in for the work a plugin
// does: encoding the record and decoding it.
func jsonRoundTrip(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// newToken returns an env var marking the processes of one test
// ("TESTPLUGIN_TOKEN=<random>"): the test plugin and everything it starts
// inherit it. Processes still carrying it when the test ends are killed,
// so that a failing test leaves nothing behind.
func newToken(t *testing.T) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	token := "TESTPLUGIN_TOKEN=" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		for _, pid := range marked(token) {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	})
	return token
}

// marked returns the live processes whose environment holds token.
func marked(token string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if string(kv) == token && alive(pid) {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// waitMarked waits until at least n processes hold token, and returns
// them.
func waitMarked(t *testing.T, token string, n int) []int {
	t.Helper()
	var pids []int
	require.Eventually(t, func() bool {
		pids = marked(token)
		return len(pids) >= n
	}, 10*time.Second, 10*time.Millisecond, "want %d processes marked %s", n, token)
	return pids
}

// waitGone waits until none of pids is alive.
func waitGone(t *testing.T, pids []int, msg string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	}, 5*time.Second, 10*time.Millisecond, "%s: %v still alive", msg, pids)
}

// argv0 returns a process's argv[0].
func argv0(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	s, _, _ := strings.Cut(string(b), "\x00")
	return s
}
