package crm

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
)

// kindEvents are the event types of each rule object kind.
var kindEvents = map[string][]EventType{
	"contact":  {ContactCreated, ContactUpdated, ContactDeleted, ContactRestored, LifecycleChanged, ContactMerged, ContactOwnerAssigned},
	"company":  {CompanyCreated, CompanyUpdated, CompanyDeleted, CompanyRestored, CompanyMerged, CompanyOwnerAssigned},
	"deal":     {DealCreated, DealUpdated, DealDeleted, DealRestored, DealStageChanged, DealWonEvent, DealLostEvent, DealOwnerAssigned},
	"activity": {ActivityCreated, ActivityUpdated, ActivityDeleted, ActivityRestored, ActivityOwnerAssigned, TaskDue, TaskOverdue, TicketOpened, TicketResolved},
}

// relatedEvents are events of other kinds that a rule may take as its
// trigger, acting on the records they link to: an activity logged on a
// contact, a purchase by a company.
var relatedEvents = map[EventType][]string{
	ActivityCreated: {"contact", "company", "deal"},
	PurchaseCreated: {"contact", "company"},
}

// settable are the stored fields set_field may set, by kind; custom
// fields are settable too. Computed fields, links and identity are not.
var settable = map[string][]string{
	"contact": {"first_name", "last_name", "title", "birthday", "preferred_channel", "interests",
		"lead_source", "lifecycle", "owner_id", "tags", "address.street", "address.city",
		"address.region", "address.postal_code", "address.country"},
	"company": {"name", "domain", "industry", "employees", "owner_id", "tags", "address.street",
		"address.city", "address.region", "address.postal_code", "address.country"},
	"deal":     {"name", "close_date", "owner_id", "source", "lost_reason"},
	"activity": {"subject", "body", "outcome", "assignee_id", "owner_id", "done", "status", "priority", "due_at"},
}

// targets are the targets each kind's actions may name besides itself.
var targets = map[string][]string{
	"contact":  {"company"},
	"company":  {"contacts"},
	"deal":     {"company", "contacts"},
	"activity": {},
}

// actionFields lists the fields each action type uses; any other set
// field is an error.
var actionFields = map[ActionType][]string{
	ActionSetField:          {"field", "value"},
	ActionAssignOwner:       {"owner", "route"},
	ActionMoveStage:         {"stage"},
	ActionCreateTask:        {"target", "subject", "body", "due", "assignee"},
	ActionLogNote:           {"target", "subject", "body"},
	ActionLogActivity:       {"target", "activity_type", "subject", "body", "assignee"},
	ActionAddToSegment:      {"segment"},
	ActionRemoveFromSegment: {"segment"},
	ActionSetLifecycle:      {"target", "lifecycle"},
	ActionEmitEvent:         {"event"},
	ActionEnrol:             {"target", "sequence"},
}

func (a *Action) setFields() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"target", a.Target != ""}, {"field", a.Field != ""}, {"value", a.Value != nil},
		{"owner", a.Owner != ""}, {"route", a.Route != nil}, {"stage", a.Stage != ""},
		{"activity_type", a.ActivityType != ""}, {"subject", a.Subject != ""}, {"body", a.Body != ""},
		{"due", a.Due != 0}, {"assignee", a.Assignee != ""}, {"segment", a.Segment != ""},
		{"lifecycle", a.Lifecycle != ""}, {"event", a.Event != ""}, {"sequence", a.Sequence != ""},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// checkRule validates and normalises a rule inside a write, returning its
// parsed condition. Every problem is reported at once in a
// *ValidationError naming the field ("trigger.time.offset",
// "actions[1].stage").
func checkRule(t *txn, r *Rule) (filter.Expr, error) {
	if err := t.checkWorkspace(); err != nil {
		return nil, err
	}
	p := problems{kind: "rule", id: r.ID}
	r.Name = cleanText(&p, "name", r.Name, maxShortText)
	if r.Name == "" {
		p.add("name", "is required")
	}
	if _, ok := ruleObjects[r.Object]; !ok {
		p.add("object", "%q is not contact, company, deal or activity", r.Object)
		return nil, p.err()
	}
	schema, err := ruleSchema(t.tx, t.w, r.Object)
	if err != nil {
		return nil, err
	}
	if err := checkTrigger(t, &p, r, schema); err != nil {
		return nil, err
	}
	var e filter.Expr
	if strings.TrimSpace(r.Where) != "" {
		e, err = filter.Parse(r.Where)
		if err == nil {
			err = filter.Check(e, schema)
		}
		if err != nil {
			p.add("where", "%v", strings.TrimPrefix(err.Error(), "filter: "))
		} else {
			r.Where = filter.Format(e)
		}
	} else {
		r.Where = ""
	}
	if len(r.Actions) == 0 {
		p.add("actions", "a rule needs at least one action")
	}
	if len(r.Actions) > 50 {
		p.add("actions", "has %d actions, limit is 50", len(r.Actions))
	}
	for i := range r.Actions {
		if err := checkAction(t, &p, fmt.Sprintf("actions[%d]", i), r.Object, &r.Actions[i], schema); err != nil {
			return nil, err
		}
	}
	return e, p.err()
}

