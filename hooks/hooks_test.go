package hooks_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crmkit/hooks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// event is the event type of the tests: handlers append their ID to it.
type event struct {
	mu    sync.Mutex
	calls []string
}

func (e *event) add(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, id)
}

func (e *event) got() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

// record returns a handler that appends id to the event and returns err.
func record(id string, err error) hooks.Func[*event] {
	return func(_ context.Context, e *event) error {
		e.add(id)
		return err
	}
}

// contexts are the two ways handlers are run: on the caller's goroutine
// (a context that cannot be cancelled) and on a worker goroutine.
func contexts(t *testing.T) map[string]context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return map[string]context.Context{
		"background":  context.Background(),
		"cancellable": ctx,
	}
}

func TestZeroValueHook(t *testing.T) {
	var h hooks.Hook[*event]
	for name, ctx := range contexts(t) {
		t.Run(name, func(t *testing.T) {
			assert.NoError(t, h.Trigger(ctx, &event{}))
			assert.NoError(t, h.TriggerAll(ctx, &event{}))
		})
	}
	assert.Zero(t, h.Len())
	assert.Empty(t, h.IDs())
	h.Unbind("missing")
	h.Unbind()
	h.UnbindAll()
	assert.Zero(t, h.Len())
}

func TestTriggerWithoutHandlersDoesNotAllocate(t *testing.T) {
	var h hooks.Hook[*event]
	ev := &event{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = h.Trigger(context.Background(), ev) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = h.Trigger(ctx, ev) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = h.TriggerAll(ctx, ev) }))

	// Unbinding the last handler restores the free path.
	id := h.BindFunc(record("x", nil))
	h.Unbind(id)
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = h.Trigger(ctx, ev) }))
}

func TestTriggerBackgroundDoesNotAllocate(t *testing.T) {
	var h hooks.Hook[*event]
	for i := range 3 {
		require.NoError(t, h.Bind(strconv.Itoa(i), 0, func(context.Context, *event) error { return nil }))
	}
	ev := &event{}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = h.Trigger(context.Background(), ev) }))
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = h.TriggerAll(context.Background(), ev) }))
}

func TestOrder(t *testing.T) {
	tests := []struct {
		name string
		bind []struct {
			id       string
			priority int
		}
		want []string
	}{
		{
			name: "registration order for equal priorities",
			bind: []struct {
				id       string
				priority int
			}{{"a", 0}, {"b", 0}, {"c", 0}},
			want: []string{"a", "b", "c"},
		},
		{
			name: "ascending priority",
			bind: []struct {
				id       string
				priority int
			}{{"late", 10}, {"early", -10}, {"middle", 0}},
			want: []string{"early", "middle", "late"},
		},
		{
			name: "priority then registration",
			bind: []struct {
				id       string
				priority int
			}{{"p1a", 1}, {"p0a", 0}, {"p1b", 1}, {"p-1", -1}, {"p0b", 0}, {"p1c", 1}},
			want: []string{"p-1", "p0a", "p0b", "p1a", "p1b", "p1c"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hooks.Hook[*event]
			for _, b := range tt.bind {
				require.NoError(t, h.Bind(b.id, b.priority, record(b.id, nil)))
			}
			assert.Equal(t, tt.want, h.IDs())
			assert.Equal(t, len(tt.want), h.Len())
			for name, ctx := range contexts(t) {
				ev := &event{}
				require.NoError(t, h.Trigger(ctx, ev), name)
				assert.Equal(t, tt.want, ev.got(), name)
				ev = &event{}
				require.NoError(t, h.TriggerAll(ctx, ev), name)
				assert.Equal(t, tt.want, ev.got(), name)
			}
		})
	}
}

func TestRebindCountsAsNewRegistration(t *testing.T) {
	var h hooks.Hook[*event]
	for _, id := range []string{"a", "b", "c"} {
		require.NoError(t, h.Bind(id, 0, record(id, nil)))
	}
	h.Unbind("a")
	require.NoError(t, h.Bind("a", 0, record("a", nil)))
	ev := &event{}
	require.NoError(t, h.Trigger(context.Background(), ev))
	assert.Equal(t, []string{"b", "c", "a"}, ev.got())
}

