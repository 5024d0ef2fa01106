package crm

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
)

// view runs fn in a read transaction with the guard of ctx's call.
func (w *Workspace) view(ctx context.Context, fn func(tx store.Tx, g *guard) error) error {
	return w.read(ctx, func(tx store.Tx) error {
		g, err := w.guard(ctx, tx)
		if err != nil {
			return err
		}
		return fn(tx, g)
	})
}

// see lets the principal of g read r, redacting its hidden fields: a kind
// it may not read at all is forbidden, and a record its scope does not
// reach is not found.
func see[T any](g *guard, k *kind[T], r *T) error {
	if g == nil {
		return nil
	}
	if err := g.check(k.name, g.read); err != nil {
		return err
	}
	if !g.allows(k.name, g.read, ownerOf(k, r)) {
		return notFound(k.name, k.meta(r).ID)
	}
	g.redact(k.name, r)
	return nil
}

// sees reports whether g lets its principal read r, redacting r if so.
func sees[T any](g *guard, k *kind[T], r *T) bool {
	if g == nil {
		return true
	}
	if !g.allows(k.name, g.read, ownerOf(k, r)) {
		return false
	}
	g.redact(k.name, r)
	return true
}

// ownerIndexed are the kinds with an index of records by owner
// (ws 'i' k str("owner") str(owner) str(id)).
var ownerIndexed = map[byte]bool{'c': true, 'o': true, 'd': true}

// ownerSource returns the records of code owned by owners, merged in ID
// order from the owner index: how a scoped list reads only what it shows.
func (w *Workspace) ownerSource(code byte, owners []string) *source {
	s := &source{kind: srcEq, sorted: true, exact: true}
	for _, o := range owners {
		s.prefixes = append(s.prefixes, w.indexKey(code, "owner").str(o))
	}
	return s
}

// ownerOfAny returns the owner of a record of any kind (a pointer).
func ownerOfAny(rec any) string {
	switch r := rec.(type) {
	case *Contact:
		return r.OwnerID
	case *Company:
		return r.OwnerID
	case *Deal:
		return r.OwnerID
	case *Activity:
		return r.OwnerID
	}
	return ""
}

// seesAny is sees for a record of kind given as any (a pointer).
func (g *guard) seesAny(kind string, rec any) bool {
	if g == nil {
		return true
	}
	if !g.allows(kind, g.read, ownerOfAny(rec)) {
		return false
	}
	g.redact(kind, rec)
	return true
}

// scoped returns e limited to the records of object g lets its principal
// read: e AND owner_id IN (the owners its scope reaches), which the
// planner answers from the owner index and its counters. A filter on a
// hidden field is forbidden; a kind it may not read at all too.
func (g *guard) scoped(object string, e filter.Expr) (filter.Expr, error) {
	if g == nil {
		return e, nil
	}
	if err := g.check(object, g.read); err != nil {
		return nil, err
	}
	var err error
	walkConds(e, func(c *filter.Cond) {
		kind, field := object, strings.TrimSuffix(c.Field, "_currency")
		if f, ok := strings.CutPrefix(field, "company."); ok {
			kind, field = "company", f
		}
		if err == nil {
			err = g.checkField(kind, field)
		}
	})
	if err != nil {
		return nil, err
	}
	owners, all := g.owners(object, g.read)
	if all {
		return e, nil
	}
	vals := make([]filter.Value, len(owners))
	for i, o := range owners {
		vals[i] = filter.StringValue(o)
	}
	owned := &filter.Cond{Field: "owner_id", Op: filter.OpIn, Values: vals}
	if e == nil {
		return owned, nil
	}
	return filter.And(e, owned), nil
}

// seesRef checks the principal of g may read the record ref names (a
// soft-deleted one too): a record it cannot see, or one that is gone
// while its scope is narrower than all, is not found.
func (g *guard) seesRef(tx store.Reader, w *Workspace, ref Ref) error {
	if g == nil {
		return nil
	}
	if err := g.check(ref.Kind.name, g.read); err != nil {
		return err
	}
	if g.scope(ref.Kind.name, g.read) == ScopeAll {
		return nil
	}
	k, ok := kindsByName[ref.Kind.name]
	if !ok {
		return unknownKind(ref.Kind.name)
	}
	rec, err := k.get(tx, w, ref.ID)
	if err != nil {
		return err
	}
	if !g.allows(ref.Kind.name, g.read, ownerOfAny(rec)) {
		return notFound(ref.Kind.name, ref.ID)
	}
	return nil
}

