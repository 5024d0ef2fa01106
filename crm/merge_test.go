package crm_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeDump returns every key and value in the store, to prove that a
// failed write changed nothing.
func storeDump(t *testing.T, e *env) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := e.st.View(e.ctx, func(tx store.Tx) error {
		for kv, err := range tx.Scan(store.Range{}) {
			if err != nil {
				return err
			}
			out[string(kv.Key)] = string(kv.Value)
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// eventsSince lists the outbox events after seq.
func eventsSince(t *testing.T, e *env, seq uint64) []crm.Event {
	t.Helper()
	var out []crm.Event
	for ev, err := range e.ws.Changes(e.ctx, seq) {
		require.NoError(t, err)
		out = append(out, ev)
	}
	return out
}

// mergeFixture is a survivor and a merged contact with a deal, activity and
// purchase each, and records linked to both.
type mergeFixture struct {
	acme, globex             crm.Company
	s, m                     crm.Contact
	dealM, dealBoth, dealDel crm.Deal
	actM, actBoth            crm.Activity
	purM                     crm.Purchase
}

func newMergeFixture(t *testing.T, e *env) mergeFixture {
	t.Helper()
	var f mergeFixture
	var err error
	_, err = e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "score", Type: crm.FieldNumber})
	require.NoError(t, err)
	f.acme, err = e.ws.Companies().Create(e.ctx, crm.Company{Name: "Acme"})
	require.NoError(t, err)
	f.globex, err = e.ws.Companies().Create(e.ctx, crm.Company{Name: "Globex"})
	require.NoError(t, err)
	cs := e.ws.Contacts()
	f.s, err = cs.Create(e.ctx, crm.Contact{
		FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada@analytical.org"},
		Phones: []crm.Phone{{Number: "+44 20 7946 0958"}}, Tags: []string{"vip"},
		Companies: []crm.CompanyRole{{CompanyID: f.acme.ID}}, ExternalIDs: map[string]string{"hubspot": "1"},
	})
	require.NoError(t, err)
	f.m, err = cs.Create(e.ctx, crm.Contact{
		FirstName: "Augusta Ada", LastName: "King", Emails: []string{"countess@lovelace.net"}, Title: "Countess",
		Phones: []crm.Phone{{Number: "+44 (20) 7946-0958"}}, Tags: []string{"math", "vip"},
		Companies:   []crm.CompanyRole{{CompanyID: f.acme.ID, Role: "analyst"}, {CompanyID: f.globex.ID}},
		ExternalIDs: map[string]string{"hubspot": "2", "salesforce": "003"}, Custom: crm.Custom{"score": 7.0},
	})
	require.NoError(t, err)
	e.clock.Advance(1)
	f.m, err = cs.Update(e.ctx, f.m.ID, func(c *crm.Contact) error { c.LeadSource = "web"; return nil })
	require.NoError(t, err)

	ds := e.ws.Deals()
	f.dealM, err = ds.Create(e.ctx, crm.Deal{Name: "Engine", Contacts: []crm.ContactRole{{ContactID: f.m.ID, Role: "champion"}}})
	require.NoError(t, err)
	f.dealBoth, err = ds.Create(e.ctx, crm.Deal{Name: "Notes", Contacts: []crm.ContactRole{{ContactID: f.s.ID}, {ContactID: f.m.ID, Role: "buyer"}}})
	require.NoError(t, err)
	f.dealDel, err = ds.Create(e.ctx, crm.Deal{Name: "Old", Contacts: []crm.ContactRole{{ContactID: f.m.ID}}})
	require.NoError(t, err)
	require.NoError(t, ds.Delete(e.ctx, f.dealDel.ID))

	as := e.ws.Activities()
	f.actM, err = as.Log(e.ctx, crm.Activity{Type: crm.ActivityCall, Subject: "Intro", ContactIDs: []string{f.m.ID}})
	require.NoError(t, err)
	f.actBoth, err = as.Log(e.ctx, crm.Activity{Type: crm.ActivityNote, Subject: "Both", ContactIDs: []string{f.s.ID, f.m.ID}})
	require.NoError(t, err)
	f.purM, err = e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: f.m.ID,
		Items: []crm.LineItem{{Product: "Engine", Quantity: 1, UnitPrice: crm.Money{Amount: 100}}}})
	require.NoError(t, err)
	return f
}

