package crm

import (
	"bytes"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
	"github.com/vmihailenco/msgpack/v5"
)

// Outbox keys: ws 'o' uint64(seq) -> event, numbered by the store (see
// store.Appender) or, on a store without that capability, after the head
// kept at ws 'm' "outbox_head". Older versions also kept ws 'e' code
// str(id) uint64(seq) -> nothing, the events of one record, so erasing it
// could redact them; events now carry no record data, so erasure only
// redacts those older events.

func (w *Workspace) recordEventsPrefix(code byte, id string) key {
	return w.k(tagRecordEvent).byte(code).str(id)
}

// versionKey holds a superseded version of a record: ws 'v' code str(id)
// uint64(version) -> the record as it was. Events read the records they
// name from here and from the record itself.
func (w *Workspace) versionKey(code byte, id string, version uint64) key {
	return w.k(tagVersion).byte(code).str(id).uint(version)
}

// redactEvents strips the data of the events that older versions stored
// with a record being erased: the events keep their place in the
// sequence, their type and the record's ID, and lose the record, the
// changed fields and the actor.
func (t *txn) redactEvents(code byte, id string) error {
	prefix := t.w.recordEventsPrefix(code, id)
	var seqs []uint64
	for e, err := range t.tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
		if err != nil {
			return err
		}
		r := tuple.NewReader(e.Key[len(prefix):])
		seqs = append(seqs, r.Uint())
		if r.Err() != nil {
			return r.Err()
		}
	}
	for _, seq := range seqs {
		b, err := t.tx.Get(t.w.outboxKey(seq))
		if errors.Is(err, store.ErrNotFound) {
			continue // already removed by retention
		}
		if err != nil {
			return err
		}
		var ev Event
		if err := decode(b, &ev); err != nil {
			return err
		}
		ev.After, ev.Before, ev.Fields, ev.Actor, ev.Redacted = nil, nil, nil, "", true
		if b, err = encode(&ev); err != nil {
			return err
		}
		if err := t.tx.Set(t.w.outboxKey(seq), b); err != nil {
			return err
		}
	}
	return deleteRange(t.tx, prefix)
}

func (w *Workspace) outboxKey(seq uint64) key { return w.k(tagOutbox).uint(seq) }

func (w *Workspace) outboxHeadKey() key { return w.k(tagMeta).str("outbox_head") }

// emit writes the events of one change to the outbox and queues them for
// the after-hooks. The stored events are lean (see Event); before and
// after are the record's encodings, handed to the after-hooks as they are.
// version and beforeVersion name them for later readers; a before that is
// not a version of the record itself (a merged record) is stored inline.
func (t *txn) emit(ch *Change, types []EventType, before, after []byte, version, beforeVersion uint64) error {
	app, _ := t.tx.(store.Appender)
	for i, et := range types {
		ev := &Event{
			ID: eventID(ch.ID, i), Type: et, ChangeID: ch.ID,
			Kind: ch.Kind, RecordID: ch.RecordID, Actor: ch.Actor, Source: ch.Source, At: ch.At,
			Version: version, BeforeVersion: beforeVersion, Rule: ch.Rule, Depth: ch.Depth, Op: ch.Op,
		}
		if ch.Op == "" {
			ev.Fields = ch.Fields // no history entry holds these
		}
		if beforeVersion == 0 {
			ev.Before = before
		}
		b, err := encodeEvent(ev, i)
		if err != nil {
			return err
		}
		ev.Workspace, ev.Fields, ev.Before, ev.After = ch.Workspace, ch.Fields, before, after
		t.events = append(t.events, ev)
		if app != nil {
			if err := app.Append(t.w.k(tagOutbox), b, &ev.Seq); err != nil {
				return err
			}
			continue
		}
		if t.head == 0 {
			if t.head, err = outboxHead(t.tx, t.w); err != nil {
				return err
			}
		}
		t.head++
		ev.Seq = t.head
		if err := t.tx.Set(t.w.outboxKey(ev.Seq), b); err != nil {
			return err
		}
	}
	if app != nil {
		return nil
	}
	return t.tx.Set(t.w.outboxHeadKey(), key{}.uint(t.head))
}

