package crm_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func segmentEvents(t *testing.T, e *env, since uint64) []crm.Event {
	t.Helper()
	var out []crm.Event
	for ev, err := range e.ws.Changes(e.ctx, since) {
		require.NoError(t, err)
		if ev.Type == crm.SegmentEntered || ev.Type == crm.SegmentLeft {
			out = append(out, ev)
		}
	}
	return out
}

func TestDynamicSegment(t *testing.T) {
	e := setup(t)
	seg, err := e.ws.Segments().Create(e.ctx, crm.Segment{
		Name: "German customers", Object: crm.KindContact,
		Filter: `lifecycle = "customer" and address.country in ("DE", "AT")`,
	})
	require.NoError(t, err)
	assert.Equal(t, `lifecycle = "customer" AND address.country IN ("DE", "AT")`, seg.Filter, "stored in canonical form")

	anna, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Anna", Lifecycle: "customer", Address: crm.Address{Country: "de"}})
	require.NoError(t, err)
	ben, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ben", Lifecycle: "lead", Address: crm.Address{Country: "DE"}})
	require.NoError(t, err)
	_, err = e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Cleo", Lifecycle: "customer", Address: crm.Address{Country: "FR"}})
	require.NoError(t, err)

	n, err := e.ws.Segments().Count(e.ctx, seg.ID)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	in, err := e.ws.Segments().Contains(e.ctx, seg.ID, anna.ID)
	require.NoError(t, err)
	assert.True(t, in)
	in, err = e.ws.Segments().Contains(e.ctx, seg.ID, ben.ID)
	require.NoError(t, err)
	assert.False(t, in)

	// Ben becomes a customer: he enters; Anna moves to France: she leaves.
	_, err = e.ws.Contacts().Update(e.ctx, ben.ID, func(c *crm.Contact) error { c.Lifecycle = "customer"; return nil })
	require.NoError(t, err)
	_, err = e.ws.Contacts().Update(e.ctx, anna.ID, func(c *crm.Contact) error { c.Address.Country = "FR"; return nil })
	require.NoError(t, err)
	// A change that keeps membership emits nothing.
	_, err = e.ws.Contacts().Update(e.ctx, ben.ID, func(c *crm.Contact) error { c.Title = "CTO"; return nil })
	require.NoError(t, err)
	require.NoError(t, e.ws.Contacts().Delete(e.ctx, ben.ID))
	require.NoError(t, e.ws.Contacts().Restore(e.ctx, ben.ID))

	evs := segmentEvents(t, e, 0)
	require.Len(t, evs, 5)
	want := []struct {
		typ crm.EventType
		id  string
	}{{crm.SegmentEntered, anna.ID}, {crm.SegmentEntered, ben.ID}, {crm.SegmentLeft, anna.ID}, {crm.SegmentLeft, ben.ID}, {crm.SegmentEntered, ben.ID}}
	for i, w := range want {
		assert.Equal(t, w.typ, evs[i].Type, "event %d", i)
		assert.Equal(t, w.id, evs[i].RecordID, "event %d", i)
		require.Len(t, evs[i].Fields, 1)
		assert.Equal(t, seg.ID, evs[i].Fields[0].New)
	}

	pg, err := e.ws.Segments().Page(e.ctx, seg.ID, crm.MemberOptions{})
	require.NoError(t, err)
	require.Len(t, pg.Items, 1)
	assert.Equal(t, ben.ID, pg.Items[0].ID)
	assert.Equal(t, "Ben", pg.Items[0].Record.(crm.Contact).FirstName)

	plan, err := e.ws.Segments().Explain(e.ctx, seg.ID)
	require.NoError(t, err)
	assert.Contains(t, plan, "index f.")
	assert.Contains(t, plan, "counted")
}