func checkTrigger(t *txn, p *problems, r *Rule, schema filter.Schema) error {
	tr := &r.Trigger
	n := 0
	for _, set := range []bool{tr.Event != "", tr.Time != nil, tr.Schedule != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		p.add("trigger", "set exactly one of event, time and schedule")
		return nil
	}
	if tr.Event == "" && (len(tr.Fields) > 0 || tr.Segment != "") {
		p.add("trigger", "fields and segment narrow an event trigger only")
	}
	switch {
	case tr.Event != "":
		return checkEventTrigger(t, p, r, schema)
	case tr.Time != nil:
		f := tr.Time.Field
		typ, ok := timeField(schema, r.Object, f)
		if !ok {
			p.add("trigger.time.field", "%q is not a date or time field of %s", f, r.Object)
		} else if tr.Time.Yearly && typ != filter.TypeDate {
			p.add("trigger.time.yearly", "only a date field (such as birthday) recurs yearly, not %s", f)
		}
		checkOffset(p, "trigger.time.offset", tr.Time.Offset, true)
	default:
		s := tr.Schedule
		if s.Start.IsZero() {
			p.add("trigger.schedule.start", "is required")
		}
		s.Start = s.Start.UTC()
		if s.Every < Offset(time.Hour) {
			p.add("trigger.schedule.every", "%s is shorter than 1h", s.Every)
		}
		checkOffset(p, "trigger.schedule.every", s.Every, false)
	}
	return nil
}

func checkOffset(p *problems, field string, o Offset, signed bool) {
	if o > MaxTimerOffset || o < -MaxTimerOffset {
		p.add(field, "%s is out of range (at most %s either way)", o, MaxTimerOffset)
	} else if !signed && o < 0 {
		p.add(field, "%s must not be negative", o)
	}
}

func checkEventTrigger(t *txn, p *problems, r *Rule, schema filter.Schema) error {
	tr := &r.Trigger
	ev := tr.Event
	switch {
	case strings.HasPrefix(string(ev), CustomEvent):
		if !validEventName(strings.TrimPrefix(string(ev), CustomEvent)) {
			p.add("trigger.event", "%q: a custom event is custom.<name> with a name of letters, digits, '_', '-' and '.'", ev)
		}
	case ev == SegmentEntered || ev == SegmentLeft:
		if r.Object == "activity" {
			p.add("trigger.event", "activities are in no segment")
		} else if tr.Segment != "" {
			seg, _, err := t.w.Segments().find(t.tx, tr.Segment)
			switch {
			case isNotFoundOrDeleted(err):
				p.add("trigger.segment", "no segment %s", tr.Segment)
			case err != nil:
				return err
			case seg.Object != r.Object:
				p.add("trigger.segment", "segment %s holds %s records, not %s", tr.Segment, seg.Object, r.Object)
			}
		}
	case slices.Contains(kindEvents[r.Object], ev):
	case slices.Contains(relatedEvents[ev], r.Object):
	default:
		p.add("trigger.event", "%q is not an event of %s records", ev, r.Object)
	}
	if tr.Segment != "" && ev != SegmentEntered && ev != SegmentLeft {
		p.add("trigger.segment", "only segment.entered and segment.left name a segment")
	}
	if len(tr.Fields) > 0 {
		if ev != EventType(r.Object+".updated") {
			p.add("trigger.fields", "only %s.updated narrows to changed fields", r.Object)
		}
		for i, f := range tr.Fields {
			if _, ok := schema.FieldType(f); !ok {
				p.add(fmt.Sprintf("trigger.fields[%d]", i), "%q is not a field of %s", f, r.Object)
			}
		}
	}
	return nil
}

func validEventName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, ch := range s {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-' || ch == '.') {
			return false
		}
	}
	return true
}

