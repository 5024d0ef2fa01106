package crmhttp

import (
	"net/http"

	"github.com/crmkit/crmkit/crm"
)

// Segments is the answer of GET /segments: every segment of the workspace.
type Segments struct {
	Items []crm.Segment `json:"items"`
}

// SegmentPatch is the body of PATCH /segments/{id}: the fields to change.
// Object and Static cannot change; a static segment's filter neither.
type SegmentPatch struct {
	Name   *string `json:"name,omitempty"`
	Filter *string `json:"filter,omitempty"`
}

// Count is the answer of GET /segments/{id}/count and GET /{kind}/count.
type Count struct {
	Count int64 `json:"count"`
}

func listSegments(c *call) error {
	out := Segments{Items: []crm.Segment{}}
	for s, err := range c.ws.Segments().List(c.ctx) {
		if err != nil {
			return err
		}
		out.Items = append(out.Items, s)
	}
	return c.writeJSON(http.StatusOK, out)
}

func createSegment(c *call) error {
	var s crm.Segment
	if err := c.decodeBody(&s); err != nil {
		return err
	}
	s, err := c.ws.Segments().Create(c.ctx, s)
	if err != nil {
		return err
	}
	c.w.Header().Set("Location", "segments/"+s.ID)
	return c.writeJSON(http.StatusCreated, s)
}

func getSegment(c *call) error {
	s, err := c.ws.Segments().Get(c.ctx, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, s)
}

func patchSegment(c *call) error {
	var p SegmentPatch
	if err := c.decodeBody(&p); err != nil {
		return err
	}
	s, err := c.ws.Segments().Update(c.ctx, c.r.PathValue("id"), func(s *crm.Segment) error {
		if p.Name != nil {
			s.Name = *p.Name
		}
		if p.Filter != nil {
			s.Filter = *p.Filter
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, s)
}

func deleteSegment(c *call) error {
	if err := c.ws.Segments().Delete(c.ctx, c.r.PathValue("id")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// segmentMembers answers a page of a segment's members: the records
// themselves, as a filtered list answers them.
func segmentMembers(c *call) error {
	q := c.r.URL.Query()
	limit, err := intParam(q, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	pg, err := c.ws.Segments().Page(c.ctx, c.r.PathValue("id"), crm.MemberOptions{After: q.Get("after"), Limit: limit})
	if err != nil {
		return &paramError{err}
	}
	out := crm.Page[any]{Items: make([]any, 0, len(pg.Items)), Next: pg.Next}
	for _, m := range pg.Items {
		out.Items = append(out.Items, m.Record)
	}
	return c.writeJSON(http.StatusOK, out)
}

func countSegment(c *call) error {
	n, err := c.ws.Segments().Count(c.ctx, c.r.PathValue("id"))
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, Count{Count: n})
}
