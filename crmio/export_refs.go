package crmio

import (
	"context"
	"errors"

	"github.com/crmkit/crmkit/crm"
)

// exportCtx turns IDs into the natural keys an export writes, with
// bounded caches.
type exportCtx struct {
	ctx       context.Context
	ws        *crm.Workspace
	companies map[string]string
	contacts  map[string]string
	pipelines map[string]*crm.Pipeline
	err       error
}

const exportCacheSize = 100_000

func newExportCtx(ctx context.Context, ws *crm.Workspace) *exportCtx {
	return &exportCtx{ctx: ctx, ws: ws, companies: map[string]string{}, contacts: map[string]string{}, pipelines: map[string]*crm.Pipeline{}}
}

func (x *exportCtx) fail(err error) {
	if x.err == nil {
		x.err = err
	}
}

func (x *exportCtx) companyRef(id string) string {
	if id == "" {
		return ""
	}
	if ref, ok := x.companies[id]; ok {
		return ref
	}
	ref := id
	c, err := x.ws.Companies().Get(x.ctx, id)
	switch {
	case err == nil && c.Domain != "":
		ref = c.Domain
	case err == nil:
		ref = c.Name
	case !errors.Is(err, crm.ErrNotFound):
		x.fail(err)
	}
	if len(x.companies) >= exportCacheSize {
		clear(x.companies)
	}
	x.companies[id] = ref
	return ref
}

func (x *exportCtx) contactRef(id string) string {
	if id == "" {
		return ""
	}
	if ref, ok := x.contacts[id]; ok {
		return ref
	}
	ref := id
	c, err := x.ws.Contacts().Get(x.ctx, id)
	switch {
	case err == nil && len(c.Emails) > 0:
		ref = c.Emails[0]
	case err != nil && !errors.Is(err, crm.ErrNotFound):
		x.fail(err)
	}
	if len(x.contacts) >= exportCacheSize {
		clear(x.contacts)
	}
	x.contacts[id] = ref
	return ref
}

func (x *exportCtx) pipeline(id string) *crm.Pipeline {
	if p, ok := x.pipelines[id]; ok {
		return p
	}
	var p *crm.Pipeline
	pl, err := x.ws.Pipelines().Get(x.ctx, id)
	switch {
	case err == nil:
		p = &pl
	case !errors.Is(err, crm.ErrNotFound):
		x.fail(err)
	}
	x.pipelines[id] = p
	return p
}

func (x *exportCtx) pipelineName(id string) string {
	if p := x.pipeline(id); p != nil {
		return p.Name
	}
	return id
}

func (x *exportCtx) stageName(pipelineID, stageID string) string {
	if p := x.pipeline(pipelineID); p != nil {
		if st, ok := p.Stage(stageID); ok {
			return st.Name
		}
	}
	return stageID
}
