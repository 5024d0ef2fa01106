package crm_test

import (
	"context"
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

// txAnyMust returns v, failing the test on err: txAnyMust(f())(t).
func txAnyMust[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		require.NoError(t, err)
		return v
	}
}

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

func txAnyParse(t *testing.T, text string) filter.Expr {
	t.Helper()
	return txAnyMust(filter.Parse(text))(t)
}

func TestReadTxRecordReturnsPointersOfAnyKind(t *testing.T) {
	e := setup(t)
	co := txAnyMust(e.ws.Companies().Create(e.ctx, crm.Company{Name: "Globex"}))(t)
	con := txAnyMust(e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada", Companies: []crm.CompanyRole{{CompanyID: co.ID}}}))(t)
	deal := txAnyMust(e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Renewal", CompanyID: co.ID}))(t)
	act := txAnyMust(e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityNote, ContactIDs: []string{con.ID}, OccurredAt: e.clock.Now()}))(t)
	pur := txAnyMust(e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: con.ID, Items: []crm.LineItem{{Product: "W", Quantity: 1, UnitPrice: crm.Money{Amount: 100}}}}))(t)
	pl, _ := sales(t, e)
	require.NoError(t, e.ws.Contacts().Delete(e.ctx, con.ID))

	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		for _, tc := range []struct {
			kind crm.Kind
			id   string
			want any
		}{
			{crm.KindContact, con.ID, &crm.Contact{}}, {crm.KindCompany, co.ID, &crm.Company{}}, {crm.KindDeal, deal.ID, &crm.Deal{}},
			{crm.KindActivity, act.ID, &crm.Activity{}}, {crm.KindPurchase, pur.ID, &crm.Purchase{}}, {crm.KindPipeline, pl.ID, &crm.Pipeline{}},
		} {
			r, err := rt.Record(crm.Ref{Kind: tc.kind, ID: tc.id})
			require.NoError(t, err, tc.kind)
			assert.IsType(t, tc.want, r, tc.kind)
			assert.Equal(t, tc.id, crm.MetaOf(r).ID, tc.kind)
		}
		r, err := rt.Record(crm.Ref{Kind: crm.KindContact, ID: con.ID})
		require.NoError(t, err)
		assert.Equal(t, "Ada", r.(*crm.Contact).FirstName)
		assert.True(t, crm.MetaOf(r).Deleted(), "a soft-deleted record is returned, marked deleted")
		_, err = rt.Record(crm.Ref{Kind: crm.KindContact, ID: "con_missing"})
		assert.ErrorIs(t, err, crm.ErrNotFound)
		_, err = rt.Record(crm.Ref{Kind: crm.KindSegment, ID: con.ID})
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
		ids = append(ids, txAnyMust(e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: n}))(t).ID)
	}
	deleted := ids[2]
	require.NoError(t, e.ws.Contacts().Delete(e.ctx, deleted))
	live := slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(ids), func(id string) bool { return id == deleted })))
	afterDeleted := slices.DeleteFunc(slices.Clone(live), func(id string) bool { return id < deleted })

	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		records := func(kind crm.Kind, after string) ([]string, error) {
			var out []string
			for r, err := range rt.Records(kind, after) {
				if err != nil {
					return out, err
				}
				if kind == crm.KindContact {
					assert.IsType(t, &crm.Contact{}, r)
				}
				out = append(out, crm.MetaOf(r).ID)
			}
			return out, nil
		}
		assert.Equal(t, live, txAnyMust(records(crm.KindContact, ""))(t), "live records only, in ID order")
		assert.Equal(t, live[1:], txAnyMust(records(crm.KindContact, live[0]))(t), "resumes after the given ID")
		assert.Equal(t, afterDeleted, txAnyMust(records(crm.KindContact, deleted))(t), "resumes after a deleted record's ID")
		assert.Empty(t, txAnyMust(records(crm.KindContact, live[len(live)-1]))(t))
		assert.Empty(t, txAnyMust(records(crm.KindCompany, ""))(t), "kinds do not mix")
		n := 0
		for _, err := range rt.Records(crm.KindContact, "") {
			require.NoError(t, err)
			n++
			break
		}
		assert.Equal(t, 1, n)
		_, err := records(crm.KindSegment, "")
		assert.ErrorIs(t, err, crm.ErrInvalid)
		return nil
	}))
}

