package crm

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
)

// ActivityType is the kind of an activity.
type ActivityType string

// Activity types.
const (
	ActivityCall    ActivityType = "call"
	ActivityEmail   ActivityType = "email"
	ActivityMeeting ActivityType = "meeting"
	ActivityNote    ActivityType = "note"
	ActivityTask    ActivityType = "task"
	ActivityTicket  ActivityType = "ticket"
)

// Ticket statuses and priorities.
var (
	TicketStatuses   = []string{"open", "pending", "resolved", "closed"}
	TicketPriorities = []string{"low", "normal", "high", "urgent"}
)

// Activity is something that happened with or must be done for contacts,
// companies and deals: a call, an email, a meeting, a note, a task or a
// support ticket. It appears on the timeline of every record it links to.
type Activity struct {
	Meta    `msgpack:",inline"`
	Type    ActivityType `msgpack:"type" json:"type"`
	Subject string       `msgpack:"subject,omitempty" json:"subject,omitempty"`
	Body    string       `msgpack:"body,omitempty" json:"body,omitempty"`
	// OccurredAt is when it happened (for tasks: when it was created);
	// the timeline orders by it. Defaults to now.
	OccurredAt time.Time `msgpack:"occurred_at" json:"occurred_at"`
	// The records it links to: at least one.
	ContactIDs []string `msgpack:"contact_ids,omitempty" json:"contact_ids,omitempty"`
	CompanyIDs []string `msgpack:"company_ids,omitempty" json:"company_ids,omitempty"`
	DealIDs    []string `msgpack:"deal_ids,omitempty" json:"deal_ids,omitempty"`
	OwnerID    string   `msgpack:"owner_id,omitempty" json:"owner_id,omitempty"`

	// Calls, emails and meetings.
	Direction string        `msgpack:"direction,omitempty" json:"direction,omitempty"` // "inbound" or "outbound"
	Duration  time.Duration `msgpack:"duration,omitempty" json:"duration,omitempty"`
	Outcome   string        `msgpack:"outcome,omitempty" json:"outcome,omitempty"`

	// Tasks.
	DueAt      time.Time `msgpack:"due_at,omitempty" json:"due_at,omitzero"`
	AssigneeID string    `msgpack:"assignee_id,omitempty" json:"assignee_id,omitempty"`
	Done       bool      `msgpack:"done,omitempty" json:"done,omitempty"`
	// DoneAt is set by the CRM when Done becomes true.
	DoneAt   time.Time `msgpack:"done_at,omitempty" json:"done_at,omitzero"`
	RemindAt time.Time `msgpack:"remind_at,omitempty" json:"remind_at,omitzero"`

	// Tickets.
	Status   string `msgpack:"status,omitempty" json:"status,omitempty"`     // one of TicketStatuses
	Priority string `msgpack:"priority,omitempty" json:"priority,omitempty"` // one of TicketPriorities
	// OpenedAt and ResolvedAt are set by the CRM from status changes.
	OpenedAt   time.Time `msgpack:"opened_at,omitempty" json:"opened_at,omitzero"`
	ResolvedAt time.Time `msgpack:"resolved_at,omitempty" json:"resolved_at,omitzero"`

	Custom Custom `msgpack:"custom,omitempty" json:"custom,omitempty"`
}

var kindActivity = &kind[Activity]{
	name: "activity", code: 'a', prefix: "act_",
	meta:    func(a *Activity) *Meta { return &a.Meta },
	custom:  func(a *Activity) *Custom { return &a.Custom },
	indexes: activityIndexes,
}