func TestMergeContacts(t *testing.T) {
	e := setup(t)
	f := newMergeFixture(t, e)
	cs := e.ws.Contacts()
	head, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)
	e.clock.Advance(1)

	got, err := cs.Merge(e.ctx, f.s.ID, f.m.ID, crm.MergeOptions{Fields: map[string]crm.Keep{"last_name": crm.KeepMerged}})
	require.NoError(t, err)
	stored, err := cs.Get(e.ctx, f.s.ID)
	require.NoError(t, err)
	assert.Equal(t, stored, got)

	// Chosen values, survivor's non-empty values, combined lists and maps.
	assert.Equal(t, "Ada", got.FirstName)
	assert.Equal(t, "King", got.LastName, "chosen from the merged contact")
	assert.Equal(t, "Countess", got.Title, "the survivor had none")
	assert.Equal(t, "web", got.LeadSource)
	assert.Equal(t, []string{"ada@analytical.org", "countess@lovelace.net"}, got.Emails)
	assert.Len(t, got.Phones, 1, "one number written two ways")
	assert.Equal(t, []string{"vip", "math"}, got.Tags)
	assert.Equal(t, []crm.CompanyRole{{CompanyID: f.acme.ID, Role: "analyst"}, {CompanyID: f.globex.ID}}, got.Companies)
	assert.Equal(t, map[string]string{"hubspot": "1", "salesforce": "003"}, got.ExternalIDs)
	assert.EqualValues(t, 7, got.Custom["score"])
	assert.Equal(t, int64(2), got.Version)

	// The merged contact is gone; its ID resolves to the survivor, and its
	// address and external ID now find the survivor.
	_, err = cs.Get(e.ctx, f.m.ID)
	assert.ErrorIs(t, err, crm.ErrNotFound)
	_, err = cs.Lookup(e.ctx, f.m.ID)
	var me *crm.MergedError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, crm.MergedError{Kind: crm.KindContact, ID: f.m.ID, Into: f.s.ID}, *me)
	assert.ErrorIs(t, err, crm.ErrMerged)
	assert.ErrorIs(t, err, crm.ErrNotFound)
	byEmail, err := cs.GetByEmail(e.ctx, "countess@lovelace.net")
	require.NoError(t, err)
	assert.Equal(t, f.s.ID, byEmail.ID)
	byExt, err := cs.GetByExternalID(e.ctx, "salesforce", "003")
	require.NoError(t, err)
	assert.Equal(t, f.s.ID, byExt.ID)

	// Every link now names the survivor, soft-deleted records' too.
	deal, err := e.ws.Deals().Get(e.ctx, f.dealM.ID)
	require.NoError(t, err)
	assert.Equal(t, []crm.ContactRole{{ContactID: f.s.ID, Role: "champion"}}, deal.Contacts)
	deal, err = e.ws.Deals().Get(e.ctx, f.dealBoth.ID)
	require.NoError(t, err)
	assert.Equal(t, []crm.ContactRole{{ContactID: f.s.ID, Role: "buyer"}}, deal.Contacts)
	deal, err = e.ws.Deals().Get(e.ctx, f.dealDel.ID)
	require.NoError(t, err)
	assert.True(t, deal.Deleted())
	assert.Equal(t, []crm.ContactRole{{ContactID: f.s.ID}}, deal.Contacts)
	var dealIDs []string
	for d, err := range e.ws.Deals().ByContact(e.ctx, f.s.ID) {
		require.NoError(t, err)
		dealIDs = append(dealIDs, d.ID)
	}
	assert.ElementsMatch(t, []string{f.dealM.ID, f.dealBoth.ID}, dealIDs)
	for range e.ws.Deals().ByContact(e.ctx, f.m.ID) {
		t.Error("a deal is still indexed under the merged contact")
	}
	act, err := e.ws.Activities().Get(e.ctx, f.actBoth.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{f.s.ID}, act.ContactIDs)
	pur, err := e.ws.Purchases().Get(e.ctx, f.purM.ID)
	require.NoError(t, err)
	assert.Equal(t, f.s.ID, pur.ContactID)

	// The survivor's history and timeline hold the merged contact's, and an
	// entry naming it; the merged contact has none left.
	var ops []crm.Op
	var mergeEntry crm.Change
	fromM := 0
	for c, err := range e.ws.History(e.ctx, crm.Ref{Kind: crm.KindContact, ID: f.s.ID}) {
		require.NoError(t, err)
		ops = append(ops, c.Op)
		if c.Op == crm.OpMerged {
			mergeEntry = c
		}
		if c.RecordID == f.m.ID {
			fromM++
		}
	}
	assert.Equal(t, []crm.Op{crm.OpMerged, crm.OpUpdated, crm.OpUpdated, crm.OpCreated, crm.OpCreated}, ops)
	assert.Equal(t, 2, fromM)
	assert.Equal(t, []crm.FieldChange{{Field: "merged_id", Old: f.m.ID, New: f.s.ID}}, mergeEntry.Fields)
	assert.Equal(t, "u_test", mergeEntry.Actor)
	for range e.ws.History(e.ctx, crm.Ref{Kind: crm.KindContact, ID: f.m.ID}) {
		t.Error("the merged contact still has history")
	}
	tl, err := e.ws.Timeline(e.ctx, crm.Ref{Kind: crm.KindContact, ID: f.s.ID}, "", 100)
	require.NoError(t, err)
	var acts []string
	changes := 0
	for _, en := range tl.Items {
		if en.Activity != nil {
			acts = append(acts, en.Activity.ID)
		} else {
			changes++
		}
	}
	assert.ElementsMatch(t, []string{f.actM.ID, f.actBoth.ID}, acts)
	assert.Equal(t, 5, changes)

	// The events: the merged contact erased, the survivor updated and merged.
	var types []crm.EventType
	var merged crm.Event
	for _, ev := range eventsSince(t, e, head) {
		if ev.Kind == crm.KindContact {
			types = append(types, ev.Type)
		}
		if ev.Type == crm.ContactMerged {
			merged = ev
		}
	}
	assert.Equal(t, []crm.EventType{crm.ContactErased, crm.ContactUpdated, crm.ContactMerged}, types)
	assert.Equal(t, f.s.ID, merged.RecordID)
	prev, err := merged.Previous()
	require.NoError(t, err)
	assert.Equal(t, f.m.ID, prev.(*crm.Contact).ID)
	after, err := merged.Record()
	require.NoError(t, err)
	assert.Equal(t, "King", after.(*crm.Contact).LastName)

	// Merging the survivor on carries the redirect along.
	third, err := cs.Create(e.ctx, crm.Contact{FirstName: "A.", LastName: "King"})
	require.NoError(t, err)
	_, err = cs.Merge(e.ctx, third.ID, f.s.ID, crm.MergeOptions{})
	require.NoError(t, err)
	for _, id := range []string{f.m.ID, f.s.ID} {
		_, err = cs.Lookup(e.ctx, id)
		require.ErrorAs(t, err, &me)
		assert.Equal(t, third.ID, me.Into, id)
	}
	// A merged ID cannot take part in another merge.
	_, err = cs.Merge(e.ctx, f.m.ID, third.ID, crm.MergeOptions{})
	require.ErrorAs(t, err, &me)
	assert.Equal(t, third.ID, me.Into)
}

