package crmhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
)

// records is what the services of crm (Contacts, Companies, Deals) have in
// common, for the routes every kind of record shares.
type records[T any] interface {
	Get(ctx context.Context, id string) (T, error)
	Create(ctx context.Context, r T) (T, error)
	CreateMany(ctx context.Context, rs []T) ([]T, error)
	Update(ctx context.Context, id string, mutate func(*T) error, opts ...crm.UpdateOption) (T, error)
	Delete(ctx context.Context, id string, opts ...crm.UpdateOption) error
	Page(ctx context.Context, opts crm.ListOptions) (crm.Page[T], error)
}

func contactsOf(ws *crm.Workspace) records[crm.Contact]  { return ws.Contacts() }
func companiesOf(ws *crm.Workspace) records[crm.Company] { return ws.Companies() }
func dealsOf(ws *crm.Workspace) records[crm.Deal]        { return ws.Deals() }

// resource is one kind of record and where it is served.
type resource[T any] struct {
	kind     crm.Kind
	path     string // the path's first segment: "contacts"
	typeName string // the OpenAPI schema: "Contact"
	of       func(*crm.Workspace) records[T]
}

// maxBatch caps the items of one batch request.
const maxBatch = 1000

func (rs resource[T]) list(c *call) error {
	q := c.r.URL.Query()
	limit, err := intParam(q, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	desc, err := boolParam(q, "desc")
	if err != nil {
		return err
	}
	deleted, err := boolParam(q, "deleted")
	if err != nil {
		return err
	}
	after := q.Get("after")
	if where := q.Get("where"); where != "" {
		switch {
		case q.Get("sort") != "" || desc:
			return badParam("sort", "does not combine with where: a filtered list is in ID order")
		case deleted:
			return badParam("deleted", "does not combine with where: a filter selects live records")
		}
		e, err := filter.Parse(where)
		if err != nil {
			return err
		}
		pg, err := c.ws.Query(rs.kind, e).Page(c.ctx, crm.MemberOptions{After: after, Limit: limit})
		if err != nil {
			return &paramError{err}
		}
		out := crm.Page[T]{Items: make([]T, 0, len(pg.Items)), Next: pg.Next}
		for _, m := range pg.Items {
			r, ok := m.Record.(T)
			if !ok {
				return fmt.Errorf("crmhttp: query of %ss yielded a %T", rs.kind, m.Record)
			}
			out.Items = append(out.Items, r)
		}
		return c.writeJSON(http.StatusOK, out)
	}
	pg, err := rs.of(c.ws).Page(c.ctx, crm.ListOptions{
		Sort: crm.SortField(q.Get("sort")), Desc: desc, After: after, Limit: limit, Deleted: deleted,
	})
	if err != nil {
		return &paramError{err}
	}
	if pg.Items == nil {
		pg.Items = []T{}
	}
	return c.writeJSON(http.StatusOK, pg)
}

// count answers how many live records the principal may read match
// ?where= (all of them without it), from the query planner: the counters
// and indexes answer it where they can, as for a segment's count.
func (rs resource[T]) count(c *call) error {
	var e filter.Expr
	if where := c.r.URL.Query().Get("where"); where != "" {
		var err error
		if e, err = filter.Parse(where); err != nil {
			return err
		}
	}
	var n int64
	err := c.ws.View(c.ctx, func(rt *crm.ReadTx) error {
		var err error
		n, err = rt.Count(rs.kind, e)
		return err
	})
	if err != nil {
		return &paramError{err}
	}
	return c.writeJSON(http.StatusOK, Count{Count: n})
}

func (rs resource[T]) get(c *call) error {
	id := c.r.PathValue("id")
	r, err := rs.of(c.ws).Get(c.ctx, id)
	if err != nil {
		return err
	}
	if crm.MetaOf(&r).Deleted() {
		return fmt.Errorf("crm: %s %s: %w", rs.kind, id, crm.ErrDeleted)
	}
	return writeRecord(c, http.StatusOK, &r)
}

func (rs resource[T]) create(c *call) error {
	var r T
	if err := c.decodeBody(&r); err != nil {
		return err
	}
	r, err := rs.of(c.ws).Create(c.ctx, r)
	if err != nil {
		return err
	}
	// Relative to the request's path, so it holds under any prefix.
	c.w.Header().Set("Location", rs.path+"/"+crm.MetaOf(&r).ID)
	return writeRecord(c, http.StatusCreated, &r)
}

func (rs resource[T]) patch(c *call) error {
	var patch map[string]any
	if err := c.decodeBody(&patch); err != nil {
		return err
	}
	if patch == nil {
		return badRequest("the body must be a JSON object of the fields to change")
	}
	r, err := rs.of(c.ws).Update(c.ctx, c.r.PathValue("id"), func(r *T) error {
		return mergePatch(r, patch)
	}, c.updateOpts()...)
	if err != nil {
		return err
	}
	return writeRecord(c, http.StatusOK, &r)
}

func (rs resource[T]) delete(c *call) error {
	if err := rs.of(c.ws).Delete(c.ctx, c.r.PathValue("id"), c.updateOpts()...); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (rs resource[T]) timeline(c *call) error {
	q := c.r.URL.Query()
	limit, err := intParam(q, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	pg, err := c.ws.Timeline(c.ctx, crm.Ref{Kind: rs.kind, ID: c.r.PathValue("id")}, q.Get("after"), limit)
	if err != nil {
		return err
	}
	if pg.Items == nil {
		pg.Items = []crm.TimelineEntry{}
	}
	return c.writeJSON(http.StatusOK, pg)
}

// BatchResult is the outcome of one item of a batch: the created record,
// or the problem that kept it out.
type BatchResult struct {
	// Index is the item's position in the request, from 0.
	Index int `json:"index"`
	// Status is the item's status, as if it had been created alone: 201,
	// or the status of Problem.
	Status  int      `json:"status"`
	Record  any      `json:"record,omitempty"`
	Problem *Problem `json:"problem,omitempty"`
}

// BatchResults is the answer of a batch: one result per item, in the
// request's order, and how many were created and refused.
type BatchResults struct {
	Items   []BatchResult `json:"items"`
	Created int           `json:"created"`
	Failed  int           `json:"failed"`
}

// batch creates many records: the valid ones are written, each refused
// one is reported with its problem; the answer is 200 either way.
func (rs resource[T]) batch(c *call) error {
	var raw []json.RawMessage
	if err := c.decodeBody(&raw); err != nil {
		return err
	}
	if len(raw) > maxBatch {
		return badParam("body", fmt.Sprintf("holds %d items, more than %d", len(raw), maxBatch))
	}
	out := BatchResults{Items: make([]BatchResult, len(raw))}
	var (
		valid []T
		at    []int // at[i] is valid[i]'s index in raw
	)
	for i, m := range raw {
		var r T
		dec := json.NewDecoder(bytes.NewReader(m))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			p := problemOf(jsonError(err))
			out.Items[i] = BatchResult{Index: i, Status: p.Status, Problem: &p}
			continue
		}
		valid = append(valid, r)
		at = append(at, i)
	}
	if len(valid) > 0 {
		created, err := rs.of(c.ws).CreateMany(c.ctx, valid)
		refused := map[int]error{}
		var be *crm.BatchError
		switch {
		case errors.As(err, &be):
			for _, it := range be.Items {
				refused[it.Index] = it.Err
			}
		case err != nil:
			return err
		}
		for j, r := range created {
			i := at[j]
			if err, ok := refused[j]; ok {
				p := problemOf(err)
				out.Items[i] = BatchResult{Index: i, Status: p.Status, Problem: &p}
				continue
			}
			out.Items[i] = BatchResult{Index: i, Status: http.StatusCreated, Record: r}
		}
	}
	for _, it := range out.Items {
		if it.Status == http.StatusCreated {
			out.Created++
		} else {
			out.Failed++
		}
	}
	return c.writeJSON(http.StatusOK, out)
}

// mergePatch applies an RFC 7396 merge patch to a record through its JSON
// form: fields the patch names are replaced (objects merged, null clears),
// the others kept. The record's Meta is the CRM's and stays as it is.
func mergePatch[T any](r *T, patch map[string]any) error {
	meta := *crm.MetaOf(r)
	if err := mergeInto(r, patch); err != nil {
		return err
	}
	*crm.MetaOf(r) = meta
	return nil
}

func mergeObject(dst, patch map[string]any) map[string]any {
	if dst == nil {
		dst = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(dst, k)
		case map[string]any:
			d, _ := dst[k].(map[string]any)
			dst[k] = mergeObject(d, pv)
		default:
			dst[k] = v
		}
	}
	return dst
}
