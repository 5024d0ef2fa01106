package automation

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
)

// kindEvents are the event types of each rule object kind.
var kindEvents = map[crm.Kind][]crm.EventType{
	crm.KindContact:  {crm.ContactCreated, crm.ContactUpdated, crm.ContactDeleted, crm.ContactRestored, crm.LifecycleChanged, crm.ContactMerged, crm.ContactOwnerAssigned},
	crm.KindCompany:  {crm.CompanyCreated, crm.CompanyUpdated, crm.CompanyDeleted, crm.CompanyRestored, crm.CompanyMerged, crm.CompanyOwnerAssigned},
	crm.KindDeal:     {crm.DealCreated, crm.DealUpdated, crm.DealDeleted, crm.DealRestored, crm.DealStageChanged, crm.DealWon, crm.DealLost, crm.DealOwnerAssigned},
	crm.KindActivity: {crm.ActivityCreated, crm.ActivityUpdated, crm.ActivityDeleted, crm.ActivityRestored, crm.ActivityOwnerAssigned, crm.TaskDue, crm.TaskOverdue, crm.TicketOpened, crm.TicketResolved},
}

// relatedEvents are events of other kinds that a rule may take as its
// trigger, acting on the records they link to: an activity logged on a
// contact, a purchase by a company.
var relatedEvents = map[crm.EventType][]crm.Kind{
	crm.ActivityCreated: {crm.KindContact, crm.KindCompany, crm.KindDeal},
	crm.PurchaseCreated: {crm.KindContact, crm.KindCompany},
}

// settable are the stored fields set_field may set, by kind; custom
// fields are settable too. Computed fields, links and identity are not.
var settable = map[crm.Kind][]string{
	crm.KindContact: {"first_name", "last_name", "title", "birthday", "preferred_channel", "interests",
		"lead_source", "lifecycle", "owner_id", "tags", "address.street", "address.city",
		"address.region", "address.postal_code", "address.country"},
	crm.KindCompany: {"name", "domain", "industry", "employees", "owner_id", "tags", "address.street",
		"address.city", "address.region", "address.postal_code", "address.country"},
	crm.KindDeal:     {"name", "close_date", "owner_id", "source", "lost_reason"},
	crm.KindActivity: {"subject", "body", "outcome", "assignee_id", "owner_id", "done", "status", "priority", "due_at"},
}

// targets are the targets each kind's actions may name besides itself.
var targets = map[crm.Kind][]string{
	crm.KindContact:  {crm.KindCompany.String()},
	crm.KindCompany:  {"contacts"},
	crm.KindDeal:     {crm.KindCompany.String(), "contacts"},
	crm.KindActivity: {},
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
func checkRule(t *crm.ReadTx, r *Rule) (filter.Expr, error) {
	p := crm.ValidationError{Kind: "rule", ID: r.ID}
	r.Name = crm.CheckText(&p, "name", r.Name)
	if r.Name == "" {
		p.Add("name", "is required")
	}
	if _, ok := ruleObjects[r.Object]; !ok {
		p.Add("object", "%q is not contact, company, deal or activity", r.Object)
		return nil, p.Err()
	}
	schema, err := ruleSchema(t, r.Object)
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
			p.Add("where", "%v", strings.TrimPrefix(err.Error(), "filter: "))
		} else {
			r.Where = filter.Format(e)
		}
	} else {
		r.Where = ""
	}
	if len(r.Actions) == 0 {
		p.Add("actions", "a rule needs at least one action")
	}
	if len(r.Actions) > 50 {
		p.Add("actions", "has %d actions, limit is 50", len(r.Actions))
	}
	for i := range r.Actions {
		if err := checkAction(t, &p, fmt.Sprintf("actions[%d]", i), r.Object, &r.Actions[i], schema); err != nil {
			return nil, err
		}
	}
	return e, p.Err()
}

