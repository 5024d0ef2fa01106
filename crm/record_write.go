package crm

import (
	"errors"

	"github.com/crmkit/crmkit/store"
)

// put validates r and writes it with its index entries and history. old is
// the stored version (nil on create). It is the one place records are
// written.
func put[T any](t *txn, k *kind[T], old, r *T, op Op) error {
	if err := t.checkWorkspace(); err != nil {
		return err
	}
	m := k.meta(r)
	p := problems{kind: k.name, id: m.ID}
	if old == nil {
		p.id = ""
	}
	m0 := *m
	if old == nil {
		if err := defaultOwner(t, k, r); err != nil {
			return err
		}
	}
	if err := validate(t, k, old, r, &p); err != nil {
		return err
	}
	if err := authorize(t, k, old, r, op); err != nil {
		return err
	}
	// Before-hooks see a valid record and may veto or change it; a changed
	// record is validated again.
	op0 := op
	if old != nil && op == OpUpdated && len(p.list) == 0 && len(diff(old, r)) == 0 {
		op0 = "" // nothing to do: no hooks
	}
	if len(p.list) == 0 && op0 != "" {
		ran, err := runBefore(t, k, op, old, r, eventTypes(k, op, old, r))
		if err != nil {
			return err
		}
		if ran {
			*k.meta(r) = m0 // identity and stamps stay the CRM's
			if err := validate(t, k, old, r, &p); err != nil {
				return err
			}
		}
	}
	// Invalid records still go through the unique checks below, so the
	// error names every failing field at once.
	invalid := len(p.list) > 0
	var fields []FieldChange
	if old != nil && !invalid {
		fields = diff(old, r)
		if len(fields) == 0 && op == OpUpdated {
			*m = *k.meta(old)
			return nil // nothing changed: no write, no history
		}
	}
	if old == nil {
		m.Version = 1
		m.CreatedAt, m.CreatedBy = t.now, t.actor
	} else {
		om := k.meta(old)
		m.ID, m.CreatedAt, m.CreatedBy = om.ID, om.CreatedAt, om.CreatedBy
		m.Version = om.Version + 1
		if op == OpUpdated {
			m.DeletedAt = om.DeletedAt
		}
	}
	m.UpdatedAt, m.UpdatedBy = t.now, t.actor

	set, err := writeIndexes(t, k)
	if err != nil {
		return err
	}
	newIx, err := allIndexes(t, k, r, set)
	if err != nil {
		return err
	}
	var oldIx []indexEntry
	if old != nil {
		if oldIx, err = allIndexes(t, k, old, set); err != nil {
			return err
		}
	}
	oldSet := make(map[string][]byte, len(oldIx))
	for _, e := range oldIx {
		oldSet[string(e.key)] = e.value
	}
	// Check every unique entry before writing anything, so a rejected
	// record leaves no trace in the transaction.
	newSet := make(map[string]bool, len(newIx))
	writes := newIx[:0:0]
	for _, e := range newIx {
		if len(e.key) > store.MaxKeySize {
			// Only a value past its field's own limits gets here (a long
			// text in an indexed custom field): refuse it by name rather
			// than fail in the store.
			if !p.has(e.field) {
				p.add(e.field, "is too long to index (%d bytes with its key; the limit is %d)", len(e.key), store.MaxKeySize)
			}
			continue
		}
		if newSet[string(e.key)] {
			if e.unique {
				p.add(e.field, "duplicate value")
			}
			continue
		}
		newSet[string(e.key)] = true
		v, had := oldSet[string(e.key)]
		if e.unique && !had {
			owner, err := t.tx.Get(e.key)
			switch {
			case err == nil && string(owner) != m.ID:
				p.also = ErrDuplicate
				// The other record is named only to who may see it.
				if g, gerr := t.guard(); gerr != nil {
					return gerr
				} else if g != nil {
					if r, gerr := get(t.tx, t.w, k, string(owner)); gerr != nil || !g.allows(k.name, ActionRead, ownerOf(k, r)) {
						p.add(e.field, "already used by another %s", k.name)
						continue
					}
				}
				p.add(e.field, "already used by %s %s", k.name, owner)
				continue
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		if !had || string(v) != string(e.value) {
			writes = append(writes, e)
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	for _, e := range writes {
		if err := t.tx.Set(e.key, e.value); err != nil {
			return err
		}
	}
	for _, e := range oldIx {
		if !newSet[string(e.key)] {
			if err := t.tx.Delete(e.key); err != nil {
				return err
			}
		}
	}
	if set != nil {
		if err := applyCounts(t, k.code, oldIx, newIx, oldSet, newSet, liveOf(k, r)-liveOf(k, old)); err != nil {
			return err
		}
	}
	b, err := encode(r)
	if err != nil {
		return err
	}
	if err := t.tx.Set(t.w.recordKey(k.code, m.ID), b); err != nil {
		return err
	}
	ch, err := t.record(k.name, k.code, m.ID, op, fields)
	if err != nil {
		return err
	}
	var before []byte
	var beforeVersion uint64
	if old != nil {
		if before, err = encode(old); err != nil {
			return err
		}
		// The superseded version stays readable for the events that
		// name it.
		beforeVersion = uint64(k.meta(old).Version)
		if err := t.tx.Set(t.w.versionKey(k.code, m.ID, beforeVersion), before); err != nil {
			return err
		}
	}
	if err := t.emit(ch, eventTypes(k, op, old, r), before, b, uint64(m.Version), beforeVersion); err != nil {
		return err
	}
	return segmentEvents(t, k, ch, old, r, before, b)
}

// validate normalises and checks r, reporting field problems to p.
func validate[T any](t *txn, k *kind[T], old, r *T, p *problems) error {
	if err := k.prepare(t, r, old, p); err != nil {
		return err
	}
	if k.custom == nil {
		return nil
	}
	var oc Custom
	if old != nil {
		oc = *k.custom(old)
	}
	return t.checkCustom(k.name, k.custom(r), oc, p)
}

// erase removes a record, its index entries, its history and its timeline.
func erase[T any](t *txn, k *kind[T], r *T) error {
	m := k.meta(r)
	set, err := writeIndexes(t, k)
	if err != nil {
		return err
	}
	ix, err := allIndexes(t, k, r, set)
	if err != nil {
		return err
	}
	for _, e := range ix {
		if err := t.tx.Delete(e.key); err != nil {
			return err
		}
	}
	if set != nil {
		if err := applyCounts(t, k.code, ix, nil, nil, map[string]bool{}, -liveOf(k, r)); err != nil {
			return err
		}
	}
	if err := eraseMemberships(t, k, r); err != nil {
		return err
	}
	for _, prefix := range []key{t.w.historyPrefix(k.code, m.ID), t.w.timelinePrefix(k.code, m.ID), t.w.k(tagVersion).byte(k.code).str(m.ID)} {
		if err := deleteRange(t.tx, prefix); err != nil {
			return err
		}
	}
	if err := t.tx.Delete(t.w.recordKey(k.code, m.ID)); err != nil {
		return err
	}
	if err := t.redactEvents(k.code, m.ID); err != nil {
		return err
	}
	ch := Change{
		ID: t.newID("chg_"), Workspace: t.w.info.ID, Kind: Kind{k.name}, RecordID: m.ID,
		Op: OpErased, Actor: t.actor, Source: t.source, At: t.now,
	}
	// The erase event names the record but carries none of its data.
	return t.emit(&ch, []EventType{EventType(k.name + "." + string(OpErased))}, nil, nil, 0, 0)
}

func deleteRange(tx store.Tx, prefix key) error {
	var keys [][]byte
	for e, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
		if err != nil {
			return err
		}
		keys = append(keys, append([]byte(nil), e.Key...))
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
