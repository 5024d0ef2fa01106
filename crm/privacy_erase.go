package crm

import (
	"bytes"
	"cmp"
	"context"
	"strings"

	"github.com/crmkit/crmkit/store"
	"github.com/vmihailenco/msgpack/v5"
)

// ErasedMark replaces what identified an erased contact in the records,
// history and events that mentioned it.
const ErasedMark = "[erased]"

// Erase erases a contact permanently, with everything that
// identifies them, in one transaction, for a data subject's erasure
// request (GDPR article 17):
//
//   - the contact, its index entries, history, timeline, segment
//     memberships, and the redirects of contacts merged into it;
//   - its links: it leaves every deal's contacts and every activity's
//     participants (soft-deleted records' too), and an activity or
//     purchase that was only linked to the contact is erased with it;
//   - mentions: in the records that linked to it, and in every history
//     entry, outbox event and dead letter of the workspace that mentions
//     its ID or one of its email addresses, the ID, the addresses and the
//     full name are replaced with ErasedMark (custom fields that mention
//     them are removed, as their type may not allow the mark);
//   - its own outbox events keep their place and lose their data.
//
// What remains is the audit of the erasure, which holds no data of the
// contact: the contact's history is then one change with Op OpErased,
// naming who erased it and when, and the contact.erased event. The work
// grows with the workspace's history and outbox, which are read once.
// For the ID of a contact merged into another it returns a *MergedError:
// erase the survivor.
//
// It is the only way to erase a contact: Delete is the soft delete that
// Restore undoes, and the other kinds' Erase removes just the record with
// its entries. (To erase a company's or deal's data about a person, erase
// the person's contact.)
func (s *Contacts) Erase(ctx context.Context, id string) error {
	w := s.o.w
	_, err := w.write(ctx, func(t *txn) error {
		if err := t.checkWorkspace(); err != nil {
			return err
		}
		c, err := get(t.tx, w, kindContact, id)
		if err != nil {
			return mergedError(t.tx, w, kindContact.name, kindContact.code, id, err)
		}
		if err := authorize(t, kindContact, c, nil, OpErased); err != nil {
			return err
		}
		// What the erasure changes besides the contact is its own doing.
		return t.trusted(func() error { return eraseContact(t, c) })
	})
	return err
}

// eraseContact erases c and every trace of it in t.
func eraseContact(t *txn, c *Contact) error {
	id := c.ID
	s := newScrubber(c)
	// The records linked to the contact: their whole history and
	// events are scrubbed, whether or not an entry names it.
	linked := map[string]bool{}
	var scrubErr error
	scrub := func(r any) {
		var err error
		switch r := r.(type) {
		case *Deal:
			linked[r.ID], err = true, scrubRecord(s, r)
		case *Activity:
			linked[r.ID], err = true, scrubRecord(s, r)
		case *Purchase:
			linked[r.ID], err = true, scrubRecord(s, r)
		}
		scrubErr = cmp.Or(scrubErr, err)
	}
	if err := relinkContact(t, id, "", scrub); err != nil {
		return err
	}
	if scrubErr != nil {
		return scrubErr
	}
	if err := dropRedirects(t, kindContact.code, id); err != nil {
		return err
	}
	if err := erase(t, kindContact, c); err != nil {
		return err
	}
	if err := s.workspace(t, linked); err != nil {
		return err
	}
	_, err := t.record(kindContact.name, kindContact.code, id, OpErased, nil)
	return err
}

// scrubber replaces what identifies one contact.
type scrubber struct {
	// id is the contact's ID.
	id string
	// needles are the contact's ID, addresses and name, in lower case.
	needles [][]byte
	// marks are the needles that make a stored entry mention the contact:
	// the ID and the addresses (a name alone may be someone else's).
	marks [][]byte
}

func newScrubber(c *Contact) *scrubber {
	s := &scrubber{id: c.ID}
	add := func(v string, mark bool) {
		v = strings.ToLower(strings.TrimSpace(v))
		if len(v) < 3 {
			return
		}
		s.needles = append(s.needles, []byte(v))
		if mark {
			s.marks = append(s.marks, []byte(v))
		}
	}
	add(c.ID, true)
	for _, e := range c.Emails {
		add(e, true)
	}
	add(c.FirstName+" "+c.LastName, false)
	add(c.LastName+", "+c.FirstName, false)
	return s
}

