package automation

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// runActions runs a rule's actions on a record inside t, in order; each
// action sees the record as the ones before left it. source names the
// rule (or sequence) for errors and routing state.
func (a *Automation) runActions(t *crm.Tx, source string, object crm.Kind, actions []Action, rec any) error {
	for i := range actions {
		var err error
		if rec, err = a.runAction(t, fmt.Sprintf("%s/%d", source, i), object, &actions[i], rec); err != nil {
			return fmt.Errorf("crm: %s actions[%d] (%s): %w", source, i, actions[i].Type, err)
		}
	}
	return nil
}

func (a *Automation) runAction(t *crm.Tx, name string, object crm.Kind, act *Action, rec any) (any, error) {
	id := crm.MetaOf(rec).ID
	switch act.Type {
	case ActionSetField:
		return updateAny(t, object, id, func(r any) error { return setField(r, act.Field, act.Value) })
	case ActionAssignOwner:
		owner := act.Owner
		if act.Route != nil {
			routeName := act.Route.Name
			if routeName == "" {
				routeName = name
			}
			var err error
			if owner, err = pickRep(t, *act.Route, routeName, object, rec); err != nil {
				return nil, err
			}
		}
		return updateAny(t, object, id, func(r any) error { return setOwner(r, owner) })
	case ActionMoveStage:
		// crm resolves a stage name to its ID, and refuses a stage the
		// deal's pipeline does not have.
		return updateAny(t, object, id, func(r any) error {
			r.(*crm.Deal).StageID = act.Stage
			return nil
		})
	case ActionCreateTask, ActionLogNote, ActionLogActivity:
		return rec, a.logActivity(t, object, act, rec)
	case ActionSetLifecycle:
		ids, err := contactsOf(t, object, rec)
		if err != nil {
			return nil, err
		}
		for _, cid := range ids {
			r, err := updateAny(t, crm.KindContact, cid, func(r any) error {
				r.(*crm.Contact).Lifecycle = act.Lifecycle
				return nil
			})
			if err != nil {
				return nil, err
			}
			if cid == id {
				rec = r
			}
		}
		return rec, nil
	case ActionEmitEvent:
		return rec, t.Emit(crm.Ref{Kind: object, ID: id}, crm.EventType(crm.CustomEvent+act.Event))
	case ActionAddToSegment, ActionRemoveFromSegment:
		return rec, setMember(t, act.Segment, object, id, act.Type == ActionAddToSegment)
	case ActionEnrol:
		ids, err := contactsOf(t, object, rec)
		if err != nil {
			return nil, err
		}
		for _, cid := range ids {
			if err := enrolIn(t, act.Sequence, cid); err != nil {
				return nil, err
			}
		}
		return rec, nil
	}
	return nil, fmt.Errorf("crm: unknown action %q", act.Type)
}

// updateAny updates a record of a rule object kind inside t and returns
// it as it now is.
func updateAny(t *crm.Tx, object crm.Kind, id string, fn func(any) error) (any, error) {
	return t.UpdateRecord(crm.Ref{Kind: object, ID: id}, fn)
}

