package crm

import (
	"context"
	"errors"
	"time"

	"github.com/crmkit/crmkit/store"
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
	Object string    `msgpack:"object"`
	Due    time.Time `msgpack:"due"`
	// Step is a sequence step; After a schedule's progress through the
	// records of one occurrence.
	Step  int    `msgpack:"step,omitempty"`
	After string `msgpack:"after,omitempty"`
}

func (w *Workspace) timerKey(due time.Time, source, record string) key {
	return w.ak('t').time(due).str(source).str(record)
}

func (w *Workspace) timerIndexKey(source, record string) key {
	return w.ak('T').str(source).str(record)
}

func (w *Workspace) firedKey(source, record string) key { return w.ak('f').str(source).str(record) }

// getTimer returns the timer of a source and record, or nil.
func getTimer(tx store.Reader, w *Workspace, source, record string) (*timer, error) {
	b, err := tx.Get(w.timerIndexKey(source, record))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r := keyReader{b: b}
	due := r.time()
	if r.err != nil {
		return nil, r.err
	}
	b, err = tx.Get(w.timerKey(due, source, record))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errors.New("crm: timer index points at no timer")
	}
	if err != nil {
		return nil, err
	}
	tm := new(timer)
	return tm, decode(b, tm)
}

// setTimer stores tm in place of its source's timer for the record. It
// reports whether anything changed.
func setTimer(t *txn, tm timer) error {
	_, err := putTimer(t, tm)
	return err
}

func putTimer(t *txn, tm timer) (bool, error) {
	tm.Due = tm.Due.UTC()
	old, err := getTimer(t.tx, t.w, tm.Source, tm.Record)
	if err != nil {
		return false, err
	}
	if old != nil && *old == tm {
		return false, nil
	}
	if old != nil && !old.Due.Equal(tm.Due) {
		if err := t.tx.Delete(t.w.timerKey(old.Due, tm.Source, tm.Record)); err != nil {
			return false, err
		}
	}
	b, err := encode(&tm)
	if err != nil {
		return false, err
	}
	if err := t.tx.Set(t.w.timerKey(tm.Due, tm.Source, tm.Record), b); err != nil {
		return false, err
	}
	return true, t.tx.Set(t.w.timerIndexKey(tm.Source, tm.Record), key{}.time(tm.Due))
}

// clearTimer removes a source's timer for a record, reporting whether
// there was one.
func clearTimer(t *txn, source, record string) (bool, error) {
	old, err := getTimer(t.tx, t.w, source, record)
	if err != nil || old == nil {
		return false, err
	}
	if err := t.tx.Delete(t.w.timerKey(old.Due, source, record)); err != nil {
		return false, err
	}
	return true, t.tx.Delete(t.w.timerIndexKey(source, record))
}

func lastFired(tx store.Reader, w *Workspace, source, record string) (time.Time, error) {
	b, err := tx.Get(w.firedKey(source, record))
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	r := keyReader{b: b}
	at := r.time()
	return at, r.err
}

func setFired(t *txn, source, record string, due time.Time) error {
	return t.tx.Set(t.w.firedKey(source, record), key{}.time(due))
}

// clearSource removes every timer and fired mark of a source, in batches.
func clearSource(ctx context.Context, w *Workspace, source string) error {
	for {
		n := 0
		_, err := w.write(ctx, func(t *txn) error {
			n = 0
			var records []string
			prefix := t.w.timerIndexKey(source, "")
			prefix = prefix[:len(prefix)-2] // the source, without the empty record
			for e, err := range t.tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
				if err != nil {
					return err
				}
				r := keyReader{b: e.Key[len(prefix):]}
				records = append(records, r.str())
				if r.err != nil {
					return r.err
				}
				if len(records) == 1000 {
					break
				}
			}
			for _, id := range records {
				if _, err := clearTimer(t, source, id); err != nil {
					return err
				}
				if err := t.tx.Delete(t.w.firedKey(source, id)); err != nil {
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
func dropTimer(t *txn, tm *timer) error {
	if err := t.tx.Delete(t.w.timerKey(tm.Due, tm.Source, tm.Record)); err != nil {
		return err
	}
	return t.tx.Delete(t.w.timerIndexKey(tm.Source, tm.Record))
}

// nextOccurrence is the due time of a time trigger's next occurrence for
// a record: after the last one fired and, for yearly triggers, not before
// today.
func nextOccurrence(t *txn, tt *TimeTrigger, src string, rec any) (time.Time, bool, error) {
	base, ok, err := timeOf(t.tx, t.w, t.now, rec, tt.Field)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	fired, err := lastFired(t.tx, t.w, src, recordMeta(rec).ID)
	if err != nil {
		return time.Time{}, false, err
	}
	off := time.Duration(tt.Offset)
	if !tt.Yearly {
		due := base.Add(off)
		return due, due.After(fired), nil
	}
	today := time.Date(t.now.Year(), t.now.Month(), t.now.Day(), 0, 0, 0, 0, time.UTC)
	for y := max(base.Year(), t.now.Year()-1); y <= t.now.Year()+2; y++ {
		due := time.Date(y, base.Month(), base.Day(), 0, 0, 0, 0, time.UTC).Add(off)
		if due.After(fired) && !due.Before(today) {
			return due, true, nil
		}
	}
	return time.Time{}, false, nil
}

// scheduleRule sets or clears a time rule's timer for a record, reporting
// whether it changed.
func scheduleRule(t *txn, r *compiledRule, rec any) (bool, error) {
	src, id := srcRule+r.ID, recordMeta(rec).ID
	if r.Disabled || recordMeta(rec).Deleted() {
		return clearTimer(t, src, id)
	}
	due, ok, err := nextOccurrence(t, r.Trigger.Time, src, rec)
	if err != nil {
		return false, err
	}
	if !ok {
		return clearTimer(t, src, id)
	}
	return putTimer(t, timer{Source: src, Record: id, Object: r.Object, Due: due})
}
