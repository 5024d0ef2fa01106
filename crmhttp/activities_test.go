package crmhttp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestActivities(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	ada, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)

	r := c.do("POST", "/activities", map[string]any{"type": "task", "subject": "Call back", "contact_ids": []string{ada.ID}},
		"Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var task crm.Activity
	r.decode(t, &task)
	assert.Equal(t, "activities/"+task.ID, r.Header.Get("Location"))
	first := r.Header.Get("ETag")
	again := c.do("POST", "/activities", map[string]any{"type": "task", "subject": "Call back", "contact_ids": []string{ada.ID}},
		"Idempotency-Key", "k1")
	assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))

	r = c.do("GET", "/activities/"+task.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, first, r.Header.Get("ETag"))

	r = c.do("PATCH", "/activities/"+task.ID, `{"subject":"Call back today"}`, "If-Match", first)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.decode(t, &task)
	assert.Equal(t, "Call back today", task.Subject)

	// Completing at a version it no longer has fails; at the current one it works.
	p := c.do("POST", "/activities/"+task.ID+"/complete", `{"done":true}`, "If-Match", first).problem(t)
	assert.Equal(t, http.StatusPreconditionFailed, p.Status)
	r = c.do("POST", "/activities/"+task.ID+"/complete", `{"done":true}`, "If-Match", r.Header.Get("ETag"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.decode(t, &task)
	assert.True(t, task.Done)
	assert.False(t, task.DoneAt.IsZero())
	r = c.do("POST", "/activities/"+task.ID+"/complete", `{"done":false}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	task = crm.Activity{}
	r.decode(t, &task)
	assert.False(t, task.Done)
	p = c.do("POST", "/activities/"+task.ID+"/complete", `{}`).problem(t)
	assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
	assert.Equal(t, []string{"done"}, fields(p))

	t.Run("invalid", func(t *testing.T) {
		// An activity links to at least one record.
		p := c.do("POST", "/activities", map[string]any{"type": "note", "body": "orphan"}).problem(t)
		assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
		assert.NotEmpty(t, p.Errors)
	})
	t.Run("not found", func(t *testing.T) {
		for _, rq := range [][2]string{{"GET", "/activities/a_nope"}, {"PATCH", "/activities/a_nope"},
			{"DELETE", "/activities/a_nope"}, {"POST", "/activities/a_nope/complete"}} {
			p := c.do(rq[0], rq[1], `{"done":true}`).problem(t)
			assert.Equal(t, http.StatusNotFound, p.Status, "%s %s", rq[0], rq[1])
		}
	})

	assert.Equal(t, http.StatusNoContent, c.do("DELETE", "/activities/"+task.ID, nil).Status)
	assert.Equal(t, http.StatusNotFound, c.do("GET", "/activities/"+task.ID, nil).problem(t).Status)
}

func TestActivityPaging(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	ada, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	in := make([]crm.Activity, 25)
	for i := range in {
		in[i] = crm.Activity{Type: crm.ActivityNote, Body: fmt.Sprintf("note %d", i), ContactIDs: []string{ada.ID}}
	}
	_, err = e.WS.Activities().LogMany(e.Ctx, in)
	require.NoError(t, err)

	seen := map[string]bool{}
	var sizes []int
	after := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		r := c.do("GET", "/activities?limit=10&after="+url.QueryEscape(after), nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var pg crm.Page[crm.Activity]
		r.decode(t, &pg)
		sizes = append(sizes, len(pg.Items))
		for _, a := range pg.Items {
			assert.False(t, seen[a.ID], "%s twice", a.ID)
			seen[a.ID] = true
		}
		if pg.Next == "" {
			break
		}
		after = pg.Next
	}
	assert.Equal(t, []int{10, 10, 5}, sizes)
	for _, q := range []string{"after=%21%21", "limit=0"} {
		p := c.do("GET", "/activities?"+q, nil).problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status, q)
	}
}

func TestPipelines(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	r := c.do("POST", "/pipelines", map[string]any{"name": "Renewals", "stages": []map[string]any{
		{"name": "Open", "probability": 20, "kind": "open"},
		{"name": "Won", "probability": 100, "kind": "won"},
		{"name": "Lost", "probability": 0, "kind": "lost"},
	}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var pl crm.Pipeline
	r.decode(t, &pl)
	assert.Equal(t, "pipelines/"+pl.ID, r.Header.Get("Location"))
	tag := r.Header.Get("ETag")

	r = c.do("GET", "/pipelines", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var pg crm.Page[crm.Pipeline]
	r.decode(t, &pg)
	var names []string
	for _, p := range pg.Items {
		names = append(names, p.Name)
	}
	assert.Contains(t, names, "Renewals")

	r = c.do("PATCH", "/pipelines/"+pl.ID, `{"name":"Renewals 2025"}`, "If-Match", tag)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	p := c.do("PATCH", "/pipelines/"+pl.ID, `{"name":"Stale"}`, "If-Match", tag).problem(t)
	assert.Equal(t, http.StatusPreconditionFailed, p.Status)

	r = c.do("GET", "/pipelines/"+pl.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.decode(t, &pl)
	assert.Equal(t, "Renewals 2025", pl.Name)
	assert.Len(t, pl.Stages, 3)

	p = c.do("POST", "/pipelines", map[string]any{"name": ""}).problem(t)
	assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
	assert.NotEmpty(t, p.Errors)
	assert.Equal(t, http.StatusNotFound, c.do("GET", "/pipelines/p_nope", nil).problem(t).Status)
	assert.Equal(t, http.StatusNotFound, c.do("PATCH", "/pipelines/p_nope", `{"name":"x"}`).problem(t).Status)
}
