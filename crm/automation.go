package crm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
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
	c            *CRM
	d            *Dispatcher
	owner        string
	maxDepth     int
	attempts     int
	backoff      time.Duration
	overdueAfter time.Duration
	leaseTTL     time.Duration
	poll         time.Duration
	timerBatch   int
	dopts        []DispatcherOption
	configs      sync.Map // workspace ID -> *automationConfig
}

// AutomationOption configures an Automation.
type AutomationOption func(*Automation)

// WithMaxDepth sets how long a chain of rule-made changes may grow before
// it is cut (default 5): a rule acting on a change made at that depth is
// not run, and the cut is parked.
func WithMaxDepth(n int) AutomationOption { return func(a *Automation) { a.maxDepth = max(1, n) } }

// WithRuleRetries sets how often a failing rule run is tried before it is
// parked, and the wait after the first failure, doubled after each
// further one (defaults 3 and 50ms).
func WithRuleRetries(attempts int, backoff time.Duration) AutomationOption {
	return func(a *Automation) { a.attempts, a.backoff = max(1, attempts), backoff }
}

// WithOverdueAfter sets how long after its due time an open task emits
// TaskOverdue (default 24h). TaskDue is emitted at the due time.
func WithOverdueAfter(d time.Duration) AutomationOption {
	return func(a *Automation) { a.overdueAfter = max(0, d) }
}

// WithAutomationLease sets this instance's name among the processes
// sharing the store (default a random ID) and how long its claim on
// firing timers lasts without renewal (default 15s). The same name and
// duration are used for its event delivery.
func WithAutomationLease(owner string, ttl time.Duration) AutomationOption {
	return func(a *Automation) {
		if owner != "" {
			a.owner = owner
		}
		a.leaseTTL = ttl
	}
}

// WithAutomationPoll sets how often Run looks for due timers and events
// written by other processes (default 1s).
func WithAutomationPoll(d time.Duration) AutomationOption { return func(a *Automation) { a.poll = d } }

// WithDispatcherOptions configures the dispatcher that delivers events
// to the rules.
func WithDispatcherOptions(opts ...DispatcherOption) AutomationOption {
	return func(a *Automation) { a.dopts = append(a.dopts, opts...) }
}

// automationConsumer is the durable name the rules read the outbox under.
const automationConsumer = "automation"

// NewAutomation returns the CRM's automation engine. Call Run to keep it
// going, or Step to do the pending work once (tests, simulations).
func (c *CRM) NewAutomation(opts ...AutomationOption) *Automation {
	a := &Automation{
		c: c, owner: c.ids.next("aut_", time.Now()), maxDepth: 5, attempts: 3,
		backoff: 50 * time.Millisecond, overdueAfter: 24 * time.Hour, leaseTTL: 15 * time.Second,
		poll: time.Second, timerBatch: 256,
	}
	for _, o := range opts {
		o(a)
	}
	dopts := append([]DispatcherOption{WithLease(a.owner, a.leaseTTL), WithPollInterval(a.poll), WithMaxAttempts(3), WithBackoff(a.backoff, 5*time.Second)}, a.dopts...)
	a.d = c.NewDispatcher(dopts...)
	// The name is fixed and the consumer set: Subscribe cannot fail.
	_ = a.d.Subscribe(automationConsumer, a.consume)
	return a
}

