package crm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The adversarial suite: a workspace of two sales teams under one
// manager, and a support role that may not see deal amounts. Every entry
// point is tried by a rep of team east on team west's records.

var testPolicy = crm.Policy{
	Roles: []crm.Role{{
		Name: "support",
		Grants: []crm.Grant{
			{Kind: crm.AnyKind, Actions: []crm.Action{crm.ActionRead}, Scope: crm.ScopeAll},
			{Kind: crm.KindDeal, Actions: []crm.Action{crm.ActionUpdate}, Scope: crm.ScopeAll},
		},
		Fields: []crm.FieldRule{{Field: "deal.amount", Access: crm.FieldHidden}, {Field: "deal.name", Access: crm.FieldReadOnly}},
	}},
	Teams: []crm.TeamDef{
		{Name: "sales", Members: []string{"mia"}},
		{Name: "east", Parent: "sales", Members: []string{"ann", "bob"}},
		{Name: "west", Parent: "sales", Members: []string{"carl"}},
	},
}

var (
	bob  = crm.Principal{ID: "bob", Roles: []string{"rep"}}
	carl = crm.Principal{ID: "carl", Roles: []string{"rep"}}
	ann  = crm.Principal{ID: "ann", Roles: []string{"manager"}}
	mia  = crm.Principal{ID: "mia", Roles: []string{"manager"}}
	sue  = crm.Principal{ID: "sue", Roles: []string{"support"}}
)

type accessEnv struct {
	*env
	// deals and contacts by owner.
	deals, contacts map[string]crm.Deal
	people          map[string]crm.Contact
	since           uint64
}

func as(e *env, p crm.Principal) context.Context { return crm.As(e.ctx, p) }

func setupAccess(t *testing.T) *accessEnv {
	t.Helper()
	e := setup(t)
	a := &accessEnv{env: e, deals: map[string]crm.Deal{}, people: map[string]crm.Contact{}}
	head, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)
	a.since = head
	_, err = e.ws.SetPolicy(e.ctx, testPolicy)
	require.NoError(t, err)
	sys := crm.As(e.ctx, crm.System())
	for _, owner := range []string{"ann", "bob", "carl", "mia"} {
		c, err := e.ws.Contacts().Create(sys, crm.Contact{FirstName: owner + "'s lead", Emails: []string{owner + "-lead@example.com"}, OwnerID: owner})
		require.NoError(t, err)
		a.people[owner] = c
		d, err := e.ws.Deals().Create(sys, crm.Deal{Name: owner + "'s deal", Amount: crm.Money{Amount: 1000_00, Currency: "USD"}, OwnerID: owner, Contacts: []crm.ContactRole{{ContactID: c.ID}}})
		require.NoError(t, err)
		a.deals[owner] = d
		_, err = e.ws.Activities().Log(sys, crm.Activity{Type: crm.ActivityNote, Subject: owner + "'s note", ContactIDs: []string{a.people["bob"].ID}, OwnerID: owner})
		if owner != "ann" { // bob's lead exists from ann on
			require.NoError(t, err)
		}
	}
	return a
}

func ids[T any](t *testing.T, seq func(func(T, error) bool), id func(T) string) []string {
	t.Helper()
	var out []string
	for r, err := range seq {
		require.NoError(t, err)
		out = append(out, id(r))
	}
	slices.Sort(out)
	return out
}

func dealIDs(a *accessEnv, owners ...string) []string {
	var out []string
	for _, o := range owners {
		out = append(out, a.deals[o].ID)
	}
	slices.Sort(out)
	return out
}

func TestAccessWithoutPrincipalIsRefused(t *testing.T) {
	a := setupAccess(t)
	_, err := a.ws.Deals().Get(a.ctx, a.deals["bob"].ID)
	require.ErrorIs(t, err, crm.ErrForbidden)
	_, err = a.ws.Contacts().Create(a.ctx, crm.Contact{FirstName: "X"})
	require.ErrorIs(t, err, crm.ErrForbidden)
	var fe *crm.ForbiddenError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, fe.Error(), "crm.As")

	// Clearing the policy brings back the open workspace.
	require.NoError(t, a.ws.ClearPolicy(crm.As(a.ctx, crm.System())))
	_, err = a.ws.Deals().Get(a.ctx, a.deals["bob"].ID)
	require.NoError(t, err)
}

