package crm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crmkit/hooks"
)

// EventType names a lifecycle event: "<kind>.<what happened>".
type EventType string

// The events the CRM emits. Every change emits its kind's created,
// updated, deleted, restored or erased event, plus the more specific events
// that apply to it (a deal moved into a won stage emits deal.updated,
// deal.stage_changed and deal.won). Task due and overdue events are emitted
// by automation from time, not by writes.
const (
	ContactCreated   EventType = "contact.created"
	ContactUpdated   EventType = "contact.updated"
	ContactDeleted   EventType = "contact.deleted"
	ContactRestored  EventType = "contact.restored"
	ContactErased    EventType = "contact.erased"
	LifecycleChanged EventType = "contact.lifecycle_changed"
	// ContactMerged is emitted on the survivor of a merge; its Fields name
	// the merged contact ("merged_id") and Before holds it as it was.
	ContactMerged EventType = "contact.merged"

	CompanyCreated  EventType = "company.created"
	CompanyUpdated  EventType = "company.updated"
	CompanyDeleted  EventType = "company.deleted"
	CompanyRestored EventType = "company.restored"
	CompanyErased   EventType = "company.erased"
	// CompanyMerged is emitted on the survivor of a company merge, like
	// ContactMerged.
	CompanyMerged EventType = "company.merged"

	DealCreated      EventType = "deal.created"
	DealUpdated      EventType = "deal.updated"
	DealDeleted      EventType = "deal.deleted"
	DealRestored     EventType = "deal.restored"
	DealErased       EventType = "deal.erased"
	DealStageChanged EventType = "deal.stage_changed"
	DealWon          EventType = "deal.won"
	DealLost         EventType = "deal.lost"

	ActivityCreated  EventType = "activity.created"
	ActivityUpdated  EventType = "activity.updated"
	ActivityDeleted  EventType = "activity.deleted"
	ActivityRestored EventType = "activity.restored"
	ActivityErased   EventType = "activity.erased"
	TaskDue          EventType = "task.due"
	TaskOverdue      EventType = "task.overdue"
	TicketOpened     EventType = "ticket.opened"
	TicketResolved   EventType = "ticket.resolved"

	PurchaseCreated  EventType = "purchase.created"
	PurchaseUpdated  EventType = "purchase.updated"
	PurchaseDeleted  EventType = "purchase.deleted"
	PurchaseRestored EventType = "purchase.restored"
	PurchaseErased   EventType = "purchase.erased"

	PipelineCreated EventType = "pipeline.created"
	PipelineUpdated EventType = "pipeline.updated"
	PipelineDeleted EventType = "pipeline.deleted"

	// The owner_assigned events are emitted when a record gets a new
	// non-empty owner.
	ContactOwnerAssigned  EventType = "contact.owner_assigned"
	CompanyOwnerAssigned  EventType = "company.owner_assigned"
	DealOwnerAssigned     EventType = "deal.owner_assigned"
	ActivityOwnerAssigned EventType = "activity.owner_assigned"
)

// CustomEvent is the prefix of custom events (Tx.Emit, an automation
// rule's emit_event action): "custom.<name>".
const CustomEvent = "custom."

// signalEvents are the event types no write emits, left to packages
// built on crm to emit with Tx.Emit.
var signalEvents = map[EventType]bool{TaskDue: true, TaskOverdue: true}

// ValidEventName reports whether name may follow CustomEvent: 1 to 64
// letters, digits, '_', '-' and '.'.
func ValidEventName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, ch := range name {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-' || ch == '.') {
			return false
		}
	}
	return true
}

// ownerAssigned is the suffix of the owner_assigned events.
const ownerAssigned = "owner_assigned"

