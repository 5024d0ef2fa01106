package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/proto"
	"github.com/hashicorp/go-hclog"
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
	conn    *grpc.ClientConn
	broker  *plugin.GRPCBroker
	remote  proto.PluginClient
	version int
	hostID  uint32 // broker ID of the host service, 0 for none
	pid     int
	// ctx ends when the instance is taken down.
	ctx    context.Context
	cancel context.CancelFunc
}

// proc is one configured plugin across its restarts.
type proc struct {
	h    *Host
	spec Spec
	log  *slog.Logger
	sink *logSink
	disp *crm.Dispatcher

	mu       sync.Mutex
	cur      *instance
	ready    chan struct{} // closed while cur != nil
	manifest Manifest
	caps     capabilities
	role     string // the role the plugin acts with (see Spec.Role)
	kick     chan struct{}

	restarts, failures, violations atomic.Int64
	lastErr                        atomic.Pointer[error]
}

func newProc(h *Host, spec Spec) *proc {
	log := h.cfg.Logger.With("plugin", spec.Name)
	return &proc{
		h: h, spec: spec, log: log, sink: newLogSink(log, h.cfg.LogLinesPerSecond),
		ready: make(chan struct{}), kick: make(chan struct{}, 1),
	}
}

func (p *proc) fail(op string, err error) *Error {
	e := &Error{Plugin: p.spec.Name, Op: op, Err: err}
	var ep error = e
	p.lastErr.Store(&ep)
	return e
}

// start runs the plugin's executable, after checking its checksum, and
// reads its manifest.
func (p *proc) start(ctx context.Context) (*instance, error) {
	sum, err := hex.DecodeString(p.spec.SHA256)
	if err != nil || len(sum) != sha256.Size {
		return nil, p.fail("start", fmt.Errorf("%w: no valid SHA-256 configured for %s", ErrChecksum, p.spec.Path))
	}
	cmd := exec.Command(p.spec.Path, p.spec.Args...)
	cmd.Env = p.spec.Env
	dieWithHost(cmd)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: versions(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		SecureConfig:     &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()},
		AutoMTLS:         true,
		StartTimeout:     p.h.cfg.StartTimeout,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: p.spec.Name, Output: p.sink, JSONFormat: true, Level: hclog.Debug,
		}),
		SyncStdout:      p.sink,
		SyncStderr:      p.sink,
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(p.h.cfg.MaxMessageBytes))},
	})
	inst, err := p.connect(ctx, client, cmd)
	if err != nil {
		client.Kill()
		return nil, err
	}
	return inst, nil
}

func (p *proc) connect(ctx context.Context, client *plugin.Client, cmd *exec.Cmd) (*instance, error) {
	rpc, err := client.Client()
	if err != nil {
		switch {
		case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
			err = fmt.Errorf("%w: %s", ErrChecksum, p.spec.Path)
		case strings.Contains(err.Error(), "version"):
			err = fmt.Errorf("%w: %v", ErrProtocol, err)
		default:
			err = fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return nil, p.fail("start", err)
	}
	raw, err := rpc.Dispense(proto.PluginName)
	if err != nil {
		return nil, p.fail("start", fmt.Errorf("%w: %v", ErrProtocol, err))
	}
	inst := raw.(*instance)
	inst.client = client
	if cmd.Process != nil {
		inst.pid = cmd.Process.Pid
	}
	inst.version = client.NegotiatedVersion()
	dctx, cancel := context.WithTimeout(ctx, p.h.cfg.StartTimeout)
	defer cancel()
	pm, err := inst.remote.Describe(dctx, &proto.DescribeRequest{ProtocolVersion: uint32(inst.version)})
	if err != nil {
		return nil, p.callError("describe", err)
	}
	m, caps, err := checkManifest(pm)
	if err != nil {
		return nil, p.fail("describe", err)
	}
	role, err := roleFor(p.spec.Role, m.Role)
	if err != nil {
		return nil, p.fail("describe", err)
	}
	p.mu.Lock()
	p.manifest, p.caps, p.role = m, caps, role
	p.mu.Unlock()
	if inst.version >= 2 && len(caps) > 0 {
		inst.hostID = inst.broker.NextId()
		go inst.broker.AcceptAndServe(inst.hostID, func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(p.h.cfg.MaxMessageBytes))
			s := grpc.NewServer(opts...)
			proto.RegisterHostServer(s, &hostService{p: p})
			return s
		})
	}
	inst.ctx, inst.cancel = context.WithCancel(p.h.ctx)
	return inst, nil
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
// running instance (already up) and restarts it, with backoff, when it exits or fails
// its health checks. A plugin whose executable no longer matches its
// checksum is not restarted.
func (p *proc) supervise(ctx context.Context, inst *instance) {
	defer p.h.wg.Done()
	backoff := p.h.cfg.RestartBackoff
	for {
		started := time.Now()
		reason := p.watch(ctx, inst)
		p.setDown()
		inst.client.Kill()
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
			if errors.Is(err, ErrChecksum) || errors.Is(err, ErrMalformed) || errors.Is(err, ErrProtocol) {
				p.log.Error("plugins: plugin isolated: it cannot be restarted", "err", err)
				return
			}
			p.log.Warn("plugins: restart failed", "err", err, "backoff", backoff)
		}
		if ctx.Err() != nil {
			inst.client.Kill()
			return
		}
		p.setUp(inst)
	}
}

// watch returns when the instance exits, fails two health checks in a
// row, or ctx ends.
func (p *proc) watch(ctx context.Context, inst *instance) string {
	exited := time.NewTicker(50 * time.Millisecond)
	defer exited.Stop()
	health := time.NewTicker(p.h.cfg.HealthInterval)
	defer health.Stop()
	misses := 0
	for {
		check := false
		select {
		case <-ctx.Done():
			return "host closing"
		case <-exited.C:
		case <-health.C:
			check = true
		case <-p.kick:
			check = true
		}
		if inst.client.Exited() {
			return "process exited"
		}
		if !check {
			continue
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
func (p *proc) callError(op string, err error) *Error {
	st, _ := status.FromError(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || st.Code() == codes.DeadlineExceeded:
		err = fmt.Errorf("%w: %s", ErrTimeout, st.Message())
	case st.Code() == codes.ResourceExhausted:
		err = fmt.Errorf("%w: %s", ErrTooLarge, st.Message())
	case st.Code() == codes.Unavailable || st.Code() == codes.Canceled:
		p.suspect()
		err = fmt.Errorf("%w: %s", ErrUnavailable, st.Message())
	case st.Code() == codes.Internal || st.Code() == codes.Unimplemented:
		err = fmt.Errorf("%w: %s", ErrMalformed, st.Message())
	default:
		err = errors.New(st.Message())
	}
	return p.fail(op, err)
}
