package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/hooks"
	"github.com/crmkit/crmkit/plugins/proto"
)

// hookPriority orders plugin before-hooks after in-process ones (bound at
// the default priority 0).
const hookPriority = 1000

// hookID is the ID a plugin's before-hooks are bound under.
func hookID(name string) string { return "plugin:" + name }

// txReader reads records inside a write's transaction: a *crm.Before of
// any kind.
type txReader interface {
	Contact(id string) (crm.Contact, error)
	Company(id string) (crm.Company, error)
	Deal(id string) (crm.Deal, error)
}

// bindBefore binds the plugin's before-hooks for the kinds its manifest
// names, and returns a function that unbinds them.
func (p *proc) bindBefore(hs *crm.Hooks) (func(), error) {
	want := beforeKinds(p.manifest.Before)
	var unbind []func()
	bind := func(err error, u func()) error {
		if err == nil {
			unbind = append(unbind, u)
		}
		return err
	}
	id := hookID(p.spec.Name)
	var err error
	for kind := range want {
		switch kind {
		case "contact":
			err = bind(bindKind(&hs.BeforeContact, p, kind))
		case "company":
			err = bind(bindKind(&hs.BeforeCompany, p, kind))
		case "deal":
			err = bind(bindKind(&hs.BeforeDeal, p, kind))
		case "activity":
			err = bind(bindKind(&hs.BeforeActivity, p, kind))
		case "purchase":
			err = bind(bindKind(&hs.BeforePurchase, p, kind))
		case "pipeline":
			err = bind(bindKind(&hs.BeforePipeline, p, kind))
		default:
			err = fmt.Errorf("%w: manifest: no record kind %q to run before", ErrMalformed, kind)
		}
		if err != nil {
			for _, u := range unbind {
				u()
			}
			return nil, p.fail("bind "+id, err)
		}
	}
	return func() {
		for _, u := range unbind {
			u()
		}
	}, nil
}

func bindKind[T any](h *hooks.Hook[*crm.Before[T]], p *proc, kind string) (error, func()) {
	id := hookID(p.spec.Name)
	// Plugins' hooks run in configuration order, however their starts
	// finish.
	err := h.Bind(id, hookPriority+p.index, func(ctx context.Context, b *crm.Before[T]) error {
		return beforeHook(ctx, p, kind, b)
	})
	return err, func() { h.Unbind(id) }
}

// beforeHook runs the plugin's before-hook for one write, applying its
// failure policy. A write in a workspace the plugin is not configured for
// does not concern it.
func beforeHook[T any](ctx context.Context, p *proc, kind string, b *crm.Before[T]) error {
	if !p.scope.reaches(b.Workspace()) {
		return nil
	}
	types := make([]string, 0, len(b.Types))
	want := false
	for _, t := range b.Types {
		types = append(types, string(t))
		want = want || matches(p.manifest.Before, string(t))
	}
	if !want {
		return nil
	}
	err := p.callBefore(ctx, kind, types, func(req *proto.BeforeRequest) (func([]*proto.FieldValue) error, txReader, error) {
		return fill(req, b, kind, p.principal())
	})
	if err == nil || errors.Is(err, errNotVisible) {
		return nil
	}
	var veto *VetoError
	if errors.As(err, &veto) {
		return veto
	}
	p.failures.Add(1)
	if p.spec.Policy == FailOpen {
		p.log.Warn("plugins: before-hook failed; write let through (fail-open)", "kind", kind, "workspace", b.Workspace(), "err", err)
		return nil
	}
	return err
}

// callBefore calls the plugin's before-hook; prepare fills the request.
func (p *proc) callBefore(ctx context.Context, kind string, types []string,
	prepare func(*proto.BeforeRequest) (func([]*proto.FieldValue) error, txReader, error)) error {
	inst := p.current()
	op := "before " + types[0]
	if inst == nil {
		return p.unavailable(op)
	}
	req := &proto.BeforeRequest{Kind: kind, Types: types, HostService: inst.hostID}
	apply, tx, err := prepare(req)
	if err != nil && !errors.Is(err, errNotVisible) {
		return p.fail(op, err)
	}
	if err != nil {
		return err // a record of the kind it reads, out of its scope
	}
	if inst.hostID != 0 {
		token, g := p.h.grants.issue(p, req.Workspace, tx)
		defer p.h.grants.revoke(token, g)
		req.Grant = token
	}
	resp, err := p.before(ctx, inst, req)
	if err != nil {
		return p.fail(op, err)
	}
	if resp.Veto {
		reason := resp.Reason
		if len(reason) > 1024 {
			reason = reason[:1024]
		}
		return &VetoError{Plugin: p.spec.Name, Reason: reason}
	}
	if len(resp.Changes) > 0 {
		if inst.version < 2 {
			p.log.Warn("plugins: field changes need protocol version 2; ignored", "version", inst.version)
			return nil
		}
		if err := apply(resp.Changes); err != nil {
			return p.fail(op, err)
		}
	}
	return nil
}