// mentions reports whether raw bytes hold the contact's ID or an address.
func (s *scrubber) mentions(raw []byte) bool {
	lower := bytes.ToLower(raw)
	for _, m := range s.marks {
		if bytes.Contains(lower, m) {
			return true
		}
	}
	return false
}

// text replaces every needle in v, ignoring case.
func (s *scrubber) text(v string) (string, bool) {
	changed := false
	for _, n := range s.needles {
		var b strings.Builder
		rest := v
		for {
			i := indexFold(rest, string(n))
			if i < 0 {
				break
			}
			b.WriteString(rest[:i])
			b.WriteString(ErasedMark)
			rest = rest[i+len(n):]
			changed = true
		}
		if b.Len() > 0 {
			b.WriteString(rest)
			v = b.String()
		}
	}
	return v, changed
}

// indexFold is strings.Index ignoring case, for a lower-case needle.
func indexFold(s, lowerNeedle string) int {
	if l := strings.ToLower(s); len(l) == len(s) {
		return strings.Index(l, lowerNeedle)
	}
	return strings.Index(s, lowerNeedle)
}

// value scrubs a value decoded into generic form: strings, lists and maps.
func (s *scrubber) value(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		return s.text(v)
	case []any:
		changed := false
		for i, x := range v {
			var c bool
			if v[i], c = s.value(x); c {
				changed = true
			}
		}
		return v, changed
	case map[string]any:
		changed := false
		for k, x := range v {
			if nx, c := s.value(x); c {
				v[k], changed = nx, true
			}
		}
		return v, changed
	case map[any]any:
		changed := false
		for k, x := range v {
			if nx, c := s.value(x); c {
				v[k], changed = nx, true
			}
		}
		return v, changed
	}
	return v, false
}

// encoded scrubs a value in the CRM's stored encoding.
func (s *scrubber) encoded(b []byte) ([]byte, bool, error) {
	if len(b) == 0 || !s.mentionsAny(b) {
		return b, false, nil
	}
	var v any
	if err := decode(b, &v); err != nil {
		return nil, false, err
	}
	if m, ok := v.(map[string]any); ok {
		s.custom(m)
	}
	v, changed := s.value(v)
	if !changed {
		return b, false, nil
	}
	out, err := encode(v)
	return out, true, err
}

// mentionsAny reports whether raw bytes hold any needle.
func (s *scrubber) mentionsAny(raw []byte) bool {
	lower := bytes.ToLower(raw)
	for _, n := range s.needles {
		if bytes.Contains(lower, n) {
			return true
		}
	}
	return false
}

// custom removes the custom fields of a record in generic form that
// mention the contact: the mark may not be a valid value of their type.
func (s *scrubber) custom(rec map[string]any) {
	custom, ok := rec["custom"].(map[string]any)
	if !ok {
		return
	}
	for name, v := range custom {
		b, err := msgpack.Marshal(v)
		if err == nil && s.mentionsAny(b) {
			delete(custom, name)
		}
	}
}

// scrubRecord removes the contact's mentions from a record in place.
func scrubRecord[T any](s *scrubber, r *T) error {
	b, err := encode(r)
	if err != nil {
		return err
	}
	nb, changed, err := s.encoded(b)
	if err != nil || !changed {
		return err
	}
	var out T
	if err := decode(nb, &out); err != nil {
		return err
	}
	*r = out
	return nil
}

// fields scrubs the values of field changes.
func (s *scrubber) fields(fs []FieldChange) bool {
	changed := false
	for i := range fs {
		var c1, c2 bool
		fs[i].Old, c1 = s.value(fs[i].Old)
		fs[i].New, c2 = s.value(fs[i].New)
		changed = changed || c1 || c2
	}
	return changed
}

// event scrubs an event's changed fields and the records it carries.
func (s *scrubber) event(ev *Event) (bool, error) {
	changed := s.fields(ev.Fields)
	for _, p := range []*[]byte{&ev.After, &ev.Before} {
		nb, c, err := s.encoded(*p)
		if err != nil {
			return false, err
		}
		if c {
			*p, changed = nb, true
		}
	}
	return changed, nil
}

