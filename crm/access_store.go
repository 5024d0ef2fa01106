package crm

import (
	"context"
	"fmt"
	"slices"

	"github.com/crmkit/crmkit/store"
)

// Policy returns the workspace's access policy, and false if it has none.
// Reading it needs the "workspace" kind's read action.
func (w *Workspace) Policy(ctx context.Context) (Policy, bool, error) {
	var out *Policy
	err := w.read(ctx, func(tx store.Tx) error {
		g, err := w.guard(ctx, tx)
		if err != nil {
			return err
		}
		if err := g.check("workspace", ActionRead); err != nil {
			return err
		}
		out, err = w.loadPolicy(tx)
		return err
	})
	if err != nil || out == nil {
		return Policy{}, false, err
	}
	return *out, true, nil
}

// SetPolicy validates p and makes it the workspace's access policy, one
// version after the one it replaces (IfVersion pins that version). From
// then on every call needs a principal. Setting a policy needs the
// "workspace" kind's update action, which a workspace without one grants
// to every call.
func (w *Workspace) SetPolicy(ctx context.Context, p Policy, opts ...UpdateOption) (Policy, error) {
	if err := p.Check(); err != nil {
		return Policy{}, err
	}
	uo := updateOptionsOf(opts)
	_, err := w.write(ctx, func(t *txn) error {
		old, err := t.policyWrite()
		if err != nil {
			return err
		}
		var version int64
		if old != nil {
			version = old.Version
		}
		if uo.version != 0 && uo.version != version {
			return fmt.Errorf("crm: the policy is at version %d, not %d: %w", version, uo.version, ErrConflict)
		}
		p.Version = version + 1
		b, err := encode(&p)
		if err != nil {
			return err
		}
		return t.tx.Set(w.policyKey(), b)
	})
	return p, err
}

// ClearPolicy removes the workspace's access policy: every call may do
// everything again, with or without a principal. It needs the same right
// as SetPolicy.
func (w *Workspace) ClearPolicy(ctx context.Context) error {
	_, err := w.write(ctx, func(t *txn) error {
		if _, err := t.policyWrite(); err != nil {
			return err
		}
		return t.tx.Delete(w.policyKey())
	})
	return err
}

// policyWrite checks that t may change the workspace's policy and returns
// the current one.
func (t *txn) policyWrite() (*Policy, error) {
	if err := t.checkWorkspace(); err != nil {
		return nil, err
	}
	g, err := t.guard()
	if err != nil {
		return nil, err
	}
	if err := g.check("workspace", ActionUpdate); err != nil {
		return nil, err
	}
	return t.w.loadPolicy(t.tx)
}

// guard returns the guard of t's call, read once per transaction.
func (t *txn) guard() (*guard, error) {
	if !t.guarded {
		g, err := t.w.guard(t.ctx, t.tx)
		if err != nil {
			return nil, err
		}
		t.g, t.guarded = g, true
	}
	return t.g, nil
}

// may returns t's guard after checking that it allows action on kind at
// all (the kinds without owners: segments, the workspace).
func (t *txn) may(kind string, a Action) (*guard, error) {
	g, err := t.guard()
	if err != nil {
		return nil, err
	}
	return g, g.check(kind, a)
}

// Can reports, as nil or an error matching ErrForbidden, whether the
// principal of ctx may do action on some records of kind (one of
// AccessKinds): for a host that hides a button, and for packages built on
// crm that keep settings of their own (crm/automation's rules need the
// "workspace" kind's update).
func (w *Workspace) Can(ctx context.Context, kind Kind, a Action) error {
	if !slices.Contains(AccessKinds, kind) {
		return unknownKind(kind.name)
	}
	return w.view(ctx, func(tx store.Tx, g *guard) error { return g.check(kind.name, a) })
}