func prepareActivity(t *txn, a, old *Activity, p *problems) error {
	switch a.Type {
	case ActivityCall, ActivityEmail, ActivityMeeting, ActivityNote, ActivityTask, ActivityTicket:
	default:
		p.add("type", "%q is not one of call, email, meeting, note, task, ticket", a.Type)
	}
	a.Subject = cleanText(p, "subject", a.Subject, maxShortText)
	a.Body = cleanText(p, "body", a.Body, maxLongText)
	if a.OccurredAt.IsZero() {
		a.OccurredAt = t.now
	}
	a.OccurredAt = checkTime(p, "occurred_at", a.OccurredAt)
	a.DueAt = checkTime(p, "due_at", a.DueAt)
	a.RemindAt = checkTime(p, "remind_at", a.RemindAt)
	a.OwnerID = cleanText(p, "owner_id", a.OwnerID, maxShortText)
	a.AssigneeID = cleanText(p, "assignee_id", a.AssigneeID, maxShortText)
	a.Outcome = cleanText(p, "outcome", a.Outcome, maxShortText)
	if a.Direction != "" && a.Direction != "inbound" && a.Direction != "outbound" {
		p.add("direction", "%q is not inbound or outbound", a.Direction)
	}
	if a.Duration < 0 {
		p.add("duration", "must not be negative")
	}
	if len(a.ContactIDs)+len(a.CompanyIDs)+len(a.DealIDs) == 0 {
		p.add("contact_ids", "an activity must link to at least one contact, company or deal")
	}
	if err := checkRefs(t, p, "contact_ids", kindContact, &a.ContactIDs); err != nil {
		return err
	}
	if err := checkRefs(t, p, "company_ids", kindCompany, &a.CompanyIDs); err != nil {
		return err
	}
	if err := checkRefs(t, p, "deal_ids", kindDeal, &a.DealIDs); err != nil {
		return err
	}
	if a.Type != ActivityTask && (!a.DueAt.IsZero() || a.Done || a.AssigneeID != "" || !a.RemindAt.IsZero()) {
		p.add("due_at", "only tasks have a due date, assignee, reminder or done state")
	}
	if !a.RemindAt.IsZero() && !a.DueAt.IsZero() && a.RemindAt.After(a.DueAt) {
		p.add("remind_at", "is after due_at")
	}
	wasDone := old != nil && old.Done
	switch {
	case a.Done && !wasDone:
		a.DoneAt = t.now
	case !a.Done:
		a.DoneAt = time.Time{}
	default:
		a.DoneAt = old.DoneAt
	}
	if a.Type == ActivityTicket {
		a.Status = strings.ToLower(strings.TrimSpace(a.Status))
		if a.Status == "" {
			a.Status = "open"
		}
		if a.Priority == "" {
			a.Priority = "normal"
		}
		if !slices.Contains(TicketStatuses, a.Status) {
			p.add("status", "%q is not one of %s", a.Status, strings.Join(TicketStatuses, ", "))
		}
		if !slices.Contains(TicketPriorities, a.Priority) {
			p.add("priority", "%q is not one of %s", a.Priority, strings.Join(TicketPriorities, ", "))
		}
		resolved := a.Status == "resolved" || a.Status == "closed"
		if old == nil {
			a.OpenedAt, a.ResolvedAt = t.now, time.Time{}
			if resolved {
				a.ResolvedAt = t.now
			}
		} else {
			a.OpenedAt, a.ResolvedAt = old.OpenedAt, old.ResolvedAt
			wasResolved := old.Status == "resolved" || old.Status == "closed"
			switch {
			case resolved && !wasResolved:
				a.ResolvedAt = t.now
			case !resolved && wasResolved:
				a.OpenedAt, a.ResolvedAt = t.now, time.Time{} // reopened
			}
		}
	} else if a.Status != "" || a.Priority != "" {
		p.add("status", "only tickets have a status and priority")
	}
	return nil
}

// checkRefs drops duplicate IDs and reports missing records.
func checkRefs[T any](t *txn, p *problems, field string, k *kind[T], ids *[]string) error {
	if !checkListLen(p, field, len(*ids)) {
		return nil
	}
	for i, id := range *ids {
		if id == "" {
			p.add(fmt.Sprintf("%s[%d]", field, i), "is empty")
		}
	}
	slices.Sort(*ids)
	*ids = slices.Compact(*ids)
	for i, id := range *ids {
		if id == "" {
			continue
		}
		if err := checkRef(t, p, fmt.Sprintf("%s[%d]", field, i), k, id); err != nil {
			return err
		}
	}
	return nil
}

