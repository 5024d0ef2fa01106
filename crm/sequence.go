package crm

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/crmkit/crmkit/store"
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
type Sequences struct{ w *Workspace }

// Sequences returns the workspace's sequence service.
func (w *Workspace) Sequences() *Sequences { return &Sequences{w} }

func (w *Workspace) sequenceKey(id string) key { return w.ak('q').str(id) }

func (w *Workspace) enrolmentKey(contact, seq string) key {
	return w.ak('e').str(contact).str(seq)
}

func loadSequence(tx store.Reader, w *Workspace, id string) (*Sequence, error) {
	b, err := tx.Get(w.sequenceKey(id))
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrKeyTooLarge) {
		return nil, notFound("sequence", id)
	}
	if err != nil {
		return nil, err
	}
	s := new(Sequence)
	return s, decode(b, s)
}

// Save validates and stores a sequence (a new one when its ID is empty).
// Enrolments in a changed sequence go on from their next step.
func (s *Sequences) Save(ctx context.Context, seq Sequence) (Sequence, error) {
	_, err := s.w.write(ctx, func(t *txn) error {
		if err := t.checkWorkspace(); err != nil {
			return err
		}
		if seq.ID == "" {
			seq.ID, seq.CreatedAt = t.newID("seq_"), t.now
		} else {
			old, err := loadSequence(t.tx, t.w, seq.ID)
			if err != nil {
				return err
			}
			seq.CreatedAt = old.CreatedAt
		}
		p := problems{kind: "sequence", id: seq.ID}
		seq.Name = cleanText(&p, "name", seq.Name, maxShortText)
		if seq.Name == "" {
			p.add("name", "is required")
		}
		if len(seq.Steps) == 0 {
			p.add("steps", "a sequence needs at least one step")
		}
		schema, err := ruleSchema(t.tx, t.w, "contact")
		if err != nil {
			return err
		}
		for i := range seq.Steps {
			st := &seq.Steps[i]
			at := fmt.Sprintf("steps[%d]", i)
			checkOffset(&p, at+".after", st.After, false)
			if i > 0 && st.After < seq.Steps[i-1].After {
				p.add(at+".after", "%s comes before the step ahead of it (%s)", st.After, seq.Steps[i-1].After)
			}
			switch st.Action.Type {
			case ActionCreateTask, ActionLogActivity, ActionLogNote, ActionEmitEvent:
				if err := checkAction(t, &p, at+".action", "contact", &st.Action, schema); err != nil {
					return err
				}
			default:
				p.add(at+".action.type", "%q: a step creates a task, logs an activity or a note, or emits an event", st.Action.Type)
			}
		}
		if err := p.err(); err != nil {
			return err
		}
		seq.UpdatedAt = t.now
		b, err := encode(&seq)
		if err != nil {
			return err
		}
		if err := t.tx.Set(t.w.sequenceKey(seq.ID), b); err != nil {
			return err
		}
		return bumpVersion(t)
	})
	return seq, err
}

