// Package hooks is crmkit's generic lifecycle-hook mechanism: typed lists of
// handlers that a domain package binds to its events and triggers around a
// write.
//
// Package crm declares the event structs and owns one Hook per event (in the
// manner of PocketBase's tools/hook: app.OnRecordCreate()). It runs the
// before-hooks of a write with Trigger inside the write's store transaction,
// where a handler's error vetoes the write, and the after-hooks with
// TriggerAll once the transaction has committed, where every handler runs
// and each failure is reported. This package knows nothing of records,
// stores or plugins; it imports only the standard library, and nothing of
// crmkit.
//
// # Order
//
// Handlers run one after another, in ascending priority; handlers with the
// same priority run in the order they were bound. Trigger stops at the first
// handler that returns an error and returns a *HandlerError naming it and
// wrapping its error, so callers match the handler's own sentinel with
// errors.Is and learn which handler failed with errors.As.
//
// # Panics
//
// A panicking handler never takes the host down: the panic is recovered and
// reported as a *HandlerError wrapping a *PanicError that holds the panic
// value and the stack. The hook stays usable.
//
// # Contexts
//
// Trigger checks its context before each handler and stops with an error
// matching ctx.Err() once the context is done. When the context can be
// cancelled (ctx.Done() != nil), the chain runs on a separate goroutine, so
// that a handler that ignores its context and blocks past the deadline does
// not block Trigger: Trigger returns as soon as the context is done, with a
// *HandlerError naming the handler still running and wrapping the context's
// error. That handler is left to finish on its own and its result is
// discarded; no later handler of the chain is started. Such a handler may
// outlive the resources the event refers to (a committed or discarded
// transaction, say), so handlers should honour their context. When the
// context can never be cancelled (context.Background()), handlers are called
// directly on the caller's goroutine at the cost of a plain function call.
//
// # Concurrency
//
// All methods of Hook are safe for concurrent use, and a handler may bind or
// unbind handlers, on its own hook or any other, while it runs. The handler
// list is copy-on-write: Trigger reads a snapshot without locking, so
// triggering a hook with no handlers costs a few nanoseconds and no
// allocation. A handler bound while a Trigger is running is called from the
// next Trigger on; a handler unbound while a Trigger is running is skipped by
// that Trigger if it has not started yet.
package hooks
