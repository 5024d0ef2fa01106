package crm

import (
	"context"
	"encoding/base64"
	"fmt"
	"iter"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
	"github.com/vmihailenco/msgpack/v5"
)

// Op is what a change did to a record.
type Op string

// The operations a change can record.
const (
	OpCreated  Op = "created"
	OpUpdated  Op = "updated"
	OpDeleted  Op = "deleted"
	OpRestored Op = "restored"
	OpErased   Op = "erased"
	// OpMerged is the change of a survivor that another record was merged
	// into (see Contacts.Merge).
	OpMerged Op = "merged"
)

// Change is one committed change of one record: who, when, what, and each
// field's old and new value. It is the unit of history and of the timeline.
type Change struct {
	ID        string        `msgpack:"id" json:"id"`
	Workspace string        `msgpack:"workspace" json:"workspace"`
	Kind      Kind          `msgpack:"kind" json:"kind"`
	RecordID  string        `msgpack:"record_id" json:"record_id"`
	Op        Op            `msgpack:"op" json:"op"`
	Actor     string        `msgpack:"actor,omitempty" json:"actor,omitempty"`
	Source    string        `msgpack:"source,omitempty" json:"source,omitempty"`
	At        time.Time     `msgpack:"at" json:"at"`
	Fields    []FieldChange `msgpack:"fields,omitempty" json:"fields,omitempty"`
	// Rule is the automation rule that made the change, empty for changes
	// made by people and programs (see package crm/automation).
	Rule string `msgpack:"rule,omitempty" json:"rule,omitempty"`
	// Depth counts the rule-made changes that led to this one: 1 for a
	// rule acting on a change by a person, 2 for a rule acting on that,
	// and so on. crm/automation stops chains past its depth limit.
	Depth int `msgpack:"depth,omitempty" json:"depth,omitempty"`
}

// FieldChange is one field's change. Custom fields are named
// "custom.<name>". Values are as the record holds them (after a round trip
// through storage, numbers may come back as a different integer width).
type FieldChange struct {
	Field string `msgpack:"field" json:"field"`
	Old   any    `msgpack:"old" json:"old"`
	New   any    `msgpack:"new" json:"new"`
}

func (w *Workspace) historyPrefix(code byte, id string) key {
	return w.k(tagHistory).byte(code).str(id)
}

func (w *Workspace) timelinePrefix(code byte, id string) key {
	return w.k(tagTimeline).byte(code).str(id)
}

// Timeline entry values say what the entry points at.
const (
	timelineChange   byte = 'c'
	timelineActivity byte = 'a'
)

// record writes the history and timeline entries of a change to record id
// and queues the change for after-commit processing.
func (t *txn) record(kindName string, code byte, id string, op Op, fields []FieldChange) (*Change, error) {
	c := Change{
		ID: t.newID("chg_"), Workspace: t.w.info.ID, Kind: Kind{kindName}, RecordID: id,
		Op: op, Actor: t.actor, Source: t.source, At: t.now, Fields: fields,
	}
	c.Rule, c.Depth = CauseOf(t.ctx)
	b, err := encodeChange(&c)
	if err != nil {
		return nil, err
	}
	if err := t.tx.Set(t.w.historyPrefix(code, id).str(c.ID), b); err != nil {
		return nil, err
	}
	tl := t.w.timelinePrefix(code, id).time(c.At).str(c.ID)
	if err := t.tx.Set(tl, []byte{timelineChange}); err != nil {
		return nil, err
	}
	return &c, nil
}

// diff lists the fields that differ between two records of the same type,
// by their msgpack names, ignoring the embedded Meta. Custom fields are
// compared one by one.
func diff[T any](old, r *T) []FieldChange {
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(r).Elem()
	typ := ov.Type()
	var out []FieldChange
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if !f.IsExported() || f.Type == reflect.TypeFor[Meta]() {
			continue
		}
		name := fieldName(f)
		a, b := ov.Field(i).Interface(), nv.Field(i).Interface()
		if ca, ok := a.(Custom); ok {
			out = append(out, diffCustom(ca, b.(Custom))...)
			continue
		}
		if !equalValues(a, b) {
			out = append(out, FieldChange{Field: name, Old: a, New: b})
		}
	}
	return out
}

