package hooks_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crmkit/hooks"
)

// BenchmarkTrigger measures Trigger and TriggerAll with 0, 1 and 10 trivial
// handlers, with a context that cannot be cancelled (handlers called on the
// caller's goroutine) and with a cancellable one (handlers run on a worker
// goroutine so that a blocked handler cannot hold Trigger past the
// deadline). For hooks with handlers it also reports x-direct, the ratio of
// the time per Trigger to calling the same handlers directly in a loop,
// measured in the same run.
func BenchmarkTrigger(b *testing.B) {
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	contexts := []struct {
		name string
		ctx  context.Context
	}{
		{"background", context.Background()},
		{"cancellable", cancellable},
	}
	triggers := []struct {
		name string
		fn   func(*hooks.Hook[*DealCreate], context.Context, *DealCreate) error
	}{
		{"Trigger", (*hooks.Hook[*DealCreate]).Trigger},
		{"TriggerAll", (*hooks.Hook[*DealCreate]).TriggerAll},
	}
	var sink int64
	for _, tr := range triggers {
		for _, c := range contexts {
			for _, n := range []int{0, 1, 10} {
				b.Run(fmt.Sprintf("%s/%s/handlers=%d", tr.name, c.name, n), func(b *testing.B) {
					var h hooks.Hook[*DealCreate]
					fns := make([]hooks.Func[*DealCreate], n)
					for i := range fns {
						fns[i] = func(_ context.Context, e *DealCreate) error {
							sink += e.AmountMinor
							return nil
						}
						h.BindFunc(fns[i])
					}
					ev := &DealCreate{AmountMinor: 1}
					b.ReportAllocs()
					for b.Loop() {
						if err := tr.fn(&h, c.ctx, ev); err != nil {
							b.Fatal(err)
						}
					}
					if n == 0 {
						return
					}
					elapsed := b.Elapsed()
					start := time.Now()
					for range b.N {
						for _, fn := range fns {
							if err := fn(c.ctx, ev); err != nil {
								b.Fatal(err)
							}
						}
					}
					if direct := time.Since(start); direct > 0 {
						b.ReportMetric(float64(elapsed)/float64(direct), "x-direct")
					}
				})
			}
		}
	}
	_ = sink
}
