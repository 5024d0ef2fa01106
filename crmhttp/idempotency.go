package crmhttp

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// idemStore remembers the answers of requests sent with an
// Idempotency-Key, in memory, bounded in count and age: a per-process
// cache, not shared by several instances of the host.
type idemStore struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	m     map[string]*idemEntry
	order []idemSlot // oldest first, for eviction
}

type idemSlot struct {
	key string
	e   *idemEntry
}

// idemEntry is one key's request: running until done is closed, then its
// answer if it is one to replay.
type idemEntry struct {
	done    chan struct{}
	sum     [sha256.Size]byte
	expires time.Time
	// Set before done is closed:
	keep   bool
	status int
	header http.Header
	body   []byte
}

func newIdemStore(max int, ttl time.Duration) *idemStore {
	return &idemStore{max: max, ttl: ttl, m: map[string]*idemEntry{}}
}

// start returns the entry of key, and whether the caller is to run the
// request (a new entry) or wait for the one that runs it.
func (s *idemStore) start(key string, sum [sha256.Size]byte) (*idemEntry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if e, ok := s.m[key]; ok && now.Before(e.expires) {
		return e, false
	}
	e := &idemEntry{done: make(chan struct{}), sum: sum, expires: now.Add(s.ttl)}
	s.m[key] = e
	s.order = append(s.order, idemSlot{key, e})
	for len(s.m) > max(s.max, 1) && len(s.order) > 0 {
		old := s.order[0]
		s.order = s.order[1:]
		if s.m[old.key] == old.e {
			delete(s.m, old.key)
		}
	}
	if len(s.order) > 2*max(s.max, 1) { // slots of entries replaced or dropped
		live := s.order[:0]
		for _, sl := range s.order {
			if s.m[sl.key] == sl.e {
				live = append(live, sl)
			}
		}
		s.order = live
	}
	return e, true
}

// finish records the answer of e's request; one not kept is forgotten, so
// a retry runs the request again.
func (s *idemStore) finish(key string, e *idemEntry, rec *recorder, keep bool) {
	s.mu.Lock()
	e.keep, e.status, e.header, e.body = keep, rec.status, rec.header.Clone(), rec.body.Bytes()
	if !keep && s.m[key] == e {
		delete(s.m, key)
	}
	s.mu.Unlock()
	close(e.done)
}

// idempotent runs a request sent with an Idempotency-Key once per key, in
// the scope of the workspace, the principal and the path, and answers its
// retries with the first answer.
func (h *handler) idempotent(c *call, rt Route, ws, principal, key string) error {
	if len(key) > 256 {
		return badParam("Idempotency-Key", "is longer than 256 bytes")
	}
	var body []byte
	if c.r.Body != nil {
		b, err := io.ReadAll(c.r.Body)
		if err != nil {
			return err
		}
		body = b
	}
	sum := sha256.Sum256(body)
	scope := strconv.Quote(ws) + " " + strconv.Quote(principal) + " " + c.r.Method + " " + c.r.URL.Path + " " + strconv.Quote(key)
	for {
		e, fresh := h.idem.start(scope, sum)
		if fresh {
			rec := &recorder{header: http.Header{}}
			w := c.w
			c.w = rec
			c.r.Body = io.NopCloser(bytes.NewReader(body))
			h.finish(c, rt.handle(c))
			keep := c.ctx.Err() == nil && rec.status != 0 && rec.status < 500 && rec.status != http.StatusConflict
			h.idem.finish(scope, e, rec, keep)
			c.w = w
			replay(w, rec.status, rec.header, rec.body.Bytes(), false)
			return nil
		}
		select {
		case <-e.done:
		case <-c.ctx.Done():
			return c.ctx.Err()
		}
		if e.sum != sum {
			return &httpError{Problem{Type: typeIdempotency, Title: "Idempotency key reused", Status: http.StatusUnprocessableEntity,
				Detail: "Idempotency-Key was used before with a different body"}}
		}
		if e.keep {
			replay(c.w, e.status, e.header, e.body, true)
			return nil
		}
		// The first request failed in a way not to replay: run this one.
	}
}

func replay(w http.ResponseWriter, status int, header http.Header, body []byte, again bool) {
	if status == 0 {
		return // nothing was answered: the client went away
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	if again {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// recorder keeps an answer to send and remember.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
