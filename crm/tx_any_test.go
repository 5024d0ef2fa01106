package crm_test

import (
	"errors"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// txAnyIDs collects the IDs of a stream of records of one kind.
func txAnyIDs[T any](t *testing.T, seq iter.Seq2[T, error]) []string {
	t.Helper()
	var out []string
	for r, err := range seq {
		require.NoError(t, err)
		out = append(out, crm.MetaOf(any(&r)).ID)
	}
	return out
}

// txAnyParse parses a filter.
func txAnyParse(t *testing.T, text string) filter.Expr {
	t.Helper()
	f, err := filter.Parse(text)
	require.NoError(t, err, text)
	return f
}

func TestReadTxRecordReturnsPointersOfAnyKind(t *testing.T) {
	e := setup(t)
	co, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Globex"})
	require.NoError(t, err)
	con, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada", Companies: []crm.CompanyRole{{CompanyID: co.ID}}})
	require.NoError(t, err)
	deal, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Renewal", CompanyID: co.ID})
	require.NoError(t, err)
	act, err := e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityNote, Subject: "Hello", ContactIDs: []string{con.ID}, OccurredAt: e.clock.Now()})
	require.NoError(t, err)
	pur, err := e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: con.ID, Items: []crm.LineItem{{Product: "Widget", Quantity: 1, UnitPrice: crm.Money{Amount: 100}}}})
	require.NoError(t, err)
	pl, _ := sales(t, e)
	require.NoError(t, e.ws.Contacts().Delete(e.ctx, con.ID))

	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		get := func(kind, id string) any {
			t.Helper()
			r, err := rt.Record(crm.Ref{Kind: kind, ID: id})
			require.NoError(t, err, kind)
			assert.Equal(t, id, crm.MetaOf(r).ID, kind)
			return r
		}
		c, ok := get("contact", con.ID).(*crm.Contact)
		require.True(t, ok)
		assert.Equal(t, "Ada", c.FirstName)
		assert.True(t, c.Deleted(), "a soft-deleted record is returned, marked deleted")
		o, ok := get("company", co.ID).(*crm.Company)
		require.True(t, ok)
		assert.Equal(t, "Globex", o.Name)
		d, ok := get("deal", deal.ID).(*crm.Deal)
		require.True(t, ok)
		assert.Equal(t, "Renewal", d.Name)
		a, ok := get("activity", act.ID).(*crm.Activity)
		require.True(t, ok)
		assert.Equal(t, "Hello", a.Subject)
		p, ok := get("purchase", pur.ID).(*crm.Purchase)
		require.True(t, ok)
		assert.Equal(t, "Widget", p.Items[0].Product)
		assert.IsType(t, &crm.Pipeline{}, get("pipeline", pl.ID))

		_, err := rt.Record(crm.Ref{Kind: "contact", ID: "con_missing"})
		assert.ErrorIs(t, err, crm.ErrNotFound)
		_, err = rt.Record(crm.Ref{Kind: "deal", ID: con.ID})
		assert.Error(t, err, "a contact's ID names no deal")
		_, err = rt.Record(crm.Ref{Kind: "lead", ID: con.ID})
		var ve *crm.ValidationError
		assert.ErrorAs(t, err, &ve)
		assert.ErrorIs(t, err, crm.ErrInvalid)
		return nil
	}))
	assert.Equal(t, &crm.Meta{}, crm.MetaOf("not a record"))
}

func TestReadTxRecordsStreamsLiveRecordsInIDOrder(t *testing.T) {
	e := setup(t)
	var ids []string
	for _, n := range []string{"A", "B", "C", "D", "E"} {
		c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: n})
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	deleted := ids[2]
	require.NoError(t, e.ws.Contacts().Delete(e.ctx, deleted))
	live := slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == deleted })))

	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		records := func(kind, after string) ([]string, error) {
			var out []string
			for r, err := range rt.Records(kind, after) {
				if err != nil {
					return out, err
				}
				if kind == "contact" {
					assert.IsType(t, &crm.Contact{}, r)
				}
				out = append(out, crm.MetaOf(r).ID)
			}
			return out, nil
		}
		got, err := records("contact", "")
		require.NoError(t, err)
		assert.Equal(t, live, got, "live records only, in ID order")
		got, err = records("contact", live[0])
		require.NoError(t, err)
		assert.Equal(t, live[1:], got, "resumes after the given ID")
		got, err = records("contact", deleted)
		require.NoError(t, err)
		var want []string
		for _, id := range live {
			if id > deleted {
				want = append(want, id)
			}
		}
		assert.Equal(t, want, got, "resumes after a deleted record's ID")
		got, err = records("contact", live[len(live)-1])
		require.NoError(t, err)
		assert.Empty(t, got)
		got, err = records("company", "")
		require.NoError(t, err)
		assert.Empty(t, got, "kinds do not mix")
		n := 0
		for _, err := range rt.Records("contact", "") {
			require.NoError(t, err)
			n++
			break
		}
		assert.Equal(t, 1, n)
		_, err = records("lead", "")
		assert.ErrorIs(t, err, crm.ErrInvalid)
		return nil
	}))
}