func checkTrigger(t *crm.ReadTx, p *crm.ValidationError, r *Rule, schema filter.Schema) error {
	tr := &r.Trigger
	n := 0
	for _, set := range []bool{tr.Event != "", tr.Time != nil, tr.Schedule != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		p.Add("trigger", "set exactly one of event, time and schedule")
		return nil
	}
	if tr.Event == "" && (len(tr.Fields) > 0 || tr.Segment != "") {
		p.Add("trigger", "fields and segment narrow an event trigger only")
	}
	switch {
	case tr.Event != "":
		return checkEventTrigger(t, p, r, schema)
	case tr.Time != nil:
		f := tr.Time.Field
		typ, ok := timeField(schema, r.Object, f)
		if !ok {
			p.Add("trigger.time.field", "%q is not a date or time field of %s", f, r.Object)
		} else if tr.Time.Yearly && typ != filter.TypeDate {
			p.Add("trigger.time.yearly", "only a date field (such as birthday) recurs yearly, not %s", f)
		}
		checkOffset(p, "trigger.time.offset", tr.Time.Offset, true)
	default:
		s := tr.Schedule
		if s.Start.IsZero() {
			p.Add("trigger.schedule.start", "is required")
		}
		s.Start = s.Start.UTC()
		if s.Every < Offset(time.Hour) {
			p.Add("trigger.schedule.every", "%s is shorter than 1h", s.Every)
		}
		checkOffset(p, "trigger.schedule.every", s.Every, false)
	}
	return nil
}

func checkOffset(p *crm.ValidationError, field string, o Offset, signed bool) {
	if o > MaxTimerOffset || o < -MaxTimerOffset {
		p.Add(field, "%s is out of range (at most %s either way)", o, MaxTimerOffset)
	} else if !signed && o < 0 {
		p.Add(field, "%s must not be negative", o)
	}
}

func checkEventTrigger(t *crm.ReadTx, p *crm.ValidationError, r *Rule, schema filter.Schema) error {
	tr := &r.Trigger
	ev := tr.Event
	switch {
	case strings.HasPrefix(string(ev), crm.CustomEvent):
		if !crm.ValidEventName(strings.TrimPrefix(string(ev), crm.CustomEvent)) {
			p.Add("trigger.event", "%q: a custom event is custom.<name> with a name of letters, digits, '_', '-' and '.'", ev)
		}
	case ev == crm.SegmentEntered || ev == crm.SegmentLeft:
		if r.Object == crm.KindActivity {
			p.Add("trigger.event", "activities are in no segment")
		} else if tr.Segment != "" {
			seg, err := t.Segment(tr.Segment)
			switch {
			case isNotFoundOrDeleted(err):
				p.Add("trigger.segment", "no segment %s", tr.Segment)
			case err != nil:
				return err
			case seg.Object != r.Object:
				p.Add("trigger.segment", "segment %s holds %s records, not %s", tr.Segment, seg.Object, r.Object)
			}
		}
	case slices.Contains(kindEvents[r.Object], ev):
	case slices.Contains(relatedEvents[ev], r.Object):
	default:
		p.Add("trigger.event", "%q is not an event of %s records", ev, r.Object)
	}
	if tr.Segment != "" && ev != crm.SegmentEntered && ev != crm.SegmentLeft {
		p.Add("trigger.segment", "only segment.entered and segment.left name a segment")
	}
	if len(tr.Fields) > 0 {
		if ev != crm.EventType(r.Object.String()+".updated") {
			p.Add("trigger.fields", "only %s.updated narrows to changed fields", r.Object)
		}
		for i, f := range tr.Fields {
			if _, ok := schema.FieldType(f); !ok {
				p.Add(fmt.Sprintf("trigger.fields[%d]", i), "%q is not a field of %s", f, r.Object)
			}
		}
	}
	return nil
}

// toFloat reads a number of any Go numeric type, or of a JSON document.
func toFloat(v any) (float64, bool) {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		return f, err == nil
	}
	val, err := filter.ValueOf(v)
	if err != nil {
		return 0, false
	}
	return val.AsNumber()
}