// Event is one committed lifecycle event. Events are written to the
// workspace's outbox in the same transaction as the change, numbered in
// commit order (Seq), and are what after-hooks, subscribers and the change
// feed receive.
//
// The outbox stores an event lean: it names the change (kind, record,
// version, change ID, actor, source, time) and copies no record. The
// record before and after the change is read back, from the record and
// the versions it keeps, when the event is delivered; an event of a
// record erased since then arrives Redacted, without them.
type Event struct {
	// ID is unique across all events.
	ID string `msgpack:"id" json:"id"`
	// Seq is the event's position in its workspace's outbox: strictly
	// increasing in commit order, never reused (numbers may be skipped).
	Seq  uint64    `msgpack:"seq,omitempty" json:"seq"`
	Type EventType `msgpack:"type" json:"type"`
	// ChangeID is the history entry of the change; the events of one
	// change share it.
	ChangeID  string    `msgpack:"change_id" json:"change_id"`
	Workspace string    `msgpack:"workspace,omitempty" json:"workspace"`
	Kind      Kind      `msgpack:"kind" json:"kind"`
	RecordID  string    `msgpack:"record_id" json:"record_id"`
	Actor     string    `msgpack:"actor,omitempty" json:"actor,omitempty"`
	Source    string    `msgpack:"source,omitempty" json:"source,omitempty"`
	At        time.Time `msgpack:"at" json:"at"`
	// Version is the record's version after the change (0 for an erase),
	// BeforeVersion its version before the change (0 if none).
	Version       uint64 `msgpack:"version,omitempty" json:"version,omitempty"`
	BeforeVersion uint64 `msgpack:"before_version,omitempty" json:"before_version,omitempty"`
	// Op is the operation of the change the event belongs to (a deal
	// created straight into a won stage emits deal.created and deal.won,
	// both of Op created); empty for events no write caused (Tx.Emit).
	Op Op `msgpack:"op,omitempty" json:"op,omitempty"`
	// Rule and Depth are the change's (see Change): the automation rule
	// that caused it and how deep in a chain of rule-made changes it is.
	Rule  string `msgpack:"rule,omitempty" json:"rule,omitempty"`
	Depth int    `msgpack:"depth,omitempty" json:"depth,omitempty"`
	// Fields lists the changed fields of an update (read from the
	// change's history entry when the event is delivered).
	Fields []FieldChange `msgpack:"fields,omitempty" json:"fields,omitempty"`
	// After is the record after the change (nil for an erase), Before the
	// record before it (nil for a create), in the CRM's stored encoding:
	// decode them with Record and Previous. The outbox stores them only
	// where the record cannot supply them (the merged record of a merge,
	// and events written by older versions).
	After  []byte `msgpack:"after,omitempty" json:"-"`
	Before []byte `msgpack:"before,omitempty" json:"-"`
	// Redacted is set on the events of a record that was erased: their
	// record data, fields and actor are gone.
	Redacted bool `msgpack:"redacted,omitempty" json:"redacted,omitempty"`
}

// Record decodes the record after the change into a new value of its kind
// (*Contact, *Company, *Deal, *Activity, *Purchase or *Pipeline). It returns
// nil for an erase.
func (e *Event) Record() (any, error) { return decodeKind(e.Kind.name, e.After) }

// Previous decodes the record before the change, or returns nil for a
// create.
func (e *Event) Previous() (any, error) { return decodeKind(e.Kind.name, e.Before) }

func decodeKind(kindName string, b []byte) (any, error) {
	if b == nil {
		return nil, nil
	}
	var v any
	switch kindName {
	case "contact":
		v = new(Contact)
	case "company":
		v = new(Company)
	case "deal":
		v = new(Deal)
	case "activity":
		v = new(Activity)
	case "purchase":
		v = new(Purchase)
	case "pipeline":
		v = new(Pipeline)
	default:
		return nil, unknownKind(kindName)
	}
	return v, decode(b, v)
}

