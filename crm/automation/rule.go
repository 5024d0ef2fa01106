package automation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
)

// Rule is an automation rule: when its trigger fires for a record of its
// object kind and the record matches its conditions, its actions run, in
// one transaction, attributed to the rule in the record's history (see
// Change.Rule). Rules are saved per workspace through Rules, from Go or as
// JSON documents (ParseRule), so a host application can offer a rule
// editor.
type Rule struct {
	ID   string `msgpack:"id" json:"id,omitempty"`
	Name string `msgpack:"name" json:"name"`
	// Object is the kind of record the rule acts on: crm.KindContact,
	// crm.KindCompany, crm.KindDeal or crm.KindActivity.
	Object crm.Kind `msgpack:"object" json:"object"`
	// Disabled rules neither fire nor keep timers.
	Disabled bool    `msgpack:"disabled,omitempty" json:"disabled,omitempty"`
	Trigger  Trigger `msgpack:"trigger" json:"trigger"`
	// Where is the condition in the segmentation language (package
	// filter), checked against the record when the trigger fires; empty
	// matches every record. It is stored in canonical text form; a JSON
	// document may give it as text or in the filter's JSON form.
	Where   string   `msgpack:"where,omitempty" json:"where,omitempty"`
	Actions []Action `msgpack:"actions" json:"actions"`
	// RunAs is the principal the rule's actions act as, so they change
	// only what its roles allow under the workspace's access policy; nil
	// runs them as crm.System.
	RunAs *crm.Principal `msgpack:"run_as,omitempty" json:"run_as,omitempty"`
	// Since is the outbox position when the rule was saved: earlier
	// events do not trigger it.
	Since     uint64    `msgpack:"since" json:"-"`
	CreatedAt time.Time `msgpack:"created_at" json:"created_at,omitzero"`
	UpdatedAt time.Time `msgpack:"updated_at" json:"updated_at,omitzero"`
}

// Trigger says when a rule fires: on an event (Event, with Fields or
// Segment to narrow it), when a time field is reached (Time), or on a
// schedule (Schedule). Exactly one of Event, Time and Schedule is set.
type Trigger struct {
	// Event is an event type of the rule's object kind ("deal.won",
	// "contact.created", "activity.created", "task.overdue"), a segment
	// event ("segment.entered", "segment.left"), or a custom event emitted
	// by a rule ("custom.<name>").
	Event crm.EventType `msgpack:"event,omitempty" json:"event,omitempty"`
	// Fields narrows an updated event to changes of these fields ("field
	// changed"): the rule fires when any of them changed.
	Fields []string `msgpack:"fields,omitempty" json:"fields,omitempty"`
	// Segment narrows a segment event to one segment.
	Segment  string        `msgpack:"segment,omitempty" json:"segment,omitempty"`
	Time     *TimeTrigger  `msgpack:"time,omitempty" json:"time,omitempty"`
	Schedule *ScheduleSpec `msgpack:"schedule,omitempty" json:"schedule,omitempty"`
}

// TimeTrigger fires once per record when the record's time Field plus
// Offset is reached: "close_date" with offset 1d is "a day after the
// expected close date passed", "idle_since" with 45d "no activity for 45
// days", "stage_entered_at" with 10d "in the stage longer than 10 days".
// A record whose field moves gets a new occurrence; one that fired keeps
// quiet until then.
//
// Besides the date and time fields of the object's filter schema
// (close_date, birthday, created_at, last_activity_at, custom date fields,
// ...), time triggers read idle_since (the latest of the record's
// creation, its last activity and, for deals, its last stage change),
// stage_entered_at (deals) and due_at, remind_at and occurred_at
// (activities).
type TimeTrigger struct {
	Field  string `msgpack:"field" json:"field"`
	Offset Offset `msgpack:"offset,omitempty" json:"offset,omitempty"`
	// Yearly fires on every anniversary of a date (birthdays).
	Yearly bool `msgpack:"yearly,omitempty" json:"yearly,omitempty"`
}