func TestStaticSegment(t *testing.T) {
	e := setup(t)
	var ids []string
	for i, lc := range []string{"customer", "customer", "lead", "customer"} {
		c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: string(rune('A' + i)), Lifecycle: lc})
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	seg, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Frozen", Object: crm.KindContact, Static: true, Filter: `lifecycle = "customer"`})
	require.NoError(t, err)
	count := func() int64 {
		n, err := e.ws.Segments().Count(e.ctx, seg.ID)
		require.NoError(t, err)
		return n
	}
	assert.EqualValues(t, 3, count())

	// Frozen: a new customer is not a member until added.
	d, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "D", Lifecycle: "customer"})
	require.NoError(t, err)
	assert.EqualValues(t, 3, count())
	require.NoError(t, e.ws.Segments().Add(e.ctx, seg.ID, d.ID, d.ID, ids[0]))
	assert.EqualValues(t, 4, count())
	require.NoError(t, e.ws.Segments().Remove(e.ctx, seg.ID, ids[1], ids[2]))
	assert.EqualValues(t, 3, count())

	require.NoError(t, e.ws.Contacts().Delete(e.ctx, ids[0]))
	assert.EqualValues(t, 2, count())
	require.NoError(t, e.ws.Segments().Remove(e.ctx, seg.ID, ids[0]))
	require.NoError(t, e.ws.Segments().Add(e.ctx, seg.ID, ids[0]))
	assert.EqualValues(t, 2, count(), "a deleted member is listed but not counted")
	require.NoError(t, e.ws.Contacts().Restore(e.ctx, ids[0]))
	assert.EqualValues(t, 3, count())
	require.NoError(t, e.ws.Contacts().Erase(e.ctx, ids[3]))
	assert.EqualValues(t, 2, count())

	var members []string
	for m, err := range e.ws.Segments().Members(e.ctx, seg.ID, "") {
		require.NoError(t, err)
		members = append(members, m.ID)
	}
	assert.Equal(t, []string{ids[0], d.ID}, members)
	in, err := e.ws.Segments().Contains(e.ctx, seg.ID, ids[2])
	require.NoError(t, err)
	assert.False(t, in)

	err = e.ws.Segments().Add(e.ctx, seg.ID, "con_missing")
	assert.Equal(t, []string{"record_ids[0]"}, fieldErrors(t, err))

	dyn, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Leads", Object: crm.KindContact, Filter: `lifecycle = "lead"`})
	require.NoError(t, err)
	assert.ErrorIs(t, e.ws.Segments().Add(e.ctx, dyn.ID, ids[0]), crm.ErrSegmentStatic)

	require.NoError(t, e.ws.Segments().Delete(e.ctx, seg.ID))
	_, err = e.ws.Segments().Get(e.ctx, seg.ID)
	assert.ErrorIs(t, err, crm.ErrNotFound)
	assertNoKeysMention(t, e, seg.ID)
}

func TestSegmentValidation(t *testing.T) {
	e := setup(t)
	for name, tc := range map[string]struct {
		seg    crm.Segment
		fields []string
	}{
		"unknown field":   {crm.Segment{Name: "a", Object: crm.KindContact, Filter: `shoe_size = 3`}, []string{"filter"}},
		"type mismatch":   {crm.Segment{Name: "a", Object: crm.KindDeal, Filter: `amount > "abc"`}, []string{"filter"}},
		"syntax":          {crm.Segment{Name: "a", Object: crm.KindContact, Filter: `lifecycle = `}, []string{"filter"}},
		"no filter":       {crm.Segment{Name: "a", Object: crm.KindContact}, []string{"filter"}},
		"no name":         {crm.Segment{Object: crm.KindContact, Filter: `lifecycle = "lead"`}, []string{"name"}},
		"unknown object":  {crm.Segment{Name: "a", Object: crm.KindPipeline, Filter: `name = "x"`}, []string{"object"}},
		"operator on int": {crm.Segment{Name: "a", Object: crm.KindCompany, Filter: `employees CONTAINS 3`}, []string{"filter"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.ws.Segments().Create(e.ctx, tc.seg)
			assert.Equal(t, tc.fields, fieldErrors(t, err))
		})
	}
	_, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "a", Object: crm.KindContact, Filter: `amount > "abc"`})
	assert.True(t, errors.Is(err, filter.ErrInvalid), "the filter's own error is wrapped: %v", err)
	_, err = e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Dup", Object: crm.KindContact, Filter: `lifecycle = "lead"`})
	require.NoError(t, err)
	_, err = e.ws.Segments().Create(e.ctx, crm.Segment{Name: "dup", Object: crm.KindDeal, Filter: `status = "open"`})
	assert.Equal(t, []string{"name"}, fieldErrors(t, err))
	_, err = e.ws.Query(crm.KindContact, filter.Where("nope").Eq(1)).Count(e.ctx)
	assert.ErrorIs(t, err, filter.ErrInvalid)
	_, err = e.ws.Query(crm.KindContact, filter.Where("lifecycle").Eq("x")).Page(e.ctx, crm.MemberOptions{After: "!!"})
	assert.ErrorIs(t, err, crm.ErrBadCursor)
}

