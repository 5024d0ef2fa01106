package crmhttp_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sse is an open event stream.
type sse struct {
	events chan sseEvent
	cancel context.CancelFunc
}

type sseEvent struct {
	id   uint64
	typ  string
	data crmhttp.StreamEvent
}

// openEvents opens GET /events as user, after the stream's first comment
// arrived (so what is written next is seen).
func openEvents(t *testing.T, e *env, user, roles, lastID string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/events", nil)
	require.NoError(t, err)
	req.Header.Set("X-User", user)
	req.Header.Set("X-Roles", roles)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, ":"), line)
	s := &sse{events: make(chan sseEvent, 100), cancel: cancel}
	go func() {
		defer resp.Body.Close()
		defer close(s.events)
		var ev sseEvent
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if ev.typ != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id, _ = strconv.ParseUint(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				ev.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &ev.data)
			}
		}
	}()
	return s
}

func (s *sse) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		require.True(t, ok, "the stream ended")
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return sseEvent{}
}

func TestEvents(t *testing.T) {
	e := setup(t)
	s := openEvents(t, e, "u_test", "admin", "")
	c, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: "Streamed"})
	require.NoError(t, err)
	ev := s.next(t)
	assert.Equal(t, "contact.created", ev.typ)
	assert.Equal(t, c.ID, ev.data.RecordID)
	assert.Equal(t, ev.id, ev.data.Seq)
	rec, _ := ev.data.Record.(map[string]any)
	assert.Equal(t, "Streamed", rec["first_name"])
	s.cancel()

	// Resuming after the last event seen gives only later ones.
	later, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: "Later"})
	require.NoError(t, err)
	s = openEvents(t, e, "u_test", "admin", strconv.FormatUint(ev.id, 10))
	ev2 := s.next(t)
	assert.Equal(t, later.ID, ev2.data.RecordID)
	assert.Greater(t, ev2.id, ev.id)

	p := e.admin(t).do("GET", "/events", nil, "Last-Event-ID", "yesterday").problem(t)
	assert.Equal(t, http.StatusBadRequest, p.Status)
}

func TestEventsOfInvisibleRecords(t *testing.T) {
	e := setup(t)
	withPolicy(t, e)
	s := openEvents(t, e, "bob", "rep", "")
	sys := crm.As(e.Ctx, crm.System())
	_, err := e.WS.Contacts().Create(sys, crm.Contact{FirstName: "Ann's", OwnerID: "ann"})
	require.NoError(t, err)
	mine, err := e.WS.Contacts().Create(sys, crm.Contact{FirstName: "Bob's", OwnerID: "bob"})
	require.NoError(t, err)
	ev := s.next(t)
	assert.Equal(t, mine.ID, ev.data.RecordID, "ann's contact never arrives")
}

func TestHeartbeat(t *testing.T) {
	e := setup(t, crmhttp.WithHeartbeat(10*time.Millisecond))
	req, err := http.NewRequest("GET", e.srv.URL+"/events", nil)
	require.NoError(t, err)
	req.Header.Set("X-User", "u_test")
	resp, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var comments int
	for comments < 3 {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(line, ":") {
			comments++
		}
	}
}
