package crm

import (
	"context"
	"errors"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// ContactExport is everything a workspace holds about one contact, for a
// data subject's access request (GDPR article 15). It marshals to one JSON
// document with encoding/json.
type ContactExport struct {
	Workspace  string    `json:"workspace"`
	ExportedAt time.Time `json:"exported_at"`
	// Contact is the record, custom fields included.
	Contact Contact `json:"contact"`
	// CustomFields describe the contact's custom fields.
	CustomFields []FieldDef `json:"custom_fields"`
	// MergedIDs are the IDs of contacts merged into this one.
	MergedIDs []string `json:"merged_ids"`
	// Companies are the companies the contact is linked to.
	Companies []Company `json:"companies"`
	// Deals, Activities and Purchases are the records linked to the
	// contact, soft-deleted ones included.
	Deals      []Deal     `json:"deals"`
	Activities []Activity `json:"activities"`
	Purchases  []Purchase `json:"purchases"`
	// History is every change made to the contact (and to the contacts
	// merged into it), newest first.
	History []Change `json:"history"`
	// Events are the contact's events still in the outbox, oldest first,
	// with the record each carried.
	Events []ExportedEvent `json:"events"`
}

// ExportedEvent is an outbox event with the records it carried, decoded.
type ExportedEvent struct {
	Event
	// Record is the record after the change, Previous the one before.
	Record   any `json:"record,omitempty"`
	Previous any `json:"previous,omitempty"`
}

// ExportContact gathers everything the workspace holds about a contact,
// soft-deleted or not, from one consistent snapshot. For the ID of a
// contact merged into another it returns a *MergedError naming the
// survivor, whose export holds the merged contact's data.
func (w *Workspace) ExportContact(ctx context.Context, id string) (*ContactExport, error) {
	out := &ContactExport{Workspace: w.info.ID, ExportedAt: w.crm.now()}
	err := w.view(ctx, func(tx store.Tx, g *guard) error {
		c, err := get(tx, w, kindContact, id)
		if err != nil {
			return mergedError(tx, w, kindContact.name, kindContact.code, id, err)
		}
		if g != nil {
			ge := *g
			g = &ge
			g.read = ActionExport
		}
		if err := see(g, kindContact, c); err != nil {
			return err
		}
		out.Contact = *c
		defs, err := loadFieldDefs(tx, w, kindContact.name)
		if err != nil {
			return err
		}
		for _, d := range defs {
			if _, ok := c.Custom[d.Name]; ok {
				out.CustomFields = append(out.CustomFields, d)
			}
		}
		if out.MergedIDs, err = mergedInto(tx, w, kindContact.code, id); err != nil {
			return err
		}
		for _, cr := range c.Companies {
			co, err := get(tx, w, kindCompany, cr.CompanyID)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if sees(g, kindCompany, co) {
				out.Companies = append(out.Companies, *co)
			}
		}
		if out.Deals, err = linked(tx, w, g, kindDeal, contactDeals, id); err != nil {
			return err
		}
		if out.Activities, err = linked(tx, w, g, kindActivity, contactActivities, id); err != nil {
			return err
		}
		if out.Purchases, err = linked(tx, w, g, kindPurchase, contactPurchases, id); err != nil {
			return err
		}
		if out.History, err = history(tx, w, kindContact.code, id); err != nil {
			return err
		}
		for i := range out.History {
			out.History[i].Fields = g.redactChanges("contact", out.History[i].Fields)
		}
		out.Events, err = recordEvents(tx, w, g, kindContact.code, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// linked returns the records of kind k that links says are linked to id.
// Those g's principal may not read are left out.
func linked[T any](tx store.Reader, w *Workspace, g *guard, k *kind[T], links func(*Workspace, string) (key, func(*T) bool), id string) ([]T, error) {
	live, refers := links(w, id)
	rs, err := referrers(tx, w, k, live, refers)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(rs))
	for _, r := range rs {
		if g.scope(k.name, g.readAction()) != ScopeNone && sees(g, k, r) {
			out = append(out, *r)
		}
	}
	return out, nil
}

// mergedInto lists the IDs merged into a record.
func mergedInto(tx store.Reader, w *Workspace, code byte, id string) ([]string, error) {
	var out []string
	prefix := w.mergedIntoPrefix(code, id)
	for e, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
		if err != nil {
			return nil, err
		}
		r := tuple.NewReader(e.Key[len(prefix):])
		out = append(out, r.Str())
		if r.Err() != nil {
			return nil, r.Err()
		}
	}
	return out, nil
}

// history lists a record's changes, newest first.
func history(tx store.Reader, w *Workspace, code byte, id string) ([]Change, error) {
	var out []Change
	for e, err := range tx.Scan(store.Range{Prefix: w.historyPrefix(code, id), Reverse: true}) {
		if err != nil {
			return nil, err
		}
		var c Change
		if err := decodeChange(e.Value, &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// recordEvents lists the outbox events of a record, oldest first. Events
// are not indexed by record (they are lean, and erasure does not need to
// find them), so it reads the whole outbox: an access request is rare.
// They are redacted for g's principal.
func recordEvents(tx store.Reader, w *Workspace, g *guard, code byte, id string) ([]ExportedEvent, error) {
	var out []ExportedEvent
	for ev, err := range outboxEvents(tx, w, 0) {
		if err != nil {
			return nil, err
		}
		if ev.RecordID != id || kindCodes[ev.Kind.name] != code {
			continue
		}
		if ok, err := g.event(&ev); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		x := ExportedEvent{Event: ev}
		if x.Record, err = ev.Record(); err != nil {
			return nil, err
		}
		if x.Previous, err = ev.Previous(); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}