func TestTxUpdateRecordValidatesAndStores(t *testing.T) {
	e := setup(t)
	con, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada", Lifecycle: "lead"})
	require.NoError(t, err)
	deal, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Old"})
	require.NoError(t, err)
	ref := crm.Ref{Kind: "contact", ID: con.ID}
	var got any
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		var err error
		got, err = tx.UpdateRecord(ref, func(rec any) error {
			c, ok := rec.(*crm.Contact)
			require.True(t, ok, "%T", rec)
			c.Lifecycle = " Customer "
			c.Version = 99 // the stamps are the CRM's
			return nil
		})
		if err != nil {
			return err
		}
		_, err = tx.UpdateRecord(crm.Ref{Kind: "deal", ID: deal.ID}, func(rec any) error { rec.(*crm.Deal).Name = "New"; return nil })
		return err
	}))
	c, ok := got.(*crm.Contact)
	require.True(t, ok, "%T", got)
	assert.Equal(t, "customer", c.Lifecycle, "returned as stored, cleaned by validation")
	assert.Equal(t, con.Version+1, c.Version)
	stored, err := e.ws.Contacts().Get(e.ctx, con.ID)
	require.NoError(t, err)
	assert.Equal(t, "customer", stored.Lifecycle)
	assert.Equal(t, c.Version, stored.Version)
	d, err := e.ws.Deals().Get(e.ctx, deal.ID)
	require.NoError(t, err)
	assert.Equal(t, "New", d.Name)

	head, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)
	boom := errors.New("boom")
	var badErr, mutErr, kindErr, delErr error
	require.NoError(t, e.ws.Deals().Delete(e.ctx, deal.ID))
	head2, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)
	require.Greater(t, head2, head)
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		_, badErr = tx.UpdateRecord(ref, func(rec any) error {
			c := rec.(*crm.Contact)
			c.FirstName, c.Lifecycle = "Eve", "martian"
			return nil
		})
		_, mutErr = tx.UpdateRecord(ref, func(any) error { return boom })
		_, kindErr = tx.UpdateRecord(crm.Ref{Kind: "lead", ID: con.ID}, func(any) error { return nil })
		_, delErr = tx.UpdateRecord(crm.Ref{Kind: "deal", ID: deal.ID}, func(any) error { return nil })
		return nil // the failed writes left no trace: the transaction commits
	}))
	var ve *crm.ValidationError
	require.ErrorAs(t, badErr, &ve)
	assert.True(t, ve.Has("lifecycle"), "%v", badErr)
	assert.ErrorIs(t, mutErr, boom)
	assert.ErrorIs(t, kindErr, crm.ErrInvalid)
	assert.ErrorIs(t, delErr, crm.ErrDeleted)
	stored, err = e.ws.Contacts().Get(e.ctx, con.ID)
	require.NoError(t, err)
	assert.Equal(t, "Ada", stored.FirstName, "nothing of the refused change was written")
	assert.Equal(t, c.Version, stored.Version)
	assert.Empty(t, eventTypes(t, e, head2))
}