func TestAccessRepSeesOnlyOwnRecords(t *testing.T) {
	a := setupAccess(t)
	ctx := as(a.env, bob)
	deals := a.ws.Deals()

	// By ID: another's deal is not found, never forbidden.
	_, err := deals.Get(ctx, a.deals["carl"].ID)
	require.ErrorIs(t, err, crm.ErrNotFound)
	got, err := deals.Get(ctx, a.deals["bob"].ID)
	require.NoError(t, err)
	assert.Equal(t, "bob's deal", got.Name)
	_, err = a.ws.Contacts().GetByEmail(ctx, "carl-lead@example.com")
	require.ErrorIs(t, err, crm.ErrNotFound)
	_, err = a.ws.Contacts().Lookup(ctx, a.people["carl"].ID)
	require.ErrorIs(t, err, crm.ErrNotFound)

	// Lists, in every order, and pages.
	list := func(opts crm.ListOptions) []string {
		return ids(t, deals.List(ctx, opts), func(d crm.Deal) string { return d.ID })
	}
	for _, opts := range []crm.ListOptions{{}, {Desc: true}, {Sort: crm.SortName}, {Sort: crm.SortAmount, Desc: true}, {Sort: crm.SortUpdated}} {
		assert.Equal(t, dealIDs(a, "bob"), list(opts), "%+v", opts)
	}
	pg, err := deals.Page(ctx, crm.ListOptions{Limit: 1})
	require.NoError(t, err)
	require.Len(t, pg.Items, 1)
	assert.Equal(t, "bob", pg.Items[0].OwnerID)
	assert.Empty(t, pg.Next)
	for c, err := range a.ws.Contacts().ByOwner(ctx, "carl") {
		require.NoError(t, err)
		t.Fatalf("bob sees carl's contact %s", c.ID)
	}

	// Queries and counts, whatever the filter says.
	for _, src := range []string{`amount > 0`, `owner_id = "carl"`, `owner_id IN ("bob", "carl")`, `NOT (owner_id = "bob")`, `name MATCHES "*deal"`} {
		e, err := filter.Parse(src)
		require.NoError(t, err)
		q := a.ws.Query(crm.KindDeal, e)
		n, err := q.Count(ctx)
		require.NoError(t, err)
		var members []string
		for m, err := range q.Members(ctx, "") {
			require.NoError(t, err)
			members = append(members, m.ID)
		}
		want := 0
		if src != `owner_id = "carl"` && src != `NOT (owner_id = "bob")` {
			want = 1
		}
		assert.EqualValues(t, want, n, src)
		assert.Len(t, members, want, src)
		ok, err := q.Contains(ctx, a.deals["carl"].ID)
		require.NoError(t, err)
		assert.False(t, ok, src)
	}

	// History and timeline of another's record: not found.
	for _, err := range a.ws.History(ctx, crm.Ref{Kind: crm.KindDeal, ID: a.deals["carl"].ID}) {
		require.ErrorIs(t, err, crm.ErrNotFound)
	}
	_, err = a.ws.Timeline(ctx, crm.Ref{Kind: crm.KindDeal, ID: a.deals["carl"].ID}, "", 0)
	require.ErrorIs(t, err, crm.ErrNotFound)
	// bob's lead carries everyone's notes: bob sees his own only.
	tl, err := a.ws.Timeline(ctx, crm.Ref{Kind: crm.KindContact, ID: a.people["bob"].ID}, "", 0)
	require.NoError(t, err)
	for _, it := range tl.Items {
		if it.Activity != nil {
			assert.Equal(t, "bob", it.Activity.OwnerID)
		}
	}

	// The change feed holds bob's records' events only.
	n := 0
	for ev, err := range a.ws.Changes(ctx, a.since) {
		require.NoError(t, err)
		r, err := ev.Record()
		require.NoError(t, err)
		switch r := r.(type) {
		case *crm.Deal:
			assert.Equal(t, "bob", r.OwnerID)
		case *crm.Contact:
			assert.Equal(t, "bob", r.OwnerID)
		case *crm.Activity:
			assert.Equal(t, "bob", r.OwnerID)
		}
		n++
	}
	assert.Positive(t, n)

	// Exports, backups, merges, duplicates.
	_, err = a.ws.ExportContact(ctx, a.people["carl"].ID)
	require.ErrorIs(t, err, crm.ErrForbidden, "reps do not export")
	_, err = a.crm.Backup(ctx, &bytes.Buffer{}, crm.BackupOptions{Workspaces: []string{a.ws.ID()}})
	require.ErrorIs(t, err, crm.ErrForbidden)
	_, err = a.ws.Contacts().Merge(ctx, a.people["bob"].ID, a.people["carl"].ID, crm.MergeOptions{})
	require.ErrorIs(t, err, crm.ErrNotFound)
	_, err = a.ws.Contacts().Get(as(a.env, carl), a.people["carl"].ID)
	require.NoError(t, err, "the failed merge left carl's contact alone")
	for d, err := range a.ws.Contacts().FindDuplicates(ctx, crm.DuplicateOptions{}) {
		require.NoError(t, err)
		assert.NotContains(t, []string{d.A, d.B}, a.people["carl"].ID)
	}
}