func TestTxUpdateRecordValidatesAndStores(t *testing.T) {
	e := setup(t)
	con := txAnyMust(e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada", Lifecycle: "lead"}))(t)
	deal := txAnyMust(e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Old"}))(t)
	ref := crm.Ref{Kind: crm.KindContact, ID: con.ID}
	var got any
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		var err error
		got, err = tx.UpdateRecord(ref, func(rec any) error {
			c, ok := rec.(*crm.Contact)
			require.True(t, ok, "%T", rec)
			c.Lifecycle, c.Version = " Customer ", 99 // the stamps are the CRM's
			return nil
		})
		if err != nil {
			return err
		}
		_, err = tx.UpdateRecord(crm.Ref{Kind: crm.KindDeal, ID: deal.ID}, func(rec any) error { rec.(*crm.Deal).Name = "New"; return nil })
		return err
	}))
	c := got.(*crm.Contact)
	assert.Equal(t, "customer", c.Lifecycle, "returned as stored, cleaned by validation")
	assert.Equal(t, con.Version+1, c.Version)
	stored := txAnyMust(e.ws.Contacts().Get(e.ctx, con.ID))(t)
	assert.Equal(t, "customer", stored.Lifecycle)
	assert.Equal(t, c.Version, stored.Version)
	assert.Equal(t, "New", txAnyMust(e.ws.Deals().Get(e.ctx, deal.ID))(t).Name)

	require.NoError(t, e.ws.Deals().Delete(e.ctx, deal.ID))
	head := txAnyMust(e.ws.OutboxHead(e.ctx))(t)
	boom := errors.New("boom")
	var badErr, mutErr, kindErr, delErr error
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		_, badErr = tx.UpdateRecord(ref, func(rec any) error {
			c := rec.(*crm.Contact)
			c.FirstName, c.Lifecycle = "Eve", "martian"
			return nil
		})
		_, mutErr = tx.UpdateRecord(ref, func(any) error { return boom })
		_, kindErr = tx.UpdateRecord(crm.Ref{Kind: crm.KindSegment, ID: con.ID}, func(any) error { return nil })
		_, delErr = tx.UpdateRecord(crm.Ref{Kind: crm.KindDeal, ID: deal.ID}, func(any) error { return nil })
		return nil // the failed writes left no trace: the transaction commits
	}))
	var ve *crm.ValidationError
	require.ErrorAs(t, badErr, &ve)
	assert.True(t, ve.Has("lifecycle"), "%v", badErr)
	assert.ErrorIs(t, mutErr, boom)
	assert.ErrorIs(t, kindErr, crm.ErrInvalid)
	assert.ErrorIs(t, delErr, crm.ErrDeleted)
	stored = txAnyMust(e.ws.Contacts().Get(e.ctx, con.ID))(t)
	assert.Equal(t, "Ada", stored.FirstName, "nothing of the refused change was written")
	assert.Equal(t, c.Version, stored.Version)
	assert.Empty(t, eventTypes(t, e, head))
}