func checkAction(t *crm.ReadTx, p *crm.ValidationError, at string, object crm.Kind, a *Action, schema filter.Schema) error {
	allowed, ok := actionFields[a.Type]
	if !ok {
		p.Add(at+".type", "%q is not an action", a.Type)
		return nil
	}
	for _, f := range a.setFields() {
		if !slices.Contains(allowed, f) {
			p.Add(at+"."+f, "is not used by %s", a.Type)
		}
	}
	if a.Target != "" && !slices.Contains(targets[object], a.Target) {
		p.Add(at+".target", "%q is not a target of a %s rule (%s)", a.Target, object, strings.Join(append([]string{`""`}, targets[object]...), ", "))
	}
	need := func(field string, set bool) {
		if !set {
			p.Add(at+"."+field, "is required by %s", a.Type)
		}
	}
	only := func(kinds ...crm.Kind) bool {
		if !slices.Contains(kinds, object) {
			p.Add(at+".type", "%s does not apply to %s records", a.Type, object)
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
		if only(crm.KindContact, crm.KindCompany, crm.KindDeal) && (a.Owner == "") == (a.Route == nil) {
			p.Add(at+".owner", "set either owner or route")
		}
		if a.Route != nil {
			a.Route.check(p, at+".route")
		}
		a.Owner = crm.CheckText(p, at+".owner", a.Owner)
	case ActionMoveStage:
		need("stage", a.Stage != "")
		if only(crm.KindDeal) && a.Stage != "" {
			return checkStageName(t, p, at+".stage", a.Stage)
		}
	case ActionCreateTask:
		need("subject", a.Subject != "")
		checkOffset(p, at+".due", a.Due, false)
	case ActionLogNote:
		need("subject", a.Subject != "" || a.Body != "")
	case ActionLogActivity:
		switch a.ActivityType {
		case crm.ActivityCall, crm.ActivityEmail, crm.ActivityMeeting, crm.ActivityNote:
		default:
			p.Add(at+".activity_type", "%q is not call, email, meeting or note", a.ActivityType)
		}
	case ActionAddToSegment, ActionRemoveFromSegment:
		need("segment", a.Segment != "")
		if a.Segment == "" || !only(crm.KindContact, crm.KindCompany, crm.KindDeal) {
			return nil
		}
		seg, err := t.Segment(a.Segment)
		switch {
		case isNotFoundOrDeleted(err):
			p.Add(at+".segment", "no segment %s", a.Segment)
		case err != nil:
			return err
		case !seg.Static:
			p.Add(at+".segment", "segment %s is dynamic: only static segments have members to add or remove", a.Segment)
		case seg.Object != object:
			p.Add(at+".segment", "segment %s holds %s records, not %s", a.Segment, seg.Object, object)
		}
	case ActionSetLifecycle:
		need("lifecycle", a.Lifecycle != "")
		if only(crm.KindContact, crm.KindCompany, crm.KindDeal) && object != crm.KindContact && a.Target != "contacts" {
			p.Add(at+".target", "a %s has no lifecycle stage: target its contacts", object)
		}
		if stages := t.Workspace().LifecycleStages; a.Lifecycle != "" && !slices.Contains(stages, strings.ToLower(a.Lifecycle)) {
			p.Add(at+".lifecycle", "%q is not a lifecycle stage of this workspace (%s)", a.Lifecycle, strings.Join(stages, ", "))
		}
		a.Lifecycle = strings.ToLower(a.Lifecycle)
	case ActionEmitEvent:
		if !crm.ValidEventName(a.Event) {
			p.Add(at+".event", "%q: want a name of letters, digits, '_', '-' and '.'", a.Event)
		}
	case ActionEnrol:
		need("sequence", a.Sequence != "")
		if only(crm.KindContact, crm.KindCompany, crm.KindDeal) && object != crm.KindContact && a.Target != "contacts" {
			p.Add(at+".target", "sequences enrol contacts: target the %s's contacts", object)
		}
		if a.Sequence != "" {
			if _, err := loadSequence(t.Space(spaceName), a.Sequence); isNotFoundOrDeleted(err) {
				p.Add(at+".sequence", "no sequence %s", a.Sequence)
			} else if err != nil {
				return err
			}
		}
	}
	if a.Type == ActionCreateTask || a.Type == ActionLogNote || a.Type == ActionLogActivity {
		a.Subject = crm.CheckText(p, at+".subject", a.Subject)
		a.Body = crm.CheckLongText(p, at+".body", a.Body)
	}
	return nil
}

// checkSetField checks that a value fits the field set_field sets.
func checkSetField(p *crm.ValidationError, at string, object crm.Kind, a *Action, schema filter.Schema) {
	name := a.Field
	typ, ok := schema.FieldType(name)
	if !ok || (!strings.HasPrefix(name, "custom.") && !slices.Contains(settable[object], name)) {
		p.Add(at+".field", "%q is not a field a rule can set on %s records", name, object)
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
			_, err := crm.ParseDate(s)
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
		p.Add(at+".value", "%v does not fit %s, a %s field", v, name, typ)
	}
}

// checkStageName checks that a stage ID or name exists in some pipeline.
func checkStageName(t *crm.ReadTx, p *crm.ValidationError, at, stage string) error {
	for pl, err := range t.Pipelines().All() {
		if err != nil {
			return err
		}
		if _, ok := pl.Stage(stage); ok {
			return nil
		}
		if _, ok := pl.StageByName(stage); ok {
			return nil
		}
	}
	p.Add(at, "no pipeline has a stage %q", stage)
	return nil
}