func TestAccessRepWritesStayInScope(t *testing.T) {
	a := setupAccess(t)
	ctx := as(a.env, bob)
	deals := a.ws.Deals()

	_, err := deals.Update(ctx, a.deals["carl"].ID, func(d *crm.Deal) error { d.Name = "mine"; return nil })
	require.ErrorIs(t, err, crm.ErrNotFound)
	require.ErrorIs(t, deals.Delete(ctx, a.deals["carl"].ID), crm.ErrNotFound)

	// Deleted or merged away, another's record is still not found.
	sys := crm.As(a.ctx, crm.System())
	require.NoError(t, deals.Delete(sys, a.deals["carl"].ID))
	_, err = deals.Update(ctx, a.deals["carl"].ID, func(d *crm.Deal) error { d.Name = "mine"; return nil })
	require.ErrorIs(t, err, crm.ErrNotFound)
	require.NotErrorIs(t, err, crm.ErrDeleted)
	twin, err := a.ws.Contacts().Create(sys, crm.Contact{FirstName: "twin", OwnerID: "carl"})
	require.NoError(t, err)
	_, err = a.ws.Contacts().Merge(sys, a.people["carl"].ID, twin.ID, crm.MergeOptions{})
	require.NoError(t, err)
	_, err = a.ws.Contacts().Lookup(ctx, twin.ID)
	require.ErrorIs(t, err, crm.ErrNotFound)
	var me *crm.MergedError
	require.False(t, errors.As(err, &me), "where carl's contact went is not bob's to know")

	// Giving a deal away, or creating one for another, is forbidden.
	_, err = deals.Update(ctx, a.deals["bob"].ID, func(d *crm.Deal) error { d.OwnerID = "carl"; return nil })
	var fe *crm.ForbiddenError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, crm.ActionUpdate, fe.Action)
	assert.Equal(t, crm.KindDeal, fe.Kind)
	_, err = deals.Create(ctx, crm.Deal{Name: "for carl", OwnerID: "carl"})
	require.ErrorIs(t, err, crm.ErrForbidden)

	// A new record without an owner is the rep's, and the rep its
	// actor unless WithActor says otherwise.
	d, err := deals.Create(crm.As(context.Background(), bob), crm.Deal{Name: "new"})
	require.NoError(t, err)
	assert.Equal(t, "bob", d.OwnerID)
	assert.Equal(t, "bob", d.CreatedBy, "the principal is the actor")

	// Reps do not erase; the policy is not theirs to change.
	require.ErrorIs(t, deals.Erase(ctx, d.ID), crm.ErrForbidden)
	_, err = a.ws.SetPolicy(ctx, crm.Policy{})
	require.ErrorIs(t, err, crm.ErrForbidden)
	_, err = a.ws.Fields().Define(ctx, crm.FieldDef{Object: crm.KindDeal, Name: "tier", Type: crm.FieldText})
	require.ErrorIs(t, err, crm.ErrForbidden)

	// Through the transaction seam alike.
	err = a.ws.Update(ctx, func(tx *crm.Tx) error {
		_, err := tx.Deals().Get(a.deals["carl"].ID)
		return err
	})
	require.ErrorIs(t, err, crm.ErrNotFound)
	err = a.ws.View(ctx, func(rt *crm.ReadTx) error {
		n, err := rt.Count(crm.KindDeal, nil)
		require.NoError(t, err)
		assert.EqualValues(t, 2, n)
		for r, err := range rt.Records(crm.KindDeal, "") {
			require.NoError(t, err)
			assert.Equal(t, "bob", r.(*crm.Deal).OwnerID)
		}
		return nil
	})
	require.NoError(t, err)
}

