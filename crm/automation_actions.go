package crm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmkit/crmkit/store"
)

// runActions runs a rule's actions on a record inside t, in order; each
// action sees the record as the ones before left it. source names the
// rule (or sequence) for errors and routing state.
func (a *Automation) runActions(t *txn, source, object string, actions []Action, rec any) error {
	for i := range actions {
		var err error
		if rec, err = a.runAction(t, fmt.Sprintf("%s/%d", source, i), object, &actions[i], rec); err != nil {
			return fmt.Errorf("crm: %s actions[%d] (%s): %w", source, i, actions[i].Type, err)
		}
	}
	return nil
}

func (a *Automation) runAction(t *txn, name, object string, act *Action, rec any) (any, error) {
	id := recordMeta(rec).ID
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
		return updateAny(t, object, id, func(r any) error {
			d := r.(*Deal)
			pl, err := getLive(t.tx, t.w, kindPipeline, d.PipelineID)
			if err != nil {
				return err
			}
			st, ok := pl.Stage(act.Stage)
			if !ok {
				if st, ok = pl.StageByName(act.Stage); !ok {
					return fmt.Errorf("crm: pipeline %q has no stage %q: %w", pl.Name, act.Stage, ErrNotFound)
				}
			}
			d.StageID = st.ID
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
			r, err := updateAny(t, "contact", cid, func(r any) error {
				r.(*Contact).Lifecycle = act.Lifecycle
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
		return rec, emitOn(t, object, rec, EventType(CustomEvent+act.Event), nil)
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
func updateAny(t *txn, object, id string, fn func(any) error) (any, error) {
	switch object {
	case "contact":
		return updateTyped(t, kindContact, id, fn)
	case "company":
		return updateTyped(t, kindCompany, id, fn)
	case "deal":
		return updateTyped(t, kindDeal, id, fn)
	case "activity":
		return updateTyped(t, kindActivity, id, fn)
	}
	return nil, unknownKind(object)
}

func updateTyped[T any](t *txn, k *kind[T], id string, fn func(any) error) (any, error) {
	r, err := objects[T]{t.w, k}.updateIn(t, id, 0, func(r *T) error { return fn(r) })
	if err != nil {
		return nil, err
	}
	return r, nil
}

// setField sets a field by its filter name. Stored fields go through the
// record's JSON form, so values take the same shapes as in the API
// ("2024-05-01" for a date); the write validates them as usual.
func setField(rec any, field string, v any) error {
	if name, ok := strings.CutPrefix(field, "custom."); ok {
		c := customOf(rec)
		if *c == nil {
			*c = Custom{}
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

func customOf(rec any) *Custom {
	switch x := rec.(type) {
	case *Contact:
		return &x.Custom
	case *Company:
		return &x.Custom
	case *Deal:
		return &x.Custom
	case *Activity:
		return &x.Custom
	}
	return new(Custom)
}

func setOwner(rec any, owner string) error {
	switch x := rec.(type) {
	case *Contact:
		x.OwnerID = owner
	case *Company:
		x.OwnerID = owner
	case *Deal:
		x.OwnerID = owner
	default:
		return errors.New("crm: only contacts, companies and deals have owners")
	}
	return nil
}

// logActivity creates the task, note or activity of an action, linked to
// its target.
func (a *Automation) logActivity(t *txn, object string, act *Action, rec any) error {
	out := Activity{Subject: fillText(act.Subject, rec), Body: fillText(act.Body, rec), OwnerID: recordOwner(rec)}
	switch act.Type {
	case ActionCreateTask:
		out.Type = ActivityTask
		if act.Due != 0 {
			out.DueAt = t.now.Add(time.Duration(act.Due))
		}
	case ActionLogNote:
		out.Type = ActivityNote
	default:
		out.Type = act.ActivityType
		if out.Type == ActivityEmail || out.Type == ActivityCall {
			out.Direction = "outbound"
		}
	}
	assignee, err := assigneeOf(t, act.Assignee, rec)
	if err != nil {
		return err
	}
	if out.Type == ActivityTask {
		out.AssigneeID = assignee
	} else if assignee != "" {
		out.OwnerID = assignee
	}
	switch act.Target {
	case "company":
		id := companyOf(rec)
		if id == "" {
			return fmt.Errorf("crm: %s %s has no company", object, recordMeta(rec).ID)
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
		case *Contact:
			out.ContactIDs = []string{x.ID}
		case *Company:
			out.CompanyIDs = []string{x.ID}
		case *Deal:
			out.DealIDs = []string{x.ID}
		case *Activity:
			out.ContactIDs, out.CompanyIDs, out.DealIDs = x.ContactIDs, x.CompanyIDs, x.DealIDs
		}
	}
	_, err = objects[Activity]{t.w, kindActivity}.createIn(t, out)
	return err
}

// assigneeOf resolves an action's assignee: "owner", "manager" or a user.
func assigneeOf(t *txn, who string, rec any) (string, error) {
	switch who {
	case "owner":
		return recordOwner(rec), nil
	case "manager":
		owner := recordOwner(rec)
		if owner == "" {
			return "", fmt.Errorf("crm: %s has no owner whose manager to assign", recordMeta(rec).ID)
		}
		team, err := loadTeam(t.tx, t.w)
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
		return "", fmt.Errorf("crm: %s is not in the team, so has no manager: %w", owner, ErrNotFound)
	}
	return who, nil
}

// companyOf is a record's company: the contact's first, the deal's.
func companyOf(rec any) string {
	switch x := rec.(type) {
	case *Contact:
		if len(x.Companies) > 0 {
			return x.Companies[0].CompanyID
		}
	case *Deal:
		return x.CompanyID
	case *Company:
		return x.ID
	}
	return ""
}

// contactsOf is the contact itself, a deal's contacts or a company's live
// contacts.
func contactsOf(t *txn, object string, rec any) ([]string, error) {
	switch x := rec.(type) {
	case *Contact:
		return []string{x.ID}, nil
	case *Deal:
		ids := make([]string, len(x.Contacts))
		for i, c := range x.Contacts {
			ids[i] = c.ContactID
		}
		return ids, nil
	case *Company:
		var ids []string
		err := eachIndexed(t.tx, t.w, kindContact, t.w.indexKey('c', "company").str(x.ID), func(c *Contact) {
			if !c.Deleted() {
				ids = append(ids, c.ID)
			}
		})
		return ids, err
	}
	return nil, fmt.Errorf("crm: %s records have no contacts", object)
}

// setMember adds a record to a static segment or removes it, inside t.
func setMember(t *txn, segID, object, id string, add bool) error {
	seg, _, err := t.w.Segments().find(t.tx, segID)
	if err != nil {
		return err
	}
	if !seg.Static || seg.Object != object {
		return fmt.Errorf("crm: segment %s: %w", segID, ErrSegmentStatic)
	}
	mk := t.w.memberKey(segID, id)
	_, err = t.tx.Get(mk)
	had := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	switch {
	case add && !had:
		if err := t.tx.Set(mk, nil); err != nil {
			return err
		}
		t.addCount(t.w.memberCountKey(segID), 1)
		return nil
	case !add && had:
		if err := t.tx.Delete(mk); err != nil {
			return err
		}
		t.addCount(t.w.memberCountKey(segID), -1)
		return nil
	}
	return nil
}
