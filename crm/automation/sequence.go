package automation

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// Sequence is a multi-step follow-up for contacts: each step runs its
// action on the contact After its enrolment (a day-0 task, a day-3 email
// for a plugin to send, a day-7 call task). An enrolment stops when the
// contact replies (an inbound email is logged), books a meeting (a meeting
// is logged) or one of its deals changes stage. Contacts are enrolled by
// hand (Sequences.Enrol) or by a rule (ActionEnrol).
type Sequence struct {
	ID        string         `msgpack:"id" json:"id,omitempty"`
	Name      string         `msgpack:"name" json:"name"`
	Steps     []SequenceStep `msgpack:"steps" json:"steps"`
	CreatedAt time.Time      `msgpack:"created_at" json:"created_at,omitzero"`
	UpdatedAt time.Time      `msgpack:"updated_at" json:"updated_at,omitzero"`
}

// SequenceStep is one step: an action on the contact (create_task,
// log_activity, log_note or emit_event) After the enrolment.
type SequenceStep struct {
	After  Offset `msgpack:"after" json:"after"`
	Action Action `msgpack:"action" json:"action"`
}

// Enrolment is a contact's place in a sequence.
type Enrolment struct {
	Sequence string `msgpack:"sequence" json:"sequence"`
	Contact  string `msgpack:"contact" json:"contact"`
	// Step is the next step to run.
	Step int `msgpack:"step" json:"step"`
	// Status is "active", "completed" or "stopped".
	Status string `msgpack:"status" json:"status"`
	// Reason says why a stopped enrolment stopped: "replied", "meeting
	// booked", "deal moved" or "unenrolled".
	Reason    string    `msgpack:"reason,omitempty" json:"reason,omitempty"`
	StartedAt time.Time `msgpack:"started_at" json:"started_at"`
	UpdatedAt time.Time `msgpack:"updated_at" json:"updated_at"`
}

// Enrolment statuses.
const (
	EnrolmentActive    = "active"
	EnrolmentCompleted = "completed"
	EnrolmentStopped   = "stopped"
)

// Sequences manages a workspace's sequences and enrolments.
type Sequences struct{ w *crm.Workspace }

// SequencesOf returns the sequence service of a workspace.
func SequencesOf(w *crm.Workspace) *Sequences { return &Sequences{w} }

func sequenceKey(id string) tuple.Key { return ak('q').Str(id) }

func enrolmentKey(contact, seq string) tuple.Key { return ak('e').Str(contact).Str(seq) }

func loadSequence(sp crm.Space, id string) (*Sequence, error) {
	if id == "" || len(id) > crm.MaxIDLength {
		return nil, notFound("sequence", fmt.Sprintf("%.64q", id))
	}
	b, err := sp.Get(sequenceKey(id))
	if errors.Is(err, crm.ErrNotFound) {
		return nil, notFound("sequence", id)
	}
	if err != nil {
		return nil, err
	}
	s := new(Sequence)
	return s, crm.Unmarshal(b, s)
}

// Save validates and stores a sequence (a new one when its ID is empty).
// Enrolments in a changed sequence go on from their next step.
func (s *Sequences) Save(ctx context.Context, seq Sequence) (Sequence, error) {
	err := s.w.Update(ctx, func(t *crm.Tx) error {
		sp := t.Space(spaceName)
		if seq.ID == "" {
			seq.ID, seq.CreatedAt = t.NewID("seq_"), t.Now()
		} else {
			old, err := loadSequence(sp, seq.ID)
			if err != nil {
				return err
			}
			seq.CreatedAt = old.CreatedAt
		}
		p := crm.ValidationError{Kind: "sequence", ID: seq.ID}
		seq.Name = crm.CheckText(&p, "name", seq.Name)
		if seq.Name == "" {
			p.Add("name", "is required")
		}
		if len(seq.Steps) == 0 {
			p.Add("steps", "a sequence needs at least one step")
		}
		schema, err := ruleSchema(&t.ReadTx, crm.KindContact)
		if err != nil {
			return err
		}
		for i := range seq.Steps {
			st := &seq.Steps[i]
			at := fmt.Sprintf("steps[%d]", i)
			checkOffset(&p, at+".after", st.After, false)
			if i > 0 && st.After < seq.Steps[i-1].After {
				p.Add(at+".after", "%s comes before the step ahead of it (%s)", st.After, seq.Steps[i-1].After)
			}
			switch st.Action.Type {
			case ActionCreateTask, ActionLogActivity, ActionLogNote, ActionEmitEvent:
				if err := checkAction(&t.ReadTx, &p, at+".action", crm.KindContact, &st.Action, schema); err != nil {
					return err
				}
			default:
				p.Add(at+".action.type", "%q: a step creates a task, logs an activity or a note, or emits an event", st.Action.Type)
			}
		}
		if err := p.Err(); err != nil {
			return err
		}
		seq.UpdatedAt = t.Now()
		b, err := crm.Marshal(&seq)
		if err != nil {
			return err
		}
		if err := sp.Set(sequenceKey(seq.ID), b); err != nil {
			return err
		}
		return bumpVersion(t)
	})
	return seq, err
}

