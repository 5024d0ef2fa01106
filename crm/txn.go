package crm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmkit/crmkit/store"
)

type ctxKey int

const (
	actorKey ctxKey = iota
	sourceKey
	causeKey
)

// WithActor returns a context that attributes the changes made with it to
// user, an ID the host application supplies. History entries and events
// carry it.
func WithActor(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, actorKey, user)
}

// WithSource returns a context that marks the changes made with it as coming
// from source (for example "import" or the name of a sync job), so that a
// consumer of the change feed can skip its own echoes.
func WithSource(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, sourceKey, source)
}

// cause is the rule behind a change and the change's depth in a chain of
// rule-made changes.
type cause struct {
	rule  string
	depth int
}

// WithCause returns a context that attributes the changes made with it to
// an automation rule (or sequence), at depth in a chain of rule-made
// changes: a change a rule makes on seeing a change of depth d has depth
// d+1. History entries and events carry both (Change.Rule, Change.Depth),
// so an automation can cut a chain that loops.
func WithCause(ctx context.Context, rule string, depth int) context.Context {
	return context.WithValue(ctx, causeKey, cause{rule: rule, depth: depth})
}

// CauseOf returns the rule and depth WithCause put in ctx.
func CauseOf(ctx context.Context) (rule string, depth int) {
	c, _ := ctx.Value(causeKey).(cause)
	return c.rule, c.depth
}

// actorOf returns the actor WithActor names, or else the ID of the
// principal As names (but not System's).
func actorOf(ctx context.Context) string {
	if s, ok := ctx.Value(actorKey).(string); ok {
		return s
	}
	if p, ok := PrincipalOf(ctx); ok && !p.system {
		return p.ID
	}
	return ""
}

func sourceOf(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey).(string)
	return s
}

// txn is one write in progress: the single path every change takes. It
// validates, runs the before-hooks, and writes the record with its index
// entries, history and outbox events in one store transaction.
type txn struct {
	w      *Workspace
	ctx    context.Context
	tx     store.Tx
	now    time.Time
	actor  string
	source string
	info   *WorkspaceInfo // loaded by checkWorkspace
	head   uint64         // outbox head, once read
	events []*Event
	counts map[string]int64 // counter changes, written as deltas at the end
	// defs and ixs cache, per object kind, the custom field definitions
	// and the field index sets this transaction has read, so a batch of
	// writes reads them once; setMeta clears them.
	defs map[string][]FieldDef
	ixs  map[byte]*indexSet
	// g is the call's access guard, once guarded is set (see guard).
	g       *guard
	guarded bool
}

// setMeta writes a workspace's schema metadata (field definitions, index
// definitions, synced index names), clearing what t has cached of it.
func (t *txn) setMeta(k key, b []byte) error {
	t.defs, t.ixs = nil, nil
	if b == nil {
		return t.tx.Delete(k)
	}
	return t.tx.Set(k, b)
}

// write runs fn in one store transaction and commits it, then runs the
// after-hooks on the committed events. A transaction that loses a conflict
// is run again from the start (fn must only act through t), up to the CRM's
// retry budget, after which the error matches ErrConflict.
//
// A write shares no key with the writes of other records: counters are
// written as deltas and the outbox is numbered by the store (see
// store.Appender), so concurrent writers of one workspace, in this process
// or others, do not collide. Writes that do share a key (two edits of one
// record, a round-robin pointer) collide: once a write in a workspace has
// lost a conflict, the workspace's writes in this process take turns for
// a short while (contendedFor), as they do all the time on a store without
// Appender, where every write reads and writes the outbox head.
func (w *Workspace) write(ctx context.Context, fn func(t *txn) error) ([]*Event, error) {
	c := w.crm
	for attempt := 0; ; attempt++ {
		var mu sync.Locker = noLock{}
		if !c.appends || attempt > 0 || c.contended(w.info.ID) {
			mu = c.workspaceLock(w.info.ID)
		}
		t := &txn{w: w, ctx: ctx, actor: actorOf(ctx), source: sourceOf(ctx)}
		mu.Lock()
		t.now = c.now()
		err := c.st.Update(ctx, func(tx store.Tx) error {
			t.tx, t.info, t.head, t.events, t.counts, t.guarded = tx, nil, 0, t.events[:0], nil, false
			if err := fn(t); err != nil {
				return err
			}
			return t.flushCounts()
		})
		mu.Unlock()
		if err == nil {
			c.runAfter(ctx, t.events)
			c.notify()
			w.foldCounts(context.WithoutCancel(ctx), t.counts, len(t.events))
			return t.events, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, err
		}
		c.stats.conflicts.Add(1)
		c.markContended(w.info.ID)
		if attempt >= c.retries {
			return nil, fmt.Errorf("crm: %w after %d attempts: %w", ErrConflict, attempt+1, err)
		}
		// Back off a little, with jitter, so colliding writers spread out.
		d := time.Duration(rand.Int64N(int64(50*time.Microsecond) << min(attempt, 8)))
		select {
		case <-ctx.Done():
			return nil, store.ContextError(ctx)
		case <-time.After(d):
		}
	}
}

// contendedFor is how long a workspace's writes take turns after one of
// them lost a conflict.
const contendedFor = 250 * time.Millisecond

// markContended makes the workspace's writes take turns for contendedFor.
func (c *CRM) markContended(id string) {
	until := time.Now().Add(contendedFor).UnixNano()
	v, _ := c.contention.LoadOrStore(id, new(atomic.Int64))
	v.(*atomic.Int64).Store(until)
}

// contended reports whether the workspace's writes take turns.
func (c *CRM) contended(id string) bool {
	v, ok := c.contention.Load(id)
	return ok && time.Now().UnixNano() < v.(*atomic.Int64).Load()
}

// noLock is the sync.Locker of writes that need no turn-taking.
type noLock struct{}

func (noLock) Lock()   {}
func (noLock) Unlock() {}

// read runs fn in a read-only transaction of the workspace.
func (w *Workspace) read(ctx context.Context, fn func(tx store.Tx) error) error {
	return w.crm.st.View(ctx, fn)
}

// checkWorkspace reads the workspace's registration into t.info, once per
// transaction. It makes every write depend on the workspace still existing
// in the handle's key space (a write racing DeleteWorkspace fails instead
// of leaving orphaned keys, and a handle to a deleted workspace cannot
// write into one created again with its ID) and validates against the
// current settings, even through an old handle.
func (t *txn) checkWorkspace() error {
	if t.info != nil {
		return nil
	}
	_, err := t.entry()
	return err
}

// entry reads the workspace's registry entry, failing with ErrNotFound if
// the workspace is gone or lives in another key space than the handle's.
func (t *txn) entry() (*wsEntry, error) {
	e, err := readEntry(t.tx, t.w.info.ID)
	if err != nil {
		return nil, err
	}
	if e.Space != t.w.space {
		t.w.crm.handles.Delete(t.w.info.ID)
		return nil, notFound("workspace", t.w.info.ID)
	}
	t.info = &e.WorkspaceInfo
	return e, nil
}

func (t *txn) newID(prefix string) string { return t.w.crm.ids.next(prefix, t.now) }
