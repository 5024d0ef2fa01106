package crm

import (
	"context"
	"iter"
	"math"
	"sync"
	"time"

	"github.com/crmkit/crmkit/store"
)

// Changes streams the workspace's committed events with a sequence number
// greater than since, in commit order, and ends when it has caught up. Pass
// 0 to start at the beginning, or the Seq of the last event you processed
// to resume: the feed is how a warehouse or another system syncs with the
// CRM. Each event names its Source, so a sync that writes back can skip
// its own echoes.
//
// With an access policy, the feed holds the events of the records the
// principal may read (before or after the change), with hidden fields
// left out.
func (w *Workspace) Changes(ctx context.Context, since uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		w.changes(ctx, since, func(ev Event, err error) bool {
			if err == nil && ev.ID == "" {
				return true // not the principal's to see
			}
			return yield(ev, err)
		})
	}
}

// changes calls yield with the events after since, as Changes streams
// them; the events the principal may not see come with only their Seq,
// so a watch moves past them.
func (w *Workspace) changes(ctx context.Context, since uint64, yield func(Event, error) bool) {
	err := w.view(ctx, func(tx store.Tx, g *guard) error {
		for ev, err := range outboxEvents(tx, w, since) {
			if err != nil {
				return err
			}
			ok, err := g.event(&ev)
			if err != nil {
				return err
			}
			if !ok {
				ev = Event{Seq: ev.Seq}
			}
			if !yield(ev, nil) {
				return errStop
			}
		}
		return nil
	})
	if err != nil && err != errStop {
		yield(Event{}, err)
	}
}

// FromNow, as Watch's since, starts a watch after the latest event at the
// time it starts, without reading the outbox head first.
const FromNow uint64 = math.MaxUint64

// Watch streams the workspace's events after since like Changes (or, with
// FromNow, only those committed after it starts), and then keeps waiting
// for new ones until ctx ends. A watch whose ctx ends just ends: the loop
// over it finishes without an error (check ctx.Err() to tell why); other
// errors, such as a store failing, are yielded once and end it too.
// Writes made through this CRM are seen at once; writes made by other
// processes sharing the store are seen within poll (default one second
// when poll <= 0).
func (w *Workspace) Watch(ctx context.Context, since uint64, poll time.Duration) iter.Seq2[Event, error] {
	if poll <= 0 {
		poll = time.Second
	}
	return func(yield func(Event, error) bool) {
		if since == FromNow {
			head, err := w.OutboxHead(ctx)
			if err != nil {
				if ctx.Err() == nil {
					yield(Event{}, err)
				}
				return
			}
			since = head
		}
		for {
			wake := w.crm.commitSignal.wait()
			stopped := false
			w.changes(ctx, since, func(ev Event, err error) bool {
				if err != nil {
					if ctx.Err() == nil {
						yield(Event{}, err)
					}
					stopped = true
					return false
				}
				since = ev.Seq
				if ev.ID == "" {
					return true // not the principal's to see
				}
				stopped = !yield(ev, nil)
				return !stopped
			})
			if stopped {
				return
			}
			timer := time.NewTimer(poll)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-wake:
			case <-timer.C:
			}
			timer.Stop()
		}
	}
}

// signal is a broadcast: wait returns a channel closed by the next fire.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
	s.mu.Unlock()
}

// OutboxHead returns the sequence number of the workspace's latest event
// (0 if there is none).
func (w *Workspace) OutboxHead(ctx context.Context) (uint64, error) {
	var head uint64
	err := w.read(ctx, func(tx store.Tx) error {
		var err error
		head, err = outboxHead(tx, w)
		return err
	})
	return head, err
}