// Before is what a before-hook receives: the record about to be written
// and, for updates and deletes, the stored one. It runs inside the write's
// transaction. A handler vetoes the write by returning an error (the write
// fails with a *VetoError and nothing is written), or enriches it by
// changing New: the changed record is validated again and saved in the same
// transaction. Old must not be changed.
type Before[T any] struct {
	// Types are the events the write will emit.
	Types []EventType
	// Op is what the write does.
	Op  Op
	Old *T
	New *T
	t   *txn
	k   *kind[T]
}

// Workspace is the ID of the workspace being written.
func (b *Before[T]) Workspace() string { return b.t.w.info.ID }

// Actor is the user making the change.
func (b *Before[T]) Actor() string { return b.t.actor }

// Has reports whether the write will emit an event of type et.
func (b *Before[T]) Has(et EventType) bool {
	for _, t := range b.Types {
		if t == et {
			return true
		}
	}
	return false
}

// Validate checks r, a copy of New with a hook's changes, as the CRM
// checks the record again after its before-hooks, without changing r or
// New: nil, or a *ValidationError naming each failing field. A hook that
// changes the record on another's behalf (an out-of-process plugin)
// checks the change with it, so that a change breaking the record is the
// hook's failure, not the write's.
func (b *Before[T]) Validate(r *T) error {
	if b.k == nil {
		return nil
	}
	c, err := clone(r)
	if err != nil {
		return err
	}
	*b.k.meta(c) = *b.k.meta(b.New) // identity and stamps stay the CRM's
	p := problems{kind: b.k.name}
	if b.Old != nil {
		p.id = b.k.meta(b.Old).ID
	}
	if err := validate(b.t, b.k, b.Old, c, &p); err != nil {
		return err
	}
	return p.err()
}

// Contact reads a contact inside the write's transaction.
func (b *Before[T]) Contact(id string) (Contact, error) { return readIn(b.t, kindContact, id) }

// Company reads a company inside the write's transaction.
func (b *Before[T]) Company(id string) (Company, error) { return readIn(b.t, kindCompany, id) }

// Deal reads a deal inside the write's transaction.
func (b *Before[T]) Deal(id string) (Deal, error) { return readIn(b.t, kindDeal, id) }

func readIn[T any](t *txn, k *kind[T], id string) (T, error) {
	r, err := get(t.tx, t.w, k, id)
	if err != nil {
		var zero T
		return zero, err
	}
	return *r, nil
}

// VetoError reports a write refused by a before-hook. Nothing was written.
type VetoError struct {
	// Hook is the ID the handler was bound with.
	Hook string
	// Err is what the handler returned (or its panic, or the deadline).
	Err error
}

func (e *VetoError) Error() string { return fmt.Sprintf("crm: vetoed by hook %q: %v", e.Hook, e.Err) }

// Unwrap returns the handler's error.
func (e *VetoError) Unwrap() error { return e.Err }

// Is reports whether target is ErrVetoed.
func (e *VetoError) Is(target error) bool { return target == ErrVetoed }

// Hooks holds the CRM's lifecycle hooks. Bind handlers with the hooks
// package's Bind (a name of your choosing, which errors quote) and
// BindFunc (named after the function). Hooks see the writes of every
// workspace; InWorkspace and AfterInWorkspace narrow a handler to one.
type Hooks struct {
	BeforeContact  hooks.Hook[*Before[Contact]]
	BeforeCompany  hooks.Hook[*Before[Company]]
	BeforeDeal     hooks.Hook[*Before[Deal]]
	BeforeActivity hooks.Hook[*Before[Activity]]
	BeforePurchase hooks.Hook[*Before[Purchase]]
	BeforePipeline hooks.Hook[*Before[Pipeline]]
	// After runs after commit, once per committed event, in commit order
	// within the write. Every handler runs; failures are logged and counted
	// (Stats) and never undo the write. For delivery that survives a crash,
	// use a Dispatcher subscription instead.
	After hooks.Hook[*Event]
}

// Hooks returns the CRM's lifecycle hooks.
func (c *CRM) Hooks() *Hooks { return c.hooks }

