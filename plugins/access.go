package plugins

import (
	"context"
	"errors"
	"fmt"

	"github.com/crmkit/crmkit/crm"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// PrincipalID is the ID of the principal a plugin acts as in workspaces
// with an access policy ("plugin:<name>"), with the one role it was given
// (Spec.Role). A policy's team may list it as a member, so that a role
// with team scope reaches the team's records; it owns the records it
// creates without an owner.
func PrincipalID(plugin string) string { return "plugin:" + plugin }

// principal returns the principal the plugin acts as.
func (p *proc) principal() crm.Principal {
	p.mu.Lock()
	role := p.role
	p.mu.Unlock()
	if role == "" {
		role = DefaultRole
	}
	return crm.Principal{ID: PrincipalID(p.spec.Name), Roles: []string{role}}
}

// guarded reports whether workspace w has an access policy.
func guarded(ctx context.Context, w *crm.Workspace) (bool, error) {
	_, ok, err := w.Policy(crm.As(ctx, crm.System()))
	return ok, err
}

// readInHook reads a record for a before-hook inside the write's
// transaction, as the plugin's principal sees it (see fill): a record it
// may not see is not found, hidden fields are blank.
func (s *hostService) readInHook(g *grant, kind, id string) (any, error) {
	if kind != "contact" && kind != "company" && kind != "deal" {
		return nil, status.Errorf(codes.FailedPrecondition, "plugins: a before-hook reads contacts, companies and deals only, not %s", kind)
	}
	return readTx(g.tx, kind, id)
}

// visible returns the events the plugin's principal may see, as it may see
// them: in a workspace with an access policy, the events of the records its
// role reads (before or after the change), with the fields the role hides
// left out, as Workspace.Changes streams them for it. events are in commit
// order per workspace, as a crm.Dispatcher delivers them.
func (p *proc) visible(ctx context.Context, events []crm.Event) ([]crm.Event, error) {
	var out []crm.Event
	for len(events) > 0 {
		n := 1
		for n < len(events) && events[n].Workspace == events[0].Workspace {
			n++
		}
		seen, err := p.visibleIn(ctx, events[:n])
		if err != nil {
			return nil, err
		}
		out = append(out, seen...)
		events = events[n:]
	}
	return out, nil
}

// visibleIn is visible for events of one workspace.
func (p *proc) visibleIn(ctx context.Context, events []crm.Event) ([]crm.Event, error) {
	ctx = crm.As(ctx, p.principal())
	w, err := p.h.c.Workspace(ctx, events[0].Workspace)
	if errors.Is(err, crm.ErrNotFound) {
		return nil, nil // deleted meanwhile: nobody sees its events
	}
	if err != nil {
		return nil, err
	}
	policy, err := guarded(ctx, w)
	if err != nil || !policy {
		return events, err
	}
	want := make(map[uint64]bool, len(events))
	first, last := events[0].Seq, events[0].Seq
	for i := range events {
		want[events[i].Seq] = true
		first, last = min(first, events[i].Seq), max(last, events[i].Seq)
	}
	var out []crm.Event
	// The feed holds only the events the principal sees, redacted for it.
	for ev, err := range w.Changes(ctx, max(first, 1)-1) {
		if err != nil {
			return nil, err
		}
		if ev.Seq > last {
			break
		}
		if want[ev.Seq] {
			out = append(out, ev)
		}
	}
	return out, nil
}

// mayRead checks, in the write's transaction, that the plugin's role
// reads records of kind at all in the workspace (always so without an
// access policy), before a before-hook hands the plugin a record of that
// kind. A role that does not is a failure of the hook, matching
// ErrCapability, which the plugin's failure Policy handles: the plugin
// never sees the record.
func mayRead(rt *crm.ReadTx, workspace, kind string) error {
	k, err := kindOf(kind)
	if err != nil {
		return err
	}
	if err := rt.Can(k, crm.ActionRead); errors.Is(err, crm.ErrForbidden) {
		return fmt.Errorf("%w: its role may not read %s records in workspace %q, so it is not handed their writes: %v", ErrCapability, kind, workspace, err)
	} else if err != nil {
		return err
	}
	return nil
}
