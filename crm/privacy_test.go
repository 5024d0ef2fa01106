package crm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExportContact(t *testing.T) {
	e := setup(t)
	f := newMergeFixture(t, e)
	x, err := e.ws.ExportContact(e.ctx, f.m.ID)
	require.NoError(t, err)
	assert.Equal(t, "acme", x.Workspace)
	assert.Equal(t, f.m, x.Contact)
	require.Len(t, x.CustomFields, 1)
	assert.Equal(t, "score", x.CustomFields[0].Name)
	assert.Empty(t, x.MergedIDs)
	var ids []string
	for _, c := range x.Companies {
		ids = append(ids, c.ID)
	}
	assert.Equal(t, []string{f.acme.ID, f.globex.ID}, ids)
	ids = nil
	for _, d := range x.Deals {
		ids = append(ids, d.ID)
	}
	assert.ElementsMatch(t, []string{f.dealM.ID, f.dealBoth.ID, f.dealDel.ID}, ids, "soft-deleted deals too")
	ids = nil
	for _, a := range x.Activities {
		ids = append(ids, a.ID)
	}
	assert.ElementsMatch(t, []string{f.actM.ID, f.actBoth.ID}, ids)
	require.Len(t, x.Purchases, 1)
	assert.Equal(t, f.purM.ID, x.Purchases[0].ID)
	require.Len(t, x.History, 2)
	assert.Equal(t, crm.OpUpdated, x.History[0].Op, "newest first")
	require.Len(t, x.Events, 2)
	assert.Equal(t, crm.ContactCreated, x.Events[0].Type)
	assert.Equal(t, crm.ContactUpdated, x.Events[1].Type)
	assert.Equal(t, "web", x.Events[1].Record.(*crm.Contact).LeadSource)
	assert.Empty(t, x.Events[1].Previous.(*crm.Contact).LeadSource)

	// One JSON document with the contact's data and the event payloads.
	var doc map[string]any
	require.NoError(t, json.Unmarshal(mustJSON(t, x), &doc))
	for _, k := range []string{"contact", "custom_fields", "companies", "deals", "activities", "purchases", "history", "events"} {
		assert.Contains(t, doc, k)
	}
	events := doc["events"].([]any)
	assert.Equal(t, "contact.updated", events[1].(map[string]any)["type"])
	assert.Equal(t, "web", events[1].(map[string]any)["record"].(map[string]any)["lead_source"])

	// After a merge the survivor's export holds the merged contact's data.
	_, err = e.ws.Contacts().Merge(e.ctx, f.s.ID, f.m.ID, crm.MergeOptions{})
	require.NoError(t, err)
	_, err = e.ws.ExportContact(e.ctx, f.m.ID)
	var me *crm.MergedError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, f.s.ID, me.Into)
	x, err = e.ws.ExportContact(e.ctx, f.s.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{f.m.ID}, x.MergedIDs)
	assert.Len(t, x.Deals, 3)
	assert.Len(t, x.History, 5)
	assert.Contains(t, string(mustJSON(t, x)), "countess@lovelace.net")

	_, err = e.ws.ExportContact(e.ctx, "con_missing")
	assert.ErrorIs(t, err, crm.ErrNotFound)
	assert.False(t, errors.Is(err, crm.ErrMerged))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// storeMentions lists the keys whose key or value holds needle, ignoring