// InWorkspace wraps a before-hook handler so that it runs only for the
// writes of workspace id: hooks are bound per CRM, and a rule of one
// tenant is bound this way.
//
//	c.Hooks().BeforeDeal.Bind("acme-discount-cap", 0, crm.InWorkspace("acme", capDiscount))
func InWorkspace[T any](id string, fn hooks.Func[*Before[T]]) hooks.Func[*Before[T]] {
	return func(ctx context.Context, b *Before[T]) error {
		if b.Workspace() != id {
			return nil
		}
		return fn(ctx, b)
	}
}

// AfterInWorkspace wraps an after-hook handler so that it sees only the
// events of workspace id.
func AfterInWorkspace(id string, fn hooks.Func[*Event]) hooks.Func[*Event] {
	return func(ctx context.Context, ev *Event) error {
		if ev.Workspace != id {
			return nil
		}
		return fn(ctx, ev)
	}
}

// runBefore runs the kind's before-hooks for a write of r. It returns true
// if handlers ran (so r must be validated again).
func runBefore[T any](t *txn, k *kind[T], op Op, old, r *T, types []EventType) (bool, error) {
	h := k.before(t.w.crm.hooks)
	if t.w.crm.hooksOff || h.Len() == 0 {
		return false, nil
	}
	ev := &Before[T]{Types: types, Op: op, Old: old, New: r, t: t, k: k}
	if err := h.Trigger(t.ctx, ev); err != nil {
		var he *hooks.HandlerError
		if errors.As(err, &he) {
			return true, &VetoError{Hook: he.ID, Err: he.Err}
		}
		return true, err
	}
	return true, nil
}

// eventTypes lists the events a change emits.
func eventTypes[T any](k *kind[T], op Op, old, r *T) []EventType {
	types := []EventType{EventType(k.name + "." + string(op))}
	if op != OpUpdated && op != OpCreated {
		return types
	}
	if k.owner != nil {
		if o := k.owner(r); o != "" && (old == nil || k.owner(old) != o) {
			types = append(types, EventType(k.name+"."+ownerAssigned))
		}
	}
	if k.events != nil {
		types = k.events(old, r, types)
	}
	return types
}

func dealEvents(old, d *Deal, types []EventType) []EventType {
	if old != nil && (old.StageID != d.StageID || old.PipelineID != d.PipelineID) {
		types = append(types, DealStageChanged)
	}
	if old == nil || old.Status != d.Status {
		switch d.Status {
		case StatusWon:
			types = append(types, DealWon)
		case StatusLost:
			types = append(types, DealLost)
		}
	}
	return types
}

func contactEvents(old, c *Contact, types []EventType) []EventType {
	if old != nil && old.Lifecycle != c.Lifecycle {
		types = append(types, LifecycleChanged)
	}
	return types
}

func activityEvents(old, a *Activity, types []EventType) []EventType {
	if a.Type != ActivityTicket {
		return types
	}
	resolved := !a.ResolvedAt.IsZero()
	switch {
	case old == nil && !resolved, old != nil && !old.ResolvedAt.IsZero() && !resolved:
		types = append(types, TicketOpened)
	case resolved && (old == nil || old.ResolvedAt.IsZero()):
		types = append(types, TicketResolved)
	}
	return types
}

// runAfter runs the after-hooks for committed events. Failures are logged
// and counted, never returned.
func (c *CRM) runAfter(ctx context.Context, events []*Event) {
	if c.hooksOff || c.hooks.After.Len() == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, ev := range events {
		if err := c.hooks.After.TriggerAll(ctx, ev); err != nil {
			for _, he := range hooks.HandlerErrors(err) {
				c.stats.afterFailures.Add(1)
				c.log.Error("crm: after-hook failed", "hook", he.ID, "event", ev.Type, "record", ev.RecordID, "err", he.Err)
			}
		}
	}
}