func TestTriggerStopsAtFirstError(t *testing.T) {
	errVeto := errors.New("veto")
	for name, ctx := range contexts(t) {
		t.Run(name, func(t *testing.T) {
			var h hooks.Hook[*event]
			require.NoError(t, h.Bind("first", 0, record("first", nil)))
			require.NoError(t, h.Bind("vetoer", 1, record("vetoer", fmt.Errorf("deal too small: %w", errVeto))))
			require.NoError(t, h.Bind("never", 2, record("never", nil)))

			ev := &event{}
			err := h.Trigger(ctx, ev)
			require.Error(t, err)
			assert.ErrorIs(t, err, errVeto)
			var herr *hooks.HandlerError
			require.ErrorAs(t, err, &herr)
			assert.Equal(t, "vetoer", herr.ID)
			assert.Equal(t, `hooks: handler "vetoer": deal too small: veto`, err.Error())
			assert.Equal(t, []string{"first", "vetoer"}, ev.got())
			assert.Len(t, hooks.HandlerErrors(err), 1)
		})
	}
}

func TestTriggerAllRunsEveryHandler(t *testing.T) {
	errA := errors.New("a failed")
	errC := errors.New("c failed")
	for name, ctx := range contexts(t) {
		t.Run(name, func(t *testing.T) {
			var h hooks.Hook[*event]
			require.NoError(t, h.Bind("a", 0, record("a", errA)))
			require.NoError(t, h.Bind("b", 0, record("b", nil)))
			require.NoError(t, h.Bind("c", 0, record("c", errC)))
			require.NoError(t, h.Bind("d", 0, func(_ context.Context, e *event) error {
				e.add("d")
				panic("d exploded")
			}))
			require.NoError(t, h.Bind("e", 0, record("e", nil)))

			ev := &event{}
			err := h.TriggerAll(ctx, ev)
			require.Error(t, err)
			assert.Equal(t, []string{"a", "b", "c", "d", "e"}, ev.got())
			assert.ErrorIs(t, err, errA)
			assert.ErrorIs(t, err, errC)
			var perr *hooks.PanicError
			require.ErrorAs(t, err, &perr)
			assert.Equal(t, "d exploded", perr.Value)

			failed := hooks.HandlerErrors(err)
			require.Len(t, failed, 3)
			assert.Equal(t, "a", failed[0].ID)
			assert.ErrorIs(t, failed[0], errA)
			assert.Equal(t, "c", failed[1].ID)
			assert.ErrorIs(t, failed[1], errC)
			assert.Equal(t, "d", failed[2].ID)
			assert.ErrorAs(t, failed[2], &perr)
		})
	}
}

func TestTriggerAllWithoutFailuresReturnsNil(t *testing.T) {
	var h hooks.Hook[*event]
	require.NoError(t, h.Bind("a", 0, record("a", nil)))
	require.NoError(t, h.Bind("b", 0, record("b", nil)))
	for name, ctx := range contexts(t) {
		ev := &event{}
		assert.NoError(t, h.TriggerAll(ctx, ev), name)
		assert.Equal(t, []string{"a", "b"}, ev.got(), name)
	}
}

type customPanic struct{ code int }

