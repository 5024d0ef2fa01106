package crm

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/crmkit/crmkit/store"
)

// Consumer receives a batch of committed events of one workspace, in commit
// order. Returning nil acknowledges the whole batch; returning an error has
// it delivered again after a backoff. Delivery is at least once: a batch
// whose acknowledgement was not recorded (say the process died) is
// delivered again, so consumers must tolerate repeats (Event.ID is unique).
type Consumer func(ctx context.Context, events []Event) error

// Dispatcher delivers the outbox of every workspace to its subscribed
// consumers: at least once, in commit order per workspace (so in order per
// record), from a cursor per consumer and workspace kept in the store, so
// delivery resumes where it stopped after a crash or restart. A batch that
// keeps failing is split, and an event that still fails after MaxAttempts
// is moved to the consumer's dead-letter list, where an operator can
// inspect and replay it, and delivery goes on.
//
// Several processes sharing one store may each run a Dispatcher with the
// same consumers: a lease in the store makes one of them deliver to each
// consumer at a time.
type Dispatcher struct {
	c         *CRM
	owner     string
	batch     int
	attempts  int
	backoff   time.Duration
	maxBack   time.Duration
	leaseTTL  time.Duration
	poll      time.Duration
	timeout   time.Duration
	mu        sync.Mutex
	consumers map[string]Consumer
	order     []string
}

// DispatcherOption configures a Dispatcher.
type DispatcherOption func(*Dispatcher)

// WithBatchSize sets how many events a consumer receives at most per call
// (default 256).
func WithBatchSize(n int) DispatcherOption { return func(d *Dispatcher) { d.batch = max(1, n) } }

// WithMaxAttempts sets how often an event is tried before it is
// dead-lettered (default 5).
func WithMaxAttempts(n int) DispatcherOption { return func(d *Dispatcher) { d.attempts = max(1, n) } }

// WithBackoff sets the wait after the first failure, doubled after each
// further one up to limit (defaults 100ms and 30s).
func WithBackoff(first, limit time.Duration) DispatcherOption {
	return func(d *Dispatcher) { d.backoff, d.maxBack = first, limit }
}

// WithPollInterval sets how often the dispatcher looks for events written
// by other processes (default 1s); writes through its own CRM wake it at
// once.
func WithPollInterval(p time.Duration) DispatcherOption { return func(d *Dispatcher) { d.poll = p } }

// WithDeliveryTimeout bounds each consumer call (default 30s).
func WithDeliveryTimeout(t time.Duration) DispatcherOption {
	return func(d *Dispatcher) { d.timeout = t }
}

// WithLease sets this dispatcher's name among the processes sharing the
// store (default a random ID) and how long its claim on a consumer lasts
// without renewal (default 15s).
func WithLease(owner string, ttl time.Duration) DispatcherOption {
	return func(d *Dispatcher) {
		if owner != "" {
			d.owner = owner
		}
		d.leaseTTL = ttl
	}
}