func TestAccessTeamsAndHierarchy(t *testing.T) {
	a := setupAccess(t)
	list := func(p crm.Principal) []string {
		return ids(t, a.ws.Deals().List(as(a.env, p), crm.ListOptions{}), func(d crm.Deal) string { return d.ID })
	}
	assert.Equal(t, dealIDs(a, "ann", "bob"), list(ann), "a manager of east sees east")
	assert.Equal(t, dealIDs(a, "ann", "bob", "carl", "mia"), list(mia), "the manager of sales sees the teams below")
	assert.Equal(t, dealIDs(a, "carl"), list(carl))
	// Teams named by the principal count as well as the policy's.
	assert.Equal(t, dealIDs(a, "carl"), list(crm.Principal{ID: "carl", Roles: []string{"rep"}, Teams: []string{"east"}}), "rep scope is own whatever the teams")
	assert.Equal(t, dealIDs(a, "ann", "bob", "carl"), list(crm.Principal{ID: "carl", Roles: []string{"manager"}, Teams: []string{"east"}}))

	// The manager reassigns within the team, not outside it.
	_, err := a.ws.Deals().Update(as(a.env, ann), a.deals["bob"].ID, func(d *crm.Deal) error { d.OwnerID = "ann"; return nil })
	require.NoError(t, err)
	_, err = a.ws.Deals().Update(as(a.env, ann), a.deals["ann"].ID, func(d *crm.Deal) error { d.OwnerID = "carl"; return nil })
	require.ErrorIs(t, err, crm.ErrForbidden)
}

func TestAccessHiddenFieldsNeverShow(t *testing.T) {
	a := setupAccess(t)
	ctx := as(a.env, sue)
	secret := a.deals["carl"]

	d, err := a.ws.Deals().Get(ctx, secret.ID)
	require.NoError(t, err)
	assert.Zero(t, d.Amount, "get")
	for d, err := range a.ws.Deals().List(ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		assert.Zero(t, d.Amount, "list")
	}
	all, err := filter.Parse(`name IS SET`)
	require.NoError(t, err)
	for m, err := range a.ws.Query(crm.KindDeal, all).Members(ctx, "") {
		require.NoError(t, err)
		assert.Zero(t, m.Record.(crm.Deal).Amount, "query")
	}
	// Filtering or sorting by it would tell it.
	byAmount, err := filter.Parse(`amount > 500`)
	require.NoError(t, err)
	_, err = a.ws.Query(crm.KindDeal, byAmount).Count(ctx)
	require.ErrorIs(t, err, crm.ErrForbidden)

	// A change of the amount: history and events leave it out.
	_, err = a.ws.Deals().Update(crm.As(a.ctx, crm.System()), secret.ID, func(d *crm.Deal) error {
		d.Amount.Amount = 5000_00
		d.Source = "web"
		return nil
	})
	require.NoError(t, err)
	for c, err := range a.ws.History(ctx, crm.Ref{Kind: crm.KindDeal, ID: secret.ID}) {
		require.NoError(t, err)
		for _, f := range c.Fields {
			assert.NotEqual(t, "amount", f.Field)
		}
	}
	for ev, err := range a.ws.Changes(ctx, a.since) {
		require.NoError(t, err)
		for _, f := range ev.Fields {
			assert.NotEqual(t, "amount", f.Field)
		}
		if r, err := ev.Record(); err == nil {
			if d, ok := r.(*crm.Deal); ok {
				assert.Zero(t, d.Amount, "event")
			}
		}
		raw, err := json.Marshal(ev)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), "500000")
	}

	// Support may update deals, but neither the hidden amount nor the
	// read-only name.
	_, err = a.ws.Deals().Update(ctx, secret.ID, func(d *crm.Deal) error { d.Amount.Amount = 1; return nil })
	require.ErrorIs(t, err, crm.ErrForbidden)
	_, err = a.ws.Deals().Update(ctx, secret.ID, func(d *crm.Deal) error { d.Name = "renamed"; return nil })
	var fe *crm.ForbiddenError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "name", fe.Field)
	_, err = a.ws.Deals().Update(ctx, secret.ID, func(d *crm.Deal) error { d.Source = "phone"; return nil })
	require.NoError(t, err)
	stored, err := a.ws.Deals().Get(crm.As(a.ctx, crm.System()), secret.ID)
	require.NoError(t, err)
	assert.EqualValues(t, 5000_00, stored.Amount.Amount, "an update by support keeps the amount it cannot see")
}

