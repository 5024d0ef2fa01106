package plugins

import (
	"context"
	"fmt"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/proto"
)

// ConsumerName is the durable consumer name a plugin's after-events are
// delivered under: its cursors and dead letters in the CRM's Dispatcher
// (see Host.Dispatcher) are kept under it.
func ConsumerName(plugin string) string { return "plugin:" + plugin }

// deliverLoop runs the plugin's dispatcher while the plugin is up: while
// it is down, nothing is delivered, and its cursor waits where it stopped,
// so every event reaches it once it is back.
func (p *proc) deliverLoop(ctx context.Context) {
	defer p.h.wg.Done()
	for {
		inst, err := p.waitUp(ctx)
		if err != nil {
			return
		}
		_ = p.disp.Run(inst.ctx) // returns when the instance goes down or the host closes
	}
}

// consume is the plugin's crm.Consumer: it sends the events the plugin
// subscribed to, of the workspaces it is configured for, that its
// principal may see (redacted for it), in one batch, and acknowledges the
// others without a call.
func (p *proc) consume(ctx context.Context, events []crm.Event) error {
	inst := p.current()
	if inst == nil {
		return p.unavailable("deliver")
	}
	wanted := make([]crm.Event, 0, len(events))
	for i := range events {
		if p.scope.reaches(events[i].Workspace) && matches(p.manifest.Events, string(events[i].Type)) {
			wanted = append(wanted, events[i])
		}
	}
	if len(wanted) == 0 {
		return nil
	}
	wanted, err := p.visible(ctx, wanted)
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
		return p.callError("deliver", err)
	}
	if int(resp.Acknowledged) != len(batch) {
		return p.fail("deliver", fmt.Errorf("%w: acknowledged %d of %d events", ErrMalformed, resp.Acknowledged, len(batch)))
	}
	return nil
}