// Get returns a sequence.
func (s *Sequences) Get(ctx context.Context, id string) (Sequence, error) {
	var out Sequence
	err := s.w.View(ctx, func(rt *crm.ReadTx) error {
		seq, err := loadSequence(rt.Space(spaceName), id)
		if err == nil {
			out = *seq
		}
		return err
	})
	return out, err
}

// Enrol starts a contact on a sequence now. A contact already active in
// it stays where it is; one that finished or stopped starts again.
func (s *Sequences) Enrol(ctx context.Context, seqID, contactID string) error {
	return s.w.Update(ctx, func(t *crm.Tx) error {
		c, err := t.Contacts().Get(contactID)
		if err != nil {
			return err
		}
		if c.Deleted() {
			return fmt.Errorf("automation: contact %s: %w", contactID, crm.ErrDeleted)
		}
		return enrolIn(t, seqID, contactID)
	})
}

// Unenrol stops a contact's enrolment.
func (s *Sequences) Unenrol(ctx context.Context, seqID, contactID string) error {
	err := s.w.Update(ctx, func(t *crm.Tx) error {
		stopped, err := stopEnrolment(t, seqID, contactID, "unenrolled")
		if err == nil && !stopped {
			return notFound("enrolment", contactID+" in "+seqID)
		}
		return err
	})
	return err
}

// Enrolment returns a contact's enrolment in a sequence.
func (s *Sequences) Enrolment(ctx context.Context, seqID, contactID string) (Enrolment, error) {
	var e Enrolment
	err := s.w.View(ctx, func(rt *crm.ReadTx) error {
		b, err := rt.Space(spaceName).Get(enrolmentKey(contactID, seqID))
		if errors.Is(err, crm.ErrNotFound) {
			return notFound("enrolment", contactID+" in "+seqID)
		}
		if err != nil {
			return err
		}
		return crm.Unmarshal(b, &e)
	})
	return e, err
}

