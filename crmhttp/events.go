package crmhttp

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// StreamEvent is the data of one server-sent event of GET /events: the
// crm.Event, with the record after the change where there is one (as the
// principal may see it).
type StreamEvent struct {
	crm.Event
	Record any `json:"record,omitempty"`
}

// events streams the change feed as server-sent events, as the request's
// principal, until the client goes away.
func events(c *call) error {
	since, err := sinceOf(c.r)
	if err != nil {
		return err
	}
	if since == nil {
		// From now: the events committed after the stream opens. Reading
		// the head first means none is missed between opening and
		// watching.
		head, err := c.ws.OutboxHead(c.ctx)
		if err != nil {
			return err
		}
		since = &head
	}
	sse, err := openEvents(c)
	if err != nil {
		return nil // the writer cannot stream: nothing more to do
	}
	rc := sse.rc

	type item struct {
		ev  crm.Event
		err error
	}
	ch := make(chan item)
	go func() {
		defer close(ch)
		for ev, err := range c.ws.Watch(c.ctx, *since, c.h.cfg.poll) {
			select {
			case ch <- item{ev, err}:
			case <-c.ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	beat := time.NewTicker(c.h.cfg.heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return nil
		case <-beat.C:
			if _, err := fmt.Fprint(c.w, ": heartbeat\n\n"); err != nil {
				return nil
			}
		case it, ok := <-ch:
			if !ok {
				return nil
			}
			if it.err != nil {
				// The status is sent: say it as an event and end, the
				// client reconnects with Last-Event-ID.
				c.h.cfg.logger.ErrorContext(c.ctx, "crmhttp: event stream failed", "err", it.err)
				fmt.Fprint(c.w, "event: error\ndata: {\"detail\":\"the change feed failed\"}\n\n")
				_ = rc.Flush()
				return nil
			}
			if err := writeEvent(c, it.ev); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

func writeEvent(c *call, ev crm.Event) error {
	se := StreamEvent{Event: ev}
	if !ev.Redacted {
		if r, err := ev.Record(); err == nil {
			se.Record = r
		}
	}
	data, err := json.Marshal(se)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Type, data)
	return err
}

// sinceOf reads where a stream resumes: Last-Event-ID as a reconnecting
// EventSource sends it, or ?since= for a first connection; nil for from
// now.
func sinceOf(r *http.Request) (*uint64, error) {
	name, v := "Last-Event-ID", strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if v == "" {
		name, v = "since", r.URL.Query().Get("since")
	}
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return nil, badParam(name, "must be an event id (a sequence number)")
	}
	return &n, nil
}

// eventWriter writes server-sent events to a response it has opened.
type eventWriter struct {
	c  *call
	rc *http.ResponseController
}

// openEvents answers 200 as a stream of server-sent events, without the
// server's write deadline, and flushes a first comment; an error means
// the writer cannot stream.
func openEvents(c *call) (*eventWriter, error) {
	rc := http.NewResponseController(c.w)
	_ = rc.SetWriteDeadline(time.Time{}) // the server's write timeout would end the stream
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(c.w, ": stream open\n\n"); err != nil {
		return nil, err
	}
	return &eventWriter{c: c, rc: rc}, rc.Flush()
}

// send writes one event of type name whose data is v as JSON, and
// flushes it.
func (e *eventWriter) send(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(e.c.w, "event: %s\ndata: %s\n\n", name, data); err != nil {
		return err
	}
	return e.rc.Flush()
}
