package automation

import (
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// Automation runs a CRM's automation: rules triggered by events, read
// from the durable outbox through a Dispatcher (at least once, with an
// idempotency key per event, rule and record kept in the same transaction
// as the rule's changes, so a redelivered event does not act twice); time
// triggers, sequences and task due dates kept as durable timers in the
// store, fired in due order with the CRM's clock; lead scoring and
// sequence stops.
//
// Every change a rule makes carries the rule's ID and the depth of the
// chain of rule-made changes behind it (Change.Rule, Change.Depth). A
// chain deeper than the depth limit stops and is parked with the reason,
// as is a rule that still fails after its retries; Rules.Parked lists
// them and Automation.Retry runs one again.
//
// Several processes sharing one store may each run an Automation: leases
// in the store make one of them deliver events and one fire timers at a
// time, and every timer is removed in the transaction of its actions, so
// none fires twice.
type Automation struct {
	c            *crm.CRM
	d            *crm.Dispatcher
	owner        string
	maxDepth     int
	attempts     int
	backoff      time.Duration
	overdueAfter time.Duration
	leaseTTL     time.Duration
	poll         time.Duration
	timerBatch   int
	dopts        []crm.DispatcherOption
	configs      sync.Map // workspace ID -> *automationConfig
}

// Option configures an Automation.
type Option func(*Automation)

// WithMaxDepth sets how long a chain of rule-made changes may grow before
// it is cut (default 5): a rule acting on a change made at that depth is
// not run, and the cut is parked.
func WithMaxDepth(n int) Option { return func(a *Automation) { a.maxDepth = max(1, n) } }

// WithRuleRetries sets how often a failing rule run is tried before it is
// parked, and the wait after the first failure, doubled after each
// further one (defaults 3 and 50ms).
func WithRuleRetries(attempts int, backoff time.Duration) Option {
	return func(a *Automation) { a.attempts, a.backoff = max(1, attempts), backoff }
}

// WithOverdueAfter sets how long after its due time an open task emits
// TaskOverdue (default 24h). TaskDue is emitted at the due time.
func WithOverdueAfter(d time.Duration) Option {
	return func(a *Automation) { a.overdueAfter = max(0, d) }
}

// WithLease sets this instance's name among the processes
// sharing the store (default a random ID) and how long its claim on
// firing timers lasts without renewal (default 15s). The same name and
// duration are used for its event delivery.
func WithLease(owner string, ttl time.Duration) Option {
	return func(a *Automation) {
		if owner != "" {
			a.owner = owner
		}
		a.leaseTTL = ttl
	}
}

// WithPoll sets how often Run looks for due timers and events
// written by other processes (default 1s).
func WithPoll(d time.Duration) Option { return func(a *Automation) { a.poll = d } }

// WithDispatcherOptions configures the dispatcher that delivers events
// to the rules.
func WithDispatcherOptions(opts ...crm.DispatcherOption) Option {
	return func(a *Automation) { a.dopts = append(a.dopts, opts...) }
}

// automationConsumer is the durable name the rules read the outbox under.
const automationConsumer = "automation"

// New returns an automation engine of the CRM. Call Run to keep it
// going, or Step to do the pending work once (tests, simulations).
func New(c *crm.CRM, opts ...Option) *Automation {
	a := &Automation{
		c: c, owner: "aut_" + rand.Text(), maxDepth: 5, attempts: 3,
		backoff: 50 * time.Millisecond, overdueAfter: 24 * time.Hour, leaseTTL: 15 * time.Second,
		poll: time.Second, timerBatch: 256,
	}
	for _, o := range opts {
		o(a)
	}
	dopts := append([]crm.DispatcherOption{crm.WithLease(a.owner, a.leaseTTL), crm.WithPollInterval(a.poll), crm.WithMaxAttempts(3), crm.WithBackoff(a.backoff, 5*time.Second)}, a.dopts...)
	a.d = c.NewDispatcher(dopts...)
	// The name is fixed and the consumer set: Subscribe cannot fail.
	_ = a.d.Subscribe(automationConsumer, a.consume)
	return a
}

// Run delivers events to the rules and fires due timers until ctx ends,
// then returns ctx's error.
func (a *Automation) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(crm.As(ctx, crm.System()))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.d.Run(ctx) }()
	for {
		wake := a.c.NextCommit()
		if _, err := a.FireDue(ctx); err != nil && ctx.Err() == nil {
			a.c.Logger().Error("crm: firing timers failed", "err", err)
		}
		timer := time.NewTimer(a.poll)
		select {
		case <-ctx.Done():
			timer.Stop()
			<-done
			return store.ContextError(ctx)
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// StepReport counts what one Step did.
type StepReport struct {
	// Events is how many outbox events the rules read.
	Events int
	// Timers is how many due timers fired.
	Timers int
}

// Step does the pending work once, until none is left: delivers every
// pending event to the rules and fires every timer due by the CRM's
// clock, again and again while that work makes more.
func (a *Automation) Step(ctx context.Context) (StepReport, error) {
	ctx = crm.As(ctx, crm.System())
	var rep StepReport
	for {
		n, err := a.d.Drain(ctx)
		rep.Events += n
		if err != nil {
			return rep, err
		}
		m, err := a.FireDue(ctx)
		rep.Timers += m
		if err != nil {
			return rep, err
		}
		if n == 0 && m == 0 {
			return rep, nil
		}
	}
}

// spaceName is automation's crm.Space in a workspace. Its keys:
//
//	'r' str(rule)                     rule
//	'v'                               version of rules, scoring, sequences
//	'k' uint(seq) str(rule) str(id)   a rule ran for an event (idempotency)
//	't' time(due) str(source) str(id) timer
//	'T' str(source) str(id)           the timer's due time
//	'f' str(source) str(id)           the last occurrence fired
//	'b' str(rule)                     timer backfill in progress -> last record ID
//	'p' str(parkedID)                 parked run
//	'u'                               team
//	'c' str(route)                    routing state
//	'g' str(model)                    scoring model
//	'q' str(sequence)                 sequence
//	'e' str(contact) str(sequence)    enrolment
const spaceName = "automation"

// ak returns a new key of automation's space that starts with sub.
func ak(sub byte) tuple.Key { return tuple.Key{sub} }
