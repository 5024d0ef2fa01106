package plugins

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/crmkit/crmkit/plugins/proto"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// openVerified opens the executable at path and checks its SHA-256 on the
// open file: that file is what the host runs (see execPath), so replacing
// the file at path after the check changes nothing.
func openVerified(path, sum string) (*os.File, error) {
	want, err := hex.DecodeString(sum)
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("%w: no valid SHA-256 configured for %s", ErrChecksum, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	h := sha256.New()
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", path)
	}
	if err == nil {
		_, err = io.Copy(h, f)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
		f.Close()
		return nil, fmt.Errorf("%w: %s", ErrChecksum, path)
	}
	return f, nil
}

// environment is a plugin's environment: its Spec.Env, the host's PATH
// unless Env sets one (a script's "#!/usr/bin/env node" needs it to find
// its interpreter), and go-plugin's handshake variables, last so that Env
// cannot change them. Nothing else of the host's environment.
func (p *proc) environment(handshake []string) []string {
	env := make([]string, 0, len(p.spec.Env)+len(handshake)+1)
	path := true
	for _, kv := range p.spec.Env {
		path = path && !strings.HasPrefix(kv, "PATH=")
		env = append(env, kv)
	}
	if v, ok := os.LookupEnv("PATH"); ok && path {
		env = append(env, "PATH="+v)
	}
	return append(env, handshake...)
}

// start runs the plugin's executable, after checking its checksum, and
// reads its manifest, all within Config.StartTimeout: past it, the process
// and everything it started are killed, and start fails with ErrTimeout.
func (p *proc) start(ctx context.Context) (*instance, error) {
	ctx, cancel := context.WithTimeout(ctx, p.h.cfg.StartTimeout)
	defer cancel()
	as, err := lookupRunAs(p.spec.User, p.h.cfg.SocketGroup)
	if err != nil {
		return nil, p.failStart("start", fmt.Errorf("%w: %v", ErrUnavailable, err))
	}
	exe, err := openVerified(p.spec.Path, p.spec.SHA256)
	if err != nil {
		return nil, p.failStart("start", err)
	}
	ch := newChild(p, exe, as)
	var sockets *plugin.UnixSocketConfig
	if p.h.cfg.SocketGroup != "" {
		sockets = &plugin.UnixSocketConfig{Group: p.h.cfg.SocketGroup}
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		VersionedPlugins: versions(),
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
			ch.env = p.environment(cmd.Env)
			return ch, nil
		},
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		StartTimeout:     p.h.cfg.StartTimeout,
		Logger:           p.goPluginLogger(),
		SyncStdout:       p.sink.stream(),
		SyncStderr:       p.sink.stream(),
		UnixSocketConfig: sockets,
		GRPCDialOptions:  []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(p.h.cfg.MaxMessageBytes))},
	})
	type result struct {
		inst *instance
		err  error
	}
	done := make(chan result, 1)
	go func() {
		inst, err := p.connect(ctx, client, ch)
		done <- result{inst, err}
	}()
	select {
	case r := <-done:
		ch.closeExe()
		if r.err != nil {
			ch.kill()
			client.Kill()
			return nil, r.err
		}
		return r.inst, nil
	case <-ctx.Done():
		// Whatever holds the start up (a handshake that never
		// completes, say) ends with the process.
		ch.kill()
		go func() {
			if r := <-done; r.inst != nil && r.inst.channel != nil {
				r.inst.channel.close()
			}
			ch.closeExe()
			client.Kill()
		}()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, p.failStart("start", fmt.Errorf("%w: not started within %v", ErrTimeout, p.h.cfg.StartTimeout))
		}
		return nil, p.failStart("start", fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err()))
	}
}

// connect completes a start: go-plugin starts the child and connects to
// it, and the host reads the plugin's manifest.
func (p *proc) connect(ctx context.Context, client *plugin.Client, ch *child) (*instance, error) {
	rpc, err := client.Client()
	if err != nil {
		if strings.Contains(err.Error(), "version") {
			err = fmt.Errorf("%w: %v", ErrProtocol, err)
		} else {
			err = fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return nil, p.failStart("start", err)
	}
	raw, err := rpc.Dispense(proto.PluginName)
	if err != nil {
		return nil, p.failStart("start", fmt.Errorf("%w: %v", ErrProtocol, err))
	}
	inst := raw.(*instance)
	inst.client, inst.child, inst.pid = client, ch, ch.proc.Pid
	inst.version = client.NegotiatedVersion()
	pm, err := inst.remote.Describe(ctx, &proto.DescribeRequest{ProtocolVersion: uint32(inst.version)})
	if err != nil {
		return nil, p.failStart("describe", p.callCause(err))
	}
	caps, err := p.admit(pm)
	if err != nil {
		return nil, p.failStart("describe", err)
	}
	if inst.version >= 2 && len(caps) > 0 {
		inst.hostID = inst.broker.NextId()
		go inst.broker.AcceptAndServe(inst.hostID, func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(p.h.cfg.MaxMessageBytes))
			s := grpc.NewServer(opts...)
			proto.RegisterHostServer(s, &hostService{p: p})
			return s
		})
	}
	if inst.version >= 3 && len(pm.Before) > 0 {
		ch, err := openChannel(ctx, inst, p.h.cfg.MaxMessageBytes)
		switch {
		case err == nil:
			inst.channel = ch
		case status.Code(err) == codes.Unimplemented:
			// A plugin without the channel is called through gRPC.
		default:
			p.log.Warn("plugins: before-hook channel not opened; calling through gRPC", "err", err)
		}
	}
	inst.ctx, inst.cancel = context.WithCancel(p.h.ctx)
	return inst, nil
}

// How long stop gives a plugin to exit when asked, and then go-plugin to
// let go of it once it is killed.
const (
	stopGrace = 1500 * time.Millisecond
	stopWait  = time.Second
)

// stop shuts an instance down: go-plugin asks the plugin to exit, and
// whatever still runs after stopGrace, the plugin and everything it
// started, is killed. It returns within stopGrace+stopWait whatever the
// plugin does.
func (p *proc) stop(inst *instance) {
	if inst.channel != nil {
		inst.channel.close()
	}
	released := make(chan struct{})
	go func() {
		inst.client.Kill()
		close(released)
	}()
	select {
	case <-inst.child.done:
	case <-time.After(stopGrace):
		p.log.Warn("plugins: plugin did not exit when asked; killing it")
	}
	inst.child.kill()
	select {
	case <-released:
	case <-time.After(stopWait):
		p.log.Warn("plugins: plugin killed; go-plugin still lets go of it")
	}
}

// goPluginLogger is the logger go-plugin reports to for this plugin: its
// warnings and errors reach the host's logger as the host's, escaped.
func (p *proc) goPluginLogger() hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name: p.spec.Name, Output: hostLog{p}, JSONFormat: true, Level: hclog.Warn,
	})
}

// hostLog writes go-plugin's log lines (hclog JSON) to the host's logger.
type hostLog struct{ p *proc }

func (l hostLog) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		level, msg, attrs := parseLine([]byte(line))
		var args []slog.Attr
		if len(attrs) > 0 {
			args = []slog.Attr{{Key: "attrs", Value: slog.GroupValue(attrs...)}}
		}
		l.p.log.LogAttrs(context.Background(), level, "plugins: go-plugin: "+msg, args...)
	}
	return len(b), nil
}