// NewDispatcher returns a dispatcher over the CRM's outboxes. Subscribe
// consumers, then call Run.
func (c *CRM) NewDispatcher(opts ...DispatcherOption) *Dispatcher {
	d := &Dispatcher{
		c: c, owner: c.ids.next("dsp_", time.Now()), batch: 256, attempts: 5,
		backoff: 100 * time.Millisecond, maxBack: 30 * time.Second, leaseTTL: 15 * time.Second,
		poll: time.Second, timeout: 30 * time.Second, consumers: map[string]Consumer{},
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Subscribe adds a consumer under a durable name: its cursors are kept
// under that name, so a consumer that comes back under the same name
// resumes where it stopped. A new name starts at the beginning of each
// outbox.
func (d *Dispatcher) Subscribe(name string, fn Consumer) error {
	if name == "" || len(name) > 128 || fn == nil {
		return &ValidationError{Kind: "subscription", Fields: []FieldError{{"name", "a consumer needs a name of 1 to 128 bytes and a function"}}}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.consumers[name]; ok {
		return &ValidationError{Kind: "subscription", Fields: []FieldError{{"name", fmt.Sprintf("consumer %q is already subscribed", name)}}}
	}
	d.consumers[name] = fn
	d.order = append(d.order, name)
	return nil
}

// Run delivers events until ctx ends, and then returns ctx's error. It
// wakes on every write through its CRM, and polls for writes by others.
// When it stops it gives up its leases, so another dispatcher (or this
// one, restarted) takes over at once instead of after the lease expires.
func (d *Dispatcher) Run(ctx context.Context) error {
	defer d.release()
	for {
		wake := d.c.commitSignal.wait()
		if _, err := d.Drain(ctx); err != nil {
			if ctx.Err() != nil {
				return store.ContextError(ctx)
			}
			d.c.log.Error("crm: dispatch failed", "err", err)
		}
		timer := time.NewTimer(d.poll)
		select {
		case <-ctx.Done():
			timer.Stop()
			return store.ContextError(ctx)
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// Drain delivers every pending event once (with retries and dead-lettering
// as configured) and returns how many events were acknowledged.
func (d *Dispatcher) Drain(ctx context.Context) (int, error) {
	d.mu.Lock()
	names := append([]string(nil), d.order...)
	d.mu.Unlock()
	var workspaces []string
	for info, err := range d.c.Workspaces(ctx) {
		if err != nil {
			return 0, err
		}
		workspaces = append(workspaces, info.ID)
	}
	total := 0
	for _, name := range names {
		held, err := d.lease(ctx, name)
		if err != nil {
			return total, err
		}
		if !held {
			continue
		}
		d.mu.Lock()
		fn := d.consumers[name]
		d.mu.Unlock()
		for _, ws := range workspaces {
			n, err := d.drainOne(ctx, ws, name, fn)
			total += n
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

type lease struct {
	Owner string    `msgpack:"owner"`
	Until time.Time `msgpack:"until"`
}

func leaseKey(consumer string) key { return key{nsGlobal, 'l'}.str(consumer) }

// errLeaseLost stops delivery to a consumer whose lease another
// dispatcher took meanwhile (this one stalled past its lease).
var errLeaseLost = errors.New("crm: delivery lease taken by another dispatcher")

// Lease claims or renews this dispatcher's lease called name, as it does
// for each of its consumers, and reports whether it holds it: among the
// processes sharing a store, one at a time holds a lease until it lapses
// (WithLease). A package doing background work of its own beside the
// dispatcher's (firing an automation's timers) leases it under a name of
// its own that no consumer uses, such as "<package>/<work>".
func (d *Dispatcher) Lease(ctx context.Context, name string) (bool, error) { return d.lease(ctx, name) }

// lease claims or renews this dispatcher's lease on a consumer.
func (d *Dispatcher) lease(ctx context.Context, consumer string) (bool, error) {
	err := d.c.st.Update(ctx, func(tx store.Tx) error { return d.renew(tx, consumer) })
	if errors.Is(err, store.ErrConflict) || errors.Is(err, errLeaseLost) {
		return false, nil // another dispatcher holds it, or claimed it just now
	}
	return err == nil, err
}

// renew claims or extends the lease on a consumer inside tx, or returns
// errLeaseLost if another dispatcher holds it.
func (d *Dispatcher) renew(tx store.Tx, consumer string) error {
	now := d.c.now()
	var l lease
	b, err := tx.Get(leaseKey(consumer))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		if err := decode(b, &l); err != nil {
			return err
		}
	}
	if l.Owner != "" && l.Owner != d.owner && now.Before(l.Until) {
		return errLeaseLost
	}
	if b, err = encode(&lease{Owner: d.owner, Until: now.Add(d.leaseTTL)}); err != nil {
		return err
	}
	return tx.Set(leaseKey(consumer), b)
}

// release gives up the leases this dispatcher holds. It runs as Run stops,
// so it uses a context of its own.
func (d *Dispatcher) release() {
	ctx, cancel := context.WithTimeout(context.Background(), ackTimeout)
	defer cancel()
	d.mu.Lock()
	names := append([]string(nil), d.order...)
	d.mu.Unlock()
	for _, name := range names {
		err := d.c.st.Update(ctx, func(tx store.Tx) error {
			b, err := tx.Get(leaseKey(name))
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			var l lease
			if err := decode(b, &l); err != nil || l.Owner != d.owner {
				return err
			}
			return tx.Delete(leaseKey(name))
		})
		if err != nil {
			d.c.log.Warn("crm: releasing a delivery lease failed", "consumer", name, "err", err)
		}
	}
}

// ackTimeout bounds recording an acknowledgement or releasing leases after
// the dispatcher's context has ended.
const ackTimeout = 10 * time.Second

func (w *Workspace) cursorKey(consumer string) key {
	return w.k(tagMeta).str("cursor").str(consumer)
}

func (w *Workspace) deadLetterKey(consumer string) key {
	return w.k(tagDeadLetter).str(consumer)
}

// DeadLetter is an event a consumer kept failing on.
type DeadLetter struct {
	Event    Event     `msgpack:"event" json:"event"`
	Consumer string    `msgpack:"consumer" json:"consumer"`
	Error    string    `msgpack:"error" json:"error"`
	Attempts int       `msgpack:"attempts" json:"attempts"`
	At       time.Time `msgpack:"at" json:"at"`
}

// drainOne delivers one workspace's pending events to one consumer.
func (d *Dispatcher) drainOne(ctx context.Context, wsID, consumer string, fn Consumer) (int, error) {
	w, err := d.c.handle(ctx, wsID)
	if errors.Is(err, ErrNotFound) {
		return 0, nil // deleted meanwhile
	}
	if err != nil {
		return 0, err
	}
	total := 0
	for {
		cursor, batch, err := d.pending(ctx, w, consumer)
		if err != nil || len(batch) == 0 {
			return total, err
		}
		if err := d.deliver(ctx, w, consumer, fn, batch); err != nil {
			return total, err
		}
		if err := d.advance(ctx, w, consumer, cursor, batch[len(batch)-1].Seq); err != nil {
			if errors.Is(err, errLeaseLost) {
				return total, nil
			}
			return total, err
		}
		total += len(batch)
	}
}

// pending reads the consumer's cursor and the next batch after it.
func (d *Dispatcher) pending(ctx context.Context, w *Workspace, consumer string) (uint64, []Event, error) {
	var cursor uint64
	var batch []Event
	err := w.read(ctx, func(tx store.Tx) error {
		b, err := tx.Get(w.cursorKey(consumer))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			cursor = binaryUint(b)
		}
		for ev, err := range outboxEvents(tx, w, cursor) {
			if err != nil {
				return err
			}
			batch = append(batch, ev)
			if len(batch) == d.batch {
				break
			}
		}
		return nil
	})
	return cursor, batch, err
}

// deliver hands a batch to the consumer, retrying with backoff; a batch
// that keeps failing is delivered event by event, and an event that keeps
// failing is dead-lettered. It returns an error only when ctx ends or the
// store fails.
func (d *Dispatcher) deliver(ctx context.Context, w *Workspace, consumer string, fn Consumer, batch []Event) error {
	err := d.try(ctx, fn, batch)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return store.ContextError(ctx)
	}
	for i := range batch {
		one := batch[i : i+1]
		err := d.try(ctx, fn, one)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return store.ContextError(ctx)
		}
		dl := DeadLetter{Event: batch[i], Consumer: consumer, Error: err.Error(), Attempts: d.attempts, At: d.c.now()}
		b, encErr := encode(&dl)
		if encErr != nil {
			return encErr
		}
		if err := d.c.st.Update(ctx, func(tx store.Tx) error {
			return tx.Set(w.deadLetterKey(consumer).uint(batch[i].Seq), b)
		}); err != nil {
			return err
		}
		d.c.stats.deadLetters.Add(1)
		d.c.log.Warn("crm: event dead-lettered", "consumer", consumer, "workspace", w.info.ID, "seq", batch[i].Seq, "err", err)
	}
	return nil
}

// try calls the consumer up to MaxAttempts times with backoff.
func (d *Dispatcher) try(ctx context.Context, fn Consumer, batch []Event) error {
	wait := d.backoff
	var err error
	for attempt := 1; ; attempt++ {
		err = d.call(ctx, fn, batch)
		if err == nil || attempt >= d.attempts || ctx.Err() != nil {
			return err
		}
		d.c.stats.deliveryFailures.Add(1)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
		wait = min(2*wait, d.maxBack)
	}
}

// call runs the consumer once with a timeout, containing panics.
func (d *Dispatcher) call(ctx context.Context, fn Consumer, batch []Event) (err error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("crm: consumer panicked: %v", p)
		}
	}()
	return fn(ctx, batch)
}

// advance moves the consumer's cursor from `from` to `to` and renews the
// lease, in one transaction, unless another dispatcher took the lease
// meanwhile. A delivered batch is acknowledged even when ctx ends just
// after delivery, so a dispatcher that is stopped does not leave it to be
// delivered again.
func (d *Dispatcher) advance(ctx context.Context, w *Workspace, consumer string, from, to uint64) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	return d.c.st.Update(ctx, func(tx store.Tx) error {
		if err := d.renew(tx, consumer); err != nil {
			return err
		}
		b, err := tx.Get(w.cursorKey(consumer))
		switch {
		case errors.Is(err, store.ErrNotFound):
			if from != 0 {
				return fmt.Errorf("crm: cursor of %s vanished", consumer)
			}
		case err != nil:
			return err
		case binaryUint(b) != from:
			return fmt.Errorf("crm: cursor of %s moved from %d to %d by another dispatcher", consumer, from, binaryUint(b))
		}
		return tx.Set(w.cursorKey(consumer), key{}.uint(to))
	})
}

// Cursor returns the sequence number of the last event of a workspace the
// consumer acknowledged.
func (d *Dispatcher) Cursor(ctx context.Context, workspace, consumer string) (uint64, error) {
	w, err := d.c.handle(ctx, workspace)
	if err != nil {
		return 0, err
	}
	var cursor uint64
	err = w.read(ctx, func(tx store.Tx) error {
		b, err := tx.Get(w.cursorKey(consumer))
		if err == nil {
			cursor = binaryUint(b)
		} else if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		return err
	})
	return cursor, err
}

// DeadLetters streams a consumer's dead letters in a workspace, oldest
// event first.
func (d *Dispatcher) DeadLetters(ctx context.Context, workspace, consumer string) iter.Seq2[DeadLetter, error] {
	return func(yield func(DeadLetter, error) bool) {
		w, err := d.c.handle(ctx, workspace)
		if err != nil {
			yield(DeadLetter{}, err)
			return
		}
		err = w.read(ctx, func(tx store.Tx) error {
			for e, err := range tx.Scan(store.Range{Prefix: w.deadLetterKey(consumer)}) {
				if err != nil {
					return err
				}
				var dl DeadLetter
				if err := decode(e.Value, &dl); err != nil {
					return err
				}
				if !yield(dl, nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil && err != errStop {
			yield(DeadLetter{}, err)
		}
	}
}

// Replay delivers a dead-lettered event to its consumer again, once, and
// removes it from the dead-letter list if the consumer accepts it.
func (d *Dispatcher) Replay(ctx context.Context, workspace, consumer string, seq uint64) error {
	d.mu.Lock()
	fn := d.consumers[consumer]
	d.mu.Unlock()
	if fn == nil {
		return notFound("consumer", consumer)
	}
	w, err := d.c.handle(ctx, workspace)
	if err != nil {
		return err
	}
	k := w.deadLetterKey(consumer).uint(seq)
	var dl DeadLetter
	err = w.read(ctx, func(tx store.Tx) error {
		b, err := tx.Get(k)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("dead letter", fmt.Sprint(seq))
		}
		if err != nil {
			return err
		}
		return decode(b, &dl)
	})
	if err != nil {
		return err
	}
	if err := d.call(ctx, fn, []Event{dl.Event}); err != nil {
		return fmt.Errorf("crm: replay of event %d to %s: %w", seq, consumer, err)
	}
	return d.c.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(k) })
}
