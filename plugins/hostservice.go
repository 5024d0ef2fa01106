package plugins

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/proto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// grant scopes a plugin's calls to the host service to the workspace of
// the call it was issued for, for as long as that call runs.
type grant struct {
	p         *proc
	workspace string
	// tx reads inside the write's transaction during a before-hook, which
	// allows no writes; nil for after-events.
	tx      txReader
	mu      sync.RWMutex // held for reading while a host call uses the grant
	revoked bool
}

// grants are the grants in force, by token.
type grants struct {
	mu sync.Mutex
	m  map[string]*grant
}

func (gs *grants) issue(p *proc, workspace string, tx txReader) (string, *grant) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	g := &grant{p: p, workspace: workspace, tx: tx}
	gs.mu.Lock()
	if gs.m == nil {
		gs.m = map[string]*grant{}
	}
	gs.m[token] = g
	gs.mu.Unlock()
	return token, g
}

// revoke ends a grant, waiting for host calls still using it: once it
// returns, nothing reads the write's transaction any more.
func (gs *grants) revoke(token string, g *grant) {
	gs.mu.Lock()
	delete(gs.m, token)
	gs.mu.Unlock()
	g.mu.Lock()
	g.revoked = true
	g.mu.Unlock()
}

// hostService is the Host service one plugin reaches through the broker.
type hostService struct {
	proto.UnimplementedHostServer
	p *proc
}

// authorize checks a host call against its grant and the plugin's
// capabilities. On success the grant is held (release with RUnlock).
func (s *hostService) authorize(op, token, workspace, access, kind string) (*grant, error) {
	s.p.h.grants.mu.Lock()
	g := s.p.h.grants.m[token]
	s.p.h.grants.mu.Unlock()
	var err error
	switch {
	case !knownKind(kind):
		return nil, status.Errorf(codes.InvalidArgument, "plugins: no record kind %q", kind)
	case g == nil || g.p != s.p:
		err = fmt.Errorf("%w: no grant in force for this call", ErrWorkspace)
	case workspace != g.workspace:
		err = fmt.Errorf("%w: asked for workspace %q, the call is for %q", ErrWorkspace, workspace, g.workspace)
	case !s.p.scope.reaches(g.workspace):
		err = fmt.Errorf("%w: the plugin is not configured for workspace %q", ErrWorkspace, g.workspace)
	case !s.p.caps.allows(access, kind):
		err = fmt.Errorf("%w: %s:%s was not declared", ErrCapability, access, kind)
	}
	if err == nil {
		g.mu.RLock()
		if !g.revoked {
			return g, nil
		}
		g.mu.RUnlock()
		err = fmt.Errorf("%w: the grant expired with its call", ErrWorkspace)
	}
	s.p.violations.Add(1)
	e := s.p.fail("host "+op, err)
	s.p.log.Warn("plugins: host call refused", "op", op, "kind", kind, "err", e)
	return nil, status.Error(codes.PermissionDenied, e.Error())
}

// workspace returns the grant's workspace and the context every CRM call
// made for the plugin runs under: it acts as the plugin's principal, so
// the workspace's access policy decides what the call may see and do (on
// top of the capabilities authorize checked), and it is recorded with the
// plugin's name as actor and source.
func (s *hostService) workspace(ctx context.Context, g *grant) (context.Context, *crm.Workspace, error) {
	name := PrincipalID(s.p.spec.Name)
	ctx = crm.WithSource(crm.WithActor(crm.As(ctx, s.p.principal()), name), name)
	w, err := s.p.h.c.Workspace(ctx, g.workspace)
	return ctx, w, err
}

// Get reads one record.
func (s *hostService) Get(ctx context.Context, req *proto.GetRequest) (*proto.RecordReply, error) {
	g, err := s.authorize("get", req.Grant, req.Workspace, "read", req.Kind)
	if err != nil {
		return nil, err
	}
	defer g.mu.RUnlock()
	var rec any
	if g.tx != nil {
		rec, err = s.readInHook(g, req.Kind, req.Id)
	} else {
		ctx, w, werr := s.workspace(ctx, g)
		if werr != nil {
			return nil, toStatus(werr)
		}
		rec, err = records[req.Kind].get(ctx, w, req.Id)
	}
	return reply(rec, err)
}