func activityIndexes(w *Workspace, a *Activity, ix []indexEntry) []indexEntry {
	link := func(field string, code byte, id string) {
		ix = append(ix, indexEntry{field: field, key: w.timelinePrefix(code, id).time(a.OccurredAt).str(a.ID), value: []byte{timelineActivity}})
		// By type and time, for filters that count activities.
		ix = append(ix, plainEntry(field, w.activityLinkKey(code, id, a.Type).time(a.OccurredAt), a.ID))
	}
	for _, id := range a.ContactIDs {
		link("contact_ids", 'c', id)
	}
	for _, id := range a.CompanyIDs {
		link("company_ids", 'o', id)
	}
	for _, id := range a.DealIDs {
		link("deal_ids", 'd', id)
	}
	if a.Type == ActivityTask && !a.Done && !a.DueAt.IsZero() {
		ix = append(ix, plainEntry("due_at", w.indexKey('a', "due").time(a.DueAt), a.ID))
	}
	if a.Type == ActivityTicket && a.ResolvedAt.IsZero() {
		ix = append(ix, plainEntry("status", w.indexKey('a', "open_ticket").time(a.OpenedAt), a.ID))
	}
	return ix
}

// Activities manages a workspace's activities.
type Activities struct{ o objects[Activity] }

// Activities returns the workspace's activity service.
func (w *Workspace) Activities() *Activities { return &Activities{objects[Activity]{w, kindActivity}} }

// Log validates and stores a new activity.
func (s *Activities) Log(ctx context.Context, a Activity) (Activity, error) {
	return s.o.create(ctx, a)
}

// LogMany stores many activities; see Contacts.CreateMany.
func (s *Activities) LogMany(ctx context.Context, as []Activity) ([]Activity, error) {
	return s.o.createMany(ctx, as)
}

// Get returns an activity.
func (s *Activities) Get(ctx context.Context, id string) (Activity, error) { return s.o.get(ctx, id) }

// Update applies mutate to the stored activity; see Contacts.Update.
func (s *Activities) Update(ctx context.Context, id string, mutate func(*Activity) error, opts ...UpdateOption) (Activity, error) {
	return s.o.update(ctx, id, mutate, opts...)
}

// Complete marks a task done (done=true) or not done.
func (s *Activities) Complete(ctx context.Context, id string, done bool) (Activity, error) {
	return s.Update(ctx, id, func(a *Activity) error {
		a.Done = done
		return nil
	})
}

// Delete soft-deletes an activity; it leaves the timelines.
func (s *Activities) Delete(ctx context.Context, id string) error {
	return s.o.setDeleted(ctx, id, true)
}

// Restore undoes Delete.
func (s *Activities) Restore(ctx context.Context, id string) error {
	return s.o.setDeleted(ctx, id, false)
}

// Erase removes an activity permanently. A person's erasure request is
// Contacts.Erase.
func (s *Activities) Erase(ctx context.Context, id string) error { return s.o.erase(ctx, id) }

// List streams activities in the order opts asks (SortCreated or
// SortUpdated).
func (s *Activities) List(ctx context.Context, opts ListOptions) iter.Seq2[Activity, error] {
	return s.o.iterate(ctx, opts)
}

// DueBefore streams open tasks due before t, earliest first.
func (s *Activities) DueBefore(ctx context.Context, t time.Time) iter.Seq2[Activity, error] {
	prefix := s.o.w.indexKey('a', "due")
	return func(yield func(Activity, error) bool) {
		for a, err := range s.o.byIndex(ctx, prefix) {
			if err != nil || !a.DueAt.Before(t) {
				if err != nil {
					yield(Activity{}, err)
				}
				return
			}
			if !yield(a, nil) {
				return
			}
		}
	}
}