// before calls the instance's before-hook, on its channel where it has
// one (protocol version 3), else through gRPC, within the plugin's
// deadline, and returns the response or the failure's cause.
func (p *proc) before(ctx context.Context, inst *instance, req *proto.BeforeRequest) (*proto.BeforeResponse, error) {
	if inst.channel != nil {
		return p.channelBefore(ctx, inst.channel, req)
	}
	ctx, cancel := context.WithTimeout(ctx, p.spec.Timeout)
	defer cancel()
	resp, err := inst.remote.Before(ctx, req)
	if err != nil {
		return nil, p.callCause(err)
	}
	return resp, nil
}

// errNotVisible is fill's answer for a write of a record the plugin's
// principal may not read: the plugin is not called.
var errNotVisible = errors.New("plugins: the record is not the plugin's to see")

// fill fills a before-hook request from the write of a record of kind, as
// the plugin's principal pr may see it (hidden fields blank; errNotVisible
// when it may not see the record), and returns how to apply field changes
// to its record and how to read in its transaction, as pr.
func fill[T any](req *proto.BeforeRequest, b *crm.Before[T], kind string, pr crm.Principal) (func([]*proto.FieldValue) error, txReader, error) {
	req.Workspace, req.Actor, req.Op = b.Workspace(), b.Actor(), string(b.Op)
	rt, err := b.ReadAs(pr)
	if err != nil {
		return nil, nil, err
	}
	if err := mayRead(rt, req.Workspace, kind); err != nil {
		return nil, nil, err
	}
	old, rec, err := b.Redacted(pr)
	if err != nil {
		return nil, nil, err
	}
	if rec == nil {
		return nil, nil, errNotVisible
	}
	if req.Record, err = json.Marshal(rec); err != nil {
		return nil, nil, err
	}
	if old != nil {
		if req.Previous, err = json.Marshal(old); err != nil {
			return nil, nil, err
		}
	}
	apply := func(ch []*proto.FieldValue) error {
		// Custom fields are checked against the workspace's definitions
		// here, so that a change the CRM would refuse after the hook (a
		// field not defined, a value of another type) is the plugin's
		// failure, not the write's.
		if err := checkCustom(rt, kind, ch); err != nil {
			return err
		}
		return b.ChangeAs(pr, func(r *T) error {
			c := *r
			if err := applyChanges(&c, ch); err != nil {
				return err
			}
			if err := brokenBy(b, r, &c); err != nil {
				return err
			}
			*r = c
			return nil
		})
	}
	return apply, readTxOf{rt}, nil
}

// brokenBy checks a before-hook's change of a record, from before to
// after: a change that makes a valid record fail the CRM's validation (a
// required field blanked, a negative amount, an unknown stage) is the
// plugin's failure, a *ChangeError naming the first field that fails, not
// the write's *crm.ValidationError. A record that was already invalid
// before the change (an earlier hook broke it) is left to the CRM.
func brokenBy[T any](b *crm.Before[T], before, after *T) error {
	err := b.Validate(after)
	var ve *crm.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) == 0 {
		return err
	}
	if b.Validate(before) != nil {
		return nil
	}
	f := ve.Fields[0]
	reason := f.Reason
	if n := len(ve.Fields) - 1; n > 0 {
		reason += fmt.Sprintf(" (and %d more field problems)", n)
	}
	return &ChangeError{Field: f.Field, Reason: "the change fails validation: " + reason}
}

// readTxOf reads a write's transaction as a plugin's principal sees it.
type readTxOf struct{ rt *crm.ReadTx }

func (r readTxOf) Contact(id string) (crm.Contact, error) { return r.rt.Contacts().Get(id) }
func (r readTxOf) Company(id string) (crm.Company, error) { return r.rt.Companies().Get(id) }
func (r readTxOf) Deal(id string) (crm.Deal, error)       { return r.rt.Deals().Get(id) }
