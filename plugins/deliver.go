package plugins

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/proto"
)

// ConsumerName is the durable consumer name a plugin's after-events are
// delivered under: its cursors and dead letters in the CRM's Dispatcher
// (see Host.Dispatcher) are kept under it.
func ConsumerName(plugin string) string { return "plugin:" + plugin }

// hostRun marks the context of the host's own run of a plugin's
// dispatcher (see consume).
type hostRun struct{}

// deliverLoop runs the plugin's dispatcher until the host closes. While
// the plugin is down nothing is delivered: a delivery waits for it to be
// back (see consume), and its cursor waits where it stopped, so every
// event reaches it once it is back. The dispatcher outlives the plugin's
// restarts, so a delivery the plugin crashes on is a failed attempt like
// any other: a batch that keeps crashing it is split, the event it
// crashes on is dead-lettered after its attempts, and delivery goes on.
func (p *proc) deliverLoop(ctx context.Context) {
	defer p.h.wg.Done()
	_ = p.disp.Run(context.WithValue(ctx, hostRun{}, true))
}

// consume is the plugin's crm.Consumer: it sends the events the plugin
// subscribed to, of the workspaces it is configured for, that its
// principal may see (redacted for it), in one batch, and acknowledges the
// others without a call.
func (p *proc) consume(ctx context.Context, events []crm.Event) error {
	wanted := make([]crm.Event, 0, len(events))
	for i := range events {
		if p.scope.reaches(events[i].Workspace) && matches(p.manifest.Events, string(events[i].Type)) {
			wanted = append(wanted, events[i])
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	inst, ctx, cancel, err := p.upFor(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	wanted, err = p.visible(ctx, wanted)
	if err != nil {
		return err
	}
	batch := make([]*proto.Event, 0, len(wanted))
	for i := range wanted {
		pe, err := toProto(&wanted[i])
		if err != nil {
			return err
		}
		batch = append(batch, pe)
	}
	if len(batch) == 0 {
		return nil
	}
	req := &proto.DeliverRequest{Events: batch, HostService: inst.hostID}
	if inst.hostID != 0 {
		token, g := p.h.grants.issue(p, batch[0].Workspace, nil)
		defer p.h.grants.revoke(token, g)
		req.Grant = token
	}
	resp, err := inst.remote.Deliver(ctx, req)
	if err != nil {
		e := p.callError("deliver", err)
		if errors.Is(e, ErrUnavailable) {
			p.awaitDown(ctx, inst)
		}
		return e
	}
	if int(resp.Acknowledged) != len(batch) {
		return p.fail("deliver", fmt.Errorf("%w: acknowledged %d of %d events", ErrMalformed, resp.Acknowledged, len(batch)))
	}
	return nil
}

// upFor returns the running instance for a delivery and the context to
// deliver in. While the plugin is down (restarting, or isolated) the
// host's own delivery waits for it until the host closes, rather than
// fail: an attempt that fails only because the plugin is down would count
// against the events, and dead-letter them in the end. A delivery that
// waited gets as long as ctx had left when it began. A delivery driven by
// anyone else (Dispatcher.Drain) waits within ctx.
func (p *proc) upFor(ctx context.Context) (*instance, context.Context, context.CancelFunc, error) {
	if inst := p.current(); inst != nil {
		return inst, ctx, func() {}, nil
	}
	if ctx.Value(hostRun{}) == nil {
		inst, err := p.waitUp(ctx)
		if err != nil {
			return nil, nil, nil, p.unavailable("deliver")
		}
		return inst, ctx, func() {}, nil
	}
	var budget time.Duration
	if d, ok := ctx.Deadline(); ok {
		budget = time.Until(d)
	}
	inst, err := p.waitUp(p.h.ctx)
	if err != nil {
		return nil, nil, nil, p.unavailable("deliver")
	}
	if budget <= 0 {
		ctx, cancel := context.WithCancel(p.h.ctx)
		return inst, ctx, cancel, nil
	}
	ctx, cancel := context.WithTimeout(p.h.ctx, budget)
	return inst, ctx, cancel, nil
}

// awaitDown waits, after a delivery the plugin's process went away
// during, until the supervisor has taken that instance down (or for two
// health checks at most), so that the next attempt waits for the
// restarted process instead of failing at once against the dead one.
func (p *proc) awaitDown(ctx context.Context, inst *instance) {
	timer := time.NewTimer(2 * p.h.cfg.HealthInterval)
	defer timer.Stop()
	select {
	case <-inst.ctx.Done():
	case <-ctx.Done():
	case <-p.h.ctx.Done():
	case <-timer.C:
	}
}
