package plugins_test

import (
	"context"
	"fmt"
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

func percentile(d []time.Duration, p float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[int(p*float64(len(s)-1))].Nanoseconds()) / 1e3
}

// BenchmarkBeforeHook measures a deal create through a real Go plugin's
// before-hook, side by side with the same create through an in-process
// hook doing the same work (decoding the deal). It reports the plugin
// round trip's p50 and p99 (timed by in-process hooks bound just before
// and after the plugin's), and the ratio of the write's median cost with
// the plugin to that with the in-process hook.
func BenchmarkBeforeHook(b *testing.B) {
	ctx := context.Background()
	pc, pws := openCRM(b)
	host, err := plugins.Open(ctx, pc, plugins.Config{Plugins: []plugins.Spec{{
		Name: "testplugin", Path: testPlugin, SHA256: testPluginSum, Timeout: time.Second,
	}}})
	require.NoError(b, err)
	defer host.Close()
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

	var withPlugin, inProcess []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := crm.Deal{Name: fmt.Sprint("deal ", i), Amount: crm.Money{Amount: int64(i)}}
		start := time.Now()
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
	b.ReportMetric(percentile(rtts, 0.5), "rtt-p50-µs")
	b.ReportMetric(percentile(rtts, 0.99), "rtt-p99-µs")
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
