package plugins_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dealCount counts the workspace's deals.
func dealCount(t *testing.T, ws *crm.Workspace) int {
	n := 0
	for _, err := range ws.Deals().List(context.Background(), crm.ListOptions{}) {
		require.NoError(t, err)
		n++
	}
	return n
}

func TestPluginCrashMidCall(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec { return []plugins.Spec{spec(t, out)} }, plugins.Config{})
	pid := e.host.Plugins()[0].PID

	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "crash"})
	require.ErrorIs(t, err, plugins.ErrUnavailable)
	require.ErrorIs(t, err, crm.ErrVetoed, "fail-closed refuses the write")
	var pe *plugins.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "testplugin", pe.Plugin)
	assert.Equal(t, 0, dealCount(t, e.ws))

	// Other writes go on while the plugin is down, and it comes back.
	_, err = e.ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	info := e.waitRunning(1)
	assert.NotEqual(t, pid, info.PID)
	assert.False(t, alive(pid))
	_, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "veto"})
	assert.ErrorIs(t, err, crm.ErrVetoed)
	var veto *plugins.VetoError
	assert.ErrorAs(t, err, &veto, "the restarted plugin serves")
	_, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "fine"})
	require.NoError(t, err)
	e.waitRecorded("contact.created")
}

func TestPluginPastDeadline(t *testing.T) {
	for _, policy := range []plugins.Policy{plugins.FailClosed, plugins.FailOpen} {
		t.Run(policy.String(), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, func(out string) []plugins.Spec {
				s := spec(t, out)
				s.Timeout, s.Policy = 200*time.Millisecond, policy
				return []plugins.Spec{s}
			}, plugins.Config{})
			start := time.Now()
			_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "hang"})
			assert.Less(t, time.Since(start), 3*time.Second)
			if policy == plugins.FailClosed {
				require.ErrorIs(t, err, plugins.ErrTimeout)
				assert.Equal(t, 0, dealCount(t, e.ws))
			} else {
				require.NoError(t, err)
				assert.Equal(t, 1, dealCount(t, e.ws))
			}
			info := e.host.Plugins()[0]
			assert.Equal(t, int64(1), info.Failures)
			assert.ErrorIs(t, info.LastError, plugins.ErrTimeout)
			// The plugin is still there for the next write.
			_, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "rename"})
			require.NoError(t, err)
		})
	}
}

func TestMalformedAndOversizedResponses(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec { return []plugins.Spec{spec(t, out)} },
		plugins.Config{MaxMessageBytes: 1 << 20})
	cases := []struct {
		name string
		want error
		have string
	}{
		{"unknown-field", plugins.ErrMalformed, "no_such_field"},
		{"bad-type", plugins.ErrMalformed, "amount"},
		{"oversize", plugins.ErrTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: tc.name})
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, crm.ErrVetoed)
			if tc.have != "" {
				var ce *plugins.ChangeError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tc.have, ce.Field)
			}
		})
	}
	assert.Equal(t, 0, dealCount(t, e.ws))
	d, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "rename"})
	require.NoError(t, err)
	assert.Equal(t, "RENAME", d.Name)
	assert.True(t, e.host.Plugins()[0].Running)
}

func TestLogFloodIsThrottled(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec {
		return []plugins.Spec{spec(t, out, "TESTPLUGIN_FLOOD=1")}
	}, plugins.Config{LogLinesPerSecond: 100})
	start := time.Now()
	require.Eventually(t, func() bool { return e.host.Plugins()[0].LogsDropped > 10_000 }, 15*time.Second, 10*time.Millisecond)
	for i := range 20 {
		_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: fmt.Sprint("deal ", i)})
		require.NoError(t, err)
	}
	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "veto"})
	assert.ErrorIs(t, err, crm.ErrVetoed)
	elapsed := time.Since(start).Seconds()
	forwarded := e.logs.flood.Load()
	assert.Greater(t, forwarded, int64(0), "the plugin's log reaches the host")
	assert.LessOrEqual(t, float64(forwarded), 100*elapsed+200+100, "forwarded lines stay within the budget")
	assert.Positive(t, e.logs.throttle.Load(), "the host says lines were dropped")
}

func TestCrashDuringDeliveryLosesNoEvent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec {
		s := spec(t, out)
		s.Policy = plugins.FailOpen // the deals' before-hooks may meet the plugin down
		return []plugins.Spec{s}
	}, plugins.Config{})
	for _, name := range []string{"one", "crash-deliver", "three"} {
		_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: name})
		require.NoError(t, err)
	}
	last, err := e.ws.OutboxHead(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(4), last, "the default pipeline and three deals")
	e.waitRecorded(fmt.Sprintf("acme %d deal.created", last))
	e.waitRunning(1)
	seen := map[string]bool{}
	for _, l := range e.recorded() {
		seen[l] = true
	}
	assert.True(t, seen["acme 1 pipeline.created"])
	for seq := uint64(2); seq <= last; seq++ {
		assert.True(t, seen[fmt.Sprintf("acme %d deal.created", seq)], "event %d delivered", seq)
	}
	// The plugin records an event before the host acknowledges its batch.
	d := e.host.Dispatcher("testplugin")
	assert.Eventually(t, func() bool {
		cur, err := d.Cursor(ctx, "acme", plugins.ConsumerName("testplugin"))
		return err == nil && cur == last
	}, 10*time.Second, 10*time.Millisecond, "the consumer's cursor reaches the last event")
	for dl, err := range d.DeadLetters(ctx, "acme", plugins.ConsumerName("testplugin")) {
		require.NoError(t, err)
		t.Errorf("dead letter: %+v", dl)
	}
}

func TestPluginDownGetsEveryEventWhenBack(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(out string) []plugins.Spec { return []plugins.Spec{spec(t, out)} }, plugins.Config{})
	_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "before"})
	require.NoError(t, err)
	e.waitRecorded("acme 2 deal.created")
	require.NoError(t, e.host.Close())

	for i := range 5 {
		_, err := e.ws.Deals().Create(ctx, crm.Deal{Name: fmt.Sprint("while down ", i)})
		require.NoError(t, err)
	}
	host, err := plugins.Open(ctx, e.c, plugins.Config{
		Plugins:  []plugins.Spec{spec(t, e.out)},
		Dispatch: []crm.DispatcherOption{crm.WithLease("", time.Second), crm.WithPollInterval(50 * time.Millisecond)},
	})
	require.NoError(t, err)
	defer host.Close()
	e.waitRecorded("acme 7 deal.created")
	var got []string
	for _, l := range e.recorded() {
		if strings.HasSuffix(l, "deal.created") {
			got = append(got, l)
		}
	}
	assert.Equal(t, []string{
		"acme 2 deal.created", "acme 3 deal.created", "acme 4 deal.created",
		"acme 5 deal.created", "acme 6 deal.created", "acme 7 deal.created",
	}, got, "every event once, in order")
}
