package plugins_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/crmkit/crmkit/plugins/internal/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Writes at once each get their own plugin's answer through the
// before-hook channel: calls at once take connections of their own, and
// none is handed another's result.
func TestChannelCallsAtOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec { return []plugins.Spec{spec(t, out)} }, plugins.Config{})
	require.True(t, e.host.Plugins()[0].Channel)
	const writers, each = 8, 15
	type result struct {
		name, got string
		err       error
	}
	results := make(chan result, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := fmt.Sprintf("rename w%d-%d", w, i)
				if i%3 == 0 {
					name = fmt.Sprintf("veto w%d-%d", w, i)
				}
				d, err := e.ws.Deals().Create(ctx, crm.Deal{Name: name})
				results <- result{name, d.Name, err}
			}
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		if strings.HasPrefix(r.name, "veto") {
			var veto *plugins.VetoError
			if assert.ErrorAs(t, r.err, &veto, r.name) {
				assert.Equal(t, "no deals named "+r.name, veto.Reason)
			}
			continue
		}
		if assert.NoError(t, r.err, r.name) {
			assert.Equal(t, strings.ToUpper(r.name), r.got)
		}
	}
	assert.Zero(t, e.host.Plugins()[0].Failures)
}

// The channel's socket accepts only the host: a client without the
// host's one-time certificate, or without TLS, gets nothing from it, and
// the host's calls go on.
func TestChannelRefusesStrangers(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec { return []plugins.Spec{spec(t, out)} }, plugins.Config{})
	network, addr, ok := plugins.ChannelAddr(e.host, "testplugin")
	require.True(t, ok)

	stranger, err := wire.NewIdentity()
	require.NoError(t, err)
	cfg := &tls.Config{Certificates: []tls.Certificate{stranger.Cert}, InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, network, addr, cfg)
	if err == nil {
		// TLS 1.3 reports a refused client certificate on the first read.
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	require.Error(t, err, "a client with another certificate is refused")
	assert.NotErrorIs(t, err, context.DeadlineExceeded)

	raw, err := net.Dial(network, addr)
	require.NoError(t, err)
	_ = raw.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = raw.Write([]byte("\x00\x00\x00\x05hello"))
	// The plugin answers with a TLS alert at most, and hangs up.
	_, err = io.ReadAll(raw)
	raw.Close()
	var ne net.Error
	if errors.As(err, &ne) {
		assert.False(t, ne.Timeout(), "a client without TLS is refused, not left hanging")
	}

	d, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "rename"})
	require.NoError(t, err)
	assert.Equal(t, "RENAME", d.Name)
}

// A write whose context ends while the plugin's before-hook runs on the
// channel returns then, not at the plugin's deadline, and the channel
// serves the next write.
func TestChannelCallEndsWithItsContext(t *testing.T) {
	e := newEnv(t, func(out string) []plugins.Spec { return []plugins.Spec{spec(t, out)} }, plugins.Config{})
	require.True(t, e.host.Plugins()[0].Channel)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "hang"})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 4*time.Second, "the plugin's deadline is 5s")
	assert.NotErrorIs(t, err, plugins.ErrTimeout)

	d, err := e.ws.Deals().Create(context.Background(), crm.Deal{Name: "rename"})
	require.NoError(t, err)
	assert.Equal(t, "RENAME", d.Name)
}
