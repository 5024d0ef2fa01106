package hooks

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Func is a handler bound to a hook: it receives the context of the Trigger
// and the event. Returning an error stops a Trigger (for a before-hook, it
// vetoes the write) and is reported, wrapped in a *HandlerError, by Trigger
// and TriggerAll.
type Func[T any] func(ctx context.Context, event T) error

// entry is one bound handler. Entries are immutable once bound, except for
// removed, which Unbind sets so that a Trigger already holding a snapshot
// that includes the entry skips it.
type entry[T any] struct {
	id       string
	priority int
	fn       Func[T]
	removed  atomic.Bool
}

// Hook is an ordered list of handlers for events of type T. The zero value
// is an empty hook, ready to use. A Hook must not be copied after first use.
// All methods are safe for concurrent use, including from inside a handler.
type Hook[T any] struct {
	// mu serialises Bind and Unbind; Trigger never takes it.
	mu sync.Mutex
	// handlers is the current list, sorted by priority then bind order. It
	// is never modified in place: writers store a new slice. It is nil when
	// the hook has no handlers, which keeps the empty Trigger to one load.
	handlers atomic.Pointer[[]*entry[T]]
	// seq numbers the IDs made by BindFunc; guarded by mu.
	seq uint64
}

// Bind adds fn under id with the given priority. Handlers run in ascending
// priority; handlers with equal priority run in the order they were bound.
// Negative priorities are allowed and run before the default 0.
//
// Bind returns an error matching ErrInvalidHandler if id is empty or fn is
// nil, and one matching ErrDuplicateID if a handler with the same id is
// bound; the hook is then left unchanged. A handler bound while a Trigger is
// running is first called by the next Trigger.
func (h *Hook[T]) Bind(id string, priority int, fn Func[T]) error {
	if id == "" {
		return fmt.Errorf("%w: empty id", ErrInvalidHandler)
	}
	if fn == nil {
		return fmt.Errorf("%w %q: nil func", ErrInvalidHandler, id)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.list()
	if indexOf(old, id) >= 0 {
		return fmt.Errorf("%w %q", ErrDuplicateID, id)
	}
	h.insert(old, &entry[T]{id: id, priority: priority, fn: fn})
	return nil
}

// BindFunc adds fn with priority 0 under a new ID, unique within the hook,
// and returns that ID for Unbind. The ID is the function's name and a
// number ("checkAmount#1", "main.func1#2" for a closure), so errors that
// name the handler say which one it was; Bind names it exactly. If fn is
// nil, BindFunc binds nothing and returns "".
func (h *Hook[T]) BindFunc(fn Func[T]) string {
	if fn == nil {
		return ""
	}
	name := funcName(fn)
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.list()
	var id string
	for {
		h.seq++
		id = name + "#" + strconv.FormatUint(h.seq, 10)
		if indexOf(old, id) < 0 {
			break
		}
	}
	h.insert(old, &entry[T]{id: id, fn: fn})
	return id
}

// funcName is fn's name without its package path: "checkAmount",
// "main.func1" for a closure in main, or "func" if it has none.
func funcName(fn any) string {
	f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer())
	if f == nil {
		return "func"
	}
	name := f.Name()
	name = name[strings.LastIndexByte(name, '/')+1:]
	if _, rest, ok := strings.Cut(name, "."); ok && rest != "" {
		name = rest // drop the package name
	}
	return name
}

// Unbind removes the handlers with the given IDs; unknown IDs are ignored.
// Unbind does not wait for calls in progress. A Trigger running at the same
// time skips a removed handler it has not started yet; in particular a
// handler that unbinds a later handler of the same hook prevents that
// handler from running in the current Trigger.
func (h *Hook[T]) Unbind(ids ...string) {
	if len(ids) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.list()
	kept := make([]*entry[T], 0, len(old))
	for _, e := range old {
		if contains(ids, e.id) {
			e.removed.Store(true)
			continue
		}
		kept = append(kept, e)
	}
	if len(kept) != len(old) {
		h.store(kept)
	}
}

// UnbindAll removes every handler, with the same effect on running Triggers
// as Unbind.
func (h *Hook[T]) UnbindAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.list() {
		e.removed.Store(true)
	}
	h.store(nil)
}