// ScheduleSpec fires a rule at Start and then every Every, acting on
// every record of the rule's object that matches its conditions at that
// time.
type ScheduleSpec struct {
	Start time.Time `msgpack:"start" json:"start"`
	Every Offset    `msgpack:"every" json:"every"`
}

// ActionType names what an action does.
type ActionType string

// The actions a rule can take.
const (
	// ActionSetField sets Field (a stored or custom field) to Value.
	ActionSetField ActionType = "set_field"
	// ActionAssignOwner sets the owner to Owner, or to the rep Route
	// picks.
	ActionAssignOwner ActionType = "assign_owner"
	// ActionMoveStage moves a deal to Stage (an ID or name) of its
	// pipeline.
	ActionMoveStage ActionType = "move_stage"
	// ActionCreateTask creates a task due Due after now, assigned to
	// Assignee, linked to the target.
	ActionCreateTask ActionType = "create_task"
	// ActionLogNote logs a note on the target.
	ActionLogNote ActionType = "log_note"
	// ActionLogActivity logs an activity of ActivityType (an outbound
	// email for a plugin to send, a call to make) on the target.
	ActionLogActivity ActionType = "log_activity"
	// ActionAddToSegment and ActionRemoveFromSegment change a static
	// segment's members.
	ActionAddToSegment      ActionType = "add_to_segment"
	ActionRemoveFromSegment ActionType = "remove_from_segment"
	// ActionSetLifecycle sets the lifecycle stage of a contact, or of
	// the contacts of a deal or company.
	ActionSetLifecycle ActionType = "set_lifecycle"
	// ActionEmitEvent emits "custom.<Event>" on the record, for plugins
	// (a webhook) and other rules.
	ActionEmitEvent ActionType = "emit_event"
	// ActionEnrol enrols a contact, or a deal's contacts, in Sequence.
	ActionEnrol ActionType = "enrol"
)

// Action is one step of a rule. Which fields apply depends on Type; a
// field that does not apply is an error, so a rule says exactly what it
// does. Subject and Body may name the record with {name} and {id}.
type Action struct {
	Type ActionType `msgpack:"type" json:"type"`
	// Target is what the action applies to: "" (the record itself),
	// "company" (the contact's first company or the deal's company) or
	// "contacts" (a deal's or company's contacts).
	Target string `msgpack:"target,omitempty" json:"target,omitempty"`
	Field  string `msgpack:"field,omitempty" json:"field,omitempty"`
	Value  any    `msgpack:"value,omitempty" json:"value,omitempty"`
	Owner  string `msgpack:"owner,omitempty" json:"owner,omitempty"`
	Route  *Route `msgpack:"route,omitempty" json:"route,omitempty"`
	// Stage is a stage ID or name of the deal's pipeline.
	Stage        string           `msgpack:"stage,omitempty" json:"stage,omitempty"`
	ActivityType crm.ActivityType `msgpack:"activity_type,omitempty" json:"activity_type,omitempty"`
	Subject      string           `msgpack:"subject,omitempty" json:"subject,omitempty"`
	Body         string           `msgpack:"body,omitempty" json:"body,omitempty"`
	// Due is how long after the action a task is due.
	Due Offset `msgpack:"due,omitempty" json:"due,omitempty"`
	// Assignee is a user ID, "owner" (the record's owner; for an activity
	// its assignee, else its owner) or "manager" (the Manager of that
	// user in the workspace's team).
	Assignee  string `msgpack:"assignee,omitempty" json:"assignee,omitempty"`
	Segment   string `msgpack:"segment,omitempty" json:"segment,omitempty"`
	Lifecycle string `msgpack:"lifecycle,omitempty" json:"lifecycle,omitempty"`
	Event     string `msgpack:"event,omitempty" json:"event,omitempty"`
	Sequence  string `msgpack:"sequence,omitempty" json:"sequence,omitempty"`
}

// Offset is a signed span of time written as a number and a unit: "45d",
// "-3d", "12h", "30m", "90s", "2w" (days are 24 hours, weeks 7 days).
type Offset time.Duration