func checkAction(t *txn, p *problems, at, object string, a *Action, schema filter.Schema) error {
	allowed, ok := actionFields[a.Type]
	if !ok {
		p.add(at+".type", "%q is not an action", a.Type)
		return nil
	}
	for _, f := range a.setFields() {
		if !slices.Contains(allowed, f) {
			p.add(at+"."+f, "is not used by %s", a.Type)
		}
	}
	if a.Target != "" && !slices.Contains(targets[object], a.Target) {
		p.add(at+".target", "%q is not a target of a %s rule (%s)", a.Target, object, strings.Join(append([]string{`""`}, targets[object]...), ", "))
	}
	need := func(field string, set bool) {
		if !set {
			p.add(at+"."+field, "is required by %s", a.Type)
		}
	}
	only := func(kinds ...string) bool {
		if !slices.Contains(kinds, object) {
			p.add(at+".type", "%s does not apply to %s records", a.Type, object)
			return false
		}
		return true
	}
	switch a.Type {
	case ActionSetField:
		need("field", a.Field != "")
		if a.Field != "" {
			checkSetField(p, at, object, a, schema)
		}
	case ActionAssignOwner:
		if only("contact", "company", "deal") && (a.Owner == "") == (a.Route == nil) {
			p.add(at+".owner", "set either owner or route")
		}
		if a.Route != nil {
			a.Route.check(p, at+".route")
		}
		a.Owner = cleanText(p, at+".owner", a.Owner, maxShortText)
	case ActionMoveStage:
		need("stage", a.Stage != "")
		if only("deal") && a.Stage != "" {
			return checkStageName(t, p, at+".stage", a.Stage)
		}
	case ActionCreateTask:
		need("subject", a.Subject != "")
		checkOffset(p, at+".due", a.Due, false)
	case ActionLogNote:
		need("subject", a.Subject != "" || a.Body != "")
	case ActionLogActivity:
		switch a.ActivityType {
		case ActivityCall, ActivityEmail, ActivityMeeting, ActivityNote:
		default:
			p.add(at+".activity_type", "%q is not call, email, meeting or note", a.ActivityType)
		}
	case ActionAddToSegment, ActionRemoveFromSegment:
		need("segment", a.Segment != "")
		if a.Segment == "" || !only("contact", "company", "deal") {
			return nil
		}
		seg, _, err := t.w.Segments().find(t.tx, a.Segment)
		switch {
		case isNotFoundOrDeleted(err):
			p.add(at+".segment", "no segment %s", a.Segment)
		case err != nil:
			return err
		case !seg.Static:
			p.add(at+".segment", "segment %s is dynamic: only static segments have members to add or remove", a.Segment)
		case seg.Object != object:
			p.add(at+".segment", "segment %s holds %s records, not %s", a.Segment, seg.Object, object)
		}
	case ActionSetLifecycle:
		need("lifecycle", a.Lifecycle != "")
		if only("contact", "company", "deal") && object != "contact" && a.Target != "contacts" {
			p.add(at+".target", "a %s has no lifecycle stage: target its contacts", object)
		}
		if a.Lifecycle != "" && !slices.Contains(t.info.LifecycleStages, strings.ToLower(a.Lifecycle)) {
			p.add(at+".lifecycle", "%q is not a lifecycle stage of this workspace (%s)", a.Lifecycle, strings.Join(t.info.LifecycleStages, ", "))
		}
		a.Lifecycle = strings.ToLower(a.Lifecycle)
	case ActionEmitEvent:
		if !validEventName(a.Event) {
			p.add(at+".event", "%q: want a name of letters, digits, '_', '-' and '.'", a.Event)
		}
	case ActionEnrol:
		need("sequence", a.Sequence != "")
		if only("contact", "company", "deal") && object != "contact" && a.Target != "contacts" {
			p.add(at+".target", "sequences enrol contacts: target the %s's contacts", object)
		}
		if a.Sequence != "" {
			if _, err := loadSequence(t.tx, t.w, a.Sequence); isNotFoundOrDeleted(err) {
				p.add(at+".sequence", "no sequence %s", a.Sequence)
			} else if err != nil {
				return err
			}
		}
	}
	if a.Type == ActionCreateTask || a.Type == ActionLogNote || a.Type == ActionLogActivity {
		a.Subject = cleanText(p, at+".subject", a.Subject, maxShortText)
		a.Body = cleanText(p, at+".body", a.Body, maxLongText)
	}
	return nil
}

// checkSetField checks that a value fits the field set_field sets.
func checkSetField(p *problems, at, object string, a *Action, schema filter.Schema) {
	name := a.Field
	typ, ok := schema.FieldType(name)
	if !ok || (!strings.HasPrefix(name, "custom.") && !slices.Contains(settable[object], name)) {
		p.add(at+".field", "%q is not a field a rule can set on %s records", name, object)
		return
	}
	v := a.Value
	if v == nil {
		return // clears the field
	}
	bad := false
	switch typ {
	case filter.TypeText:
		_, ok := v.(string)
		bad = !ok
	case filter.TypeNumber:
		_, ok := toFloat(v)
		bad = !ok
	case filter.TypeBool:
		_, ok := v.(bool)
		bad = !ok
	case filter.TypeDate:
		s, ok := v.(string)
		if ok {
			_, err := ParseDate(s)
			ok = err == nil
		}
		bad = !ok
	case filter.TypeTime:
		s, ok := v.(string)
		if ok {
			_, err := time.Parse(time.RFC3339, s)
			ok = err == nil
		}
		bad = !ok
	case filter.TypeList:
		switch x := v.(type) {
		case []string:
		case []any:
			for _, e := range x {
				if _, ok := e.(string); !ok {
					bad = true
				}
			}
		default:
			bad = true
		}
	}
	if bad {
		p.add(at+".value", "%v does not fit %s, a %s field", v, name, typ)
	}
}

// checkStageName checks that a stage ID or name exists in some pipeline.
func checkStageName(t *txn, p *problems, at, stage string) error {
	for e, err := range t.tx.Scan(pipelinesRange(t.w)) {
		if err != nil {
			return err
		}
		var pl Pipeline
		if err := decode(e.Value, &pl); err != nil {
			return err
		}
		if _, ok := pl.Stage(stage); ok {
			return nil
		}
		if _, ok := pl.StageByName(stage); ok {
			return nil
		}
	}
	p.add(at, "no pipeline has a stage %q", stage)
	return nil
}