// Len returns the number of bound handlers.
func (h *Hook[T]) Len() int {
	return len(h.list())
}

// IDs returns the IDs of the bound handlers in the order they run.
func (h *Hook[T]) IDs() []string {
	list := h.list()
	ids := make([]string, len(list))
	for i, e := range list {
		ids[i] = e.id
	}
	return ids
}

// Trigger calls the handlers in order with ctx and event, and stops at the
// first one that fails. It returns nil if every handler returned nil (or
// there are none), or a *HandlerError naming the failed handler and wrapping
// its error, or the *PanicError of its recovered panic.
//
// Trigger checks ctx before each handler and, once ctx is done, returns an
// error matching ctx.Err() without starting further handlers. If ctx can be
// cancelled, the handlers run on a separate goroutine and Trigger returns as
// soon as ctx is done, even if a handler is still running: the error is then
// a *HandlerError naming that handler and wrapping an error that matches
// ctx.Err(); the handler finishes on its own, its result is discarded and no
// handler after it is started. If ctx can never be cancelled (Done returns
// nil), handlers run on the caller's goroutine.
//
// Trigger runs the handlers bound when it starts, minus those unbound before
// their turn. A nil ctx is treated as context.Background().
func (h *Hook[T]) Trigger(ctx context.Context, event T) error {
	p := h.handlers.Load()
	if p == nil {
		return nil
	}
	return trigger(ctx, *p, event, false)
}

// TriggerAll calls every handler in order with ctx and event, whether or not
// earlier ones fail, as after-hooks need. It returns nil if none failed, or
// an error joining (as errors.Join does) one *HandlerError per failed
// handler, in order; HandlerErrors lists them.
//
// The context is handled as by Trigger: once ctx is done no further handler
// is started, a handler still running is abandoned and reported with the
// context's error, and the returned error also matches ctx.Err(). To run
// after-hooks to the end regardless of the caller's cancellation, pass
// context.WithoutCancel(ctx).
func (h *Hook[T]) TriggerAll(ctx context.Context, event T) error {
	p := h.handlers.Load()
	if p == nil {
		return nil
	}
	return trigger(ctx, *p, event, true)
}

// list returns the current handlers; the slice must not be modified.
func (h *Hook[T]) list() []*entry[T] {
	if p := h.handlers.Load(); p != nil {
		return *p
	}
	return nil
}

// store publishes list as the current handlers. Callers hold h.mu.
func (h *Hook[T]) store(list []*entry[T]) {
	if len(list) == 0 {
		h.handlers.Store(nil)
		return
	}
	h.handlers.Store(&list)
}

// insert publishes a copy of old with e placed after every handler of lower
// or equal priority. Callers hold h.mu.
func (h *Hook[T]) insert(old []*entry[T], e *entry[T]) {
	at := sort.Search(len(old), func(i int) bool { return old[i].priority > e.priority })
	list := make([]*entry[T], 0, len(old)+1)
	list = append(list, old[:at]...)
	list = append(list, e)
	list = append(list, old[at:]...)
	h.store(list)
}