func readTx(tx txReader, kind, id string) (any, error) {
	switch kind {
	case "contact":
		return tx.Contact(id)
	case "company":
		return tx.Company(id)
	case "deal":
		return tx.Deal(id)
	}
	return nil, status.Errorf(codes.FailedPrecondition, "plugins: a before-hook reads contacts, companies and deals only, not %s", kind)
}

// Create stores a new record.
func (s *hostService) Create(ctx context.Context, req *proto.CreateRequest) (*proto.RecordReply, error) {
	g, err := s.authorize("create", req.Grant, req.Workspace, "write", req.Kind)
	if err != nil {
		return nil, err
	}
	defer g.mu.RUnlock()
	if g.tx != nil {
		return nil, status.Error(codes.FailedPrecondition, "plugins: no writes during a before-hook")
	}
	ctx, w, err := s.workspace(ctx, g)
	if err != nil {
		return nil, toStatus(err)
	}
	return reply(records[req.Kind].create(ctx, w, req.Record))
}

// Update changes fields of a record.
func (s *hostService) Update(ctx context.Context, req *proto.UpdateRequest) (*proto.RecordReply, error) {
	g, err := s.authorize("update", req.Grant, req.Workspace, "write", req.Kind)
	if err != nil {
		return nil, err
	}
	defer g.mu.RUnlock()
	if g.tx != nil {
		return nil, status.Error(codes.FailedPrecondition, "plugins: no writes during a before-hook; return field changes instead")
	}
	ctx, w, err := s.workspace(ctx, g)
	if err != nil {
		return nil, toStatus(err)
	}
	return reply(records[req.Kind].update(ctx, w, req.Id, req.Changes))
}

// Timeline returns a page of a record's timeline, without the entries of
// kinds the plugin may not read (see mayReadEntry).
func (s *hostService) Timeline(ctx context.Context, req *proto.TimelineRequest) (*proto.TimelineReply, error) {
	g, err := s.authorize("timeline", req.Grant, req.Workspace, "read", req.Kind)
	if err != nil {
		return nil, err
	}
	defer g.mu.RUnlock()
	if g.tx != nil {
		return nil, status.Error(codes.FailedPrecondition, "plugins: no timeline reads during a before-hook")
	}
	ctx, w, err := s.workspace(ctx, g)
	if err != nil {
		return nil, toStatus(err)
	}
	kind, err := kindOf(req.Kind)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	page, err := w.Timeline(ctx, crm.Ref{Kind: kind, ID: req.Id}, req.Cursor, int(req.Limit))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &proto.TimelineReply{Next: page.Next}
	for _, e := range page.Items {
		if !s.mayReadEntry(e) {
			continue
		}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, toStatus(err)
		}
		out.Entries = append(out.Entries, b)
	}
	return out, nil
}

// mayReadEntry reports whether the plugin's capabilities cover every
// record kind a timeline entry holds: an activity needs read:activity, a
// change read access to the kind of the record changed. Entries they do
// not cover are left out of the page.
func (s *hostService) mayReadEntry(e crm.TimelineEntry) bool {
	if e.Activity != nil && !s.p.caps.allows("read", "activity") {
		return false
	}
	return e.Change == nil || s.p.caps.allows("read", e.Change.Kind.String())
}

func reply(rec any, err error) (*proto.RecordReply, error) {
	if err != nil {
		return nil, toStatus(err)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, toStatus(err)
	}
	return &proto.RecordReply{Record: b}, nil
}

// toStatus maps a CRM error to the gRPC status the plugin sees.
func toStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, crm.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, crm.ErrForbidden):
		// The plugin's role does not allow it. Not a violation of its
		// grant or capabilities (not counted): policies change.
		code = codes.PermissionDenied
	case errors.Is(err, crm.ErrInvalid), errors.Is(err, ErrMalformed):
		code = codes.InvalidArgument
	case errors.Is(err, crm.ErrConflict):
		code = codes.Aborted
	case errors.Is(err, crm.ErrVetoed), errors.Is(err, crm.ErrDeleted):
		code = codes.FailedPrecondition
	}
	return status.Error(code, err.Error())
}