func TestBehaviouralConditions(t *testing.T) {
	e := setup(t)
	acme, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Acme", Industry: "Healthcare"})
	require.NoError(t, err)
	other, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Other", Industry: "Retail"})
	require.NoError(t, err)
	anna, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Anna", Companies: []crm.CompanyRole{{CompanyID: acme.ID}}})
	require.NoError(t, err)
	ben, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ben", Companies: []crm.CompanyRole{{CompanyID: other.ID}}})
	require.NoError(t, err)
	var pl crm.Pipeline
	for p, err := range e.ws.Pipelines().List(e.ctx) {
		require.NoError(t, err)
		pl = p
		break
	}
	deal, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Big", CompanyID: acme.ID, Amount: crm.Money{Amount: 2_000_000, Currency: "EUR"},
		Contacts: []crm.ContactRole{{ContactID: anna.ID}}})
	require.NoError(t, err)
	for i := range 3 {
		_, err = e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityEmail, ContactIDs: []string{anna.ID}, OccurredAt: e.clock.Now().Add(-time.Duration(i*10) * 24 * time.Hour)})
		require.NoError(t, err)
	}
	_, err = e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityEmail, ContactIDs: []string{ben.ID}, OccurredAt: e.clock.Now().Add(-90 * 24 * time.Hour)})
	require.NoError(t, err)
	_, err = e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: ben.ID, Items: []crm.LineItem{{Product: "Widget", Quantity: 3, UnitPrice: crm.Money{Amount: 5000}}}})
	require.NoError(t, err)

	ids := func(object crm.Kind, text string) []string {
		t.Helper()
		f, err := filter.Parse(text)
		require.NoError(t, err)
		var out []string
		for m, err := range e.ws.Query(object, f).Members(e.ctx, "") {
			require.NoError(t, err, text)
			out = append(out, m.ID)
		}
		return out
	}
	assert.Equal(t, []string{anna.ID}, ids(crm.KindContact, `company.industry = "healthcare"`))
	assert.Equal(t, []string{anna.ID}, ids(crm.KindContact, `open_deal_pipelines CONTAINS "`+pl.ID+`"`))
	assert.Equal(t, []string{ben.ID}, ids(crm.KindContact, `open_deal_pipelines NOT CONTAINS "`+pl.ID+`"`))
	assert.Equal(t, []string{anna.ID}, ids(crm.KindContact, `open_deal_stages = "`+pl.ID+`/`+deal.StageID+`"`))
	assert.Equal(t, []string{anna.ID}, ids(crm.KindContact, `activity_count.email.last_30d >= 3`))
	assert.Empty(t, ids(crm.KindContact, `activity_count.email.last_15d >= 3`))
	assert.Equal(t, []string{ben.ID}, ids(crm.KindContact, `last_activity_at < now() - 60d OR last_activity_at IS NOT SET`))
	assert.Equal(t, []string{ben.ID}, ids(crm.KindContact, `purchase_products CONTAINS "widget" AND total_spend > 10000`))
	assert.Equal(t, []string{acme.ID}, ids(crm.KindCompany, `industry = "healthcare" AND open_deal_count >= 1 AND contact_count = 1`))
	assert.Equal(t, []string{deal.ID}, ids(crm.KindDeal, `company.industry = "Healthcare" AND amount > 1000000 AND status = "open"`))

	// Winning the deal closes it: Anna no longer has an open deal.
	_, err = e.ws.Deals().Win(e.ctx, deal.ID)
	require.NoError(t, err)
	assert.Empty(t, ids(crm.KindContact, `open_deal_pipelines CONTAINS "`+pl.ID+`"`))
	assert.Empty(t, ids(crm.KindCompany, `open_deal_count >= 1`))
}