// setField sets a field by its filter name. Stored fields go through the
// record's JSON form, so values take the same shapes as in the API
// ("2024-05-01" for a date); the write validates them as usual.
func setField(rec any, field string, v any) error {
	if name, ok := strings.CutPrefix(field, "custom."); ok {
		c := customOf(rec)
		if *c == nil {
			*c = crm.Custom{}
		}
		if v == nil {
			delete(*c, name)
		} else {
			(*c)[name] = v
		}
		return nil
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	delete(m, "custom") // untouched, and not JSON-safe for every type
	if parent, sub, ok := strings.Cut(field, "."); ok {
		inner, _ := m[parent].(map[string]any)
		if inner == nil {
			inner = map[string]any{}
		}
		inner[sub] = v
		m[parent] = inner
	} else {
		m[field] = v
	}
	if b, err = json.Marshal(m); err != nil {
		return err
	}
	if err := json.Unmarshal(b, rec); err != nil {
		return fmt.Errorf("crm: %s: %w", field, err)
	}
	return nil
}

func customOf(rec any) *crm.Custom {
	switch x := rec.(type) {
	case *crm.Contact:
		return &x.Custom
	case *crm.Company:
		return &x.Custom
	case *crm.Deal:
		return &x.Custom
	case *crm.Activity:
		return &x.Custom
	}
	return new(crm.Custom)
}

func setOwner(rec any, owner string) error {
	switch x := rec.(type) {
	case *crm.Contact:
		x.OwnerID = owner
	case *crm.Company:
		x.OwnerID = owner
	case *crm.Deal:
		x.OwnerID = owner
	default:
		return errors.New("crm: only contacts, companies and deals have owners")
	}
	return nil
}

// logActivity creates the task, note or activity of an action, linked to
// its target.
func (a *Automation) logActivity(t *crm.Tx, object crm.Kind, act *Action, rec any) error {
	out := crm.Activity{Subject: fillText(act.Subject, rec), Body: fillText(act.Body, rec), OwnerID: recordOwner(rec)}
	switch act.Type {
	case ActionCreateTask:
		out.Type = crm.ActivityTask
		if act.Due != 0 {
			out.DueAt = t.Now().Add(time.Duration(act.Due))
		}
	case ActionLogNote:
		out.Type = crm.ActivityNote
	default:
		out.Type = act.ActivityType
		if out.Type == crm.ActivityEmail || out.Type == crm.ActivityCall {
			out.Direction = "outbound"
		}
	}
	assignee, err := assigneeOf(t, act.Assignee, rec)
	if err != nil {
		return err
	}
	if out.Type == crm.ActivityTask {
		out.AssigneeID = assignee
	} else if assignee != "" {
		out.OwnerID = assignee
	}
	switch act.Target {
	case "company":
		id := companyOf(rec)
		if id == "" {
			return fmt.Errorf("crm: %s %s has no company", object, crm.MetaOf(rec).ID)
		}
		out.CompanyIDs = []string{id}
	case "contacts":
		ids, err := contactsOf(t, object, rec)
		if err != nil {
			return err
		}
		out.ContactIDs = ids
	default:
		switch x := rec.(type) {
		case *crm.Contact:
			out.ContactIDs = []string{x.ID}
		case *crm.Company:
			out.CompanyIDs = []string{x.ID}
		case *crm.Deal:
			out.DealIDs = []string{x.ID}
		case *crm.Activity:
			out.ContactIDs, out.CompanyIDs, out.DealIDs = x.ContactIDs, x.CompanyIDs, x.DealIDs
		}
	}
	_, err = t.Activities().Create(out)
	return err
}

// assigneeOf resolves an action's assignee: "owner", "manager" or a user.
func assigneeOf(t *crm.Tx, who string, rec any) (string, error) {
	switch who {
	case "owner":
		return recordOwner(rec), nil
	case "manager":
		owner := recordOwner(rec)
		if owner == "" {
			return "", fmt.Errorf("crm: %s has no owner whose manager to assign", crm.MetaOf(rec).ID)
		}
		team, err := loadTeam(&t.ReadTx)
		if err != nil {
			return "", err
		}
		for _, r := range team {
			if r.ID == owner {
				if r.Manager == "" {
					return "", fmt.Errorf("crm: rep %s has no manager in the team", owner)
				}
				return r.Manager, nil
			}
		}
		return "", fmt.Errorf("crm: %s is not in the team, so has no manager: %w", owner, crm.ErrNotFound)
	}
	return who, nil
}

// companyOf is a record's company: the contact's first, the deal's.
func companyOf(rec any) string {
	switch x := rec.(type) {
	case *crm.Contact:
		if len(x.Companies) > 0 {
			return x.Companies[0].CompanyID
		}
	case *crm.Deal:
		return x.CompanyID
	case *crm.Company:
		return x.ID
	}
	return ""
}

// contactsOf is the contact itself, a deal's contacts or a company's live
// contacts.
func contactsOf(t *crm.Tx, object crm.Kind, rec any) ([]string, error) {
	switch x := rec.(type) {
	case *crm.Contact:
		return []string{x.ID}, nil
	case *crm.Deal:
		ids := make([]string, len(x.Contacts))
		for i, c := range x.Contacts {
			ids[i] = c.ContactID
		}
		return ids, nil
	case *crm.Company:
		var ids []string
		for c, err := range t.Contacts().By("company_ids", x.ID) {
			if err != nil {
				return nil, err
			}
			ids = append(ids, c.ID)
		}
		return ids, nil
	}
	return nil, fmt.Errorf("crm: %s records have no contacts", object)
}

// setMember adds a record to a static segment of its kind or removes it,
// inside t.
func setMember(t *crm.Tx, segID string, object crm.Kind, id string, add bool) error {
	seg, err := t.Segment(segID)
	if err != nil {
		return err
	}
	if !seg.Static || seg.Object != object {
		return fmt.Errorf("automation: segment %s: %w", segID, crm.ErrSegmentStatic)
	}
	if add {
		return t.AddToSegment(segID, id)
	}
	return t.RemoveFromSegment(segID, id)
}
