package hooks

import (
	"errors"
	"fmt"
	"strconv"
)

// Errors returned by Bind. Compare with errors.Is; they are wrapped with the
// offending handler's ID.
var (
	// ErrDuplicateID is returned by Bind when a handler with the same ID is
	// already bound to the hook.
	ErrDuplicateID = errors.New("hooks: duplicate handler id")
	// ErrInvalidHandler is returned by Bind for an empty ID or a nil
	// function.
	ErrInvalidHandler = errors.New("hooks: invalid handler")
)

// errGoexit is reported for a handler that called runtime.Goexit (directly
// or through testing.T.FailNow) on the goroutine that runs the chain for a
// cancellable context.
var errGoexit = errors.New("handler called runtime.Goexit")

// HandlerError reports the failure of one handler: the error it returned, a
// *PanicError if it panicked, or the context's error if it was still running
// when the context ended. It wraps that error, so errors.Is matches the
// handler's own sentinel and context.Canceled or context.DeadlineExceeded.
type HandlerError struct {
	// ID is the ID the handler was bound with.
	ID string
	// Err is what the handler failed with; never nil.
	Err error
}

// Error returns `hooks: handler "<id>": <err>`.
func (e *HandlerError) Error() string {
	return "hooks: handler " + strconv.Quote(e.ID) + ": " + e.Err.Error()
}

// Unwrap returns the handler's error.
func (e *HandlerError) Unwrap() error { return e.Err }

// PanicError reports a recovered panic of a handler. It is always delivered
// wrapped in a *HandlerError naming the handler.
type PanicError struct {
	// Value is the value passed to panic. For panic(nil) it is a
	// *runtime.PanicNilError (or nil if the program runs with
	// GODEBUG=panicnil=1).
	Value any
	// Stack is the stack of the panicking goroutine, as formatted by
	// runtime/debug.Stack, taken where the panic was recovered.
	Stack []byte
}

// Error returns "panic: <value>". The stack is left out; read it from Stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so that a handler that
// panics with an error is matched by errors.Is and errors.As as if it had
// returned it.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// HandlerErrors returns every *HandlerError found in err's tree, in order:
// one per failed handler of a TriggerAll, or the single one of a Trigger. It
// returns nil if there is none.
func HandlerErrors(err error) []*HandlerError {
	var out []*HandlerError
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *HandlerError:
			out = append(out, e)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}
