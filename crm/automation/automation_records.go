package automation

import (
	"errors"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
)

// ruleObjects are the kinds rules act on, with their key bytes.
var ruleObjects = map[crm.Kind]byte{crm.KindContact: 'c', crm.KindCompany: 'o', crm.KindDeal: 'd', crm.KindActivity: 'a'}

// activitySchema is the filter schema of activities, for rules on them
// and for scoring behaviours. (Segments do not select activities, so the
// segmentation schema has none.)
var activitySchema = filter.MapSchema{
	"id": filter.TypeText, "type": filter.TypeText, "subject": filter.TypeText, "body": filter.TypeText,
	"direction": filter.TypeText, "outcome": filter.TypeText, "owner_id": filter.TypeText,
	"assignee_id": filter.TypeText, "done": filter.TypeBool, "due_at": filter.TypeTime,
	"remind_at": filter.TypeTime, "occurred_at": filter.TypeTime, "status": filter.TypeText,
	"priority": filter.TypeText, "contact_ids": filter.TypeList, "company_ids": filter.TypeList,
	"deal_ids": filter.TypeList, "created_at": filter.TypeTime, "updated_at": filter.TypeTime,
	"created_by": filter.TypeText,
}

// activityRecord is an activity as filters read it.
func activityRecord(a *crm.Activity) filter.MapRecord {
	return filter.MapRecord{
		"id": a.ID, "type": string(a.Type), "subject": a.Subject, "body": a.Body,
		"direction": a.Direction, "outcome": a.Outcome, "owner_id": a.OwnerID,
		"assignee_id": a.AssigneeID, "done": a.Done, "due_at": a.DueAt, "remind_at": a.RemindAt,
		"occurred_at": a.OccurredAt, "status": a.Status, "priority": a.Priority,
		"contact_ids": a.ContactIDs, "company_ids": a.CompanyIDs, "deal_ids": a.DealIDs,
		"created_at": a.CreatedAt, "updated_at": a.UpdatedAt, "created_by": a.CreatedBy,
	}
}

// extraTimeFields are the time fields only time triggers read.
var extraTimeFields = map[crm.Kind]map[string]filter.Type{
	crm.KindContact:  {"idle_since": filter.TypeTime},
	crm.KindCompany:  {"idle_since": filter.TypeTime},
	crm.KindDeal:     {"idle_since": filter.TypeTime, "stage_entered_at": filter.TypeTime},
	crm.KindActivity: {},
}

// ruleSchema returns the filter schema of a rule's object.
func ruleSchema(rt *crm.ReadTx, object crm.Kind) (filter.Schema, error) {
	if object == crm.KindActivity {
		return activitySchema, nil
	}
	return rt.Schema(object)
}

// loadRecord reads a record of a kind by its name; it returns nil for a
// record that does not exist.
func loadRecord(rt *crm.ReadTx, object crm.Kind, id string) (any, error) {
	r, err := rt.Record(crm.Ref{Kind: object, ID: id})
	if errors.Is(err, crm.ErrNotFound) {
		return nil, nil
	}
	return r, err
}

// recordName is how rule texts ({name}) name a record.
func recordName(r any) string {
	switch x := r.(type) {
	case *crm.Contact:
		return x.Name()
	case *crm.Company:
		return x.Name
	case *crm.Deal:
		return x.Name
	case *crm.Activity:
		return x.Subject
	}
	return ""
}

// recordOwner is a record's owner; for an activity, its assignee or else
// its owner.
func recordOwner(r any) string {
	switch x := r.(type) {
	case *crm.Contact:
		return x.OwnerID
	case *crm.Company:
		return x.OwnerID
	case *crm.Deal:
		return x.OwnerID
	case *crm.Activity:
		if x.AssigneeID != "" {
			return x.AssigneeID
		}
		return x.OwnerID
	}
	return ""
}

// matchRecord evaluates a rule's condition on a record inside rt. A nil
// condition matches.
func matchRecord(rt *crm.ReadTx, e filter.Expr, r any) (bool, error) {
	if a, ok := r.(*crm.Activity); ok && e != nil {
		return filter.Eval(e, activityRecord(a), rt.Now())
	}
	return rt.Match(e, r)
}

// matchStored evaluates a condition that reads stored fields only, with
// no transaction.
func matchStored(e filter.Expr, r any, now time.Time) (bool, error) {
	if a, ok := r.(*crm.Activity); ok && e != nil {
		return filter.Eval(e, activityRecord(a), now)
	}
	return crm.MatchStored(e, r, now)
}

// timeField returns the type of a field a time trigger may read, or false.
func timeField(s filter.Schema, object crm.Kind, field string) (filter.Type, bool) {
	if t, ok := extraTimeFields[object][field]; ok {
		return t, true
	}
	t, ok := s.FieldType(field)
	if !ok || (t != filter.TypeTime && t != filter.TypeDate) {
		return 0, false
	}
	return t, true
}

// timeOf reads a time or date field of a record as an instant (a date is
// midnight UTC). ok is false when the field is unset.
func timeOf(rt *crm.ReadTx, r any, field string) (time.Time, bool, error) {
	var v any
	switch x := r.(type) {
	case *crm.Activity:
		v, _ = activityRecord(x)[field]
	case *crm.Deal:
		switch field {
		case "stage_entered_at":
			v = stageEntered(x)
		case "idle_since":
			return idleSince(rt, r, stageEntered(x))
		}
	case *crm.Contact, *crm.Company:
		if field == "idle_since" {
			return idleSince(rt, r, time.Time{})
		}
	}
	if v == nil {
		var err error
		if v, _, err = rt.Field(r, field); err != nil {
			return time.Time{}, false, err
		}
	}
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), !x.IsZero(), nil
	case crm.Date:
		return x.Time(), !x.IsZero(), nil
	}
	return time.Time{}, false, nil
}

func stageEntered(d *crm.Deal) time.Time {
	if n := len(d.StageHistory); n > 0 {
		return d.StageHistory[n-1].EnteredAt
	}
	return time.Time{}
}

// idleSince is the latest of a record's creation, its last activity and
// also (deals) its last stage change.
func idleSince(rt *crm.ReadTx, r any, also time.Time) (time.Time, bool, error) {
	t := crm.MetaOf(r).CreatedAt
	v, _, err := rt.Field(r, "last_activity_at")
	if err != nil {
		return time.Time{}, false, err
	}
	last, _ := v.(time.Time)
	for _, u := range []time.Time{last, also} {
		if u.After(t) {
			t = u
		}
	}
	return t.UTC(), !t.IsZero(), nil
}

// fillText replaces {name} and {id} in a rule's text with the record's.
func fillText(s string, r any) string {
	if !strings.Contains(s, "{") {
		return s
	}
	return strings.NewReplacer("{name}", recordName(r), "{id}", crm.MetaOf(r).ID).Replace(s)
}