func TestCompositeIndexCount(t *testing.T) {
	e := setup(t)
	_, err := e.ws.Contacts().CreateMany(e.ctx, []crm.Contact{
		{FirstName: "A", Lifecycle: "customer", Address: crm.Address{Country: "DE"}},
		{FirstName: "B", Lifecycle: "customer", Address: crm.Address{Country: "AT"}},
		{FirstName: "C", Lifecycle: "lead", Address: crm.Address{Country: "DE"}},
	})
	require.NoError(t, err)
	// Defined after the records: built from them.
	_, err = e.ws.Indexes().Define(e.ctx, crm.IndexDef{Object: crm.KindContact, Fields: []string{"address.country", "lifecycle"}})
	require.NoError(t, err)
	_, err = e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "D", Lifecycle: "customer", Address: crm.Address{Country: "DE"}})
	require.NoError(t, err)

	q := e.ws.Query(crm.KindContact, filter.And(filter.Where("lifecycle").Eq("Customer"), filter.Where("address.country").In("de", "AT")))
	n, err := q.Count(e.ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 3, n)
	plan, err := q.Explain(e.ctx)
	require.NoError(t, err)
	assert.Contains(t, plan, "index x.address.country,lifecycle: 2 value prefix(es) [3, counted, exact]")
	assert.Contains(t, plan, "no residual")

	// NOT of an exact filter is counted as live records less its count.
	n, err = e.ws.Query(crm.KindContact, filter.Not(q.Filter())).Count(e.ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)

	_, err = e.ws.Indexes().Define(e.ctx, crm.IndexDef{Object: crm.KindContact, Fields: []string{"created_at", "lifecycle"}})
	assert.Equal(t, []string{"fields[0]"}, fieldErrors(t, err))
	n = 0
	for _, err := range e.ws.Indexes().List(e.ctx, crm.KindContact) {
		require.NoError(t, err)
		n++
	}
	assert.EqualValues(t, 1, n)
}

func TestSegmentFilterErrorsSayOnceWhatToWrite(t *testing.T) {
	e := setup(t)
	_, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "DE", Object: crm.KindContact, Filter: `country = "DE" AND lifecyle = "lead"`})
	require.ErrorIs(t, err, crm.ErrInvalid)
	require.ErrorIs(t, err, filter.ErrInvalid, "the filter's error is kept for errors.As")
	var fe *filter.FieldError
	require.ErrorAs(t, err, &fe)
	msg := err.Error()
	assert.Contains(t, msg, `did you mean address.country?`)
	assert.Contains(t, msg, `did you mean lifecycle?`)
	assert.Equal(t, 1, strings.Count(msg, `field "country"`), "said once: %s", msg)
	assert.NotContains(t, msg, "filter: filter:")

	_, err = e.ws.Segments().Create(e.ctx, crm.Segment{Name: "DE", Object: crm.KindContact, Filter: `lifecycle == "lead"`})
	var se *filter.SyntaxError
	require.ErrorAs(t, err, &se)
	assert.Contains(t, err.Error(), "compare with a single =")
}
