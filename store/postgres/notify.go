package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconnection backoff of the notification listener.
const (
	listenFirstBackoff = 50 * time.Millisecond
	listenMaxBackoff   = 5 * time.Second
)

// WithNotifications makes the store announce its commits and hear those of
// others: every Update or Batch commit that wrote something sends a
// PostgreSQL notification (NOTIFY, delivered only if the transaction
// commits), and Committed reports the notifications of every store on the
// same tables, in this process or any other, that has them on too. Turn it
// on in every process of a deployment, so that a process watching for
// changes wakes when another one writes instead of waiting for its next
// poll. It costs one more statement in each commit's last round trip, and
// PostgreSQL serialises the commits of notifying transactions briefly,
// which lowers the peak rate of many concurrent writers; the listener holds
// one connection outside the pool from the first call to Committed until
// Close.
func WithNotifications() Option {
	return func(c *config) { c.notify = true }
}

// channelName is the notification channel of the tables t: short and fixed
// in length, as channel names are identifiers (at most 63 bytes).
func channelName(t tables) string {
	h := fnv.New64a()
	h.Write([]byte(t.kv))
	return fmt.Sprintf("crmkit_%016x", h.Sum64())
}

// notifier is the state of Committed: the channel the next notification
// closes, and the listener goroutine, started on first use.
type notifier struct {
	channel string
	mu      sync.Mutex
	ch      chan struct{}
	cancel  context.CancelFunc // stops the listener; nil until started
	done    chan struct{}      // closed when the listener has stopped
	stopped bool
}

// Committed returns a channel that is closed once a commit that wrote
// something has happened after the call, by this store or by any other
// store on the same tables with WithNotifications on, in any process. It
// may also be closed without such a commit (when the listener reconnects,
// it cannot know what it missed), so a caller re-reads what it watches and
// calls Committed again before the next wait, and keeps a poll as a
// fallback for writers without notifications. Without WithNotifications,
// and after Close, it returns nil, which never fires.
//
// The first call starts the listener: a connection of its own that LISTENs
// on the tables' channel and reconnects with backoff when its session is
// lost.
func (s *Store) Committed() <-chan struct{} {
	n := s.notes
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return nil
	}
	if n.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		n.cancel, n.done = cancel, make(chan struct{})
		go s.listen(ctx)
	}
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

// fire closes the channel Committed handed out, if any.
func (n *notifier) fire() {
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
}

// stop ends the listener, if it runs, and waits for it.
func (n *notifier) stop() {
	n.mu.Lock()
	n.stopped = true
	cancel, done := n.cancel, n.done
	n.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	n.fire()
}

// listen holds a session that LISTENs on the store's channel and fires at
// each notification, until ctx ends. After (re)connecting it fires once,
// since commits may have happened while it was not listening.
func (s *Store) listen(ctx context.Context) {
	n := s.notes
	defer close(n.done)
	backoff := listenFirstBackoff
	for {
		err := s.listenOnce(ctx, func() { backoff = listenFirstBackoff })
		if ctx.Err() != nil {
			return
		}
		n.fire()
		s.log.Debug("postgres: notification listener lost its session, reconnecting", "error", err, "in", backoff)
		timer := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listenOnce connects, LISTENs and fires at each notification until the
// session fails or ctx ends, calling listening once it listens.
func (s *Store) listenOnce(ctx context.Context, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.notes.channel}.Sanitize()); err != nil {
		return err
	}
	listening()
	s.notes.fire()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		s.notes.fire()
	}
}
