package sdk

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/crmkit/crmkit/plugins/proto"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ServeOption adjusts Serve.
type ServeOption func(*serveConfig)

type serveConfig struct{ version int }

// WithProtocolVersion makes the plugin speak an older protocol version
// (see plugins/proto), as a plugin built for that version would. It exists
// to test hosts against old plugins.
func WithProtocolVersion(v int) ServeOption { return func(c *serveConfig) { c.version = v } }

// Serve runs p as a plugin until the host closes it, and returns then. It
// must be called from main. The process also exits when the host process
// goes away without closing it (killed, say), so no plugin outlives its
// host. Run by hand, without a host, it prints a notice and exits.
func Serve(p Plugin, opts ...ServeOption) {
	cfg := serveConfig{version: proto.ProtocolVersion}
	for _, o := range opts {
		o(&cfg)
	}
	go exitWithParent(os.Getppid())
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: handshake,
		VersionedPlugins: map[int]plugin.PluginSet{
			cfg.version: {proto.PluginName: &grpcPlugin{impl: p, version: cfg.version}},
		},
		GRPCServer: plugin.DefaultGRPCServer,
		Logger:     hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Info}),
	})
}

var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  proto.ProtocolVersion,
	MagicCookieKey:   proto.MagicCookieKey,
	MagicCookieValue: proto.MagicCookieValue,
}

// exitWithParent ends the process once its parent is gone (it is then
// re-parented, and its parent ID changes).
func exitWithParent(ppid int) {
	for range time.Tick(200 * time.Millisecond) {
		if os.Getppid() != ppid {
			os.Exit(3)
		}
	}
}

// Logger returns a logger whose records the host receives (through the
// plugin's stderr) and forwards to its own logger, with their level and
// attributes.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			}
			return a
		},
	}))
}

// grpcPlugin is the plugin side of go-plugin's gRPC plugin.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl    Plugin
	version int
}

func (p *grpcPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterPluginServer(s, &server{impl: p.impl, version: p.version, broker: broker, conns: map[uint32]*grpc.ClientConn{}, delivering: map[string]chan struct{}{}})
	return nil
}

func (p *grpcPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("sdk: a plugin is not a host")
}

// server serves the Plugin service over the author's implementation.
type server struct {
	proto.UnimplementedPluginServer
	impl    Plugin
	version int
	broker  *plugin.GRPCBroker
	mu      sync.Mutex
	conns   map[uint32]*grpc.ClientConn
	// delivering holds, per workspace, the delivery running (see Deliver).
	delivering map[string]chan struct{}
	done       handled
	// channel is the before-hook channel's listener, once the host
	// opened it (see OpenChannel).
	channel net.Listener
}

func (s *server) Describe(ctx context.Context, req *proto.DescribeRequest) (*proto.Manifest, error) {
	m := s.impl.Manifest()
	return &proto.Manifest{Name: m.Name, Version: m.Version, Events: m.Events, Before: m.Before, Capabilities: m.capabilities()}, nil
}

func (s *server) Before(ctx context.Context, req *proto.BeforeRequest) (*proto.BeforeResponse, error) {
	hook, ok := s.impl.(BeforeHook)
	if !ok {
		return &proto.BeforeResponse{}, nil
	}
	w := &Write{
		Workspace: req.Workspace, Kind: req.Kind, Op: req.Op, Types: req.Types, Actor: req.Actor,
		Record: req.Record, Previous: req.Previous,
	}
	if len(w.Previous) == 0 {
		w.Previous = nil
	}
	h, err := s.host(req.HostService, req.Grant, req.Workspace)
	if err != nil {
		return nil, err
	}
	w.Host = h
	if err := hook.Before(ctx, w); err != nil {
		var v *VetoError
		if errors.As(err, &v) {
			return &proto.BeforeResponse{Veto: true, Reason: v.Reason}, nil
		}
		return nil, status.Error(codes.Unknown, err.Error())
	}
	resp := &proto.BeforeResponse{}
	for _, c := range w.changes {
		resp.Changes = append(resp.Changes, &proto.FieldValue{Field: c.field, Json: c.json})
	}
	return resp, nil
}

