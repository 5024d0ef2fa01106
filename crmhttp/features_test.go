package crmhttp_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdempotentCreate(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	body := crm.Contact{FirstName: "Once", Emails: []string{"once@example.com"}}
	first := c.do("POST", "/contacts", body, "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, first.Status, "%s", first.Body)
	again := c.do("POST", "/contacts", body, "Idempotency-Key", "k1")
	assert.Equal(t, http.StatusCreated, again.Status)
	assert.Equal(t, string(first.Body), string(again.Body))
	assert.Equal(t, first.Header.Get("ETag"), again.Header.Get("ETag"))
	assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))

	// Concurrent retries of one key run it once.
	var wg sync.WaitGroup
	replies := make([]reply, 8)
	for i := range replies {
		wg.Go(func() {
			req := map[string]any{"first_name": "Twice"}
			replies[i] = e.admin(t).do("POST", "/contacts", req, "Idempotency-Key", "k2")
		})
	}
	wg.Wait()
	for _, r := range replies {
		assert.Equal(t, http.StatusCreated, r.Status)
		assert.Equal(t, string(replies[0].Body), string(r.Body))
	}

	p := c.do("POST", "/contacts", crm.Contact{FirstName: "Other"}, "Idempotency-Key", "k1").problem(t)
	assert.Equal(t, http.StatusUnprocessableEntity, p.Status)

	// Keys are the principal's own.
	r := e.as(t, "someone", "admin").do("POST", "/contacts", crm.Contact{FirstName: "Once"}, "Idempotency-Key", "k1")
	assert.Equal(t, http.StatusCreated, r.Status)
	assert.Empty(t, r.Header.Get("Idempotent-Replayed"))

	pg, err := e.WS.Contacts().Page(e.Ctx, crm.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, pg.Items, 3)

	// The store is bounded: an evicted key runs again.
	small := setup(t, crmhttp.WithIdempotency(1, time.Hour)).admin(t)
	a1 := small.do("POST", "/companies", crm.Company{Name: "A"}, "Idempotency-Key", "a")
	small.do("POST", "/companies", crm.Company{Name: "B"}, "Idempotency-Key", "b")
	a2 := small.do("POST", "/companies", crm.Company{Name: "A"}, "Idempotency-Key", "a")
	assert.Equal(t, http.StatusCreated, a2.Status)
	assert.NotEqual(t, string(a1.Body), string(a2.Body))
}

func TestBatch(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	r := c.do("POST", "/contacts/batch", `[
		{"first_name": "Ok1", "emails": ["ok1@example.com"]},
		{"first_name": "Bad", "emails": ["nope"]},
		{"first_name": 5},
		{"first_name": "Ok2"},
		{"first_name": "Dup", "emails": ["ok1@example.com"]}
	]`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var res struct {
		Items []struct {
			Index   int
			Status  int
			Record  *crm.Contact
			Problem *crmhttp.Problem
		}
		Created, Failed int
	}
	r.decode(t, &res)
	assert.Equal(t, 2, res.Created)
	assert.Equal(t, 3, res.Failed)
	require.Len(t, res.Items, 5)
	var statuses []int
	for i, it := range res.Items {
		assert.Equal(t, i, it.Index)
		statuses = append(statuses, it.Status)
	}
	assert.Equal(t, []int{201, 422, 400, 201, 409}, statuses, "the last one takes the first one's address")
	assert.Equal(t, "Ok1", res.Items[0].Record.FirstName)
	assert.NotEmpty(t, res.Items[3].Record.ID)
	assert.Equal(t, []string{"emails[0]"}, fields(*res.Items[1].Problem))
	assert.Equal(t, []string{"first_name"}, fields(*res.Items[2].Problem))

	assert.Equal(t, http.StatusBadRequest, c.do("POST", "/contacts/batch", `{"first_name": "x"}`).problem(t).Status)
}

func TestSearchAndTimeline(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	r := c.do("POST", "/contacts", crm.Contact{FirstName: "Ada", LastName: "Lovelace"})
	require.Equal(t, http.StatusCreated, r.Status)
	var ada crm.Contact
	r.decode(t, &ada)
	require.Equal(t, http.StatusCreated, c.do("POST", "/deals", crm.Deal{Name: "Analytical engine"}).Status)

	r = c.do("GET", "/search?q=lovelace", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var res crmhttp.SearchResults
	r.decode(t, &res)
	require.Len(t, res.Items, 1)
	assert.Equal(t, ada.ID, res.Items[0].ID)
	r = c.do("GET", "/search?q=lovelace&kinds=deals", nil)
	r.decode(t, &res)
	assert.Empty(t, res.Items)
	assert.Equal(t, http.StatusBadRequest, c.do("GET", "/search", nil).problem(t).Status)
	assert.Equal(t, http.StatusBadRequest, c.do("GET", "/search?q=x&kinds=widgets", nil).problem(t).Status)

	for i := range 3 {
		require.Equal(t, http.StatusOK, c.do("PATCH", "/contacts/"+ada.ID, fmt.Sprintf(`{"title": "T%d"}`, i)).Status)
	}
	var n int
	after := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		r := c.do("GET", "/contacts/"+ada.ID+"/timeline?limit=2&after="+after, nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var pg crm.Page[crm.TimelineEntry]
		r.decode(t, &pg)
		n += len(pg.Items)
		if pg.Next == "" {
			break
		}
		after = pg.Next
	}
	assert.Equal(t, 4, n, "the create and three updates")
}

func TestDealActions(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	newDeal := func(name string) crm.Deal {
		r := c.do("POST", "/deals", crm.Deal{Name: name})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		var d crm.Deal
		r.decode(t, &d)
		return d
	}
	_, stages := salesStages(t, e)
	d := newDeal("Pilot")
	r := c.do("POST", "/deals/"+d.ID+"/move", crmhttp.StageMove{Stage: "Proposal"}, "If-Match", fmt.Sprintf(`"%d"`, d.Version))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.decode(t, &d)
	assert.Equal(t, stages["Proposal"], d.StageID)

	p := c.do("POST", "/deals/"+d.ID+"/move", crmhttp.StageMove{Stage: "Limbo"}).problem(t)
	assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
	assert.Equal(t, http.StatusUnprocessableEntity, c.do("POST", "/deals/"+d.ID+"/move", `{}`).problem(t).Status)
	assert.Equal(t, http.StatusPreconditionFailed, c.do("POST", "/deals/"+d.ID+"/win", nil, "If-Match", `"1"`).problem(t).Status)

	r = c.do("POST", "/deals/"+d.ID+"/win", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.decode(t, &d)
	assert.Equal(t, crm.StatusWon, d.Status)

	lost := newDeal("Lost cause")
	r = c.do("POST", "/deals/"+lost.ID+"/lose", crmhttp.LossReason{Reason: "price"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.decode(t, &lost)
	assert.Equal(t, crm.StatusLost, lost.Status)
	assert.Equal(t, "price", lost.LostReason)
}

func salesStages(t *testing.T, e *env) (crm.Pipeline, map[string]string) {
	t.Helper()
	pl, err := e.WS.Pipelines().Default(e.Ctx)
	require.NoError(t, err)
	ids := map[string]string{}
	for _, s := range pl.Stages {
		ids[s.Name] = s.ID
	}
	return pl, ids
}

func TestTimeBound(t *testing.T) {
	e := setup(t, crmhttp.WithTimeout(time.Nanosecond))
	p := e.admin(t).do("GET", "/contacts", nil).problem(t)
	assert.Equal(t, http.StatusServiceUnavailable, p.Status)
}