// outboxHead returns the number of the workspace's latest event, 0 if
// there is none.
func outboxHead(tx store.Reader, w *Workspace) (uint64, error) {
	head, err := readUint(tx, w.outboxHeadKey())
	if err != nil {
		return 0, err
	}
	prefix := w.k(tagOutbox)
	for e, err := range tx.Scan(store.Range{Prefix: prefix, Reverse: true, KeysOnly: true}) {
		if err != nil {
			return 0, err
		}
		if len(e.Key) == len(prefix)+8 {
			head = max(head, binaryUint(e.Key[len(prefix):]))
		}
		break
	}
	return head, nil
}

// outboxEvents streams the workspace's events after since, in order, with
// the records they name (see loadEvent).
func outboxEvents(tx store.Reader, w *Workspace, since uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		prefix := w.k(tagOutbox)
		var l eventLoader
		for e, err := range tx.Scan(store.Range{Prefix: prefix, Start: w.outboxKey(since + 1)}) {
			if err != nil {
				yield(Event{}, err)
				return
			}
			var ev Event
			err := decodeEvent(e.Value, &ev)
			if err == nil && len(e.Key) != len(prefix)+8 {
				err = fmt.Errorf("%w: %s", errBadKey, KeyString(e.Key))
			}
			if err == nil {
				ev.Seq, ev.Workspace = binaryUint(e.Key[len(prefix):]), w.info.ID
				err = l.load(tx, w, &ev)
			}
			if !yield(ev, err) || err != nil {
				return
			}
		}
	}
}

// eventLoader fills in the records and fields of lean events, reading
// each change's history entry once.
type eventLoader struct {
	change string
	fields []FieldChange
	found  bool
}

// load reads the records a lean event names: After from the record (or
// the version it superseded), Before from the versions, Fields from the
// change's history entry. An event whose record was erased is marked
// Redacted.
func (l *eventLoader) load(tx store.Reader, w *Workspace, ev *Event) error {
	if ev.Version == 0 || ev.Redacted {
		return nil // an erase, or an event of an older version: complete
	}
	code, ok := kindCodes[ev.Kind.name]
	if !ok {
		return nil
	}
	var err error
	if ev.After, err = recordVersion(tx, w, code, ev.RecordID, ev.Version); err != nil {
		return err
	}
	if ev.After == nil {
		ev.Before, ev.Fields, ev.Actor, ev.Redacted = nil, nil, "", true
		return nil
	}
	if ev.BeforeVersion != 0 {
		if ev.Before, err = recordVersion(tx, w, code, ev.RecordID, ev.BeforeVersion); err != nil {
			return err
		}
	}
	if ev.Fields != nil {
		return nil
	}
	if l.change != ev.ChangeID {
		l.change, l.fields, l.found = ev.ChangeID, nil, false
		b, err := tx.Get(w.historyPrefix(code, ev.RecordID).str(ev.ChangeID))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			var c Change
			if err := decodeChange(b, &c); err != nil {
				return err
			}
			l.fields, l.found = c.Fields, true
		}
	}
	ev.Fields = l.fields
	return nil
}

// recordVersion returns version v of a record, or nil if the record (or
// that version of it) is gone.
func recordVersion(tx store.Reader, w *Workspace, code byte, id string, v uint64) ([]byte, error) {
	b, err := tx.Get(w.recordKey(code, id))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	var m Meta
	if err := decode(b, &m); err != nil {
		return nil, err
	}
	if uint64(m.Version) == v {
		return b, nil
	}
	b, err = tx.Get(w.versionKey(code, id, v))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// compactFormat is the first byte of the history entries (storedChange)
// this version writes, and of the outbox events older versions wrote
// before events carried their Op: msgpack arrays, without field names.
// Those of older versions still are records (recordFormat): msgpack maps.
const compactFormat byte = 2

// eventFormat is the first byte of the outbox events this version
// writes: a storedEvent, which is compactFormat's plus the Op.
const eventFormat byte = 3

// encodeCompact encodes v (a struct of the msgpack array form) after the
// format byte, with integers as short as they fit.
func encodeCompact(format byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(format)
	enc := msgpack.NewEncoder(&buf)
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("crm: encode %T: %w", v, err)
	}
	return buf.Bytes(), nil
}