func TestRecordReaderByLinks(t *testing.T) {
	e := setup(t)
	co1, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "One"})
	require.NoError(t, err)
	co2, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Two"})
	require.NoError(t, err)
	contact := func(name, owner, company string) crm.Contact {
		c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: name, OwnerID: owner, Companies: []crm.CompanyRole{{CompanyID: company}}})
		require.NoError(t, err)
		return c
	}
	a, b, gone := contact("A", "u_1", co1.ID), contact("B", "u_10", co1.ID), contact("C", "u_1", co2.ID)
	d1, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "D1", OwnerID: "u_1", CompanyID: co1.ID, Contacts: []crm.ContactRole{{ContactID: a.ID}}})
	require.NoError(t, err)
	d2, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "D2", OwnerID: "u_2", CompanyID: co2.ID, Contacts: []crm.ContactRole{{ContactID: b.ID}, {ContactID: a.ID}}})
	require.NoError(t, err)
	activity := func(contacts, deals []string) crm.Activity {
		act, err := e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityCall, ContactIDs: contacts, DealIDs: deals, OccurredAt: e.clock.Now()})
		require.NoError(t, err)
		return act
	}
	act1, act2 := activity([]string{a.ID}, []string{d1.ID}), activity([]string{a.ID, b.ID}, nil)
	actGone := activity([]string{a.ID}, []string{d1.ID})
	purchase := func(contact string) crm.Purchase {
		p, err := e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: contact, Items: []crm.LineItem{{Product: "W", Quantity: 1, UnitPrice: crm.Money{Amount: 1}}}})
		require.NoError(t, err)
		return p
	}
	p1, _ := purchase(a.ID), purchase(b.ID)
	require.NoError(t, e.ws.Contacts().Delete(e.ctx, gone.ID))
	require.NoError(t, e.ws.Activities().Delete(e.ctx, actGone.ID))

	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		assert.ElementsMatch(t, []string{a.ID, b.ID}, txAnyIDs(t, rt.Contacts().By("company_ids", co1.ID)))
		assert.Empty(t, txAnyIDs(t, rt.Contacts().By("company_ids", co2.ID)), "a deleted contact is left out")
		assert.Equal(t, []string{a.ID}, txAnyIDs(t, rt.Contacts().By("owner_id", "u_1")), "not u_10's, not the deleted one")
		assert.Equal(t, []string{d1.ID}, txAnyIDs(t, rt.Deals().By("owner_id", "u_1")))
		assert.Equal(t, []string{d2.ID}, txAnyIDs(t, rt.Deals().By("company_id", co2.ID)))
		assert.ElementsMatch(t, []string{d1.ID, d2.ID}, txAnyIDs(t, rt.Deals().By("contact_ids", a.ID)))
		assert.Equal(t, []string{d2.ID}, txAnyIDs(t, rt.Deals().By("contact_ids", b.ID)))
		assert.ElementsMatch(t, []string{act1.ID, act2.ID}, txAnyIDs(t, rt.Activities().By("contact_ids", a.ID)), "the deleted activity is left out")
		assert.Equal(t, []string{act2.ID}, txAnyIDs(t, rt.Activities().By("contact_ids", b.ID)))
		assert.Equal(t, []string{act1.ID}, txAnyIDs(t, rt.Activities().By("deal_ids", d1.ID)))
		assert.Equal(t, []string{p1.ID}, txAnyIDs(t, rt.Purchases().By("contact_id", a.ID)))
		assert.Empty(t, txAnyIDs(t, rt.Purchases().By("contact_id", gone.ID)))

		n := 0
		for _, err := range rt.Contacts().By("company_ids", co1.ID) {
			require.NoError(t, err)
			n++
			break
		}
		assert.Equal(t, 1, n, "breaking out of the loop stops it")
		for _, field := range []string{"lifecycle", "company_id", "contact_id"} {
			var errs []error
			for _, err := range rt.Contacts().By(field, "x") {
				errs = append(errs, err)
			}
			require.Len(t, errs, 1, field)
			assert.ErrorIs(t, errs[0], crm.ErrInvalid, field)
		}
		return nil
	}))
}