// Enrolments streams a contact's enrolments.
func (s *Sequences) Enrolments(ctx context.Context, contactID string) iter.Seq2[Enrolment, error] {
	return func(yield func(Enrolment, error) bool) {
		err := s.w.View(ctx, func(rt *crm.ReadTx) error {
			for e, err := range rt.Space(spaceName).Scan(store.Range{Prefix: ak('e').Str(contactID)}) {
				if err != nil {
					return err
				}
				var en Enrolment
				if err := crm.Unmarshal(e.Value, &en); err != nil {
					return err
				}
				if !yield(en, nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil && err != errStop {
			yield(Enrolment{}, err)
		}
	}
}

func putEnrolment(t *crm.Tx, e *Enrolment) error {
	e.UpdatedAt = t.Now()
	b, err := crm.Marshal(e)
	if err != nil {
		return err
	}
	return t.Space(spaceName).Set(enrolmentKey(e.Contact, e.Sequence), b)
}

func getEnrolment(sp crm.Space, seqID, contactID string) (*Enrolment, error) {
	b, err := sp.Get(enrolmentKey(contactID, seqID))
	if errors.Is(err, crm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e := new(Enrolment)
	return e, crm.Unmarshal(b, e)
}

// enrolIn enrols a contact inside t and sets the timer of the first step.
func enrolIn(t *crm.Tx, seqID, contactID string) error {
	seq, err := loadSequence(t.Space(spaceName), seqID)
	if err != nil {
		return err
	}
	e, err := getEnrolment(t.Space(spaceName), seqID, contactID)
	if err != nil {
		return err
	}
	if e != nil && e.Status == EnrolmentActive {
		return nil
	}
	e = &Enrolment{Sequence: seqID, Contact: contactID, Status: EnrolmentActive, StartedAt: t.Now()}
	if err := putEnrolment(t, e); err != nil {
		return err
	}
	return setTimer(t, timer{Source: srcSequence + seqID, Record: contactID, Object: crm.KindContact, Due: t.Now().Add(time.Duration(seq.Steps[0].After))})
}

// stopEnrolment stops an active enrolment, reporting whether there was one.
func stopEnrolment(t *crm.Tx, seqID, contactID, reason string) (bool, error) {
	e, err := getEnrolment(t.Space(spaceName), seqID, contactID)
	if err != nil || e == nil || e.Status != EnrolmentActive {
		return false, err
	}
	e.Status, e.Reason = EnrolmentStopped, reason
	if err := putEnrolment(t, e); err != nil {
		return false, err
	}
	_, err = clearTimer(t, srcSequence+seqID, contactID)
	return true, err
}

// fireSequenceStep runs an enrolment's next step and sets the timer of
// the one after.
func (a *Automation) fireSequenceStep(t *crm.Tx, seq *Sequence, tm *timer) error {
	src := tm.Source
	e, err := getEnrolment(t.Space(spaceName), seq.idOr(src), tm.Record)
	if err != nil {
		return err
	}
	if seq == nil || e == nil || e.Status != EnrolmentActive || e.Step >= len(seq.Steps) {
		_, err := clearTimer(t, src, tm.Record)
		return err
	}
	c, err := t.Contacts().Get(tm.Record)
	if errors.Is(err, crm.ErrNotFound) || (err == nil && c.Deleted()) {
		_, err := stopEnrolment(t, seq.ID, tm.Record, "contact deleted")
		return err
	}
	if err != nil {
		return err
	}
	if err := a.runActions(t, seq.ID, crm.KindContact, []Action{seq.Steps[e.Step].Action}, &c); err != nil {
		return err
	}
	e.Step++
	if e.Step == len(seq.Steps) {
		e.Status = EnrolmentCompleted
		if _, err := clearTimer(t, src, tm.Record); err != nil {
			return err
		}
		return putEnrolment(t, e)
	}
	if err := putEnrolment(t, e); err != nil {
		return err
	}
	return setTimer(t, timer{Source: src, Record: tm.Record, Object: crm.KindContact, Due: e.StartedAt.Add(time.Duration(seq.Steps[e.Step].After))})
}

// idOr is the sequence's ID, or the one in a timer source when the
// sequence is gone.
func (s *Sequence) idOr(src string) string {
	if s != nil {
		return s.ID
	}
	return src[len(srcSequence):]
}

// stopSequencesOn stops the enrolments an event ends: the contact replied
// or booked a meeting, or a deal of the contact moved.
func (a *Automation) stopSequencesOn(ctx context.Context, w *crm.Workspace, cfg *automationConfig, ev *crm.Event) error {
	if len(cfg.sequences) == 0 || cfg.sequences[ev.Rule] != nil {
		return nil
	}
	var contacts []string
	reason := ""
	switch {
	case ev.Type == crm.ActivityCreated:
		var act crm.Activity
		if err := crm.Unmarshal(ev.After, &act); err != nil {
			return err
		}
		switch {
		case act.Type == crm.ActivityEmail && act.Direction == "inbound":
			reason = "replied"
		case act.Type == crm.ActivityMeeting:
			reason = "meeting booked"
		}
		contacts = act.ContactIDs
	case ev.Type == crm.DealStageChanged:
		var d crm.Deal
		if err := crm.Unmarshal(ev.After, &d); err != nil {
			return err
		}
		reason = "deal moved"
		for _, c := range d.Contacts {
			contacts = append(contacts, c.ContactID)
		}
	}
	if reason == "" || len(contacts) == 0 {
		return nil
	}
	err := w.Update(ctx, func(t *crm.Tx) error {
		stoppedAny := false
		for _, c := range contacts {
			for id := range cfg.sequences {
				stopped, err := stopEnrolment(t, id, c, reason)
				if err != nil {
					return err
				}
				stoppedAny = stoppedAny || stopped
			}
		}
		if !stoppedAny {
			return errSkip
		}
		return nil
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	return err
}