func TestRecordReaderByLinks(t *testing.T) {
	e := setup(t)
	co1 := txAnyMust(e.ws.Companies().Create(e.ctx, crm.Company{Name: "One"}))(t)
	co2 := txAnyMust(e.ws.Companies().Create(e.ctx, crm.Company{Name: "Two"}))(t)
	contact := func(name, owner, company string) crm.Contact {
		return txAnyMust(e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: name, OwnerID: owner, Companies: []crm.CompanyRole{{CompanyID: company}}}))(t)
	}
	a, b, gone := contact("A", "u_1", co1.ID), contact("B", "u_10", co1.ID), contact("C", "u_1", co2.ID)
	d1 := txAnyMust(e.ws.Deals().Create(e.ctx, crm.Deal{Name: "D1", OwnerID: "u_1", CompanyID: co1.ID, Contacts: []crm.ContactRole{{ContactID: a.ID}}}))(t)
	d2 := txAnyMust(e.ws.Deals().Create(e.ctx, crm.Deal{Name: "D2", OwnerID: "u_2", CompanyID: co2.ID, Contacts: []crm.ContactRole{{ContactID: b.ID}, {ContactID: a.ID}}}))(t)
	activity := func(contacts, deals []string) crm.Activity {
		return txAnyMust(e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityCall, ContactIDs: contacts, DealIDs: deals, OccurredAt: e.clock.Now()}))(t)
	}
	act1, act2, actGone := activity([]string{a.ID}, []string{d1.ID}), activity([]string{a.ID, b.ID}, nil), activity([]string{a.ID}, []string{d1.ID})
	purchase := func(contact string) crm.Purchase {
		return txAnyMust(e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: contact, Items: []crm.LineItem{{Product: "W", Quantity: 1, UnitPrice: crm.Money{Amount: 1}}}}))(t)
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
	txAnyMust(e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "tier", Type: crm.FieldText}))(t)
	co := txAnyMust(e.ws.Companies().Create(e.ctx, crm.Company{Name: "Acme", Industry: "Healthcare"}))(t)
	anna := txAnyMust(e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Anna", Lifecycle: "customer",
		Companies: []crm.CompanyRole{{CompanyID: co.ID}}, Custom: crm.Custom{"tier": "gold"}}))(t)
	act := txAnyMust(e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityEmail, ContactIDs: []string{anna.ID}, OccurredAt: e.clock.Now().Add(-2 * day)}))(t)
	deal := txAnyMust(e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Big", CompanyID: co.ID}))(t)

	stored := txAnyParse(t, `lifecycle = "customer" AND custom.tier = "gold"`)
	industry := txAnyParse(t, `company.industry = "healthcare"`)
	recent := txAnyParse(t, `activity_count.email.last_30d >= 1`)
	fresh := txAnyParse(t, `created_at > now() - 1h AND created_at < now() + 1h`)
	now := e.crm.Now()
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		c := txAnyMust(rt.Contacts().Get(anna.ID))(t)
		for _, tc := range []struct {
			text         string
			e            filter.Expr
			inTx, stored bool
		}{
			{"stored", stored, true, true},
			{"lead", txAnyParse(t, `lifecycle = "lead"`), false, false},
			{"industry", industry, true, false},
			{"no industry", txAnyParse(t, `company.industry IS NOT SET`), false, true},
			{"recent", recent, true, false},
			{"fresh", fresh, true, true},
			{"nil", nil, true, true},
		} {
			assert.Equal(t, tc.inTx, txAnyMust(rt.Match(tc.e, &c))(t), "Match %s", tc.text)
			assert.Equal(t, tc.stored, txAnyMust(crm.MatchStored(tc.e, &c, now))(t), "MatchStored %s: computed fields read as unset", tc.text)
		}
		assert.False(t, txAnyMust(crm.MatchStored(fresh, &c, now.Add(2*day)))(t), "MatchStored evaluates at the time it is given")
		assert.True(t, txAnyMust(rt.Match(industry, &deal))(t), "a deal's company")

		for name, want := range map[string]any{"company.industry": "Healthcare", "custom.tier": "gold", "lifecycle": "customer", "activity_count.email.last_30d": int64(1)} {
			v, ok, err := rt.Field(&c, name)
			require.NoError(t, err, name)
			assert.True(t, ok, name)
			assert.Equal(t, want, v, name)
		}
		v, ok, err := rt.Field(&c, "last_activity_at")
		require.NoError(t, err)
		at, isTime := v.(time.Time)
		assert.True(t, ok && isTime && at.Equal(act.OccurredAt), "last_activity_at is %v, want %v", v, act.OccurredAt)
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
	assert.True(t, crm.StoredOnly(crm.KindContact, stored))
	assert.True(t, crm.StoredOnly(crm.KindDeal, txAnyParse(t, `amount > 5 AND status = "open"`)))
	assert.False(t, crm.StoredOnly(crm.KindContact, industry))
	assert.False(t, crm.StoredOnly(crm.KindContact, recent))
	assert.False(t, crm.StoredOnly(crm.KindContact, txAnyParse(t, `lifecycle = "lead" OR last_activity_at IS SET`)))

	// A Tx's Match reads its own writes to related records.
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		txAnyMust(tx.Companies().Update(co.ID, func(c *crm.Company) error { c.Industry = "Retail"; return nil }))(t)
		assert.True(t, txAnyMust(tx.Match(txAnyParse(t, `company.industry = "retail"`), &anna))(t), "the company as changed in the transaction")
		return nil
	}))
}

func TestTxAddAndRemoveSegmentMembers(t *testing.T) {
	e := setup(t)
	seg := txAnyMust(e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Picked", Object: crm.KindContact, Static: true}))(t)
	dyn := txAnyMust(e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Leads", Object: crm.KindContact, Filter: `lifecycle = "lead"`}))(t)
	a := txAnyMust(e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "A"}))(t)
	b := txAnyMust(e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "B"}))(t)
	count := func() int64 { t.Helper(); return txAnyMust(e.ws.Segments().Count(e.ctx, seg.ID))(t) }
	contains := func(id string) bool { t.Helper(); return txAnyMust(e.ws.Segments().Contains(e.ctx, seg.ID, id))(t) }
	update := func(fn func(tx *crm.Tx) error) error { return e.ws.Update(e.ctx, fn) }

	require.NoError(t, update(func(tx *crm.Tx) error {
		if err := tx.AddToSegment(seg.ID, a.ID, b.ID, a.ID); err != nil {
			return err
		}
		s := txAnyMust(tx.Segment(seg.ID))(t)
		assert.ElementsMatch(t, []string{a.ID, b.ID}, collect(t, tx.Members(s)), "the transaction sees its own adds")
		return nil
	}))
	assert.Equal(t, int64(2), count())
	assert.True(t, contains(a.ID))
	require.NoError(t, update(func(tx *crm.Tx) error { return tx.RemoveFromSegment(seg.ID, a.ID) }))
	assert.Equal(t, int64(1), count())
	assert.False(t, contains(a.ID))
	assert.True(t, contains(b.ID))
	require.NoError(t, update(func(tx *crm.Tx) error { return tx.RemoveFromSegment(seg.ID, a.ID) }))
	assert.Equal(t, int64(1), count(), "removing a non-member changes nothing")

	assert.ErrorIs(t, update(func(tx *crm.Tx) error { return tx.AddToSegment(dyn.ID, a.ID) }), crm.ErrSegmentStatic)
	assert.ErrorIs(t, update(func(tx *crm.Tx) error { return tx.RemoveFromSegment(dyn.ID, a.ID) }), crm.ErrSegmentStatic)
	assert.Error(t, update(func(tx *crm.Tx) error { return tx.AddToSegment(seg.ID, a.ID, "con_missing") }))
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
		assert.Equal(t, txAnyMust(e.ws.OutboxHead(e.ctx))(t), n)
		return n
	}
	before := last()
	txAnyMust(e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"}))(t)
	assert.Greater(t, last(), before)
}