func TestReadTxMatchReadsComputedFieldsInTheTransaction(t *testing.T) {
	e := setup(t)
	_, err := e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: "contact", Name: "tier", Type: crm.FieldText})
	require.NoError(t, err)
	co, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Acme", Industry: "Healthcare"})
	require.NoError(t, err)
	anna, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Anna", Lifecycle: "customer",
		Companies: []crm.CompanyRole{{CompanyID: co.ID}}, Custom: crm.Custom{"tier": "gold"}})
	require.NoError(t, err)
	act, err := e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityEmail, ContactIDs: []string{anna.ID}, OccurredAt: e.clock.Now().Add(-2 * day)})
	require.NoError(t, err)
	deal, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Big", CompanyID: co.ID})
	require.NoError(t, err)

	stored := txAnyParse(t, `lifecycle = "customer" AND custom.tier = "gold"`)
	industry := txAnyParse(t, `company.industry = "healthcare"`)
	noIndustry := txAnyParse(t, `company.industry IS NOT SET`)
	recent := txAnyParse(t, `activity_count.email.last_30d >= 1`)
	now := e.crm.Now()
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		c, err := rt.Contacts().Get(anna.ID)
		require.NoError(t, err)
		for _, tc := range []struct {
			text         string
			e            filter.Expr
			inTx, stored bool
		}{
			{"stored", stored, true, true},
			{"lead", txAnyParse(t, `lifecycle = "lead"`), false, false},
			{"industry", industry, true, false},
			{"no industry", noIndustry, false, true},
			{"recent", recent, true, false},
			{"nil", nil, true, true},
		} {
			got, err := rt.Match(tc.e, &c)
			require.NoError(t, err, tc.text)
			assert.Equal(t, tc.inTx, got, "Match %s", tc.text)
			got, err = crm.MatchStored(tc.e, &c, now)
			require.NoError(t, err, tc.text)
			assert.Equal(t, tc.stored, got, "MatchStored %s: computed fields read as unset", tc.text)
		}
		ok, err := rt.Match(industry, &deal)
		require.NoError(t, err)
		assert.True(t, ok, "a deal's company")

		v, ok, err := rt.Field(&c, "company.industry")
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, "Healthcare", v)
		v, ok, err = rt.Field(&c, "custom.tier")
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, "gold", v)
		v, ok, err = rt.Field(&c, "last_activity_at")
		require.NoError(t, err)
		assert.True(t, ok)
		at, isTime := v.(time.Time)
		assert.True(t, isTime && at.Equal(act.OccurredAt), "last_activity_at is %v, want %v", v, act.OccurredAt)
		_, ok, err = rt.Field(&c, "shoe_size")
		require.NoError(t, err)
		assert.False(t, ok)

		for _, rec := range []any{&crm.Activity{}, crm.Contact{}, nil} {
			_, err = rt.Match(stored, rec)
			assert.ErrorIs(t, err, crm.ErrInvalid, "Match %T", rec)
			_, _, err = rt.Field(rec, "lifecycle")
			assert.ErrorIs(t, err, crm.ErrInvalid, "Field %T", rec)
			_, err = crm.MatchStored(stored, rec, now)
			assert.ErrorIs(t, err, crm.ErrInvalid, "MatchStored %T", rec)
		}
		return nil
	}))
	assert.True(t, crm.StoredOnly("contact", stored))
	assert.True(t, crm.StoredOnly("deal", txAnyParse(t, `amount > 5 AND status = "open"`)))
	assert.False(t, crm.StoredOnly("contact", industry))
	assert.False(t, crm.StoredOnly("contact", recent))
	assert.False(t, crm.StoredOnly("contact", txAnyParse(t, `lifecycle = "lead" OR last_activity_at IS SET`)))

	// A Tx's Match reads its own writes to related records.
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		if _, err := tx.Companies().Update(co.ID, func(c *crm.Company) error { c.Industry = "Retail"; return nil }); err != nil {
			return err
		}
		ok, err := tx.Match(txAnyParse(t, `company.industry = "retail"`), &anna)
		require.NoError(t, err)
		assert.True(t, ok, "the company as changed in the transaction")
		return nil
	}))
}