// Get returns a sequence.
func (s *Sequences) Get(ctx context.Context, id string) (Sequence, error) {
	var out Sequence
	err := s.w.read(ctx, func(tx store.Tx) error {
		seq, err := loadSequence(tx, s.w, id)
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
	_, err := s.w.write(ctx, func(t *txn) error {
		if _, err := getLive(t.tx, t.w, kindContact, contactID); err != nil {
			return err
		}
		return enrolIn(t, seqID, contactID)
	})
	return err
}

// Unenrol stops a contact's enrolment.
func (s *Sequences) Unenrol(ctx context.Context, seqID, contactID string) error {
	_, err := s.w.write(ctx, func(t *txn) error {
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
	err := s.w.read(ctx, func(tx store.Tx) error {
		b, err := tx.Get(s.w.enrolmentKey(contactID, seqID))
		if errors.Is(err, store.ErrNotFound) {
			return notFound("enrolment", contactID+" in "+seqID)
		}
		if err != nil {
			return err
		}
		return decode(b, &e)
	})
	return e, err
}

// Enrolments streams a contact's enrolments.
func (s *Sequences) Enrolments(ctx context.Context, contactID string) iter.Seq2[Enrolment, error] {
	return func(yield func(Enrolment, error) bool) {
		err := s.w.read(ctx, func(tx store.Tx) error {
			for e, err := range tx.Scan(store.Range{Prefix: s.w.ak('e').str(contactID)}) {
				if err != nil {
					return err
				}
				var en Enrolment
				if err := decode(e.Value, &en); err != nil {
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

func putEnrolment(t *txn, e *Enrolment) error {
	e.UpdatedAt = t.now
	b, err := encode(e)
	if err != nil {
		return err
	}
	return t.tx.Set(t.w.enrolmentKey(e.Contact, e.Sequence), b)
}

func getEnrolment(tx store.Reader, w *Workspace, seqID, contactID string) (*Enrolment, error) {
	b, err := tx.Get(w.enrolmentKey(contactID, seqID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e := new(Enrolment)
	return e, decode(b, e)
}

// enrolIn enrols a contact inside t and sets the timer of the first step.
func enrolIn(t *txn, seqID, contactID string) error {
	seq, err := loadSequence(t.tx, t.w, seqID)
	if err != nil {
		return err
	}
	e, err := getEnrolment(t.tx, t.w, seqID, contactID)
	if err != nil {
		return err
	}
	if e != nil && e.Status == EnrolmentActive {
		return nil
	}
	e = &Enrolment{Sequence: seqID, Contact: contactID, Status: EnrolmentActive, StartedAt: t.now}
	if err := putEnrolment(t, e); err != nil {
		return err
	}
	return setTimer(t, timer{Source: srcSequence + seqID, Record: contactID, Object: "contact", Due: t.now.Add(time.Duration(seq.Steps[0].After))})
}

// stopEnrolment stops an active enrolment, reporting whether there was one.
func stopEnrolment(t *txn, seqID, contactID, reason string) (bool, error) {
	e, err := getEnrolment(t.tx, t.w, seqID, contactID)
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
func (a *Automation) fireSequenceStep(t *txn, seq *Sequence, tm *timer) error {
	src := tm.Source
	e, err := getEnrolment(t.tx, t.w, seq.idOr(src), tm.Record)
	if err != nil {
		return err
	}
	if seq == nil || e == nil || e.Status != EnrolmentActive || e.Step >= len(seq.Steps) {
		_, err := clearTimer(t, src, tm.Record)
		return err
	}
	c, err := get(t.tx, t.w, kindContact, tm.Record)
	if errors.Is(err, ErrNotFound) || (err == nil && c.Deleted()) {
		_, err := stopEnrolment(t, seq.ID, tm.Record, "contact deleted")
		return err
	}
	if err != nil {
		return err
	}
	if err := a.runActions(t, seq.ID, "contact", []Action{seq.Steps[e.Step].Action}, c); err != nil {
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
	return setTimer(t, timer{Source: src, Record: tm.Record, Object: "contact", Due: e.StartedAt.Add(time.Duration(seq.Steps[e.Step].After))})
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
func (a *Automation) stopSequencesOn(ctx context.Context, w *Workspace, cfg *automationConfig, ev *Event) error {
	if len(cfg.sequences) == 0 || cfg.sequences[ev.Rule] != nil {
		return nil
	}
	var contacts []string
	reason := ""
	switch {
	case ev.Type == ActivityCreated:
		var act Activity
		if err := decode(ev.After, &act); err != nil {
			return err
		}
		switch {
		case act.Type == ActivityEmail && act.Direction == "inbound":
			reason = "replied"
		case act.Type == ActivityMeeting:
			reason = "meeting booked"
		}
		contacts = act.ContactIDs
	case ev.Type == DealStageChanged:
		var d Deal
		if err := decode(ev.After, &d); err != nil {
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
	_, err := w.write(ctx, func(t *txn) error {
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