// Deliver hands a batch to the plugin's EventHandler, one delivery per
// workspace at a time: a delivery waits, within its own context, for the
// one before it to return, so that an attempt the host gave up on (its
// call cancelled, or past its deadline) never runs beside the next. The
// handler's context is the call's, cancelled with it; once it is, no
// further event of the batch is handled. Events the handler completed
// before, in an attempt the host did not see succeed, are acknowledged
// without handling them again (see handled).
func (s *server) Deliver(ctx context.Context, req *proto.DeliverRequest) (*proto.DeliverResponse, error) {
	handler, ok := s.impl.(EventHandler)
	if !ok || len(req.Events) == 0 {
		return &proto.DeliverResponse{Acknowledged: uint32(len(req.Events))}, nil
	}
	release, err := s.acquire(ctx, req.Events[0].Workspace)
	if err != nil {
		return nil, err
	}
	defer release()
	h, err := s.host(req.HostService, req.Grant, req.Events[0].Workspace)
	if err != nil {
		return nil, err
	}
	for i, pe := range req.Events {
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		if s.done.has(pe.Id) {
			continue
		}
		ev := eventFrom(pe)
		if err := handler.Handle(ctx, ev, h); err != nil {
			return nil, status.Errorf(codes.Unknown, "event %d (%s %s): %v", i, ev.Type, ev.ID, err)
		}
		s.done.add(pe.Id)
	}
	return &proto.DeliverResponse{Acknowledged: uint32(len(req.Events))}, nil
}

// acquire waits, within ctx, until no other delivery of the workspace
// runs, and returns the function that lets the next one in.
func (s *server) acquire(ctx context.Context, workspace string) (func(), error) {
	s.mu.Lock()
	sem := s.delivering[workspace]
	if sem == nil {
		sem = make(chan struct{}, 1)
		s.delivering[workspace] = sem
	}
	s.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, status.Errorf(status.FromContextError(ctx.Err()).Code(),
			"sdk: the previous delivery of workspace %s is still running", workspace)
	}
}

// handledLimit is how many event IDs handled remembers.
const handledLimit = 4096

// handled remembers the IDs of the last events the handler completed, so
// that a batch the host delivers again (its attempt timed out after the
// handler finished some of its events, or another event failed) does not
// run them twice. It lives as long as the process: a plugin restarted
// may see an event it completed before.
type handled struct {
	mu    sync.Mutex
	ids   map[string]struct{}
	order []string
}

func (d *handled) has(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.ids[id]
	return ok
}

func (d *handled) add(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ids == nil {
		d.ids = map[string]struct{}{}
	}
	if _, ok := d.ids[id]; ok {
		return
	}
	if len(d.order) == handledLimit {
		delete(d.ids, d.order[0])
		d.order = d.order[1:]
	}
	d.ids[id] = struct{}{}
	d.order = append(d.order, id)
}

// host returns the Host of one call, dialling the host service through
// the broker the first time. It returns nil when the host offers none.
func (s *server) host(id uint32, grant, workspace string) (*Host, error) {
	if id == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	conn := s.conns[id]
	if conn == nil {
		var err error
		if conn, err = s.broker.Dial(id); err != nil {
			return nil, status.Errorf(codes.Unavailable, "sdk: dial host service: %v", err)
		}
		s.conns[id] = conn
	}
	return &Host{client: proto.NewHostClient(conn), grant: grant, workspace: workspace}, nil
}

func eventFrom(pe *proto.Event) *Event {
	ev := &Event{
		ID: pe.Id, Seq: pe.Seq, Type: pe.Type, ChangeID: pe.ChangeId, Workspace: pe.Workspace, Kind: pe.Kind,
		RecordID: pe.RecordId, Actor: pe.Actor, Source: pe.Source, At: time.Unix(0, pe.AtUnixNano).UTC(),
		Redacted: pe.Redacted,
	}
	if len(pe.Record) > 0 {
		ev.Record = pe.Record
	}
	if len(pe.Previous) > 0 {
		ev.Previous = pe.Previous
	}
	for _, f := range pe.Fields {
		ev.Fields = append(ev.Fields, FieldChange{Field: f.Field, Old: f.Old, New: f.New})
	}
	return ev
}
