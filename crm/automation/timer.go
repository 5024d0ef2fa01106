package automation

import (
	"context"
	"errors"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// timer is a durable timer: something to do for a record at a time. Its
// source says what: "rule:<id>" (a time trigger), "schedule:<id>" (a
// scheduled rule, Record empty), "sequence:<id>" (the next step of an
// enrolment), "task.due" and "task.overdue" (an open task's due time).
// A source has at most one timer per record; the last occurrence fired is
// kept beside it, so an occurrence fires once.
type timer struct {
	Source string    `msgpack:"source"`
	Record string    `msgpack:"record"`
	Object crm.Kind  `msgpack:"object"`
	Due    time.Time `msgpack:"due"`
	// Step is a sequence step; After a schedule's progress through the
	// records of one occurrence.
	Step  int    `msgpack:"step,omitempty"`
	After string `msgpack:"after,omitempty"`
}

func timerKey(due time.Time, source, record string) tuple.Key {
	return ak('t').Time(due).Str(source).Str(record)
}

func timerIndexKey(source, record string) tuple.Key { return ak('T').Str(source).Str(record) }

func firedKey(source, record string) tuple.Key { return ak('f').Str(source).Str(record) }

// getTimer returns the timer of a source and record, or nil.
func getTimer(sp crm.Space, source, record string) (*timer, error) {
	b, err := sp.Get(timerIndexKey(source, record))
	if errors.Is(err, crm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r := tuple.NewReader(b)
	due := r.Time()
	if r.Err() != nil {
		return nil, r.Err()
	}
	b, err = sp.Get(timerKey(due, source, record))
	if errors.Is(err, crm.ErrNotFound) {
		return nil, errors.New("automation: timer index points at no timer")
	}
	if err != nil {
		return nil, err
	}
	tm := new(timer)
	return tm, crm.Unmarshal(b, tm)
}

// setTimer stores tm in place of its source's timer for the record. It
// reports whether anything changed.
func setTimer(t *crm.Tx, tm timer) error {
	_, err := putTimer(t, tm)
	return err
}

func putTimer(t *crm.Tx, tm timer) (bool, error) {
	tm.Due = tm.Due.UTC()
	sp := t.Space(spaceName)
	old, err := getTimer(sp, tm.Source, tm.Record)
	if err != nil {
		return false, err
	}
	if old != nil && *old == tm {
		return false, nil
	}
	if old != nil && !old.Due.Equal(tm.Due) {
		if err := sp.Delete(timerKey(old.Due, tm.Source, tm.Record)); err != nil {
			return false, err
		}
	}
	b, err := crm.Marshal(&tm)
	if err != nil {
		return false, err
	}
	if err := sp.Set(timerKey(tm.Due, tm.Source, tm.Record), b); err != nil {
		return false, err
	}
	return true, sp.Set(timerIndexKey(tm.Source, tm.Record), tuple.Key{}.Time(tm.Due))
}

// clearTimer removes a source's timer for a record, reporting whether
// there was one.
func clearTimer(t *crm.Tx, source, record string) (bool, error) {
	sp := t.Space(spaceName)
	old, err := getTimer(sp, source, record)
	if err != nil || old == nil {
		return false, err
	}
	if err := sp.Delete(timerKey(old.Due, source, record)); err != nil {
		return false, err
	}
	return true, sp.Delete(timerIndexKey(source, record))
}

func lastFired(sp crm.Space, source, record string) (time.Time, error) {
	b, err := sp.Get(firedKey(source, record))
	if errors.Is(err, crm.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	r := tuple.NewReader(b)
	at := r.Time()
	return at, r.Err()
}

func setFired(t *crm.Tx, source, record string, due time.Time) error {
	return t.Space(spaceName).Set(firedKey(source, record), tuple.Key{}.Time(due))
}

// clearSource removes every timer and fired mark of a source, in batches.
func clearSource(ctx context.Context, w *crm.Workspace, source string) error {
	for {
		n := 0
		err := w.Update(ctx, func(t *crm.Tx) error {
			n = 0
			var records []string
			sp := t.Space(spaceName)
			prefix := ak('T').Str(source)
			for e, err := range sp.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
				if err != nil {
					return err
				}
				r := tuple.NewReader(e.Key[len(prefix):])
				records = append(records, r.Str())
				if r.Err() != nil {
					return r.Err()
				}
				if len(records) == 1000 {
					break
				}
			}
			for _, id := range records {
				if _, err := clearTimer(t, source, id); err != nil {
					return err
				}
				if err := sp.Delete(firedKey(source, id)); err != nil {
					return err
				}
			}
			n = len(records)
			return nil
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

const (
	srcRule     = "rule:"
	srcSchedule = "schedule:"
	srcSequence = "sequence:"
	srcTaskDue  = "task.due"
	srcOverdue  = "task.overdue"
)

// dropTimer removes a timer known to be stored.
func dropTimer(t *crm.Tx, tm *timer) error {
	sp := t.Space(spaceName)
	if err := sp.Delete(timerKey(tm.Due, tm.Source, tm.Record)); err != nil {
		return err
	}
	return sp.Delete(timerIndexKey(tm.Source, tm.Record))
}

// nextOccurrence is the due time of a time trigger's next occurrence for
// a record: after the last one fired and, for yearly triggers, not before
// today.
func nextOccurrence(t *crm.ReadTx, tt *TimeTrigger, src string, rec any) (time.Time, bool, error) {
	base, ok, err := timeOf(t, rec, tt.Field)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	fired, err := lastFired(t.Space(spaceName), src, crm.MetaOf(rec).ID)
	if err != nil {
		return time.Time{}, false, err
	}
	off := time.Duration(tt.Offset)
	if !tt.Yearly {
		due := base.Add(off)
		return due, due.After(fired), nil
	}
	today := time.Date(t.Now().Year(), t.Now().Month(), t.Now().Day(), 0, 0, 0, 0, time.UTC)
	for y := max(base.Year(), t.Now().Year()-1); y <= t.Now().Year()+2; y++ {
		due := time.Date(y, base.Month(), base.Day(), 0, 0, 0, 0, time.UTC).Add(off)
		if due.After(fired) && !due.Before(today) {
			return due, true, nil
		}
	}
	return time.Time{}, false, nil
}

// scheduleRule sets or clears a time rule's timer for a record, reporting
// whether it changed.
func scheduleRule(t *crm.Tx, r *compiledRule, rec any) (bool, error) {
	src, id := srcRule+r.ID, crm.MetaOf(rec).ID
	if r.Disabled || crm.MetaOf(rec).Deleted() {
		return clearTimer(t, src, id)
	}
	due, ok, err := nextOccurrence(&t.ReadTx, r.Trigger.Time, src, rec)
	if err != nil {
		return false, err
	}
	if !ok {
		return clearTimer(t, src, id)
	}
	return putTimer(t, timer{Source: src, Record: id, Object: r.Object, Due: due})
}
