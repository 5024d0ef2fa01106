package crmhttp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// Authenticator says who is asking: the host application's sessions or API
// keys. It returns the workspace the request acts in and the principal it
// acts as; an error answers the request with 401 and the error's text is
// not shown to the client.
type Authenticator func(r *http.Request) (workspace string, p crm.Principal, err error)

// Option changes a default of the handler.
type Option func(*config)

type config struct {
	timeout   time.Duration
	maxBody   int64
	maxImport int64
	heartbeat time.Duration
	poll      time.Duration
	idemMax   int
	idemTTL   time.Duration
	logger    *slog.Logger
}

// WithTimeout bounds the time of each request (30 seconds by default); a
// request past it is answered with 503. The event stream, imports and
// exports have no bound: they end when they are done or the client goes
// away.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithMaxBodyBytes caps the size of a request body (1 MiB by default); a
// larger one is answered with 413.
func WithMaxBodyBytes(n int64) Option { return func(c *config) { c.maxBody = n } }

// WithMaxImportBytes caps the size of an import's body (1 GiB by default;
// zero or less for no cap). Imports stream their body into the CRM batch
// by batch, so the cap bounds the work of one request, not its memory;
// WithMaxBodyBytes does not apply to them. A larger body stops the
// import (413 when nothing was answered yet) after the batches before
// the cap are committed.
func WithMaxImportBytes(n int64) Option { return func(c *config) { c.maxImport = n } }

// WithHeartbeat sets how often the event stream sends a comment while it
// has no events, so proxies keep the connection open (15 seconds by
// default).
func WithHeartbeat(d time.Duration) Option { return func(c *config) { c.heartbeat = d } }

// WithWatchPoll sets how often the event stream looks for events written
// by other processes sharing the store (see crm.Workspace.Watch; one second
// by default). Writes of this process arrive at once.
func WithWatchPoll(d time.Duration) Option { return func(c *config) { c.poll = d } }

// WithIdempotency sets how many Idempotency-Key responses the handler
// remembers (10,000 by default) and for how long (24 hours by default).
// They are kept in memory, per process.
func WithIdempotency(max int, ttl time.Duration) Option {
	return func(c *config) { c.idemMax, c.idemTTL = max, ttl }
}

// WithLogger logs the errors answered with 500, which the client sees
// without detail. The handler is silent by default.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// handler is what New returns: a mux built from the route table, and what
// every request shares.
type handler struct {
	crm    *crm.CRM
	auth   Authenticator
	cfg    config
	mux    *http.ServeMux
	routes []Route
	idem   *idemStore
}

// New returns the HTTP handler of c's API. auth names each request's
// workspace and principal. Its paths start at "/": mount it under a prefix
// with http.StripPrefix.
func New(c *crm.CRM, auth Authenticator, opts ...Option) http.Handler {
	cfg := config{
		timeout:   30 * time.Second,
		maxBody:   1 << 20,
		maxImport: 1 << 30,
		heartbeat: 15 * time.Second,
		idemMax:   10_000,
		idemTTL:   24 * time.Hour,
		logger:    slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	h := &handler{crm: c, auth: auth, cfg: cfg, mux: http.NewServeMux(), routes: Routes()}
	h.idem = newIdemStore(cfg.idemMax, cfg.idemTTL)
	for _, rt := range h.routes {
		h.mux.Handle(rt.Method+" "+rt.Pattern, h.serve(rt))
	}
	h.mux.HandleFunc("/", h.noRoute)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// call is one request being served: where it acts and as whom.
type call struct {
	h   *handler
	w   http.ResponseWriter
	r   *http.Request
	ctx context.Context
	ws  *crm.Workspace
	// ifMatch is the version If-Match pins, if it names one.
	ifMatch *int64
}

// serve wraps a route's function: authentication, the workspace, the
// principal, the time bound, the body limit, idempotency and errors.
func (h *handler) serve(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{h: h, w: w, r: r, ctx: r.Context()}
		if rt.public {
			h.finish(c, rt.handle(c))
			return
		}
		wsID, p, err := h.auth(r)
		if err != nil {
			h.finish(c, errUnauthorized)
			return
		}
		if !rt.stream && h.cfg.timeout > 0 {
			ctx, cancel := context.WithTimeout(c.ctx, h.cfg.timeout)
			defer cancel()
			c.ctx = ctx
		}
		c.ctx = crm.As(c.ctx, p)
		if c.ws, err = h.crm.Workspace(c.ctx, wsID); err != nil {
			if errors.Is(err, crm.ErrNotFound) {
				err = errNoWorkspace
			}
			h.finish(c, err)
			return
		}
		switch limit := h.cfg.maxBody; {
		case rt.upload:
			if h.cfg.maxImport > 0 {
				r.Body = http.MaxBytesReader(w, r.Body, h.cfg.maxImport)
			}
		case r.Body != nil && limit > 0:
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		if rt.IfMatch {
			if c.ifMatch, err = parseIfMatch(r.Header.Values("If-Match")); err != nil {
				h.finish(c, err)
				return
			}
		}
		if key := r.Header.Get("Idempotency-Key"); key != "" && rt.Idempotent {
			h.finish(c, h.idempotent(c, rt, wsID, p.ID, key))
			return
		}
		h.finish(c, rt.handle(c))
	})
}

// finish answers a request whose function failed; nil means it answered.
func (h *handler) finish(c *call, err error) {
	if err == nil {
		return
	}
	if c.r.Context().Err() != nil {
		return // the client went away: nobody reads an answer
	}
	if c.ifMatch != nil && errors.Is(err, crm.ErrConflict) {
		err = precondition(err)
	}
	pr := problemOf(err)
	if pr.Status >= 500 && !errors.Is(err, context.DeadlineExceeded) {
		h.cfg.logger.ErrorContext(c.ctx, "crmhttp: request failed",
			"method", c.r.Method, "path", c.r.URL.Path, "err", err)
	}
	writeProblem(c.w, pr)
}

// noRoute answers a request no route matches: 405 with the methods the
// path has, or 404.
func (h *handler) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := h.mux.Handler(r2); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		writeProblem(w, Problem{Type: typeNoRoute, Title: "Method not allowed", Status: http.StatusMethodNotAllowed,
			Detail: r.Method + " is not served at " + r.URL.Path})
		return
	}
	writeProblem(w, Problem{Type: typeNoRoute, Title: "Not found", Status: http.StatusNotFound,
		Detail: "no route serves " + r.URL.Path})
}