func TestPanicIsContained(t *testing.T) {
	errBoom := errors.New("boom")
	var nilPtr *customPanic
	tests := []struct {
		name  string
		value any
		check func(t *testing.T, err error, perr *hooks.PanicError)
	}{
		{
			name:  "string",
			value: "something broke",
			check: func(t *testing.T, err error, perr *hooks.PanicError) {
				assert.Equal(t, "something broke", perr.Value)
				assert.Equal(t, `hooks: handler "panicker": panic: something broke`, err.Error())
			},
		},
		{
			name:  "error",
			value: fmt.Errorf("wrapped: %w", errBoom),
			check: func(t *testing.T, err error, perr *hooks.PanicError) {
				assert.ErrorIs(t, err, errBoom, "a panic with an error matches it")
			},
		},
		{
			name:  "struct",
			value: customPanic{code: 7},
			check: func(t *testing.T, err error, perr *hooks.PanicError) {
				assert.Equal(t, customPanic{code: 7}, perr.Value)
			},
		},
		{
			name:  "nil",
			value: nil,
			check: func(t *testing.T, err error, perr *hooks.PanicError) {
				var nilErr *runtime.PanicNilError
				assert.ErrorAs(t, err, &nilErr)
			},
		},
		{
			name:  "nil error",
			value: error(nil),
			check: func(t *testing.T, err error, perr *hooks.PanicError) {
				var nilErr *runtime.PanicNilError
				assert.ErrorAs(t, err, &nilErr)
			},
		},
		{
			name:  "typed nil pointer",
			value: nilPtr,
			check: func(t *testing.T, err error, perr *hooks.PanicError) {
				assert.Equal(t, nilPtr, perr.Value)
			},
		},
	}
	for name, ctx := range contexts(t) {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				var h hooks.Hook[*event]
				require.NoError(t, h.Bind("before", 0, record("before", nil)))
				require.NoError(t, h.Bind("panicker", 1, func(_ context.Context, e *event) error {
					e.add("panicker")
					panic(tt.value)
				}))
				require.NoError(t, h.Bind("after", 2, record("after", nil)))

				ev := &event{}
				err := h.Trigger(ctx, ev)
				require.Error(t, err)
				var herr *hooks.HandlerError
				require.ErrorAs(t, err, &herr)
				assert.Equal(t, "panicker", herr.ID)
				var perr *hooks.PanicError
				require.ErrorAs(t, err, &perr)
				assert.Contains(t, string(perr.Stack), "hooks_test.TestPanicIsContained", "the stack shows the handler")
				tt.check(t, err, perr)
				assert.Equal(t, []string{"before", "panicker"}, ev.got())

				// The hook still works after a panic.
				h.Unbind("panicker")
				ev = &event{}
				require.NoError(t, h.Trigger(ctx, ev))
				assert.Equal(t, []string{"before", "after"}, ev.got())
			})
		}
	}
}

func TestGoexitOnWorkerIsReported(t *testing.T) {
	// runtime.Goexit on the caller's goroutine ends the caller, as it would
	// without hooks; on the worker goroutine it must not leave Trigger
	// waiting.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var h hooks.Hook[*event]
	require.NoError(t, h.Bind("exiter", 0, func(context.Context, *event) error {
		runtime.Goexit()
		return nil
	}))
	require.NoError(t, h.Bind("never", 1, record("never", nil)))
	ev := &event{}
	err := h.Trigger(ctx, ev)
	var herr *hooks.HandlerError
	require.ErrorAs(t, err, &herr)
	assert.Equal(t, "exiter", herr.ID)
	assert.ErrorContains(t, err, "Goexit")
	assert.Empty(t, ev.got())
}

func TestContextDoneBeforeTrigger(t *testing.T) {
	errShutdown := errors.New("shutting down")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	withCause, cancelCause := context.WithCancelCause(context.Background())
	cancelCause(errShutdown)
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancelExpired()

	tests := []struct {
		name string
		ctx  context.Context
		want []error
	}{
		{"cancelled", cancelled, []error{context.Canceled}},
		{"cancelled with cause", withCause, []error{context.Canceled, errShutdown}},
		{"deadline exceeded", expired, []error{context.DeadlineExceeded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hooks.Hook[*event]
			require.NoError(t, h.Bind("a", 0, record("a", nil)))
			for _, trigger := range []func(context.Context, *event) error{h.Trigger, h.TriggerAll} {
				ev := &event{}
				err := trigger(tt.ctx, ev)
				require.Error(t, err)
				for _, want := range tt.want {
					assert.ErrorIs(t, err, want)
				}
				var herr *hooks.HandlerError
				assert.False(t, errors.As(err, &herr), "no handler ran, so none is blamed")
				assert.Empty(t, ev.got(), "no handler runs once the context is done")
			}
		})
	}
}