func TestSpaceOfTxAndReadTxShareKeys(t *testing.T) {
	e := setup(t)
	k := []byte("timer/1")
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		if err := tx.Space("automation").Set(k, []byte("due")); err != nil {
			return err
		}
		assert.Equal(t, "due", string(txAnyMust(tx.ReadTx.Space("automation").Get(k))(t)))
		return tx.Space("report").Set([]byte("other"), []byte("x"))
	}))
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		assert.Equal(t, "due", string(txAnyMust(rt.Space("automation").Get(k))(t)))
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
		_, err := rt.Space("automation").Get([]byte("other"))
		assert.ErrorIs(t, err, crm.ErrNotFound, "nor does it see another's")
		return nil
	}))
}

func TestWithCauseReachesHistoryAndEvents(t *testing.T) {
	e := setup(t)
	cause := func(ctx context.Context) []any { r, d := crm.CauseOf(ctx); return []any{r, d} }
	ctx := crm.WithCause(e.ctx, "rule_welcome", 2)
	assert.Equal(t, []any{"", 0}, cause(e.ctx))
	assert.Equal(t, []any{"rule_welcome", 2}, cause(ctx))
	assert.Equal(t, []any{"rule_b", 3}, cause(crm.WithCause(ctx, "rule_b", 3)))

	head := txAnyMust(e.ws.OutboxHead(e.ctx))(t)
	var id string
	require.NoError(t, e.ws.Update(ctx, func(tx *crm.Tx) error {
		c, err := tx.Contacts().Create(crm.Contact{FirstName: "Ada"})
		id = c.ID
		return err
	}))
	n := 0
	for ev, err := range e.ws.Changes(e.ctx, head) {
		require.NoError(t, err)
		assert.Equal(t, []any{"rule_welcome", 2}, []any{ev.Rule, ev.Depth}, ev.Type)
		n++
	}
	assert.Positive(t, n, "the change emitted events")
	txAnyMust(e.ws.Contacts().Update(e.ctx, id, func(c *crm.Contact) error { c.LastName = "Lovelace"; return nil }))(t)
	var changes []crm.Change
	for ch, err := range e.ws.History(e.ctx, crm.Ref{Kind: crm.KindContact, ID: id}) {
		require.NoError(t, err)
		changes = append(changes, ch)
	}
	require.Len(t, changes, 2)
	assert.Equal(t, []any{crm.OpCreated, "rule_welcome", 2}, []any{changes[1].Op, changes[1].Rule, changes[1].Depth})
	assert.Equal(t, []any{"", 0}, []any{changes[0].Rule, changes[0].Depth}, "a change without a cause has none")
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
	txAnyMust(e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"}))(t)
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
	at := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.FixedZone("X", 3600))
	log := slog.New(slog.DiscardHandler)
	c2 := crm.New(e.st, crm.WithClock(func() time.Time { return at }), crm.WithLogger(log))
	assert.Equal(t, time.UTC, c2.Now().Location())
	assert.True(t, at.Round(time.Microsecond).Equal(c2.Now()), "%v", c2.Now())
	assert.Same(t, log, c2.Logger())
	assert.NotNil(t, e.crm.Logger())
}

func TestDispatcherLeaseByName(t *testing.T) {
	e := setup(t)
	a := e.crm.NewDispatcher(crm.WithLease("a", time.Minute))
	b := e.crm.NewDispatcher(crm.WithLease("b", time.Minute))
	lease := func(d *crm.Dispatcher, name string) bool { t.Helper(); return txAnyMust(d.Lease(e.ctx, name))(t) }
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
