package plugins_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/stretchr/testify/require"
)

func openCRM(b *testing.B) (*crm.CRM, *crm.Workspace) {
	st, err := badger.Open(b.TempDir(), badger.WithSyncWrites(false))
	require.NoError(b, err)
	b.Cleanup(func() { st.Close() })
	c := crm.New(st)
	ws, err := c.CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "acme"})
	require.NoError(b, err)
	return c, ws
}

// rawPayload is the size of the raw round trip's frames: about that of a
// before-hook call for a small deal (its request, with the deal as JSON).
const rawPayload = 512

func percentile(d []time.Duration, p float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[int(p*float64(len(s)-1))].Nanoseconds()) / 1e3
}

// BenchmarkBeforeHook measures a deal create through a real Go plugin's
// before-hook, side by side with the same create through an in-process
// hook doing the same work (decoding the deal), and a raw socket round
// trip to another process (the test plugin as an echo: length-prefixed
// frames of a before-hook call's size over mutual TLS on a Unix socket),
// the three interleaved so that they meet the same load. It does so for a
// plugin of protocol version 3, whose before-hooks go through the
// before-hook channel ("channel"), and one of version 2, called through
// gRPC ("grpc").
//
// It reports the plugin round trip's p50 and p99 (timed by in-process
// hooks bound just before and after the plugin's), the raw round trip's
// (raw-p50-µs, raw-p99-µs), their ratio (hook-raw-ratio), the ratio of
// the write's median cost with the plugin to that with the in-process
// hook (ratio), and, measured after the rest, the raw round trip's p50
// back to back (raw-hot-p50-µs: both processes already awake, as they
// never are between writes) and the hook's p50 over it (hook-hot-ratio).
func BenchmarkBeforeHook(b *testing.B) {
	b.Run("channel", func(b *testing.B) { benchBeforeHook(b, 3) })
	b.Run("grpc", func(b *testing.B) { benchBeforeHook(b, 2) })
}

func benchBeforeHook(b *testing.B, protocol int) {
	ctx := context.Background()
	pc, pws := openCRM(b)
	host, err := plugins.Open(ctx, pc, plugins.Config{Plugins: []plugins.Spec{{
		Name: "testplugin", Path: testPlugin, SHA256: testPluginSum, Timeout: time.Second,
		Env: []string{
			fmt.Sprint("TESTPLUGIN_PROTOCOL=", protocol),
			// PLUGINS_BENCH_PLUGIN_PROFILE=<file> profiles the plugin's side.
			"TESTPLUGIN_CPUPROFILE=" + os.Getenv("PLUGINS_BENCH_PLUGIN_PROFILE"),
		},
	}}})
	require.NoError(b, err)
	defer host.Close()
	require.Equal(b, protocol == 3, host.Plugins()[0].Channel)
	var t0 time.Time
	var rtts []time.Duration
	require.NoError(b, pc.Hooks().BeforeDeal.Bind("t0", 999, func(context.Context, *crm.Before[crm.Deal]) error {
		t0 = time.Now()
		return nil
	}))
	require.NoError(b, pc.Hooks().BeforeDeal.Bind("t1", 1001, func(context.Context, *crm.Before[crm.Deal]) error {
		rtts = append(rtts, time.Since(t0))
		return nil
	}))
	ic, iws := openCRM(b)
	require.NoError(b, ic.Hooks().BeforeDeal.Bind("in-process", 0, func(_ context.Context, bd *crm.Before[crm.Deal]) error {
		var d crm.Deal
		return jsonRoundTrip(bd.New, &d)
	}))

	raw := startEcho(b)
	payload := make([]byte, rawPayload)
	var rawRTTs []time.Duration

	var withPlugin, inProcess []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := raw.roundTrip(payload); err != nil {
			b.Fatal(err)
		}
		rawRTTs = append(rawRTTs, time.Since(start))
		d := crm.Deal{Name: fmt.Sprint("deal ", i), Amount: crm.Money{Amount: int64(i)}}
		start = time.Now()
		if _, err := pws.Deals().Create(ctx, d); err != nil {
			b.Fatal(err)
		}
		withPlugin = append(withPlugin, time.Since(start))
		start = time.Now()
		if _, err := iws.Deals().Create(ctx, d); err != nil {
			b.Fatal(err)
		}
		inProcess = append(inProcess, time.Since(start))
	}
	b.StopTimer()
	hot := make([]time.Duration, 0, b.N)
	for range b.N {
		start := time.Now()
		if _, err := raw.roundTrip(payload); err != nil {
			b.Fatal(err)
		}
		hot = append(hot, time.Since(start))
	}
	b.ReportMetric(percentile(rtts, 0.5), "rtt-p50-µs")
	b.ReportMetric(percentile(rtts, 0.99), "rtt-p99-µs")
	b.ReportMetric(percentile(rawRTTs, 0.5), "raw-p50-µs")
	b.ReportMetric(percentile(rawRTTs, 0.99), "raw-p99-µs")
	b.ReportMetric(percentile(rtts, 0.5)/percentile(rawRTTs, 0.5), "hook-raw-ratio")
	b.ReportMetric(percentile(hot, 0.5), "raw-hot-p50-µs")
	b.ReportMetric(percentile(rtts, 0.5)/percentile(hot, 0.5), "hook-hot-ratio")
	b.ReportMetric(percentile(withPlugin, 0.5), "write-p50-µs")
	b.ReportMetric(percentile(inProcess, 0.5), "inproc-write-p50-µs")
	b.ReportMetric(percentile(withPlugin, 0.5)/percentile(inProcess, 0.5), "ratio")
}

// BenchmarkAfterDelivery measures after-event delivery from the outbox to
// one real Go plugin in batches, against delivery of the same events to
// an in-process consumer in the same run.
func BenchmarkAfterDelivery(b *testing.B) {
	const events = 20_000
	ctx := context.Background()
	c, ws := openCRM(b)
	deals := make([]crm.Deal, events)
	for i := range deals {
		deals[i] = crm.Deal{Name: fmt.Sprint("deal ", i)}
	}
	_, err := ws.Deals().CreateMany(ctx, deals)
	require.NoError(b, err)
	head, err := ws.OutboxHead(ctx)
	require.NoError(b, err)

	var pluginTime, inprocTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprint("bench", i)
		start := time.Now()
		host, err := plugins.Open(ctx, c, plugins.Config{
			Plugins:  []plugins.Spec{{Name: name, Path: testPlugin, SHA256: testPluginSum}},
			Dispatch: []crm.DispatcherOption{crm.WithBatchSize(512)},
		})
		require.NoError(b, err)
		d := host.Dispatcher(name)
		for {
			cur, err := d.Cursor(ctx, "acme", plugins.ConsumerName(name))
			require.NoError(b, err)
			if cur == head {
				break
			}
			time.Sleep(time.Millisecond)
		}
		pluginTime += time.Since(start)
		host.Close()

		start = time.Now()
		disp := c.NewDispatcher(crm.WithBatchSize(512))
		require.NoError(b, disp.Subscribe("inproc"+name, func(context.Context, []crm.Event) error { return nil }))
		_, err = disp.Drain(ctx)
		require.NoError(b, err)
		inprocTime += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(head)*float64(b.N)/pluginTime.Seconds(), "plugin-events/s")
	b.ReportMetric(float64(head)*float64(b.N)/inprocTime.Seconds(), "inproc-events/s")
	b.ReportMetric(inprocTime.Seconds()/pluginTime.Seconds(), "ratio")
}
