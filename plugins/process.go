package plugins

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/proto"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  proto.ProtocolVersion,
	MagicCookieKey:   proto.MagicCookieKey,
	MagicCookieValue: proto.MagicCookieValue,
}

// versions is every protocol version the host runs.
func versions() map[int]plugin.PluginSet {
	out := map[int]plugin.PluginSet{}
	for v := proto.MinProtocolVersion; v <= proto.ProtocolVersion; v++ {
		out[v] = plugin.PluginSet{proto.PluginName: &grpcPlugin{}}
	}
	return out
}

// grpcPlugin is the host side of go-plugin's gRPC plugin.
type grpcPlugin struct{ plugin.NetRPCUnsupportedPlugin }

func (grpcPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("plugins: the host serves no plugin")
}

func (grpcPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &instance{remote: proto.NewPluginClient(conn), conn: conn, broker: broker}, nil
}

// instance is one running process of a plugin.
type instance struct {
	client  *plugin.Client
	child   *child
	conn    *grpc.ClientConn
	broker  *plugin.GRPCBroker
	remote  proto.PluginClient
	version int
	hostID  uint32 // broker ID of the host service, 0 for none
	// channel is the before-hook channel (protocol version 3), nil for a
	// plugin called through gRPC.
	channel *channel
	pid     int
	// ctx ends when the instance is taken down.
	ctx    context.Context
	cancel context.CancelFunc
}

// proc is one configured plugin across its restarts.
type proc struct {
	h     *Host
	spec  Spec
	index int // in the configuration: orders the plugins' before-hooks
	log   *slog.Logger
	sink  *logSink
	disp  *crm.Dispatcher
	scope workspaces

	mu       sync.Mutex
	cur      *instance
	ready    chan struct{} // closed while cur != nil
	pinned   bool          // manifest, caps and role are those of the first start
	manifest Manifest
	caps     capabilities
	role     string // the role the plugin acts with (see Spec.Role)
	kick     chan struct{}

	restarts, failures, violations atomic.Int64
	lastErr                        atomic.Pointer[error]
	// isolated is why the plugin cannot start (and is not restarted any
	// more), if it cannot.
	isolated atomic.Pointer[error]
	// contained is whether its latest process runs in a PID namespace.
	contained atomic.Bool
}

func newProc(h *Host, spec Spec, index int) *proc {
	log := h.cfg.Logger.With("plugin", spec.Name)
	return &proc{
		h: h, spec: spec, index: index, log: log, sink: newLogSink(log, spec.Name, h.cfg.LogLinesPerSecond),
		scope: scopeOf(spec.Workspaces), ready: make(chan struct{}), kick: make(chan struct{}, 1),
	}
}

func (p *proc) fail(op string, err error) *Error {
	e := &Error{Plugin: p.spec.Name, Op: op, Err: err}
	var ep error = e
	p.lastErr.Store(&ep)
	return e
}

// unavailable is the failure of a call to the plugin while it is down: it
// matches ErrUnavailable and, once the plugin is isolated, why it is.
func (p *proc) unavailable(op string) *Error {
	if why := p.isolated.Load(); why != nil {
		return p.fail(op, fmt.Errorf("%w: not restarted: %w", ErrUnavailable, *why))
	}
	return p.fail(op, ErrUnavailable)
}

// failStart is fail for a start: a failure the plugin cannot start past
// (see isolating) isolates it, recorded before LastError says why, so
// that whoever sees the one sees the other.
func (p *proc) failStart(op string, err error) *Error {
	if isolating(err) {
		p.isolated.Store(&err)
	}
	return p.fail(op, err)
}

// current returns the running instance, or nil while the plugin is down.
func (p *proc) current() *instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// waitUp returns the running instance, waiting for one.
func (p *proc) waitUp(ctx context.Context) (*instance, error) {
	for {
		p.mu.Lock()
		cur, ready := p.cur, p.ready
		p.mu.Unlock()
		if cur != nil {
			return cur, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ready:
		}
	}
}

func (p *proc) setUp(inst *instance) {
	p.contained.Store(inst.child.contained)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur = inst
	close(p.ready)
}

func (p *proc) setDown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil {
		p.cur.cancel()
		p.cur = nil
		p.ready = make(chan struct{})
	}
}

// suspect asks the supervisor to check the plugin now.
func (p *proc) suspect() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// supervise keeps the plugin running until ctx ends: it watches the
// running instance (already up) and restarts it, with backoff, when it
// exits or fails its health checks. A plugin that can no longer start as
// it was loaded (its executable does not match its checksum, or its
// manifest changed) is isolated: not restarted.
func (p *proc) supervise(ctx context.Context, inst *instance) {
	defer p.h.wg.Done()
	backoff := p.h.cfg.RestartBackoff
	for {
		started := time.Now()
		reason := p.watch(ctx, inst)
		p.setDown()
		p.stop(inst)
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("plugins: plugin down, restarting", "reason", reason, "backoff", backoff)
		if time.Since(started) > time.Minute {
			backoff = p.h.cfg.RestartBackoff
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, p.h.cfg.MaxRestartBackoff)
			p.restarts.Add(1)
			var err error
			if inst, err = p.start(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			if isolating(err) {
				p.log.Error("plugins: plugin isolated: it cannot be restarted", "err", err)
				return
			}
			p.log.Warn("plugins: restart failed", "err", err, "backoff", backoff)
		}
		if ctx.Err() != nil {
			p.stop(inst)
			return
		}
		p.setUp(inst)
	}
}

// isolating reports whether a failed start means the plugin cannot be
// started as it was loaded.
func isolating(err error) bool {
	for _, e := range []error{ErrChecksum, ErrMalformed, ErrProtocol, ErrManifestChanged, ErrCapability} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// watch returns when the instance exits, fails two health checks in a
// row, or ctx ends.
func (p *proc) watch(ctx context.Context, inst *instance) string {
	health := time.NewTicker(p.h.cfg.HealthInterval)
	defer health.Stop()
	misses := 0
	for {
		select {
		case <-ctx.Done():
			return "host closing"
		case <-inst.child.done:
			return inst.child.exited()
		case <-health.C:
		case <-p.kick:
		}
		hctx, cancel := context.WithTimeout(ctx, p.h.cfg.HealthInterval)
		_, err := grpc_health_v1.NewHealthClient(inst.conn).Check(hctx, &grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
		cancel()
		if err == nil {
			misses = 0
			continue
		}
		if misses++; misses >= 2 {
			return "health check failed: " + err.Error()
		}
	}
}

// callError turns a failed call to the plugin into an *Error with the
// matching condition.
func (p *proc) callError(op string, err error) *Error { return p.fail(op, p.callCause(err)) }

// callCause maps a failed call to the plugin to the matching condition.
func (p *proc) callCause(err error) error {
	st, _ := status.FromError(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || st.Code() == codes.DeadlineExceeded:
		return fmt.Errorf("%w: %s", ErrTimeout, st.Message())
	case st.Code() == codes.ResourceExhausted:
		return fmt.Errorf("%w: %s", ErrTooLarge, st.Message())
	case st.Code() == codes.Unavailable || st.Code() == codes.Canceled:
		p.suspect()
		return fmt.Errorf("%w: %s", ErrUnavailable, st.Message())
	case st.Code() == codes.Internal || st.Code() == codes.Unimplemented:
		return fmt.Errorf("%w: %s", ErrMalformed, st.Message())
	}
	return errors.New(st.Message())
}