// Run delivers events to the rules and fires due timers until ctx ends,
// then returns ctx's error.
func (a *Automation) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.d.Run(ctx) }()
	for {
		wake := a.c.commitSignal.wait()
		if _, err := a.FireDue(ctx); err != nil && ctx.Err() == nil {
			a.c.log.Error("crm: firing timers failed", "err", err)
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

// errSkip rolls back a write that turned out to have nothing to do.
var errSkip = errors.New("crm: nothing to do")

// automationTag is the key byte of automation's keys (a tag keys.go does
// not use):
//
//	ws 'A' 'r' str(rule)                     rule
//	ws 'A' 'v'                               version of rules, scoring, sequences
//	ws 'A' 'k' uint(seq) str(rule) str(id)   a rule ran for an event (idempotency)
//	ws 'A' 't' time(due) str(source) str(id) timer
//	ws 'A' 'T' str(source) str(id)           the timer's due time
//	ws 'A' 'f' str(source) str(id)           the last occurrence fired
//	ws 'A' 'b' str(rule)                     timer backfill in progress -> last record ID
//	ws 'A' 'p' str(parkedID)                 parked run
//	ws 'A' 'u'                               team
//	ws 'A' 'c' str(route)                    routing state
//	ws 'A' 'g' str(model)                    scoring model
//	ws 'A' 'q' str(sequence)                 sequence
//	ws 'A' 'e' str(contact) str(sequence)    enrolment
const automationTag byte = 'A'

func (w *Workspace) ak(sub byte) key { return w.k(automationTag).byte(sub) }

// automationConfig is a workspace's rules, scoring models and sequences,
// parsed, cached until their version changes.
type automationConfig struct {
	version   uint64
	rules     map[string]*compiledRule
	byEvent   map[EventType][]*compiledRule
	timeRules map[string][]*compiledRule // by object
	schedules []*compiledRule
	scoring   []*compiledModel
	sequences map[string]*Sequence
}

type compiledRule struct {
	Rule
	where filter.Expr
	// stored is set when where reads only the record's stored fields, so
	// an event's snapshot answers it without a transaction.
	stored bool
}

func readVersion(tx store.Reader, w *Workspace) (uint64, error) {
	b, err := tx.Get(w.ak('v'))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil || len(b) != 8 {
		return 0, errors.Join(err, fmt.Errorf("crm: corrupt automation version of workspace %s", w.info.ID))
	}
	return binaryUint(b), nil
}

// bumpVersion marks the workspace's automation as changed.
func bumpVersion(t *txn) error {
	v, err := readVersion(t.tx, t.w)
	if err != nil {
		return err
	}
	return t.tx.Set(t.w.ak('v'), key{}.uint(v+1))
}

// config returns the workspace's automation, read in tx.
func (a *Automation) config(tx store.Reader, w *Workspace) (*automationConfig, error) {
	v, err := readVersion(tx, w)
	if err != nil {
		return nil, err
	}
	if c, ok := a.configs.Load(w.info.ID); ok && c.(*automationConfig).version == v {
		return c.(*automationConfig), nil
	}
	cfg, err := loadConfig(tx, w)
	if err != nil {
		return nil, err
	}
	cfg.version = v
	a.configs.Store(w.info.ID, cfg)
	return cfg, nil
}

func loadConfig(tx store.Reader, w *Workspace) (*automationConfig, error) {
	cfg := &automationConfig{
		rules: map[string]*compiledRule{}, byEvent: map[EventType][]*compiledRule{},
		timeRules: map[string][]*compiledRule{}, sequences: map[string]*Sequence{},
	}
	for e, err := range tx.Scan(store.Range{Prefix: w.ak('r')}) {
		if err != nil {
			return nil, err
		}
		cr := new(compiledRule)
		if err := decode(e.Value, &cr.Rule); err != nil {
			return nil, err
		}
		if cr.Where != "" {
			if cr.where, err = parseCached(cr.Where); err != nil {
				return nil, err
			}
		}
		cr.stored = cr.where == nil || cr.Object == "activity" || storedOnly(cr.where, &Schema{object: cr.Object})
		cfg.rules[cr.ID] = cr
		if cr.Disabled {
			continue
		}
		switch tr := cr.Trigger; {
		case tr.Event != "":
			cfg.byEvent[tr.Event] = append(cfg.byEvent[tr.Event], cr)
		case tr.Time != nil:
			cfg.timeRules[cr.Object] = append(cfg.timeRules[cr.Object], cr)
		case tr.Schedule != nil:
			cfg.schedules = append(cfg.schedules, cr)
		}
	}
	models, err := loadModels(tx, w)
	if err != nil {
		return nil, err
	}
	cfg.scoring = models
	for e, err := range tx.Scan(store.Range{Prefix: w.ak('q')}) {
		if err != nil {
			return nil, err
		}
		s := new(Sequence)
		if err := decode(e.Value, s); err != nil {
			return nil, err
		}
		cfg.sequences[s.ID] = s
	}
	return cfg, nil
}

// handle is a workspace handle for background work.
func (a *Automation) handle(ws string) *Workspace {
	return &Workspace{crm: a.c, info: WorkspaceInfo{ID: ws}, prefix: wsKey(ws)}
}

// consume is the rules' outbox consumer: one workspace's events in
// commit order.
func (a *Automation) consume(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	w := a.handle(events[0].Workspace)
	var cfg *automationConfig
	err := w.read(ctx, func(tx store.Tx) error {
		var err error
		cfg, err = a.config(tx, w)
		return err
	})
	if err != nil {
		return err
	}
	if err := a.pruneRuns(ctx, w, events[0].Seq); err != nil {
		return err
	}
	for i := range events {
		if err := a.onEvent(ctx, w, cfg, &events[i]); err != nil {
			return err
		}
	}
	return nil
}

// pruneRuns forgets the idempotency keys of events before seq: the
// dispatcher acknowledged them, so they are not delivered again.
func (a *Automation) pruneRuns(ctx context.Context, w *Workspace, seq uint64) error {
	prefix := w.ak('k')
	var keys [][]byte
	err := w.read(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{Prefix: prefix, End: prefix.uint(seq), KeysOnly: true}) {
			if err != nil {
				return err
			}
			keys = append(keys, append([]byte(nil), e.Key...))
		}
		return nil
	})
	if err != nil || len(keys) == 0 {
		return err
	}
	return a.c.st.Update(ctx, func(tx store.Tx) error {
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// onEvent does everything one event calls for: timers of the records it
// touches, the rules it triggers, scores and sequence stops.
func (a *Automation) onEvent(ctx context.Context, w *Workspace, cfg *automationConfig, ev *Event) error {
	if err := a.reschedule(ctx, w, cfg, ev); err != nil {
		return err
	}
	var snap any // the event's record, decoded once for every rule
	for _, r := range cfg.byEvent[ev.Type] {
		if ev.Seq <= r.Since || !triggered(r, ev) {
			continue
		}
		ids, err := targetsOf(ev, r.Object)
		if err != nil {
			return err
		}
		var own any
		if ev.Kind == r.Object && ev.After != nil {
			if snap == nil {
				if snap, err = ev.Record(); err != nil {
					return err
				}
			}
			own = snap
		}
		for _, id := range ids {
			if err := a.fire(ctx, w, r, ev, id, own); err != nil {
				return err
			}
		}
	}
	if err := a.scoreOn(ctx, w, cfg, ev); err != nil {
		return err
	}
	return a.stopSequencesOn(ctx, w, cfg, ev)
}

// triggered checks an event trigger's narrowing: changed fields or the
// segment.
func triggered(r *compiledRule, ev *Event) bool {
	tr := &r.Trigger
	if tr.Segment != "" && (len(ev.Fields) != 1 || ev.Fields[0].New != tr.Segment) {
		return false
	}
	if len(tr.Fields) == 0 {
		return true
	}
	for _, f := range ev.Fields {
		for _, want := range tr.Fields {
			if f.Field == want || f.Field == "custom."+want || (want == "address."+f.Field) {
				return true
			}
		}
	}
	return false
}

// targetsOf returns the records of kind object an event is about: its own
// record, or the records an activity or purchase links to.
func targetsOf(ev *Event, object string) ([]string, error) {
	if ev.Kind == object {
		return []string{ev.RecordID}, nil
	}
	r, err := ev.Record()
	if err != nil || r == nil {
		return nil, err
	}
	switch x := r.(type) {
	case *Activity:
		switch object {
		case "contact":
			return x.ContactIDs, nil
		case "company":
			return x.CompanyIDs, nil
		case "deal":
			return x.DealIDs, nil
		}
	case *Purchase:
		id := x.ContactID
		if object == "company" {
			id = x.CompanyID
		}
		if id != "" {
			return []string{id}, nil
		}
	}
	return nil, nil
}

// runKey is the idempotency key of a rule's run for an event and record.
func (w *Workspace) runKey(seq uint64, rule, id string) key {
	return w.ak('k').uint(seq).str(rule).str(id)
}

// fire runs an event rule on one record, with retries, parking it when it
// keeps failing or when the chain it belongs to is too deep. snap is the
// record as the event left it, when the event is the record's own.
func (a *Automation) fire(ctx context.Context, w *Workspace, r *compiledRule, ev *Event, id string, snap any) error {
	if snap != nil && r.where != nil {
		// Most events match few rules: rule the others out without a
		// write transaction.
		ok, err := a.precheck(ctx, w, r, snap)
		if err == nil && !ok {
			return nil
		}
	}
	depth := ev.Depth + 1
	err := a.retry(ctx, func() error { return a.runEventRule(ctx, w, r, ev.Seq, id, snap, depth, a.maxDepth) })
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return store.ContextError(ctx)
	}
	p := Parked{Kind: ParkedFailed, Rule: r.ID, Record: Ref{Kind: r.Object, ID: id}, Event: eventRef(ev), Error: err.Error(), Attempts: a.attempts}
	if errors.Is(err, errLoop) {
		a.c.log.Warn("crm: rule chain cut", "workspace", w.info.ID, "rule", r.ID, "depth", depth, "record", id)
		p.Kind, p.Attempts = ParkedLoop, 0
		p.Error = fmt.Sprintf("rule chain cut: depth %d passes the limit of %d", depth, a.maxDepth)
	} else {
		a.c.log.Warn("crm: rule parked", "workspace", w.info.ID, "rule", r.ID, "record", id, "err", err)
	}
	return a.park(ctx, w, p)
}

// precheck evaluates a rule's condition on an event's snapshot of the
// record, without a transaction when the condition reads stored fields
// only.
func (a *Automation) precheck(ctx context.Context, w *Workspace, r *compiledRule, snap any) (bool, error) {
	now := a.c.now()
	if r.stored {
		return matchRecord(nil, w, now, r.where, snap)
	}
	var ok bool
	err := w.read(ctx, func(tx store.Tx) error {
		var err error
		ok, err = matchRecord(tx, w, now, r.where, snap)
		return err
	})
	return ok, err
}

// errLoop stops a rule run whose chain is too deep.
var errLoop = errors.New("crm: rule chain too deep")

// retry runs fn up to the rule attempts with backoff; errSkip is success.
func (a *Automation) retry(ctx context.Context, fn func() error) error {
	wait := a.backoff
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || errors.Is(err, errSkip) {
			return nil
		}
		if attempt >= a.attempts || ctx.Err() != nil || errors.Is(err, errLoop) {
			return err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return store.ContextError(ctx)
		case <-timer.C:
		}
		wait *= 2
	}
}

// ruleContext attributes a write to a rule at a depth.
func ruleContext(ctx context.Context, rule string, depth int) context.Context {
	return withCause(WithSource(WithActor(ctx, "rule:"+rule), "automation"), rule, depth)
}

// runEventRule runs a rule once on a record for an event, in one
// transaction with its idempotency key. The condition reads the record as
// the event left it (snap, when the event is the record's own) and the
// actions change it as it is now. A run that would act deeper than limit
// fails with errLoop.
func (a *Automation) runEventRule(ctx context.Context, w *Workspace, r *compiledRule, seq uint64, id string, snap any, depth, limit int) error {
	_, err := w.write(ruleContext(ctx, r.ID, depth), func(t *txn) error {
		k := t.w.runKey(seq, r.ID, id)
		if _, err := t.tx.Get(k); err == nil {
			return errSkip // ran before the event was redelivered
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		rec, err := loadRecord(t.tx, t.w, r.Object, id)
		if err != nil {
			return err
		}
		if rec == nil || recordMeta(rec).Deleted() {
			return errSkip
		}
		cond := rec
		if snap != nil {
			cond = snap
		}
		ok, err := matchRecord(t.tx, t.w, t.now, r.where, cond)
		if err != nil {
			return err
		}
		if !ok {
			return errSkip
		}
		if depth > limit {
			return errLoop
		}
		if err := a.runActions(t, r.ID, r.Object, r.Actions, rec); err != nil {
			return err
		}
		return t.tx.Set(k, nil)
	})
	return err
}

// applyRule runs r's actions on record id inside t if the record is live
// and matches the rule's condition now.
func (a *Automation) applyRule(t *txn, r *compiledRule, id string) error {
	rec, err := loadRecord(t.tx, t.w, r.Object, id)
	if err != nil || rec == nil || recordMeta(rec).Deleted() {
		return err
	}
	ok, err := matchRecord(t.tx, t.w, t.now, r.where, rec)
	if err != nil || !ok {
		return err
	}
	return a.runActions(t, r.ID, r.Object, r.Actions, rec)
}