func TestTxAddAndRemoveSegmentMembers(t *testing.T) {
	e := setup(t)
	seg, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Picked", Object: "contact", Static: true})
	require.NoError(t, err)
	dyn, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Leads", Object: "contact", Filter: `lifecycle = "lead"`})
	require.NoError(t, err)
	a, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "A"})
	require.NoError(t, err)
	b, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "B"})
	require.NoError(t, err)
	count := func() int64 {
		t.Helper()
		n, err := e.ws.Segments().Count(e.ctx, seg.ID)
		require.NoError(t, err)
		return n
	}
	contains := func(id string) bool {
		t.Helper()
		in, err := e.ws.Segments().Contains(e.ctx, seg.ID, id)
		require.NoError(t, err)
		return in
	}

	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		if err := tx.AddToSegment(seg.ID, a.ID, b.ID, a.ID); err != nil {
			return err
		}
		s, err := tx.Segment(seg.ID)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{a.ID, b.ID}, collect(t, tx.Members(s)), "the transaction sees its own adds")
		return nil
	}))
	assert.Equal(t, int64(2), count())
	assert.True(t, contains(a.ID))
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error { return tx.RemoveFromSegment(seg.ID, a.ID) }))
	assert.Equal(t, int64(1), count())
	assert.False(t, contains(a.ID))
	assert.True(t, contains(b.ID))
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error { return tx.RemoveFromSegment(seg.ID, a.ID) }))
	assert.Equal(t, int64(1), count(), "removing a non-member changes nothing")

	err = e.ws.Update(e.ctx, func(tx *crm.Tx) error { return tx.AddToSegment(dyn.ID, a.ID) })
	assert.ErrorIs(t, err, crm.ErrSegmentStatic)
	err = e.ws.Update(e.ctx, func(tx *crm.Tx) error { return tx.RemoveFromSegment(dyn.ID, a.ID) })
	assert.ErrorIs(t, err, crm.ErrSegmentStatic)
	err = e.ws.Update(e.ctx, func(tx *crm.Tx) error { return tx.AddToSegment(seg.ID, a.ID, "con_missing") })
	assert.Error(t, err)
	assert.Equal(t, int64(1), count(), "a failed add adds nothing")
	assert.False(t, contains(a.ID))
}

func TestReadTxLastEventFollowsOutboxHead(t *testing.T) {
	e := setup(t)
	last := func() uint64 {
		t.Helper()
		var n uint64
		require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
			var err error
			n, err = rt.LastEvent()
			return err
		}))
		head, err := e.ws.OutboxHead(e.ctx)
		require.NoError(t, err)
		assert.Equal(t, head, n)
		return n
	}
	before := last()
	_, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	assert.Greater(t, last(), before)
}

func TestSpaceOfTxAndReadTxShareKeys(t *testing.T) {
	e := setup(t)
	k := []byte("timer/1")
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		if err := tx.Space("automation").Set(k, []byte("due")); err != nil {
			return err
		}
		v, err := tx.ReadTx.Space("automation").Get(k)
		require.NoError(t, err)
		assert.Equal(t, "due", string(v))
		return tx.Space("report").Set([]byte("other"), []byte("x"))
	}))
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		v, err := rt.Space("automation").Get(k)
		require.NoError(t, err)
		assert.Equal(t, "due", string(v))
		var keys []string
		for kv, err := range rt.Space("automation").Scan(store.Range{}) {
			require.NoError(t, err)
			keys = append(keys, string(kv.Key))
		}
		assert.Equal(t, []string{"timer/1"}, keys, "the space holds its keys and nothing else")
		for _, name := range []string{"report", "automatio", "automation2"} {
			_, err := rt.Space(name).Get(k)
			assert.ErrorIs(t, err, crm.ErrNotFound, name)
		}
		_, err = rt.Space("automation").Get([]byte("other"))
		assert.ErrorIs(t, err, crm.ErrNotFound, "nor does it see another's")
		return nil
	}))
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error { return tx.Space("automation").Delete(k) }))
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		_, err := rt.Space("automation").Get(k)
		assert.ErrorIs(t, err, crm.ErrNotFound)
		return nil
	}))
}

func TestWithCauseReachesHistoryAndEvents(t *testing.T) {
	e := setup(t)
	rule, depth := crm.CauseOf(e.ctx)
	assert.Equal(t, "", rule)
	assert.Zero(t, depth)
	ctx := crm.WithCause(e.ctx, "rule_welcome", 2)
	rule, depth = crm.CauseOf(ctx)
	assert.Equal(t, "rule_welcome", rule)
	assert.Equal(t, 2, depth)
	rule, depth = crm.CauseOf(crm.WithCause(ctx, "rule_b", 3))
	assert.Equal(t, "rule_b", rule)
	assert.Equal(t, 3, depth)

	head, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)
	var id string
	require.NoError(t, e.ws.Update(ctx, func(tx *crm.Tx) error {
		c, err := tx.Contacts().Create(crm.Contact{FirstName: "Ada"})
		id = c.ID
		return err
	}))
	n := 0
	for ev, err := range e.ws.Changes(e.ctx, head) {
		require.NoError(t, err)
		assert.Equal(t, "rule_welcome", ev.Rule, ev.Type)
		assert.Equal(t, 2, ev.Depth, ev.Type)
		n++
	}
	assert.Positive(t, n, "the change emitted events")
	_, err = e.ws.Contacts().Update(e.ctx, id, func(c *crm.Contact) error { c.LastName = "Lovelace"; return nil })
	require.NoError(t, err)
	var changes []crm.Change
	for ch, err := range e.ws.History(e.ctx, crm.Ref{Kind: "contact", ID: id}) {
		require.NoError(t, err)
		changes = append(changes, ch)
	}
	require.Len(t, changes, 2)
	assert.Equal(t, crm.OpCreated, changes[1].Op)
	assert.Equal(t, "rule_welcome", changes[1].Rule)
	assert.Equal(t, 2, changes[1].Depth)
	assert.Equal(t, "", changes[0].Rule, "a change without a cause has none")
	assert.Zero(t, changes[0].Depth)
}

