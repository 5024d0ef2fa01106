package crmhttp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/crmkit/crmkit/crm"
)

// activityRecords serves crm.Activities as the records the shared routes
// read and write: Log creates, and a page runs in ID order (the order in
// which activities were logged).
type activityRecords struct {
	ws *crm.Workspace
	s  *crm.Activities
}

func activitiesOf(ws *crm.Workspace) records[crm.Activity] {
	return activityRecords{ws: ws, s: ws.Activities()}
}

func (a activityRecords) Get(ctx context.Context, id string) (crm.Activity, error) {
	return a.s.Get(ctx, id)
}

func (a activityRecords) Create(ctx context.Context, r crm.Activity) (crm.Activity, error) {
	return a.s.Log(ctx, r)
}

func (a activityRecords) CreateMany(ctx context.Context, rs []crm.Activity) ([]crm.Activity, error) {
	return a.s.LogMany(ctx, rs)
}

func (a activityRecords) Update(ctx context.Context, id string, mutate func(*crm.Activity) error, opts ...crm.UpdateOption) (crm.Activity, error) {
	return a.s.Update(ctx, id, mutate, opts...)
}

// Delete soft-deletes an activity. crm deletes activities at any version,
// so their DELETE route takes no If-Match.
func (a activityRecords) Delete(ctx context.Context, id string, opts ...crm.UpdateOption) error {
	if len(opts) > 0 {
		return errors.New("crmhttp: activities are not deleted at a version")
	}
	return a.s.Delete(ctx, id)
}

// Page reads one page of the live activities the principal may read, in
// ID order (see idPage).
func (a activityRecords) Page(ctx context.Context, opts crm.ListOptions) (crm.Page[crm.Activity], error) {
	if opts.Sort != "" || opts.Desc || opts.Deleted {
		return crm.Page[crm.Activity]{}, &crm.ValidationError{Kind: "activity",
			Fields: []crm.FieldError{{Field: "sort", Reason: "activities are listed in the order they were logged"}}}
	}
	return idPage[crm.Activity](ctx, a.ws, crm.KindActivity, opts)
}

// idPage reads one page of the live records of a kind the principal may
// read, in ID order (the order they were created). Its cursor is the last
// record's ID, encoded.
func idPage[T any](ctx context.Context, ws *crm.Workspace, kind crm.Kind, opts crm.ListOptions) (crm.Page[T], error) {
	after, err := idCursor(opts.After)
	if err != nil {
		return crm.Page[T]{}, err
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	pg := crm.Page[T]{Items: []T{}}
	err = ws.View(ctx, func(rt *crm.ReadTx) error {
		for r, err := range rt.Records(kind, after) {
			if err != nil {
				return err
			}
			rec, ok := r.(*T)
			if !ok {
				return fmt.Errorf("crmhttp: a list of %ss yielded a %T", kind, r)
			}
			if len(pg.Items) == limit {
				pg.Next = nextID(crm.MetaOf(&pg.Items[limit-1]).ID)
				break
			}
			pg.Items = append(pg.Items, *rec)
		}
		return nil
	})
	if err != nil {
		return crm.Page[T]{}, err
	}
	return pg, nil
}

// nextID is the cursor of a list in ID order that continues after id.
func nextID(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

// idCursor decodes a cursor that names the ID a list continues after.
func idCursor(cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) == 0 || len(b) > crm.MaxIDLength {
		return "", fmt.Errorf("crmhttp: %w", crm.ErrBadCursor)
	}
	return string(b), nil
}

// page answers a page of records in their one order: ?limit= and ?after=.
func (rs resource[T]) page(c *call) error {
	q := c.r.URL.Query()
	limit, err := intParam(q, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	pg, err := rs.of(c.ws).Page(c.ctx, crm.ListOptions{After: q.Get("after"), Limit: limit})
	if err != nil {
		return &paramError{err}
	}
	if pg.Items == nil {
		pg.Items = []T{}
	}
	return c.writeJSON(http.StatusOK, pg)
}

// Completion is the body of POST /activities/{id}/complete.
type Completion struct {
	// Done is true for done, false for not done; it is required.
	Done *bool `json:"done"`
}

// completeActivity marks a task done or not done, as
// crm.Activities.Complete does, at the version If-Match pins.
func completeActivity(c *call) error {
	var d Completion
	if err := c.decodeBody(&d); err != nil {
		return err
	}
	if d.Done == nil {
		return &httpError{Problem{Type: typeValidation, Title: "Invalid activity", Status: http.StatusUnprocessableEntity,
			Detail: "done: is required", Errors: []FieldProblem{{Field: "done", Reason: "is required"}}}}
	}
	a, err := c.ws.Activities().Update(c.ctx, c.r.PathValue("id"), func(a *crm.Activity) error {
		a.Done = *d.Done
		return nil
	}, c.updateOpts()...)
	if err != nil {
		return err
	}
	return writeRecord(c, http.StatusOK, &a)
}
