package crmhttp_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmhttp"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEventsAcrossInstances runs two instances of an application on one
// PostgreSQL database, each with its own CRM and handler, as behind a load
// balancer: a client streaming from one sees what is written through the
// other, and resumes on the other with Last-Event-ID without losing or
// repeating an event.
func TestEventsAcrossInstances(t *testing.T) {
	sh := teststore.SharedPostgres(t)
	ctx := crm.WithActor(context.Background(), "u_test")
	instance := func() *env {
		c := crm.New(sh.Open(t))
		ws, err := c.EnsureWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})
		require.NoError(t, err)
		srv := httptest.NewServer(crmhttp.New(c, testAuth, crmhttp.WithWatchPoll(50*time.Millisecond)))
		t.Cleanup(srv.Close)
		return &env{Env: &crmtest.Env{Ctx: ctx, CRM: c, WS: ws}, srv: srv}
	}
	a, b := instance(), instance()

	s := openEvents(t, a, "u_test", "admin", "")
	r := b.admin(t).do("POST", "/contacts", map[string]any{"first_name": "Written on B"})
	require.Equal(t, 201, r.Status, "%s", r.Body)
	var first crm.Contact
	r.decode(t, &first)
	ev := s.next(t)
	assert.Equal(t, "contact.created", ev.typ)
	assert.Equal(t, first.ID, ev.data.RecordID, "A streams what B wrote")
	s.cancel()

	// While the client is away, both instances write; it comes back on B.
	var missed []string
	for i, in := range []*env{a, b, a} {
		r := in.admin(t).do("POST", "/contacts", map[string]any{"first_name": "Missed " + strconv.Itoa(i)})
		require.Equal(t, 201, r.Status, "%s", r.Body)
		var c crm.Contact
		r.decode(t, &c)
		missed = append(missed, c.ID)
	}
	s = openEvents(t, b, "u_test", "admin", strconv.FormatUint(ev.id, 10))
	last := ev.id
	for _, id := range missed {
		ev := s.next(t)
		assert.Equal(t, id, ev.data.RecordID, "in commit order, each once")
		assert.Greater(t, ev.id, last)
		last = ev.id
	}
}