func TestContextCancelledBetweenHandlers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var h hooks.Hook[*event]
	require.NoError(t, h.Bind("canceller", 0, func(_ context.Context, e *event) error {
		e.add("canceller")
		cancel()
		return nil
	}))
	require.NoError(t, h.Bind("never", 1, record("never", nil)))
	ev := &event{}
	err := h.TriggerAll(ctx, ev)
	assert.ErrorIs(t, err, context.Canceled)
	// The context ends while the canceller is still on the stack, so it
	// may be reported as still running; the next handler is never blamed
	// because it never runs.
	for _, herr := range hooks.HandlerErrors(err) {
		assert.Equal(t, "canceller", herr.ID)
	}
	assert.Equal(t, []string{"canceller"}, ev.got())
}

func TestHandlerBlockingPastDeadline(t *testing.T) {
	const timeout = 50 * time.Millisecond
	const margin = time.Second // generous for -race on a loaded machine

	type outcome struct {
		err     error
		elapsed time.Duration
	}
	tests := []struct {
		name    string
		trigger func(*hooks.Hook[*event], context.Context, *event) error
		// end ends the context once the blocker has started.
		ctx  func() (context.Context, context.CancelFunc)
		end  func(cancel context.CancelFunc)
		want error
	}{
		{
			name:    "Trigger deadline",
			trigger: (*hooks.Hook[*event]).Trigger,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), timeout)
			},
			end:  func(context.CancelFunc) {},
			want: context.DeadlineExceeded,
		},
		{
			name:    "TriggerAll deadline",
			trigger: (*hooks.Hook[*event]).TriggerAll,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), timeout)
			},
			end:  func(context.CancelFunc) {},
			want: context.DeadlineExceeded,
		},
		{
			name:    "Trigger cancel",
			trigger: (*hooks.Hook[*event]).Trigger,
			ctx:     func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			end:     func(cancel context.CancelFunc) { cancel() },
			want:    context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			baseline := runtime.NumGoroutine()
			started := make(chan struct{})
			release := make(chan struct{})
			finished := make(chan struct{})
			var h hooks.Hook[*event]
			require.NoError(t, h.Bind("quick", 0, record("quick", nil)))
			require.NoError(t, h.Bind("blocker", 1, func(_ context.Context, e *event) error {
				defer close(finished)
				e.add("blocker")
				close(started)
				<-release // ignores its context
				return errors.New("late result")
			}))
			var afterRan atomic.Bool
			require.NoError(t, h.Bind("after", 2, func(context.Context, *event) error {
				afterRan.Store(true)
				return nil
			}))

			ctx, cancel := tt.ctx()
			defer cancel()
			ev := &event{}
			start := time.Now()
			done := make(chan outcome, 1)
			go func() {
				err := tt.trigger(&h, ctx, ev)
				done <- outcome{err, time.Since(start)}
			}()
			<-started
			tt.end(cancel)

			var got outcome
			select {
			case got = <-done:
			case <-time.After(timeout + margin):
				close(release)
				t.Fatal("Trigger did not return when the context ended")
			}
			assert.Less(t, got.elapsed, timeout+margin)
			assert.ErrorIs(t, got.err, tt.want)
			var herr *hooks.HandlerError
			require.ErrorAs(t, got.err, &herr)
			assert.Equal(t, "blocker", herr.ID)
			assert.NotContains(t, got.err.Error(), "late result")
			assert.Equal(t, []string{"quick", "blocker"}, ev.got())

			// Release the stray handler; it finishes on its own, its
			// result is discarded and the chain does not go on.
			close(release)
			<-finished
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
				runtime.Gosched()
			}
			assert.LessOrEqual(t, runtime.NumGoroutine(), baseline, "the worker goroutine exits")
			assert.False(t, afterRan.Load(), "no handler starts after an abandoned one")

			// The hook still works.
			h.Unbind("blocker")
			ev = &event{}
			require.NoError(t, tt.trigger(&h, context.Background(), ev))
			assert.Equal(t, []string{"quick"}, ev.got())
			assert.True(t, afterRan.Load())
		})
	}
}

func TestHandlerSeesTriggerContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for name, c := range map[string]context.Context{"background": ctx, "cancellable": cctx} {
		var h hooks.Hook[*event]
		var got any
		h.BindFunc(func(ctx context.Context, _ *event) error {
			got = ctx.Value(key{})
			return nil
		})
		require.NoError(t, h.Trigger(c, &event{}), name)
		assert.Equal(t, "v", got, name)
	}
}

func TestNilContextIsBackground(t *testing.T) {
	var h hooks.Hook[*event]
	h.BindFunc(record("a", nil))
	ev := &event{}
	//nolint:staticcheck // a nil context is bad input that must not panic
	assert.NoError(t, h.Trigger(nil, ev))
	assert.Equal(t, []string{"a"}, ev.got())
}

func TestBindErrors(t *testing.T) {
	ok := record("ok", nil)
	tests := []struct {
		name string
		id   string
		fn   hooks.Func[*event]
		want error
	}{
		{"empty id", "", ok, hooks.ErrInvalidHandler},
		{"nil func", "x", nil, hooks.ErrInvalidHandler},
		{"duplicate id", "taken", ok, hooks.ErrDuplicateID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h hooks.Hook[*event]
			require.NoError(t, h.Bind("taken", 5, record("taken", nil)))
			err := h.Bind(tt.id, 0, tt.fn)
			assert.ErrorIs(t, err, tt.want)
			assert.Regexp(t, `^hooks: `, err.Error())
			assert.Equal(t, []string{"taken"}, h.IDs(), "a failed Bind changes nothing")
			ev := &event{}
			require.NoError(t, h.Trigger(context.Background(), ev))
			assert.Equal(t, []string{"taken"}, ev.got())
		})
	}
}

func noop(context.Context, *event) error { return nil }

func TestBindFunc(t *testing.T) {
	var h hooks.Hook[*event]
	// IDs are named after the function; an explicit ID in the generated
	// format is skipped, not duplicated.
	require.NoError(t, h.Bind("noop#1", -1, record("explicit", nil)))
	assert.Equal(t, "noop#2", h.BindFunc(noop))
	id1 := h.BindFunc(record("one", nil))
	id2 := h.BindFunc(record("two", nil))
	assert.Regexp(t, `^TestBindFunc\..*record\.func\d+#3$`, id1, "a closure is named after where it was made")
	assert.Regexp(t, `#4$`, id2)
	assert.Equal(t, []string{"noop#1", "noop#2", id1, id2}, h.IDs())
	h.Unbind("noop#2")
	assert.Empty(t, h.BindFunc(nil), "a nil func is not bound")
	assert.Equal(t, 3, h.Len())

	h.Unbind(id1)
	ev := &event{}
	require.NoError(t, h.Trigger(context.Background(), ev))
	assert.Equal(t, []string{"explicit", "two"}, ev.got())
}

func TestUnbind(t *testing.T) {
	var h hooks.Hook[*event]
	for _, id := range []string{"a", "b", "c", "d"} {
		require.NoError(t, h.Bind(id, 0, record(id, nil)))
	}
	h.Unbind("b", "unknown", "d")
	assert.Equal(t, []string{"a", "c"}, h.IDs())
	ev := &event{}
	require.NoError(t, h.Trigger(context.Background(), ev))
	assert.Equal(t, []string{"a", "c"}, ev.got())

	h.UnbindAll()
	assert.Zero(t, h.Len())
	ev = &event{}
	require.NoError(t, h.Trigger(context.Background(), ev))
	assert.Empty(t, ev.got())
}

