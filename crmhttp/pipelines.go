package crmhttp

import (
	"context"
	"errors"
	"net/http"

	"github.com/crmkit/crmkit/crm"
)

// pipelineRecords serves crm.Pipelines as the records the shared routes
// read and write. A workspace has few pipelines: they are listed whole.
type pipelineRecords struct{ s *crm.Pipelines }

func pipelinesOf(ws *crm.Workspace) records[crm.Pipeline] { return pipelineRecords{ws.Pipelines()} }

func (p pipelineRecords) Get(ctx context.Context, id string) (crm.Pipeline, error) {
	return p.s.Get(ctx, id)
}

func (p pipelineRecords) Create(ctx context.Context, r crm.Pipeline) (crm.Pipeline, error) {
	return p.s.Create(ctx, r)
}

// CreateMany creates pipelines one by one; no route batches them.
func (p pipelineRecords) CreateMany(ctx context.Context, rs []crm.Pipeline) ([]crm.Pipeline, error) {
	out := make([]crm.Pipeline, 0, len(rs))
	for _, r := range rs {
		c, err := p.s.Create(ctx, r)
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (p pipelineRecords) Update(ctx context.Context, id string, mutate func(*crm.Pipeline) error, opts ...crm.UpdateOption) (crm.Pipeline, error) {
	return p.s.Update(ctx, id, mutate, opts...)
}

func (p pipelineRecords) Delete(ctx context.Context, id string, opts ...crm.UpdateOption) error {
	if len(opts) > 0 {
		return errors.New("crmhttp: pipelines are not deleted at a version")
	}
	return p.s.Delete(ctx, id)
}

// Page lists every pipeline; it has no next page.
func (p pipelineRecords) Page(ctx context.Context, opts crm.ListOptions) (crm.Page[crm.Pipeline], error) {
	pg := crm.Page[crm.Pipeline]{Items: []crm.Pipeline{}}
	for r, err := range p.s.List(ctx) {
		if err != nil {
			return crm.Page[crm.Pipeline]{}, err
		}
		pg.Items = append(pg.Items, r)
	}
	return pg, nil
}

// listAll answers every record of a kind listed whole, as one page.
func (rs resource[T]) listAll(c *call) error {
	pg, err := rs.of(c.ws).Page(c.ctx, crm.ListOptions{})
	if err != nil {
		return err
	}
	if pg.Items == nil {
		pg.Items = []T{}
	}
	return c.writeJSON(http.StatusOK, pg)
}