func indexOf[T any](list []*entry[T], id string) int {
	for i, e := range list {
		if e.id == id {
			return i
		}
	}
	return -1
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// trigger runs list for Trigger (all == false) and TriggerAll (all == true).
func trigger[T any](ctx context.Context, list []*entry[T], event T, all bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if done := ctx.Done(); done != nil {
		if ctx.Err() != nil {
			return stoppedError(ctx)
		}
		return triggerAsync(ctx, done, list, event, all)
	}
	// A context that cannot be cancelled never ends, so there is nothing
	// to check between handlers and nothing to wait for but the handler.
	var errs []error
	for _, e := range list {
		if e.removed.Load() {
			continue
		}
		if err := call(ctx, e.fn, event); err != nil {
			herr := &HandlerError{ID: e.id, Err: err}
			if !all {
				return herr
			}
			errs = append(errs, herr)
		}
	}
	return errors.Join(errs...)
}

// call runs fn, turning a panic into a *PanicError. It tells a panic from a
// normal return by a flag rather than by recover's result, so that panic(nil)
// under GODEBUG=panicnil=1 is reported too.
func call[T any](ctx context.Context, fn Func[T], event T) (err error) {
	returned := false
	defer func() {
		if !returned {
			err = &PanicError{Value: recover(), Stack: debug.Stack()}
		}
	}()
	err = fn(ctx, event)
	returned = true
	return err
}

// run is the state shared by a Trigger with a cancellable context and the
// goroutine that runs its handlers. The goroutine records each outcome under
// mu; Trigger either waits for done or, when the context ends first, marks
// the run abandoned and reports the handler then running.
type run[T any] struct {
	mu        sync.Mutex
	current   *entry[T]     // handler running now; nil between handlers
	errs      []error       // failures so far, in order
	finished  bool          // the chain has ended and errs is final
	abandoned bool          // Trigger has returned: discard what follows
	done      chan struct{} // closed when finished is set
}

func triggerAsync[T any](ctx context.Context, ctxDone <-chan struct{}, list []*entry[T], event T, all bool) error {
	r := &run[T]{done: make(chan struct{})}
	go r.work(ctx, list, event, all)
	select {
	case <-r.done:
		// The worker has finished and will not touch errs again.
		return result(r.errs, all)
	case <-ctxDone:
	}
	r.mu.Lock()
	if r.finished {
		// The chain ended as the context did: its outcome wins.
		r.mu.Unlock()
		return result(r.errs, all)
	}
	r.abandoned = true
	running, errs := r.current, r.errs
	r.mu.Unlock()
	if running != nil {
		errs = append(errs, &HandlerError{
			ID:  running.id,
			Err: fmt.Errorf("still running when the context ended: %w", contextError(ctx)),
		})
	} else {
		errs = append(errs, stoppedError(ctx))
	}
	return result(errs, all)
}

// work runs the chain on its own goroutine.
func (r *run[T]) work(ctx context.Context, list []*entry[T], event T, all bool) {
	var running *entry[T]
	goexit := true // cleared on every return; still set if a handler called runtime.Goexit
	defer func() {
		if goexit && running != nil {
			r.end(&HandlerError{ID: running.id, Err: errGoexit})
		}
	}()
	for _, e := range list {
		if e.removed.Load() {
			continue
		}
		if !r.begin(ctx, e) {
			goexit = false
			return
		}
		running = e
		err := call(ctx, e.fn, event)
		if !r.after(e, err, all) {
			goexit = false
			return
		}
	}
	goexit = false
	r.end(nil)
}

// begin records that e is about to run. It returns false, ending the run, if
// the Trigger has been abandoned or the context is done.
func (r *run[T]) begin(ctx context.Context, e *entry[T]) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.abandoned {
		return false
	}
	if ctx.Err() != nil {
		r.errs = append(r.errs, stoppedError(ctx))
		r.finishLocked()
		return false
	}
	r.current = e
	return true
}

// after records the outcome of e. It returns false if the chain must stop.
func (r *run[T]) after(e *entry[T], err error, all bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current = nil
	if r.abandoned {
		return false
	}
	if err != nil {
		r.errs = append(r.errs, &HandlerError{ID: e.id, Err: err})
		if !all {
			r.finishLocked()
			return false
		}
	}
	return true
}

// end finishes the run, recording err if it is not nil.
func (r *run[T]) end(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current = nil
	if err != nil && !r.abandoned {
		r.errs = append(r.errs, err)
	}
	r.finishLocked()
}

func (r *run[T]) finishLocked() {
	if !r.finished {
		r.finished = true
		close(r.done)
	}
}

// result is what Trigger (the first failure) or TriggerAll (all of them)
// returns for errs.
func result(errs []error, all bool) error {
	switch {
	case len(errs) == 0:
		return nil
	case !all:
		return errs[0]
	default:
		return errors.Join(errs...)
	}
}

// stoppedError reports handlers not started because ctx is done.
func stoppedError(ctx context.Context) error {
	return fmt.Errorf("hooks: stopped before every handler ran: %w", contextError(ctx))
}

// contextError returns ctx.Err(), joined with the cancellation cause when
// one was given, so that both match with errors.Is.
func contextError(ctx context.Context) error {
	err := ctx.Err()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, err) {
		return fmt.Errorf("%w: %w", err, cause)
	}
	return err
}