func TestAccessSegments(t *testing.T) {
	a := setupAccess(t)
	sys := crm.As(a.ctx, crm.System())
	dyn, err := a.ws.Segments().Create(sys, crm.Segment{Name: "all deals", Object: crm.KindDeal, Filter: `name IS SET`})
	require.NoError(t, err)
	static, err := a.ws.Segments().Create(sys, crm.Segment{Name: "picked", Object: crm.KindDeal, Static: true})
	require.NoError(t, err)
	require.NoError(t, a.ws.Segments().Add(sys, static.ID, a.deals["bob"].ID, a.deals["carl"].ID))

	ctx := as(a.env, bob)
	for _, seg := range []crm.Segment{dyn, static} {
		n, err := a.ws.Segments().Count(ctx, seg.ID)
		require.NoError(t, err)
		assert.EqualValues(t, 1, n, seg.Name)
		var got []string
		for m, err := range a.ws.Segments().Members(ctx, seg.ID, "") {
			require.NoError(t, err)
			got = append(got, m.ID)
		}
		assert.Equal(t, dealIDs(a, "bob"), got, seg.Name)
		ok, err := a.ws.Segments().Contains(ctx, seg.ID, a.deals["carl"].ID)
		require.NoError(t, err)
		assert.False(t, ok)
	}
	// A rep adds only what it sees to a list, and may not change lists.
	err = a.ws.Segments().Add(ctx, static.ID, a.deals["carl"].ID)
	require.ErrorIs(t, err, crm.ErrForbidden)
	err = a.ws.Segments().Add(as(a.env, ann), static.ID, a.deals["carl"].ID)
	var ve *crm.ValidationError
	require.ErrorAs(t, err, &ve, "carl's deal is not there for ann")
}