func TestMergeCompanies(t *testing.T) {
	e := setup(t)
	cos := e.ws.Companies()
	parent, err := cos.Create(e.ctx, crm.Company{Name: "Holding"})
	require.NoError(t, err)
	m, err := cos.Create(e.ctx, crm.Company{Name: "ACME GmbH", Domain: "eu.acme.com", Industry: "Manufacturing", ParentID: parent.ID})
	require.NoError(t, err)
	s, err := cos.Create(e.ctx, crm.Company{Name: "Acme Inc.", Domain: "acme.com", ParentID: m.ID})
	require.NoError(t, err)
	sub, err := cos.Create(e.ctx, crm.Company{Name: "Acme Labs", ParentID: m.ID})
	require.NoError(t, err)
	c1, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Wile", Companies: []crm.CompanyRole{{CompanyID: m.ID, Role: "buyer"}}})
	require.NoError(t, err)
	c2, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Road", Companies: []crm.CompanyRole{{CompanyID: s.ID}, {CompanyID: m.ID, Role: "owner"}}})
	require.NoError(t, err)
	deal, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Anvils", CompanyID: m.ID})
	require.NoError(t, err)
	act, err := e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityMeeting, CompanyIDs: []string{m.ID, s.ID}})
	require.NoError(t, err)
	pur, err := e.ws.Purchases().Record(e.ctx, crm.Purchase{CompanyID: m.ID,
		Items: []crm.LineItem{{Product: "Anvil", Quantity: 3, UnitPrice: crm.Money{Amount: 10}}}})
	require.NoError(t, err)

	got, err := cos.Merge(e.ctx, s.ID, m.ID, crm.MergeOptions{})
	require.NoError(t, err)
	assert.Equal(t, "Acme Inc.", got.Name)
	assert.Equal(t, "acme.com", got.Domain)
	assert.Equal(t, "Manufacturing", got.Industry)
	assert.Equal(t, parent.ID, got.ParentID, "the survivor was the merged company's subsidiary: it takes its parent")

	_, err = cos.Lookup(e.ctx, m.ID)
	var me *crm.MergedError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, s.ID, me.Into)
	_, err = cos.GetByDomain(e.ctx, "eu.acme.com")
	assert.ErrorIs(t, err, crm.ErrNotFound)

	gotSub, err := cos.Get(e.ctx, sub.ID)
	require.NoError(t, err)
	assert.Equal(t, s.ID, gotSub.ParentID)
	gc1, err := e.ws.Contacts().Get(e.ctx, c1.ID)
	require.NoError(t, err)
	assert.Equal(t, []crm.CompanyRole{{CompanyID: s.ID, Role: "buyer"}}, gc1.Companies)
	gc2, err := e.ws.Contacts().Get(e.ctx, c2.ID)
	require.NoError(t, err)
	assert.Equal(t, []crm.CompanyRole{{CompanyID: s.ID, Role: "owner"}}, gc2.Companies)
	gd, err := e.ws.Deals().Get(e.ctx, deal.ID)
	require.NoError(t, err)
	assert.Equal(t, s.ID, gd.CompanyID)
	ga, err := e.ws.Activities().Get(e.ctx, act.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{s.ID}, ga.CompanyIDs)
	gp, err := e.ws.Purchases().Get(e.ctx, pur.ID)
	require.NoError(t, err)
	assert.Equal(t, s.ID, gp.CompanyID)
	var subs []string
	for c, err := range cos.Subsidiaries(e.ctx, s.ID) {
		require.NoError(t, err)
		subs = append(subs, c.ID)
	}
	assert.Equal(t, []string{sub.ID}, subs)
}

func TestMergeIsAllOrNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		// arm sets up the merge to fail.
		arm   func(t *testing.T, e *env, f mergeFixture)
		opts  crm.MergeOptions
		check func(t *testing.T, err error)
	}{
		{
			name: "merge vetoed",
			arm: func(t *testing.T, e *env, f mergeFixture) {
				require.NoError(t, e.crm.Hooks().BeforeContact.Bind("no-merge", 0, func(_ context.Context, b *crm.Before[crm.Contact]) error {
					if b.Op == crm.OpMerged {
						assert.Equal(t, f.m.ID, b.Old.ID, "Old is the merged contact")
						assert.Equal(t, f.s.ID, b.New.ID, "New is the survivor")
						return errors.New("merges need approval")
					}
					return nil
				}))
			},
			check: func(t *testing.T, err error) {
				var ve *crm.VetoError
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, "no-merge", ve.Hook)
			},
		},
		{
			name: "re-pointed deal vetoed midway",
			arm: func(t *testing.T, e *env, f mergeFixture) {
				require.NoError(t, e.crm.Hooks().BeforeDeal.Bind("frozen", 0, func(_ context.Context, b *crm.Before[crm.Deal]) error {
					if b.New.ID == f.dealDel.ID {
						return errors.New("archived deals are frozen")
					}
					return nil
				}))
			},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, crm.ErrVetoed) },
		},
		{
			name: "survivor invalid after re-pointing",
			arm: func(t *testing.T, e *env, f mergeFixture) {
				// 60 + 60 tags are more than a contact may have: the
				// survivor's write, the last step, fails.
				var a, b []string
				for i := range 60 {
					a, b = append(a, fmt.Sprint("s", i)), append(b, fmt.Sprint("m", i))
				}
				_, err := e.ws.Contacts().Update(e.ctx, f.s.ID, func(c *crm.Contact) error { c.Tags = a; return nil })
				require.NoError(t, err)
				_, err = e.ws.Contacts().Update(e.ctx, f.m.ID, func(c *crm.Contact) error { c.Tags = b; return nil })
				require.NoError(t, err)
			},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, crm.ErrInvalid)
				assert.Contains(t, fieldErrors(t, err), "tags")
			},
		},
		{
			name: "unknown field choice",
			arm:  func(*testing.T, *env, mergeFixture) {},
			opts: crm.MergeOptions{Fields: map[string]crm.Keep{"nickname": crm.KeepMerged, "title": "both"}},
			check: func(t *testing.T, err error) {
				assert.ElementsMatch(t, []string{"fields.nickname", "fields.title"}, fieldErrors(t, err))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			f := newMergeFixture(t, e)
			tc.arm(t, e, f)
			before := storeDump(t, e)
			_, err := e.ws.Contacts().Merge(e.ctx, f.s.ID, f.m.ID, tc.opts)
			require.Error(t, err)
			tc.check(t, err)
			assert.Equal(t, before, storeDump(t, e), "a failed merge leaves the store as it was")
		})
	}
}

func TestMergeBadInput(t *testing.T) {
	e := setup(t)
	cs := e.ws.Contacts()
	a, err := cs.Create(e.ctx, crm.Contact{FirstName: "A"})
	require.NoError(t, err)
	b, err := cs.Create(e.ctx, crm.Contact{FirstName: "B"})
	require.NoError(t, err)
	_, err = cs.Merge(e.ctx, a.ID, a.ID, crm.MergeOptions{})
	assert.Equal(t, []string{"merged_id"}, fieldErrors(t, err))
	_, err = cs.Merge(e.ctx, a.ID, "con_missing", crm.MergeOptions{})
	assert.ErrorIs(t, err, crm.ErrNotFound)
	assert.False(t, errors.Is(err, crm.ErrMerged))
	require.NoError(t, cs.Delete(e.ctx, b.ID))
	_, err = cs.Merge(e.ctx, a.ID, b.ID, crm.MergeOptions{})
	assert.ErrorIs(t, err, crm.ErrDeleted)
}