// changes wraps yield so it gets only the history entries of records g's
// principal may read, without the changes of hidden fields.
func (g *guard) changes(tx store.Reader, w *Workspace, yield func(Change, error) bool) func(Change, error) bool {
	if g == nil {
		return yield
	}
	seen := map[Ref]bool{}
	return func(c Change, err error) bool {
		if err != nil {
			return yield(c, err)
		}
		ref := Ref{Kind: c.Kind, ID: c.RecordID}
		ok, known := seen[ref]
		if !known {
			ok = g.seesRef(tx, w, ref) == nil
			seen[ref] = ok
		}
		if !ok {
			return true
		}
		c.Fields = g.redactChanges(c.Kind.name, c.Fields)
		return yield(c, nil)
	}
}

// event reports whether g's principal may see ev, and redacts it: an
// event is seen when the record before or after the change is readable,
// with the hidden fields blanked in both and left out of Fields.
func (g *guard) event(ev *Event) (bool, error) {
	if g == nil {
		return true, nil
	}
	if g.scope(ev.Kind.name, g.read) == ScopeNone {
		return false, nil
	}
	before, err := decodeKind(ev.Kind.name, ev.Before)
	if err != nil {
		return false, err
	}
	after, err := decodeKind(ev.Kind.name, ev.After)
	if err != nil {
		return false, err
	}
	seen := g.scope(ev.Kind.name, g.read) == ScopeAll
	for _, r := range []any{before, after} {
		seen = seen || r != nil && g.allows(ev.Kind.name, g.read, ownerOfAny(r))
	}
	if !seen {
		return false, nil
	}
	if len(g.hiddenOf(ev.Kind.name)) == 0 {
		return true, nil
	}
	ev.Fields = g.redactChanges(ev.Kind.name, ev.Fields)
	for _, x := range []struct {
		rec any
		b   *[]byte
	}{{before, &ev.Before}, {after, &ev.After}} {
		if x.rec == nil {
			continue
		}
		g.redact(ev.Kind.name, x.rec)
		if *x.b, err = encode(x.rec); err != nil {
			return false, err
		}
	}
	return true, nil
}

// ReadAs returns a read of the write's transaction as principal p sees
// it: records scoped and redacted for p under the workspace's policy (all
// of them, whole, without one), the write's own changes included. An
// out-of-process hook reads through it with the rights it was given
// rather than the writer's.
func (b *Before[T]) ReadAs(p Principal) (*ReadTx, error) {
	ctx := As(b.t.ctx, p)
	g, err := b.t.w.guard(ctx, b.t.tx)
	if err != nil {
		return nil, err
	}
	return &ReadTx{w: b.t.w, ctx: ctx, tx: b.t.tx, now: b.t.now, g: g}, nil
}

// Can reports whether the reader's principal may take action a on
// records of kind at all under the workspace's policy, as the
// transaction sees it (always, without a policy): nil, or a
// *ForbiddenError (ErrForbidden). It is Workspace.Can inside a
// transaction.
func (r *ReadTx) Can(kind Kind, a Action) error {
	if !slices.Contains(AccessKinds, kind) {
		return unknownKind(kind.name)
	}
	if r.g == nil {
		return nil
	}
	return r.g.check(kind.name, a)
}

// Redacted returns the record before and after the write as principal p
// may see them: copies with the fields hidden from p blank, each nil when
// p may not read it (or there is none). Without a policy they are Old and
// New themselves.
func (b *Before[T]) Redacted(p Principal) (before, after *T, err error) {
	g, err := b.t.w.guard(As(b.t.ctx, p), b.t.tx)
	if err != nil || g == nil {
		return b.Old, b.New, err
	}
	kind := kindOfType[T]()
	if kind == "" {
		return nil, nil, fmt.Errorf("crm: no record kind has type %v", reflect.TypeFor[T]())
	}
	seen := func(r *T) (*T, error) {
		if r == nil || g.scope(kind, g.read) == ScopeNone || !g.allows(kind, g.read, ownerOfAny(r)) {
			return nil, nil
		}
		c, err := clone(r)
		if err == nil {
			g.redact(kind, c)
		}
		return c, err
	}
	if before, err = seen(b.Old); err != nil {
		return nil, nil, err
	}
	after, err = seen(b.New)
	return before, after, err
}