// case, in the whole store.
func storeMentions(t *testing.T, e *env, needle string) []string {
	t.Helper()
	n := bytes.ToLower([]byte(needle))
	var out []string
	err := e.st.View(e.ctx, func(tx store.Tx) error {
		for kv, err := range tx.Scan(store.Range{}) {
			if err != nil {
				return err
			}
			if bytes.Contains(bytes.ToLower(kv.Key), n) || bytes.Contains(bytes.ToLower(kv.Value), n) {
				out = append(out, string(kv.Key))
			}
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// eraseFixture is a contact linked every way the CRM links contacts, and
// mentioned in other records' text, history, events and dead letters.
type eraseFixture struct {
	acme                           crm.Company
	janet, bob                     crm.Contact
	oldID                          string
	dealBoth, dealOnly, dealFormer crm.Deal
	actOnly, actBoth, actDeleted   crm.Activity
	purOnly, purCompany            crm.Purchase
}

func newEraseFixture(t *testing.T, e *env) eraseFixture {
	t.Helper()
	var f eraseFixture
	var err error
	_, err = e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindDeal, Name: "contact_email", Type: crm.FieldEmail, Unique: true})
	require.NoError(t, err)
	f.acme, err = e.ws.Companies().Create(e.ctx, crm.Company{Name: "Acme"})
	require.NoError(t, err)
	cs := e.ws.Contacts()
	f.janet, err = cs.Create(e.ctx, crm.Contact{
		FirstName: "Janet", LastName: "Quill", Emails: []string{"janet.quill@example.org", "JQ@Quill.example"},
		Phones: []crm.Phone{{Number: "+44 20 7946 0123"}}, Title: "Chief Cartographer",
		Companies: []crm.CompanyRole{{CompanyID: f.acme.ID}},
	})
	require.NoError(t, err)
	old, err := cs.Create(e.ctx, crm.Contact{FirstName: "J.", LastName: "Quill", Emails: []string{"jq.old@example.org"}})
	require.NoError(t, err)
	f.oldID = old.ID
	f.janet, err = cs.Merge(e.ctx, f.janet.ID, old.ID, crm.MergeOptions{})
	require.NoError(t, err)
	f.bob, err = cs.Create(e.ctx, crm.Contact{FirstName: "Bob", LastName: "Other", Companies: []crm.CompanyRole{{CompanyID: f.acme.ID}}})
	require.NoError(t, err)

	ds := e.ws.Deals()
	f.dealBoth, err = ds.Create(e.ctx, crm.Deal{Name: "Renewal for Janet Quill",
		Contacts: []crm.ContactRole{{ContactID: f.janet.ID, Role: "buyer"}, {ContactID: f.bob.ID}},
		Custom:   crm.Custom{"contact_email": "janet.quill@example.org"}})
	require.NoError(t, err)
	f.dealOnly, err = ds.Create(e.ctx, crm.Deal{Name: "Maps", Contacts: []crm.ContactRole{{ContactID: f.janet.ID}}})
	require.NoError(t, err)
	f.dealFormer, err = ds.Create(e.ctx, crm.Deal{Name: "Atlas", Contacts: []crm.ContactRole{{ContactID: f.janet.ID}}})
	require.NoError(t, err)
	f.dealFormer, err = ds.Update(e.ctx, f.dealFormer.ID, func(d *crm.Deal) error {
		d.Contacts = []crm.ContactRole{{ContactID: f.bob.ID}}
		return nil
	})
	require.NoError(t, err)

	as := e.ws.Activities()
	f.actOnly, err = as.Log(e.ctx, crm.Activity{Type: crm.ActivityCall, Subject: "Call with Janet Quill", ContactIDs: []string{f.janet.ID}})
	require.NoError(t, err)
	f.actBoth, err = as.Log(e.ctx, crm.Activity{Type: crm.ActivityMeeting, Subject: "Kick-off",
		Body: "JANET QUILL (janet.quill@example.org) asked Bob for a quote", ContactIDs: []string{f.janet.ID, f.bob.ID}})
	require.NoError(t, err)
	f.actDeleted, err = as.Log(e.ctx, crm.Activity{Type: crm.ActivityNote, Body: "Quill, Janet prefers mornings", ContactIDs: []string{f.bob.ID, f.janet.ID}})
	require.NoError(t, err)
	require.NoError(t, as.Delete(e.ctx, f.actDeleted.ID))

	item := []crm.LineItem{{Product: "Globe", Quantity: 1, UnitPrice: crm.Money{Amount: 4200}}}
	f.purOnly, err = e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: f.janet.ID, Items: item})
	require.NoError(t, err)
	f.purCompany, err = e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: f.janet.ID, CompanyID: f.acme.ID, Items: item})
	require.NoError(t, err)

	// A consumer that fails every delivery leaves dead letters: copies of
	// the events, the contact's data included.
	d := e.crm.NewDispatcher(crm.WithMaxAttempts(1), crm.WithBackoff(time.Microsecond, time.Microsecond), crm.WithBatchSize(1))
	require.NoError(t, d.Subscribe("mailer", func(_ context.Context, evs []crm.Event) error {
		return errors.New("cannot sync " + evs[0].RecordID)
	}))
	_, err = d.Drain(e.ctx)
	require.NoError(t, err)
	dead := 0
	for _, err := range d.DeadLetters(e.ctx, "acme", "mailer") {
		require.NoError(t, err)
		dead++
	}
	require.Positive(t, dead)
	return f
}

