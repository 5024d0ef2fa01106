package plugins_test

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/plugins/internal/wire"
	"github.com/stretchr/testify/require"
)

// echoConn is a connection to the test plugin run as a raw socket echo
// (TESTPLUGIN_ECHO): length-prefixed frames over mutual TLS on a Unix
// socket, to another process, as the before-hook channel's, and nothing
// else. It is the benchmarks' baseline.
type echoConn struct {
	c       net.Conn
	r       *bufio.Reader
	in, out []byte
}

// startEcho runs the echo process and connects to it; both end with tb.
func startEcho(tb testing.TB) *echoConn {
	tb.Helper()
	id, err := wire.NewIdentity()
	require.NoError(tb, err)
	cmd := exec.Command(testPlugin)
	cmd.Env = []string{"TESTPLUGIN_ECHO=" + base64.StdEncoding.EncodeToString(id.DER)}
	stdin, err := cmd.StdinPipe()
	require.NoError(tb, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	require.NoError(tb, cmd.Start())
	tb.Cleanup(func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(tb, err, "the echo process's address")
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	path, cert, ok := strings.Cut(strings.TrimSpace(line), " ")
	require.True(tb, ok, "echo printed %q", line)
	der, err := base64.StdEncoding.DecodeString(cert)
	require.NoError(tb, err)
	cfg, err := wire.ClientConfig(id, der)
	require.NoError(tb, err)
	c, err := tls.Dial("unix", path, cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { c.Close() })
	return &echoConn{c: c, r: bufio.NewReader(c)}
}

// roundTrip sends payload and reads it back.
func (e *echoConn) roundTrip(payload []byte) ([]byte, error) {
	if err := wire.WriteFrame(e.c, &e.out, payload); err != nil {
		return nil, err
	}
	return wire.ReadFrame(e.r, &e.in, 1<<20)
}

// The echo baseline echoes, over mutual TLS: a benchmark's baseline that
// did not would measure nothing.
func TestEchoBaseline(t *testing.T) {
	e := startEcho(t)
	for _, n := range []int{0, 1, 512, 64 << 10} {
		payload := []byte(strings.Repeat("x", n))
		got, err := e.roundTrip(payload)
		require.NoError(t, err)
		require.Equal(t, string(payload), string(got))
	}
	state := e.c.(*tls.Conn).ConnectionState()
	require.Equal(t, uint16(tls.VersionTLS13), state.Version)
	require.Len(t, state.PeerCertificates, 1)
}