func TestCRMNextCommitAndNow(t *testing.T) {
	e := setup(t)
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	ch := e.crm.NextCommit()
	require.NoError(t, e.ws.View(e.ctx, func(*crm.ReadTx) error { return nil }))
	boom := errors.New("boom")
	require.ErrorIs(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error { return boom }), boom)
	assert.False(t, closed(ch), "no commit yet")
	_, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("NextCommit's channel was not closed after a commit")
	}
	assert.False(t, closed(e.crm.NextCommit()), "a new channel waits for the next commit")

	assert.True(t, e.clock.Now().Equal(e.crm.Now()))
	e.clock.Advance(90*time.Minute + 1500*time.Nanosecond)
	want := e.clock.Now().UTC().Round(time.Microsecond)
	assert.True(t, want.Equal(e.crm.Now()), "%v, want %v", e.crm.Now(), want)
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		assert.True(t, want.Equal(rt.Now()))
		return nil
	}))
	at := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.FixedZone("X", 3600))
	log := slog.New(slog.DiscardHandler)
	c2 := crm.New(e.st, crm.WithClock(func() time.Time { return at }), crm.WithLogger(log))
	assert.Equal(t, time.UTC, c2.Now().Location())
	assert.True(t, at.Round(time.Microsecond).Equal(c2.Now()), "%v", c2.Now())
	assert.Equal(t, 7000, c2.Now().Nanosecond())
	assert.Same(t, log, c2.Logger())
	assert.NotNil(t, e.crm.Logger())
}

func TestDispatcherLeaseByName(t *testing.T) {
	e := setup(t)
	a := e.crm.NewDispatcher(crm.WithLease("a", time.Minute))
	b := e.crm.NewDispatcher(crm.WithLease("b", time.Minute))
	lease := func(d *crm.Dispatcher, name string) bool {
		t.Helper()
		ok, err := d.Lease(e.ctx, name)
		require.NoError(t, err)
		return ok
	}
	assert.True(t, lease(a, "automation/timers"), "the first to lease holds it")
	assert.False(t, lease(b, "automation/timers"), "the other does not")
	e.clock.Advance(50 * time.Second)
	assert.True(t, lease(a, "automation/timers"), "the holder renews it")
	e.clock.Advance(50 * time.Second)
	assert.False(t, lease(b, "automation/timers"), "the renewal outlasts the first term")
	assert.True(t, lease(b, "report/snapshots"), "another name is leased apart")
	e.clock.Advance(2 * time.Minute)
	assert.True(t, lease(b, "automation/timers"), "a lapsed lease is taken over")
	assert.False(t, lease(a, "automation/timers"))
}

func TestCheckLongText(t *testing.T) {
	var ve crm.ValidationError
	text := "line one\nline two\n\n\tindented"
	assert.Equal(t, text, crm.CheckLongText(&ve, "body", "  "+text+"\n"))
	full := strings.Repeat("é", 32<<10) // 64 KiB exactly
	assert.Equal(t, full, crm.CheckLongText(&ve, "body", full))
	assert.Empty(t, ve.Fields)
	crm.CheckLongText(&ve, "long", full+"a")
	crm.CheckLongText(&ve, "bytes", "ok \xff\xfe")
	var fields []string
	for _, f := range ve.Fields {
		fields = append(fields, f.Field)
	}
	assert.Equal(t, []string{"long", "bytes"}, fields)
	assert.ErrorIs(t, &ve, crm.ErrInvalid)
}