func TestBindAndUnbindFromInsideHandler(t *testing.T) {
	for name, ctx := range contexts(t) {
		t.Run(name, func(t *testing.T) {
			var h hooks.Hook[*event]
			require.NoError(t, h.Bind("self", 0, func(_ context.Context, e *event) error {
				e.add("self")
				// Unbind itself and a later handler, and bind a new
				// one: none of this may deadlock.
				h.Unbind("self", "later")
				return h.Bind("added", 0, record("added", nil))
			}))
			require.NoError(t, h.Bind("kept", 1, record("kept", nil)))
			require.NoError(t, h.Bind("later", 2, record("later", nil)))

			ev := &event{}
			require.NoError(t, h.Trigger(ctx, ev))
			assert.Equal(t, []string{"self", "kept"}, ev.got(),
				"an unbound handler does not run; a new one waits for the next Trigger")
			assert.Equal(t, []string{"added", "kept"}, h.IDs())

			ev = &event{}
			require.NoError(t, h.Trigger(ctx, ev))
			assert.Equal(t, []string{"added", "kept"}, ev.got())
		})
	}
}

func TestNestedTrigger(t *testing.T) {
	var inner, outer hooks.Hook[*event]
	inner.BindFunc(record("inner", nil))
	outer.BindFunc(func(ctx context.Context, e *event) error {
		e.add("outer")
		return inner.Trigger(ctx, e)
	})
	for name, ctx := range contexts(t) {
		ev := &event{}
		require.NoError(t, outer.Trigger(ctx, ev), name)
		assert.Equal(t, []string{"outer", "inner"}, ev.got(), name)
	}
}

func TestConcurrentBindUnbindTrigger(t *testing.T) {
	var h hooks.Hook[*event]
	const stable = 3
	for i := range stable {
		require.NoError(t, h.Bind("stable"+strconv.Itoa(i), i*10, record(strconv.Itoa(i*10), nil)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	const workers, rounds = 4, 300
	var wg sync.WaitGroup
	errs := make(chan error, 4*workers)
	for w := range workers {
		wg.Add(2)
		go func() { // binders
			defer wg.Done()
			for r := range rounds {
				id := fmt.Sprintf("w%d-%d", w, r)
				priority := (r*7 + w) % 30
				if err := h.Bind(id, priority, record(strconv.Itoa(priority), nil)); err != nil {
					errs <- err
					return
				}
				if r%2 == 0 {
					h.Unbind(id)
				}
				if r%50 == 0 {
					h.Unbind(h.BindFunc(record("0", nil)))
				}
			}
		}()
		go func() { // triggerers
			defer wg.Done()
			for r := range rounds {
				c := context.Background()
				if r%2 == 1 {
					c = ctx
				}
				ev := &event{}
				if err := h.Trigger(c, ev); err != nil {
					errs <- err
					return
				}
				// Whatever the snapshot, it runs in priority order
				// and includes the stable handlers.
				last, seen := -1, 0
				for _, p := range ev.got() {
					n, _ := strconv.Atoi(p)
					if n < last {
						errs <- fmt.Errorf("out of order: %v", ev.got())
						return
					}
					last = n
					seen++
				}
				if seen < stable {
					errs <- fmt.Errorf("stable handlers missing: %v", ev.got())
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	// Odd rounds were kept.
	assert.Equal(t, stable+workers*rounds/2, h.Len())
}

func TestTriggerAllAbandonKeepsEarlierFailures(t *testing.T) {
	errEarly := errors.New("early failure")
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	var h hooks.Hook[*event]
	require.NoError(t, h.Bind("failing", 0, record("failing", errEarly)))
	require.NoError(t, h.Bind("blocker", 1, func(context.Context, *event) error {
		close(started)
		<-release
		return nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-started
		cancel()
	}()
	err := h.TriggerAll(ctx, &event{})
	assert.ErrorIs(t, err, errEarly)
	assert.ErrorIs(t, err, context.Canceled)
	failed := hooks.HandlerErrors(err)
	require.Len(t, failed, 2)
	assert.Equal(t, "failing", failed[0].ID)
	assert.Equal(t, "blocker", failed[1].ID)
	assert.ErrorIs(t, failed[1], context.Canceled)
	assert.ErrorContains(t, failed[1], "still running")
}