func TestEraseContact(t *testing.T) {
	e := setup(t)
	f := newEraseFixture(t, e)
	id := f.janet.ID
	secrets := []string{"janet.quill@example.org", "jq@quill.example", "jq.old@example.org", "Janet Quill",
		"Quill, Janet", "7946 0123", "Chief Cartographer"}
	for _, s := range secrets {
		require.NotEmpty(t, storeMentions(t, e, s), "the fixture holds %q", s)
	}
	head, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)
	var hookEvents []crm.Event
	e.crm.Hooks().After.BindFunc(func(_ context.Context, ev *crm.Event) error {
		hookEvents = append(hookEvents, *ev)
		return nil
	})
	e.clock.Advance(time.Hour)

	require.NoError(t, e.ws.Contacts().Erase(crm.WithActor(e.ctx, "u_dpo"), id))

	// Nothing in the whole store holds the contact's data.
	for _, s := range secrets {
		assert.Empty(t, storeMentions(t, e, s), "the store still holds %q", s)
	}
	// Nor do the events the after-hooks received.
	require.NotEmpty(t, hookEvents)
	for _, ev := range hookEvents {
		for _, s := range secrets {
			assert.NotContains(t, strings.ToLower(string(ev.After)+string(ev.Before)), strings.ToLower(s), ev.Type)
		}
	}

	// The ID is left only in the audit entry and the contact's redacted
	// events: its history entry, timeline entry, outbox events and their
	// copies in dead letters.
	var own []crm.Event
	for _, ev := range eventsSince(t, e, 0) {
		if ev.RecordID == id {
			own = append(own, ev)
			assert.True(t, ev.Redacted || ev.Type == crm.ContactErased, ev.Type)
			assert.Nil(t, ev.After)
			assert.Empty(t, ev.Fields)
		}
	}
	for dl, err := range e.crm.NewDispatcher().DeadLetters(e.ctx, "acme", "mailer") {
		require.NoError(t, err)
		if dl.Event.RecordID == id {
			own = append(own, dl.Event)
			assert.True(t, dl.Event.Redacted)
			assert.Nil(t, dl.Event.After)
		}
		assert.NotContains(t, dl.Error, id)
	}
	assert.Len(t, storeMentions(t, e, id), 2+len(own))
	var audit []crm.Change
	for c, err := range e.ws.History(e.ctx, crm.Ref{Kind: crm.KindContact, ID: id}) {
		require.NoError(t, err)
		audit = append(audit, c)
	}
	require.Len(t, audit, 1)
	assert.Equal(t, crm.OpErased, audit[0].Op)
	assert.Equal(t, "u_dpo", audit[0].Actor)
	assert.Equal(t, e.clock.Now(), audit[0].At)
	assert.Empty(t, audit[0].Fields)
	assert.Contains(t, typesOf(eventsSince(t, e, head)), crm.ContactErased)

	// The contact and the ID merged into it are gone.
	_, err = e.ws.Contacts().Get(e.ctx, id)
	assert.ErrorIs(t, err, crm.ErrNotFound)
	_, err = e.ws.Contacts().Lookup(e.ctx, f.oldID)
	assert.ErrorIs(t, err, crm.ErrNotFound)
	assert.False(t, errors.Is(err, crm.ErrMerged), "the redirect went with the survivor")
	_, err = e.ws.Contacts().GetByEmail(e.ctx, "janet.quill@example.org")
	assert.ErrorIs(t, err, crm.ErrNotFound)

	// Linked records lost the link and the mentions; those that were only
	// about the contact are gone.
	deal, err := e.ws.Deals().Get(e.ctx, f.dealBoth.ID)
	require.NoError(t, err)
	assert.Equal(t, []crm.ContactRole{{ContactID: f.bob.ID}}, deal.Contacts)
	assert.Equal(t, "Renewal for [erased]", deal.Name)
	assert.NotContains(t, deal.Custom, "contact_email")
	deal, err = e.ws.Deals().Get(e.ctx, f.dealOnly.ID)
	require.NoError(t, err)
	assert.Empty(t, deal.Contacts)
	_, err = e.ws.Activities().Get(e.ctx, f.actOnly.ID)
	assert.ErrorIs(t, err, crm.ErrNotFound)
	act, err := e.ws.Activities().Get(e.ctx, f.actBoth.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{f.bob.ID}, act.ContactIDs)
	assert.Equal(t, "[erased] ([erased]) asked Bob for a quote", act.Body)
	act, err = e.ws.Activities().Get(e.ctx, f.actDeleted.ID)
	require.NoError(t, err)
	assert.True(t, act.Deleted())
	assert.Equal(t, []string{f.bob.ID}, act.ContactIDs)
	assert.Equal(t, "[erased] prefers mornings", act.Body)
	_, err = e.ws.Purchases().Get(e.ctx, f.purOnly.ID)
	assert.ErrorIs(t, err, crm.ErrNotFound)
	pur, err := e.ws.Purchases().Get(e.ctx, f.purCompany.ID)
	require.NoError(t, err)
	assert.Empty(t, pur.ContactID)
	assert.Equal(t, f.acme.ID, pur.CompanyID)

	// The rest of the workspace works on: Bob's timeline, the deal index.
	tl, err := e.ws.Timeline(e.ctx, crm.Ref{Kind: crm.KindContact, ID: f.bob.ID}, "", 100)
	require.NoError(t, err)
	assert.NotEmpty(t, tl.Items)
	for range e.ws.Deals().ByContact(e.ctx, id) {
		t.Error("a deal is still indexed under the erased contact")
	}

	err = e.ws.Contacts().Erase(e.ctx, id)
	assert.ErrorIs(t, err, crm.ErrNotFound)
}

func typesOf(evs []crm.Event) []crm.EventType {
	var out []crm.EventType
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

func TestEraseContactIsAllOrNothing(t *testing.T) {
	e := setup(t)
	f := newEraseFixture(t, e)
	require.NoError(t, e.crm.Hooks().BeforeActivity.Bind("keep-notes", 0, func(_ context.Context, b *crm.Before[crm.Activity]) error {
		if b.New.ID == f.actDeleted.ID {
			return errors.New("notes are kept")
		}
		return nil
	}))
	before := storeDump(t, e)
	err := e.ws.Contacts().Erase(e.ctx, f.janet.ID)
	assert.ErrorIs(t, err, crm.ErrVetoed)
	assert.Equal(t, before, storeDump(t, e))

	_, err = e.ws.Contacts().Get(e.ctx, f.janet.ID)
	require.NoError(t, err)
	err = e.ws.Contacts().Erase(e.ctx, f.oldID)
	var me *crm.MergedError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, f.janet.ID, me.Into)
}