func diffCustom(a, b Custom) []FieldChange {
	names := make([]string, 0, len(a)+len(b))
	for k := range a {
		names = append(names, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var out []FieldChange
	for _, n := range names {
		if !equalValues(a[n], b[n]) {
			out = append(out, FieldChange{Field: "custom." + n, Old: a[n], New: b[n]})
		}
	}
	return out
}

// equalValues compares field values; empty and nil slices and maps are
// equal, and times compare as instants.
func equalValues(a, b any) bool {
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	if av.IsValid() && bv.IsValid() && av.Type() == bv.Type() {
		switch av.Kind() {
		case reflect.Slice, reflect.Map:
			if av.Len() == 0 && bv.Len() == 0 {
				return true
			}
		}
		if ta, ok := a.(time.Time); ok {
			return ta.Equal(b.(time.Time))
		}
	}
	return reflect.DeepEqual(a, b)
}

func fieldName(f reflect.StructField) string {
	tag := f.Tag.Get("msgpack")
	if name, _, _ := strings.Cut(tag, ","); name != "" {
		return name
	}
	return f.Name
}

// Ref names one record: its kind (KindContact, KindCompany, KindDeal, ...)
// and ID.
type Ref struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
}

// History streams the changes of a record, newest first. The record may be
// soft-deleted; an erased record has no history.
func (w *Workspace) History(ctx context.Context, ref Ref) iter.Seq2[Change, error] {
	return func(yield func(Change, error) bool) {
		stopped := false
		err := w.View(ctx, func(rt *ReadTx) error {
			for c, err := range rt.History(ref) {
				if stopped = !yield(c, err); stopped || err != nil {
					return nil
				}
			}
			return nil
		})
		if err != nil && !stopped {
			yield(Change{}, err)
		}
	}
}

// TimelineEntry is one item of a record's timeline: an activity linked to
// it or a change made to it. Exactly one of Activity and Change is set.
type TimelineEntry struct {
	At       time.Time `json:"at"`
	Activity *Activity `json:"activity,omitempty"`
	Change   *Change   `json:"change,omitempty"`
}

// Timeline returns a page of a record's timeline, newest first: the
// activities linked to it (by when they happened) merged with the changes
// made to it. after is "" for the first page, or a previous page's Next.
// limit defaults to 50 and is capped at 1000.
func (w *Workspace) Timeline(ctx context.Context, ref Ref, after string, limit int) (Page[TimelineEntry], error) {
	code, ok := kindCodes[ref.Kind.name]
	if !ok {
		return Page[TimelineEntry]{}, unknownKind(ref.Kind.name)
	}
	if err := checkID(ref.Kind.name, ref.ID); err != nil {
		return Page[TimelineEntry]{}, err
	}
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	prefix := w.timelinePrefix(code, ref.ID)
	rng := store.Range{Prefix: prefix, Reverse: true}
	if after != "" {
		suffix, err := cursorBytes(after)
		if err != nil {
			return Page[TimelineEntry]{}, err
		}
		rng.End = append(append(key{}, prefix...), suffix...)
	}
	var pg Page[TimelineEntry]
	err := w.view(ctx, func(tx store.Tx, g *guard) error {
		if err := g.seesRef(tx, w, ref); err != nil {
			return err
		}
		var last []byte
		for e, err := range tx.Scan(rng) {
			if err != nil {
				return err
			}
			if len(pg.Items) == limit {
				pg.Next = base64.RawURLEncoding.EncodeToString(last[len(prefix):])
				break
			}
			r := tuple.NewReader(e.Key[len(prefix):])
			at := r.Time()
			id := r.Str()
			if r.Err() != nil || len(e.Value) == 0 {
				return errBadKey
			}
			entry := TimelineEntry{At: at}
			switch e.Value[0] {
			case timelineChange:
				b, err := tx.Get(w.historyPrefix(code, ref.ID).str(id))
				if err != nil {
					return err
				}
				entry.Change = new(Change)
				if err := decodeChange(b, entry.Change); err != nil {
					return err
				}
				entry.Change.Fields = g.redactChanges(ref.Kind.name, entry.Change.Fields)
			case timelineActivity:
				a, err := get(tx, w, kindActivity, id)
				if err != nil {
					return err
				}
				if g != nil && (g.check("activity", g.read) != nil || !sees(g, kindActivity, a)) {
					continue // an activity the principal may not see
				}
				entry.Activity = a
			}
			pg.Items = append(pg.Items, entry)
			last = append(last[:0], e.Key...)
		}
		return nil
	})
	return pg, err
}

// storedChange is a history entry as stored (see compactFormat).
type storedChange struct {
	_msgpack  struct{} `msgpack:",as_array"`
	ID        string
	Workspace string
	Kind      Kind
	RecordID  string
	Op        Op
	Actor     string
	Source    string
	At        time.Time
	Fields    []FieldChange
	Rule      string
	Depth     int
}

func encodeChange(c *Change) ([]byte, error) {
	return encodeCompact(compactFormat, &storedChange{
		ID: c.ID, Workspace: c.Workspace, Kind: c.Kind, RecordID: c.RecordID, Op: c.Op,
		Actor: c.Actor, Source: c.Source, At: c.At, Fields: c.Fields, Rule: c.Rule, Depth: c.Depth,
	})
}

// decodeChange decodes a history entry of either form.
func decodeChange(b []byte, c *Change) error {
	if len(b) == 0 || b[0] != compactFormat {
		return decode(b, c)
	}
	var sc storedChange
	if err := msgpack.Unmarshal(b[1:], &sc); err != nil {
		return fmt.Errorf("crm: decode change: %w", err)
	}
	*c = Change{
		ID: sc.ID, Workspace: sc.Workspace, Kind: sc.Kind, RecordID: sc.RecordID, Op: sc.Op,
		Actor: sc.Actor, Source: sc.Source, At: sc.At.UTC(), Fields: sc.Fields, Rule: sc.Rule, Depth: sc.Depth,
	}
	utcTimes(reflect.ValueOf(c.Fields))
	return nil
}
