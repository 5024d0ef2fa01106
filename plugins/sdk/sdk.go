package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Plugin is implemented by every plugin. A plugin also implements
// BeforeHook to run before writes, EventHandler to receive committed
// events, or both.
type Plugin interface {
	// Manifest describes the plugin to the host. It is called once per
	// start.
	Manifest() Manifest
}

// Manifest describes a plugin: who it is, what it subscribes to and what
// it may do through the host.
type Manifest struct {
	Name    string
	Version string
	// Events are the event types delivered to the plugin's EventHandler
	// after commit: "deal.won", "deal.*" for every deal event, "*" for all.
	Events []string
	// Before are the event types the plugin's BeforeHook runs before
	// ("deal.created", "deal.updated", "deal.*").
	Before []string
	// Capabilities say what the plugin may do through Host:
	// "read:<kind>" and "write:<kind>" for contact, company, deal,
	// activity or purchase, "read:*" or "write:*" for all. Write implies
	// read. The host refuses every other call.
	Capabilities []string
	// Role is the role of the CRM's access policies the plugin asks to
	// act with ("integration", "read_only", or a role the host's policies
	// define), sent to the host as the capability "role:<Role>". In a
	// workspace with a policy, Host reads and writes, and the plugin
	// receives events, only as far as both its capabilities and the role
	// allow. The host decides: it may configure the role itself (a
	// different one refuses the plugin), and gives a plugin that names
	// none the "integration" role.
	Role string
}

// capabilities returns the manifest's capabilities as the host receives
// them: Capabilities, and Role as "role:<Role>".
func (m *Manifest) capabilities() []string {
	if m.Role == "" || slices.Contains(m.Capabilities, "role:"+m.Role) {
		return m.Capabilities
	}
	return append(slices.Clip(m.Capabilities), "role:"+m.Role)
}

// BeforeHook is implemented by plugins that run before writes. Before
// runs inside the write's transaction, under the host's deadline for the
// plugin: return Veto to refuse the write, call w.Set to change fields of
// the record, or return nil to let it through unchanged. Any other error
// is a failure of the plugin, handled by the host's failure policy.
type BeforeHook interface {
	Before(ctx context.Context, w *Write) error
}

// EventHandler is implemented by plugins that receive committed events.
// In a workspace with an access policy, a plugin receives only the events
// of records its role may read, without the fields the role hides.
// Handle is called once per event, in commit order per workspace, one
// call at a time per workspace; an error has the host deliver the event
// (and the rest of its batch) again later.
//
// ctx is cancelled when the host gives up on the delivery (its delivery
// timeout passed, or it closes): Handle should return then. The SDK
// handles no further event of that batch, and does not start the host's
// next delivery of the workspace until Handle has returned, so a handler
// never runs beside an attempt the host abandoned; one that ignores ctx
// delays delivery (the host's next attempts fail, waiting for it) but is
// not run twice at once. Events Handle completed in an attempt the host
// did not see succeed are acknowledged when delivered again without
// calling Handle, for the last few thousand events the process handled.
// A plugin that restarted has forgotten them, so a handler must still
// tolerate seeing an event twice (Event.ID is unique): after a crash, or
// when the host died before recording an acknowledgement.
type EventHandler interface {
	Handle(ctx context.Context, ev *Event, h *Host) error
}

// Write is the write a before-hook runs for.
type Write struct {
	Workspace string
	// Kind is the record kind: contact, company, deal, activity, purchase
	// or pipeline.
	Kind string
	// Op is created, updated, deleted or restored.
	Op string
	// Types are the events the write will emit.
	Types []string
	Actor string
	// Record is the record about to be written, Previous the stored one
	// (nil on create), as JSON.
	Record, Previous json.RawMessage
	// Host reads records inside the write's transaction (read-only; nil
	// when the plugin declared no capabilities). In a workspace with an
	// access policy it reads the committed records instead, as the
	// plugin's role may see them.
	Host    *Host
	changes []change
}

type change struct {
	field string
	json  []byte
}

// Decode decodes the record about to be written into v (a *crm.Deal, say).
func (w *Write) Decode(v any) error { return json.Unmarshal(w.Record, v) }

// Has reports whether the write will emit an event of type t.
func (w *Write) Has(t string) bool {
	for _, x := range w.Types {
		if x == t {
			return true
		}
	}
	return false
}

// Set changes a field of the record before it is saved: field is its JSON
// name ("name", "amount", "custom.score"). The host validates the changed
// record again, and refuses changes to fields that do not exist or that
// the CRM owns (id, version, timestamps).
func (w *Write) Set(field string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("sdk: field %s: %w", field, err)
	}
	w.changes = append(w.changes, change{field, b})
	return nil
}

// ErrVetoed matches every *VetoError.
var ErrVetoed = errors.New("vetoed")

// VetoError refuses a write; its reason reaches the caller of the write.
type VetoError struct{ Reason string }

func (e *VetoError) Error() string { return "sdk: vetoed: " + e.Reason }

// Is reports whether target is ErrVetoed.
func (e *VetoError) Is(target error) bool { return target == ErrVetoed }

// Veto returns the error a before-hook returns to refuse a write.
func Veto(reason string) error { return &VetoError{Reason: reason} }

// Event is one committed lifecycle event.
type Event struct {
	ID       string
	Seq      uint64
	Type     string
	ChangeID string
	// Workspace is the workspace the event happened in; Host is confined
	// to it.
	Workspace string
	Kind      string
	RecordID  string
	Actor     string
	// Source is where the change came from; writes a plugin makes through
	// Host carry "plugin:<name>".
	Source string
	At     time.Time
	// Fields lists the changed fields of an update.
	Fields []FieldChange
	// Record is the record after the change (nil for an erase), Previous
	// before it (nil for a create), as JSON.
	Record, Previous json.RawMessage
	// Redacted is set on events of a record that was erased since.
	Redacted bool
}

// FieldChange is one changed field, values as JSON.
type FieldChange struct {
	Field    string
	Old, New json.RawMessage
}

// Decode decodes the record after the change into v.
func (e *Event) Decode(v any) error {
	if len(e.Record) == 0 {
		return fmt.Errorf("sdk: event %s carries no record", e.ID)
	}
	return json.Unmarshal(e.Record, v)
}