func TestPolicyCheckAndJSON(t *testing.T) {
	bad := crm.Policy{
		Roles: []crm.Role{
			{Name: "x", Grants: []crm.Grant{{Kind: crm.Kind{}, Actions: []crm.Action{"read"}, Scope: crm.ScopeAll}}},
			{Name: "x", Grants: []crm.Grant{{Kind: crm.KindPipeline, Actions: []crm.Action{"fly"}, Scope: crm.ScopeOwn}}},
			{Name: "y", Fields: []crm.FieldRule{{Field: "deal.amout", Access: crm.FieldHidden}, {Field: "deal.amount", Access: "secret"}}},
		},
		Teams: []crm.TeamDef{{Name: "a", Parent: "b"}, {Name: "b", Parent: "a"}, {Name: "c", Parent: "nowhere"}},
	}
	err := bad.Check()
	require.ErrorIs(t, err, crm.ErrInvalid)
	assert.ElementsMatch(t, []string{
		"roles[0].grants[0].kind", "roles[1].name", "roles[1].grants[0].actions[0]", "roles[1].grants[0].scope",
		"roles[2].fields[0].field", "roles[2].fields[1].access",
		"teams[0].parent", "teams[1].parent", "teams[2].parent",
	}, fieldErrors(t, err))
	assert.Contains(t, err.Error(), `deals have no field "amout"`)

	e := setup(t)
	_, err = e.ws.SetPolicy(e.ctx, bad)
	require.ErrorIs(t, err, crm.ErrInvalid)
	_, ok, err := e.ws.Policy(e.ctx)
	require.NoError(t, err)
	assert.False(t, ok, "a refused policy is not stored")

	// JSON in, the same policy out; versions count changes.
	raw, err := json.Marshal(testPolicy)
	require.NoError(t, err)
	var p crm.Policy
	require.NoError(t, json.Unmarshal(raw, &p))
	saved, err := e.ws.SetPolicy(e.ctx, p)
	require.NoError(t, err)
	assert.EqualValues(t, 1, saved.Version)
	admin := crm.As(e.ctx, crm.Principal{ID: "root", Roles: []string{"admin"}})
	_, err = e.ws.SetPolicy(admin, p, crm.IfVersion(7))
	require.ErrorIs(t, err, crm.ErrConflict)
	saved, err = e.ws.SetPolicy(admin, p, crm.IfVersion(1))
	require.NoError(t, err)
	got, ok, err := e.ws.Policy(admin)
	require.NoError(t, err)
	require.True(t, ok)
	assert.EqualValues(t, 2, got.Version)
	got.Version = 0
	assert.Equal(t, testPolicy, got)
	assert.True(t, errors.Is(e.ws.Can(as(e, bob), crm.KindWorkspace, crm.ActionUpdate), crm.ErrForbidden))
	assert.NoError(t, e.ws.Can(as(e, bob), crm.KindDeal, crm.ActionCreate))
}

func TestAccessWatchFiltersEvents(t *testing.T) {
	a := setupAccess(t)
	sys := crm.As(a.ctx, crm.System())
	ctx, cancel := context.WithCancel(as(a.env, bob))
	defer cancel()
	head, err := a.ws.OutboxHead(sys)
	require.NoError(t, err)
	got := make(chan crm.Event, 16)
	go func() {
		for ev, err := range a.ws.Watch(ctx, head, 10*time.Millisecond) {
			if err == nil {
				got <- ev
			}
		}
		close(got)
	}()
	_, err = a.ws.Deals().Create(sys, crm.Deal{Name: "carl's second", OwnerID: "carl"})
	require.NoError(t, err)
	mine, err := a.ws.Deals().Create(sys, crm.Deal{Name: "bob's second", OwnerID: "bob"})
	require.NoError(t, err)
	select {
	case ev := <-got:
		assert.Equal(t, mine.ID, ev.RecordID, "the first event bob sees is of his deal")
	case <-time.After(10 * time.Second):
		t.Fatal("no event reached bob")
	}
	cancel()
	for ev := range got {
		assert.NotEqual(t, "carl", ev.Actor)
		r, err := ev.Record()
		require.NoError(t, err)
		if d, ok := r.(*crm.Deal); ok {
			assert.Equal(t, "bob", d.OwnerID)
		}
	}
}

func TestAccessDuplicateNamesOnlyVisibleRecords(t *testing.T) {
	a := setupAccess(t)
	// carl's lead holds the address; bob may not know which record.
	_, err := a.ws.Contacts().Create(as(a.env, bob), crm.Contact{FirstName: "Copy", Emails: []string{"carl-lead@example.com"}})
	require.ErrorIs(t, err, crm.ErrDuplicate)
	require.ErrorIs(t, err, crm.ErrInvalid)
	assert.Contains(t, err.Error(), "already used by another contact")
	assert.NotContains(t, err.Error(), a.people["carl"].ID)
	// mia manages both teams and is told.
	_, err = a.ws.Contacts().Create(as(a.env, mia), crm.Contact{FirstName: "Copy", Emails: []string{"carl-lead@example.com"}})
	require.ErrorIs(t, err, crm.ErrDuplicate)
	assert.Contains(t, err.Error(), a.people["carl"].ID)
}
