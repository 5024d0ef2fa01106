package plugins

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// Host runs a CRM's plugins: it starts each plugin process, binds its
// before-hooks to the CRM, delivers its after-events from the outbox, and
// restarts it when it crashes. Close stops every plugin process.
type Host struct {
	c      *crm.CRM
	cfg    Config
	mu     sync.Mutex // guards procs and unbind while Open runs
	procs  []*proc
	unbind []func()
	grants grants
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Open starts the configured plugins for c, all at once: each plugin
// serves (its hooks bound, its events delivered) as soon as it has
// started, without waiting for the others, and a plugin that does not
// start within Config.StartTimeout is given up on. Open returns a Host
// serving every plugin that started, and an error joining an *Error for
// each plugin that did not (a checksum mismatch, a failed handshake, a
// malformed manifest, a timeout): those are left out, the others run. It
// returns a nil Host only when the configuration itself is unusable. Close
// the Host when done, before closing the CRM's store.
func Open(ctx context.Context, c *crm.CRM, cfg Config) (*Host, error) {
	cfg.defaults()
	specs, err := cfg.specs()
	if err != nil {
		return nil, err
	}
	h := &Host{c: c, cfg: cfg}
	h.ctx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		p := newProc(h, s, i)
		if p.scope.implicit {
			p.log.Warn("plugins: plugin configured for every workspace by default; set Spec.Workspaces to confine it")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst, err := p.start(ctx)
			if err == nil {
				if err = h.run(p, inst); err != nil {
					p.stop(inst)
				}
			}
			if err != nil {
				p.log.Error("plugins: plugin not loaded", "err", err)
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(h.procs, func(a, b *proc) int { return a.index - b.index })
	return h, errors.Join(errs...)
}

// defaultLease is how long a host's claim on a plugin's delivery outlives
// the host: a restarted host resumes delivery after it.
const defaultLease = 5 * time.Second

// run binds a started plugin's hooks and starts its supervisor and
// delivery.
func (h *Host) run(p *proc, inst *instance) error {
	unbind, err := p.bindBefore(h.c.Hooks())
	if err != nil {
		return err
	}
	if len(p.manifest.Events) > 0 {
		opts := append([]crm.DispatcherOption{crm.WithLease("", defaultLease)}, h.cfg.Dispatch...)
		p.disp = h.c.NewDispatcher(opts...)
		if err := p.disp.Subscribe(ConsumerName(p.spec.Name), p.consume); err != nil {
			unbind()
			return p.fail("subscribe", err)
		}
	}
	h.mu.Lock()
	h.unbind = append(h.unbind, unbind)
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	p.setUp(inst)
	h.wg.Add(1)
	go p.supervise(h.ctx, inst)
	if p.disp != nil {
		h.wg.Add(1)
		go p.deliverLoop(h.ctx)
	}
	return nil
}

// closeTimeout bounds Close: by then every plugin process was killed (see
// proc.stop); Close does not wait longer for go-plugin to let go of them.
const closeTimeout = 4500 * time.Millisecond

// Close unbinds the plugins' hooks, stops delivery and shuts every plugin
// process down, with everything it started: a plugin that does not exit
// when asked is killed. It returns within a few seconds whatever the
// plugins do.
func (h *Host) Close() error {
	h.once.Do(func() {
		h.mu.Lock()
		unbind := h.unbind
		h.mu.Unlock()
		for _, u := range unbind {
			u()
		}
		h.cancel()
		done := make(chan struct{})
		go func() {
			h.wg.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(closeTimeout):
			h.cfg.Logger.Error("plugins: close: gave up waiting for plugins to let go")
		}
	})
	return nil
}

// Dispatcher returns the dispatcher delivering a plugin's after-events, to
// inspect its cursor and dead letters (consumer ConsumerName(name)), or
// nil if no such plugin receives events.
func (h *Host) Dispatcher(name string) *crm.Dispatcher {
	for _, p := range h.procs {
		if p.spec.Name == name {
			return p.disp
		}
	}
	return nil
}

// Info describes a loaded plugin.
type Info struct {
	Name     string
	Manifest Manifest
	// Role is the role the plugin acts with, as principal
	// PrincipalID(Name), in workspaces with an access policy (see
	// Spec.Role).
	Role string
	// Workspaces are the workspaces the plugin is configured for, sorted,
	// or [AllWorkspaces] (see Spec.Workspaces).
	Workspaces []string
	// Contained reports whether the plugin's process runs in a PID
	// namespace of its own (Linux, where the system allows it), so that
	// every process it starts, detached or not, ends with it, even when
	// the host is killed. Otherwise stopping it stops its process group.
	Contained bool
	// Protocol is the protocol version negotiated with the running
	// process.
	Protocol int
	// Channel reports whether the running process's before-hooks go
	// through the before-hook channel of protocol version 3, rather than
	// gRPC calls.
	Channel bool
	Running bool
	PID     int
	// Restarts counts restarts after crashes or failed health checks.
	Restarts int64
	// Failures counts failed before-hooks (under either policy).
	Failures int64
	// Violations counts host calls refused for want of a grant or a
	// capability.
	Violations int64
	// LogsDropped counts log lines dropped by throttling.
	LogsDropped int64
	// LastError is the plugin's latest failure; once it is isolated (not
	// restarted any more), why it is.
	LastError error
}

// Plugins describes the loaded plugins, in configuration order.
func (h *Host) Plugins() []Info {
	out := make([]Info, 0, len(h.procs))
	for _, p := range h.procs {
		p.mu.Lock()
		info := Info{
			Name: p.spec.Name, Manifest: p.manifest, Role: p.role, Workspaces: p.scope.list(),
			Running: p.cur != nil, Contained: p.contained.Load(),
		}
		if p.cur != nil {
			info.Protocol, info.PID, info.Channel = p.cur.version, p.cur.pid, p.cur.channel != nil
		}
		p.mu.Unlock()
		info.Restarts, info.Failures, info.Violations = p.restarts.Load(), p.failures.Load(), p.violations.Load()
		info.LogsDropped = p.sink.droppedLines()
		if e := p.lastErr.Load(); e != nil {
			info.LastError = *e
		}
		out = append(out, info)
	}
	return out
}