// MaxTimerOffset bounds time trigger offsets, task due offsets and
// schedule periods: ten years.
const MaxTimerOffset = Offset(3650 * 24 * time.Hour)

// ParseOffset reads an offset.
func ParseOffset(s string) (Offset, error) {
	t := strings.TrimSpace(s)
	sign := time.Duration(1)
	if rest, ok := strings.CutPrefix(t, "-"); ok {
		sign, t = -1, rest
	} else if rest, ok := strings.CutPrefix(t, "+"); ok {
		t = rest
	}
	if len(t) < 2 {
		return 0, fmt.Errorf("crm: offset %q: want a number and a unit (s, m, h, d or w)", s)
	}
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	unit, ok := units[t[len(t)-1]]
	n, err := strconv.ParseInt(t[:len(t)-1], 10, 64)
	if !ok || err != nil || n < 0 || t[0] == '+' || t[0] == '-' {
		return 0, fmt.Errorf("crm: offset %q: want a number and a unit (s, m, h, d or w)", s)
	}
	if n > int64(MaxTimerOffset)/int64(unit) {
		return 0, fmt.Errorf("crm: offset %q: beyond %s", s, MaxTimerOffset)
	}
	return Offset(sign * time.Duration(n) * unit), nil
}

// String writes the offset in its largest exact unit.
func (o Offset) String() string {
	d := time.Duration(o)
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	for _, u := range []struct {
		d time.Duration
		s string
	}{{7 * 24 * time.Hour, "w"}, {24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if d%u.d == 0 && d != 0 {
			return sign + strconv.FormatInt(int64(d/u.d), 10) + u.s
		}
	}
	return sign + strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// MarshalJSON writes the offset as text.
func (o Offset) MarshalJSON() ([]byte, error) { return json.Marshal(o.String()) }

// UnmarshalJSON reads an offset from text.
func (o *Offset) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("crm: offset: want text such as \"14d\", found %s", b)
	}
	v, err := ParseOffset(s)
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// ParseRule reads a rule from its JSON document. Unknown keys are errors,
// the conditions ("where") may be filter text or the filter's JSON form,
// and the result still has to pass validation when it is saved.
func ParseRule(doc []byte) (Rule, error) {
	type plain Rule
	var raw struct {
		plain
		Where json.RawMessage `json:"where,omitempty"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Rule{}, &crm.ValidationError{Kind: "rule", Fields: []crm.FieldError{{Field: "document", Reason: jsonReason(err)}}}
	}
	if dec.More() {
		return Rule{}, &crm.ValidationError{Kind: "rule", Fields: []crm.FieldError{{Field: "document", Reason: "trailing data after the rule"}}}
	}
	r := Rule(raw.plain)
	r.Actions = append([]Action(nil), raw.Actions...)
	for i := range r.Actions {
		r.Actions[i].Value = plainJSON(r.Actions[i].Value)
	}
	w := bytes.TrimSpace(raw.Where)
	switch {
	case len(w) == 0 || string(w) == "null":
	case w[0] == '"':
		if err := json.Unmarshal(w, &r.Where); err != nil {
			return Rule{}, &crm.ValidationError{Kind: "rule", ID: r.ID, Fields: []crm.FieldError{{Field: "where", Reason: err.Error()}}}
		}
	default:
		e, err := filter.ParseJSON(w)
		if err != nil {
			return Rule{}, &crm.ValidationError{Kind: "rule", ID: r.ID, Fields: []crm.FieldError{{Field: "where", Reason: err.Error()}}}
		}
		r.Where = filter.Format(e)
	}
	return r, nil
}

// jsonReason turns a decoding error into a reason that names the key.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s: want %s, found a JSON %s", te.Field, te.Type, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// plainJSON turns json.Number values into int64 or float64.
func plainJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = plainJSON(x[i])
		}
	}
	return v
}

// MarshalRule writes a rule as its JSON document, the form ParseRule
// reads.
func MarshalRule(r Rule) ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