// workspace scrubs every history entry, outbox event and dead letter of
// the workspace that mentions the contact or belongs to a linked record,
// and the events of this write not yet delivered to the after-hooks.
func (s *scrubber) workspace(t *txn, linked map[string]bool) error {
	type rewrite struct{ k, v []byte }
	var rewrites []rewrite
	belongs := func(id string) bool { return linked[id] }
	scan := func(prefix key, fix func(raw []byte) ([]byte, bool, error)) error {
		for e, err := range t.tx.Scan(store.Range{Prefix: prefix}) {
			if err != nil {
				return err
			}
			nb, changed, err := fix(e.Value)
			if err != nil {
				return err
			}
			if changed {
				rewrites = append(rewrites, rewrite{append([]byte(nil), e.Key...), nb})
			}
		}
		return nil
	}
	err := scan(t.w.k(tagHistory), func(raw []byte) ([]byte, bool, error) {
		var c Change
		if !s.mentionsAny(raw) {
			return nil, false, nil
		}
		if err := decodeChange(raw, &c); err != nil {
			return nil, false, err
		}
		if !belongs(c.RecordID) && !s.mentions(raw) {
			return nil, false, nil
		}
		if !s.fields(c.Fields) {
			return nil, false, nil
		}
		if raw[0] == compactFormat {
			b, err := encodeChange(&c)
			return b, true, err
		}
		b, err := encode(&c)
		return b, true, err
	})
	if err != nil {
		return err
	}
	// Superseded versions of other records that mention the contact are
	// dropped: they only serve older events, which then arrive without
	// those records.
	var stale [][]byte
	for e, err := range t.tx.Scan(store.Range{Prefix: t.w.k(tagVersion)}) {
		if err != nil {
			return err
		}
		if s.mentionsAny(e.Value) || bytes.Contains(e.Value, []byte(s.id)) {
			stale = append(stale, append([]byte(nil), e.Key...))
		}
	}
	for _, k := range stale {
		if err := t.tx.Delete(k); err != nil {
			return err
		}
	}
	scrubEvent := func(ev *Event, raw []byte) (bool, error) {
		if ev.Kind == KindContact && ev.RecordID == s.id {
			// A copy of the contact's own event, as in a dead letter:
			// redacted like the outbox's.
			if ev.Redacted {
				return false, nil
			}
			ev.After, ev.Before, ev.Fields, ev.Actor, ev.Redacted = nil, nil, nil, "", true
			return true, nil
		}
		if !belongs(ev.RecordID) && !s.mentions(raw) {
			return false, nil
		}
		return s.event(ev)
	}
	err = scan(t.w.k(tagOutbox), func(raw []byte) ([]byte, bool, error) {
		if !s.mentionsAny(raw) {
			return nil, false, nil
		}
		var ev Event
		if err := decodeEvent(raw, &ev); err != nil {
			return nil, false, err
		}
		changed, err := scrubEvent(&ev, raw)
		if err != nil || !changed {
			return nil, false, err
		}
		if raw[0] == compactFormat || raw[0] == eventFormat {
			b, err := encodeEvent(&ev, eventIndex(ev.ID))
			return b, true, err
		}
		b, err := encode(&ev)
		return b, true, err
	})
	if err != nil {
		return err
	}
	err = scan(t.w.k(tagDeadLetter), func(raw []byte) ([]byte, bool, error) {
		if !s.mentionsAny(raw) {
			return nil, false, nil
		}
		var dl DeadLetter
		if err := decode(raw, &dl); err != nil {
			return nil, false, err
		}
		changed, err := scrubEvent(&dl.Event, raw)
		if err != nil {
			return nil, false, err
		}
		var c bool
		if dl.Error, c = s.text(dl.Error); !changed && !c {
			return nil, false, nil
		}
		b, err := encode(&dl)
		return b, true, err
	})
	if err != nil {
		return err
	}
	for _, rw := range rewrites {
		if err := t.tx.Set(rw.k, rw.v); err != nil {
			return err
		}
	}
	for _, ev := range t.events {
		if _, err := s.event(ev); err != nil {
			return err
		}
	}
	return nil
}