// storedEvent is an outbox event as stored: a msgpack array, without the
// field names, the workspace (the key's) or the event ID (derived from the
// change ID and the event's index among the change's events).
type storedEvent struct {
	_msgpack      struct{} `msgpack:",as_array"`
	Type          EventType
	ChangeID      string
	Index         int
	Kind          Kind
	RecordID      string
	Actor         string
	Source        string
	At            time.Time
	Version       uint64
	BeforeVersion uint64
	Rule          string
	Depth         int
	Fields        []FieldChange
	Before        []byte
	Redacted      bool
	Op            Op // eventFormat only
}

// compactEventLen is how many fields a compactFormat event has: all of a
// storedEvent's but the Op, msgpack's fixarray of 15.
const compactEventLen = 15

// eventID is the ID of the i-th event of change changeID.
func eventID(changeID string, i int) string {
	id := "evt_" + changeID[min(len(changeID), 4):]
	if i > 0 {
		id += fmt.Sprintf(".%d", i)
	}
	return id
}

func encodeEvent(ev *Event, i int) ([]byte, error) {
	se := storedEvent{
		Type: ev.Type, ChangeID: ev.ChangeID, Index: i, Kind: ev.Kind, RecordID: ev.RecordID,
		Actor: ev.Actor, Source: ev.Source, At: ev.At, Version: ev.Version, BeforeVersion: ev.BeforeVersion,
		Rule: ev.Rule, Depth: ev.Depth, Fields: ev.Fields, Before: ev.Before, Redacted: ev.Redacted, Op: ev.Op,
	}
	return encodeCompact(eventFormat, &se)
}

// decodeEvent decodes an outbox event of any format. Events written
// before events carried their Op get the op their type names
// ("contact.deleted"), if it names one.
func decodeEvent(b []byte, ev *Event) error {
	var body []byte
	switch {
	case len(b) > 1 && b[0] == eventFormat:
		body = b[1:]
	case len(b) > 1 && b[0] == compactFormat && b[1] == 0x90|compactEventLen:
		// The same array without the Op: make it one longer (msgpack's
		// array 16 header) and end it with a nil Op.
		body = make([]byte, 0, len(b)+3)
		body = append(append(append(body, 0xdc, 0, compactEventLen+1), b[2:]...), 0xc0)
	default:
		if err := decode(b, ev); err != nil {
			return err
		}
		ev.Op = opOfType(ev.Kind.name, ev.Type)
		return nil
	}
	var se storedEvent
	if err := msgpack.Unmarshal(body, &se); err != nil {
		return fmt.Errorf("crm: decode event: %w", err)
	}
	*ev = Event{
		ID: eventID(se.ChangeID, se.Index), Type: se.Type, ChangeID: se.ChangeID, Kind: se.Kind, RecordID: se.RecordID,
		Actor: se.Actor, Source: se.Source, At: se.At.UTC(), Version: se.Version, BeforeVersion: se.BeforeVersion,
		Rule: se.Rule, Depth: se.Depth, Fields: se.Fields, Before: se.Before, Redacted: se.Redacted, Op: se.Op,
	}
	if b[0] == compactFormat {
		ev.Op = opOfType(ev.Kind.name, ev.Type)
	}
	return nil
}

// opOfType is the op an event type of kind names, or "" for the types
// that name none ("deal.won", "custom.x").
func opOfType(kind string, t EventType) Op {
	switch op := Op(strings.TrimPrefix(string(t), kind+".")); op {
	case OpCreated, OpUpdated, OpDeleted, OpRestored, OpErased, OpMerged:
		return op
	}
	return ""
}

// eventIndex is the index eventID put in id.
func eventIndex(id string) int {
	i := strings.LastIndexByte(id, '.')
	if i < 0 {
		return 0
	}
	n, _ := strconv.Atoi(id[i+1:])
	return n
}
