package crm_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// changes collects the workspace's change feed.
func changes(t testing.TB, e *env, since uint64) []crm.Event {
	t.Helper()
	var out []crm.Event
	for ev, err := range e.ws.Changes(e.ctx, since) {
		require.NoError(t, err)
		out = append(out, ev)
	}
	return out
}

func types(evs []crm.Event) []crm.EventType {
	var out []crm.EventType
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

func TestEventsEmitted(t *testing.T) {
	e := setup(t)
	start, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(1), start, "the default pipeline's creation")

	c, err := e.ws.Contacts().Create(crm.WithSource(e.ctx, "sync-a"), crm.Contact{FirstName: "Eve", OwnerID: "u_1"})
	require.NoError(t, err)
	_, err = e.ws.Contacts().Update(e.ctx, c.ID, func(c *crm.Contact) error { c.Lifecycle = "lead"; return nil })
	require.NoError(t, err)
	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "D", Contacts: []crm.ContactRole{{ContactID: c.ID}}})
	require.NoError(t, err)
	_, err = e.ws.Deals().Win(e.ctx, d.ID)
	require.NoError(t, err)
	_, err = e.ws.Deals().Lose(e.ctx, d.ID, "budget")
	require.NoError(t, err)
	tk, err := e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityTicket, ContactIDs: []string{c.ID}})
	require.NoError(t, err)
	_, err = e.ws.Activities().Update(e.ctx, tk.ID, func(a *crm.Activity) error { a.Status = "resolved"; return nil })
	require.NoError(t, err)
	_, err = e.ws.Purchases().Record(e.ctx, crm.Purchase{ContactID: c.ID, Items: []crm.LineItem{{Product: "P", Quantity: 1, UnitPrice: crm.Money{Amount: 1}}}})
	require.NoError(t, err)
	require.NoError(t, e.ws.Contacts().Delete(e.ctx, c.ID))
	require.NoError(t, e.ws.Contacts().Restore(e.ctx, c.ID))
	require.NoError(t, e.ws.Deals().Erase(e.ctx, d.ID))

	evs := changes(t, e, start)
	assert.Equal(t, []crm.EventType{
		crm.ContactCreated, crm.ContactOwnerAssigned,
		crm.ContactUpdated, crm.LifecycleChanged,
		crm.DealCreated,
		crm.DealUpdated, crm.DealStageChanged, crm.DealWon,
		crm.DealUpdated, crm.DealStageChanged, crm.DealLost,
		crm.ActivityCreated, crm.TicketOpened,
		crm.ActivityUpdated, crm.TicketResolved,
		crm.PurchaseCreated,
		crm.ContactDeleted, crm.ContactRestored,
		crm.DealErased,
	}, types(evs))
	for i, ev := range evs {
		assert.Equal(t, start+uint64(i)+1, ev.Seq, "sequence without gaps")
		assert.Equal(t, "acme", ev.Workspace)
		assert.True(t, strings.HasPrefix(ev.ID, "evt_"))
	}
	assert.Equal(t, "sync-a", evs[0].Source, "events carry their source")
	assert.Equal(t, "u_test", evs[0].Actor)

	rec, err := evs[1].Record()
	require.NoError(t, err)
	assert.Equal(t, "Eve", rec.(*crm.Contact).FirstName)
	prev, err := evs[3].Previous()
	require.NoError(t, err)
	assert.Equal(t, "", prev.(*crm.Contact).Lifecycle)
	assert.Equal(t, []crm.FieldChange{{Field: "lifecycle", Old: "", New: "lead"}}, evs[3].Fields)

	// Erasing the deal redacted its earlier events but kept their places.
	for _, ev := range evs {
		if ev.RecordID == d.ID && ev.Type != crm.DealErased {
			assert.True(t, ev.Redacted)
			assert.Nil(t, ev.After)
		}
	}
	// The feed resumes from a cursor.
	assert.Equal(t, types(evs[5:]), types(changes(t, e, evs[4].Seq)))
}

var errTooBig = errors.New("deals over 10,000 need a company")

func TestBeforeHooksVetoAndEnrich(t *testing.T) {
	e := setup(t)
	h := e.crm.Hooks()
	require.NoError(t, h.BeforeDeal.Bind("guard", 0, func(ctx context.Context, b *crm.Before[crm.Deal]) error {
		if b.New.Amount.Amount > 10_000_00 && b.New.CompanyID == "" {
			return errTooBig
		}
		if b.New.CompanyID != "" {
			co, err := b.Company(b.New.CompanyID) // read inside the write's transaction
			if err != nil {
				return err
			}
			b.New.Name = co.Name + ": " + strings.TrimSpace(b.New.Name)
		}
		return nil
	}))
	require.NoError(t, h.BeforeDeal.Bind("bad-enrich", 10, func(ctx context.Context, b *crm.Before[crm.Deal]) error {
		if b.New.Source == "break" {
			b.New.Amount.Amount = -1 // the enriched record is validated again
		}
		return nil
	}))
	head, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)

	_, err = e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Big", Amount: crm.Money{Amount: 50_000_00}})
	var ve *crm.VetoError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "guard", ve.Hook)
	assert.ErrorIs(t, err, errTooBig)
	assert.ErrorIs(t, err, crm.ErrVetoed)

	co, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Umbrella"})
	require.NoError(t, err)
	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: " big ", CompanyID: co.ID, Amount: crm.Money{Amount: 50_000_00}})
	require.NoError(t, err)
	assert.Equal(t, "Umbrella: big", d.Name, "the enrichment is saved")
	got, err := e.ws.Deals().Get(e.ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, "Umbrella: big", got.Name)

	_, err = e.ws.Deals().Create(e.ctx, crm.Deal{Name: "x", CompanyID: co.ID, Source: "break"})
	assert.Equal(t, []string{"amount.amount"}, fieldErrors(t, err))

	// A panicking hook vetoes cleanly and the CRM keeps serving.
	require.NoError(t, h.BeforeContact.Bind("panics", 0, func(ctx context.Context, b *crm.Before[crm.Contact]) error {
		if b.New.FirstName == "Panic" {
			panic("boom")
		}
		return nil
	}))
	_, err = e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Panic"})
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "panics", ve.Hook)
	_, err = e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Calm"})
	require.NoError(t, err)

	// A hook that blocks past the write's deadline fails the write cleanly.
	release := make(chan struct{})
	defer close(release)
	require.NoError(t, h.BeforeCompany.Bind("slow", 0, func(ctx context.Context, b *crm.Before[crm.Company]) error {
		if b.New.Name == "Slow" {
			<-release
		}
		return nil
	}))
	ctx, cancel := context.WithTimeout(e.ctx, 50*time.Millisecond)
	defer cancel()
	_, err = e.ws.Companies().Create(ctx, crm.Company{Name: "Slow"})
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	n := 0
	for range e.ws.Companies().List(e.ctx, crm.ListOptions{}) {
		n++
	}
	assert.Equal(t, 1, n, "the slow company was not written")

	// Only the successful writes reached the outbox.
	assert.Equal(t, []crm.EventType{crm.CompanyCreated, crm.DealCreated, crm.ContactCreated}, types(changes(t, e, head)))
}

func TestAfterHooks(t *testing.T) {
	e := setup(t)
	var mu sync.Mutex
	var won []string
	e.crm.Hooks().After.BindFunc(func(ctx context.Context, ev *crm.Event) error {
		if ev.Type == crm.DealWon {
			mu.Lock()
			won = append(won, ev.RecordID)
			mu.Unlock()
		}
		return nil
	})
	e.crm.Hooks().After.BindFunc(func(ctx context.Context, ev *crm.Event) error { return errors.New("flaky") })
	e.crm.Hooks().After.BindFunc(func(ctx context.Context, ev *crm.Event) error { panic("worse") })

	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "W"})
	require.NoError(t, err, "failing after-hooks never fail the write")
	_, err = e.ws.Deals().Win(e.ctx, d.ID)
	require.NoError(t, err)
	mu.Lock()
	assert.Equal(t, []string{d.ID}, won)
	mu.Unlock()
	// 4 events (created; updated, stage_changed, won) x 2 failing handlers.
	assert.Equal(t, int64(8), e.crm.Stats().AfterHookFailures)
	got, err := e.ws.Deals().Get(e.ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, crm.StatusWon, got.Status)
}

// TestLifecycleEventsOfEveryKind walks a record of each kind through
// create, update, owner change, delete, restore and erase, and checks the
// events each step emits, with their before and after records.
func TestLifecycleEventsOfEveryKind(t *testing.T) {
	e := setup(t)
	ctx := e.ctx
	type ops struct {
		kind                    crm.Kind
		create                  func() (string, error)
		update, reown           func(id string) error
		del, restore, eraseFunc func(id string) error
	}
	co, err := e.ws.Contacts().Create(ctx, crm.Contact{FirstName: "Base"})
	require.NoError(t, err)
	all := []ops{
		{
			kind: crm.KindContact,
			create: func() (string, error) {
				c, err := e.ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ann"})
				return c.ID, err
			},
			update: func(id string) error {
				_, err := e.ws.Contacts().Update(ctx, id, func(c *crm.Contact) error { c.Title = "CTO"; return nil })
				return err
			},
			reown: func(id string) error {
				_, err := e.ws.Contacts().Update(ctx, id, func(c *crm.Contact) error { c.OwnerID = "u_2"; return nil })
				return err
			},
			del:       func(id string) error { return e.ws.Contacts().Delete(ctx, id) },
			restore:   func(id string) error { return e.ws.Contacts().Restore(ctx, id) },
			eraseFunc: func(id string) error { return e.ws.Contacts().Erase(ctx, id) },
		},
		{
			kind: crm.KindCompany,
			create: func() (string, error) {
				c, err := e.ws.Companies().Create(ctx, crm.Company{Name: "Initech"})
				return c.ID, err
			},
			update: func(id string) error {
				_, err := e.ws.Companies().Update(ctx, id, func(c *crm.Company) error { c.Industry = "software"; return nil })
				return err
			},
			reown: func(id string) error {
				_, err := e.ws.Companies().Update(ctx, id, func(c *crm.Company) error { c.OwnerID = "u_2"; return nil })
				return err
			},
			del:       func(id string) error { return e.ws.Companies().Delete(ctx, id) },
			restore:   func(id string) error { return e.ws.Companies().Restore(ctx, id) },
			eraseFunc: func(id string) error { return e.ws.Companies().Erase(ctx, id) },
		},
		{
			kind: crm.KindDeal,
			create: func() (string, error) {
				d, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "Renewal", Contacts: []crm.ContactRole{{ContactID: co.ID}}})
				return d.ID, err
			},
			update: func(id string) error {
				_, err := e.ws.Deals().Update(ctx, id, func(d *crm.Deal) error { d.Source = "referral"; return nil })
				return err
			},
			reown: func(id string) error {
				_, err := e.ws.Deals().Update(ctx, id, func(d *crm.Deal) error { d.OwnerID = "u_2"; return nil })
				return err
			},
			del:       func(id string) error { return e.ws.Deals().Delete(ctx, id) },
			restore:   func(id string) error { return e.ws.Deals().Restore(ctx, id) },
			eraseFunc: func(id string) error { return e.ws.Deals().Erase(ctx, id) },
		},
		{
			kind: crm.KindActivity,
			create: func() (string, error) {
				a, err := e.ws.Activities().Log(ctx, crm.Activity{Type: crm.ActivityCall, Subject: "Intro", ContactIDs: []string{co.ID}})
				return a.ID, err
			},
			update: func(id string) error {
				_, err := e.ws.Activities().Update(ctx, id, func(a *crm.Activity) error { a.Subject = "Intro call"; return nil })
				return err
			},
			reown: func(id string) error {
				_, err := e.ws.Activities().Update(ctx, id, func(a *crm.Activity) error { a.OwnerID = "u_2"; return nil })
				return err
			},
			del:       func(id string) error { return e.ws.Activities().Delete(ctx, id) },
			restore:   func(id string) error { return e.ws.Activities().Restore(ctx, id) },
			eraseFunc: func(id string) error { return e.ws.Activities().Erase(ctx, id) },
		},
	}
	for _, o := range all {
		t.Run(o.kind.String(), func(t *testing.T) {
			head, err := e.ws.OutboxHead(ctx)
			require.NoError(t, err)
			id, err := o.create()
			require.NoError(t, err)
			require.NoError(t, o.update(id))
			require.NoError(t, o.reown(id))
			require.NoError(t, o.del(id))
			require.NoError(t, o.restore(id))
			evs := changes(t, e, head)
			et := func(what string) crm.EventType { return crm.EventType(o.kind.String() + "." + what) }
			assert.Equal(t, []crm.EventType{
				et("created"), et("updated"), et("updated"), et("owner_assigned"), et("deleted"), et("restored"),
			}, types(evs))
			for _, ev := range evs {
				assert.Equal(t, id, ev.RecordID)
				assert.Equal(t, o.kind, ev.Kind)
				assert.Equal(t, "u_test", ev.Actor)
				assert.False(t, ev.At.IsZero())
				assert.NotNil(t, ev.After, ev.Type)
			}
			assert.Nil(t, evs[0].Before)
			assert.NotNil(t, evs[1].Before)
			require.Len(t, evs[1].Fields, 1, "the update names its one changed field")
			require.Len(t, evs[3].Fields, 1)
			assert.Equal(t, crm.FieldChange{Field: "owner_id", Old: "", New: "u_2"}, evs[3].Fields[0])

			// Erasing redacts every earlier event's data but keeps its
			// place; the erase event itself carries no record.
			require.NoError(t, o.eraseFunc(id))
			evs = changes(t, e, head)
			require.Equal(t, et("erased"), evs[len(evs)-1].Type)
			assert.Len(t, evs, 7)
			for _, ev := range evs {
				assert.Nil(t, ev.After, ev.Type)
				assert.Nil(t, ev.Before, ev.Type)
				assert.Nil(t, ev.Fields, ev.Type)
				assert.Equal(t, id, ev.RecordID)
			}
		})
	}
}

// TestEventPayloads checks the before and after records events carry, and
// the lost reason of a lost deal.
func TestEventPayloads(t *testing.T) {
	e := setup(t)
	head, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)
	co, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Hooli"})
	require.NoError(t, err)
	_, err = e.ws.Companies().Update(e.ctx, co.ID, func(c *crm.Company) error { c.Name = "Hooli XYZ"; return nil })
	require.NoError(t, err)
	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Box", CompanyID: co.ID})
	require.NoError(t, err)
	_, err = e.ws.Deals().Lose(e.ctx, d.ID, "went with a competitor")
	require.NoError(t, err)

	evs := changes(t, e, head)
	require.Equal(t, []crm.EventType{
		crm.CompanyCreated, crm.CompanyUpdated, crm.DealCreated,
		crm.DealUpdated, crm.DealStageChanged, crm.DealLost,
	}, types(evs))
	assert.Nil(t, evs[0].Before, "a created record has no before")
	prev, err := evs[1].Previous()
	require.NoError(t, err)
	rec, err := evs[1].Record()
	require.NoError(t, err)
	assert.Equal(t, "Hooli", prev.(*crm.Company).Name)
	assert.Equal(t, "Hooli XYZ", rec.(*crm.Company).Name)
	assert.Equal(t, []crm.FieldChange{{Field: "name", Old: "Hooli", New: "Hooli XYZ"}}, evs[1].Fields)

	lost := evs[5]
	rec, err = lost.Record()
	require.NoError(t, err)
	assert.Equal(t, crm.StatusLost, rec.(*crm.Deal).Status)
	assert.Equal(t, "went with a competitor", rec.(*crm.Deal).LostReason)
	var reason *crm.FieldChange
	for i := range lost.Fields {
		if lost.Fields[i].Field == "lost_reason" {
			reason = &lost.Fields[i]
		}
	}
	require.NotNil(t, reason, "the lost event names the reason among its changes")
	assert.Equal(t, "went with a competitor", reason.New)
}

func capDiscount(ctx context.Context, b *crm.Before[crm.Deal]) error {
	if b.New.Amount.Amount > 100_000_00 {
		return errors.New("deals over 100,000 need a director")
	}
	return nil
}

func TestHooksNarrowedToAWorkspaceAndNamedByTheirFunction(t *testing.T) {
	e := setup(t)
	other, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: "globex", Name: "Globex"})
	require.NoError(t, err)
	require.NoError(t, e.crm.Hooks().BeforeDeal.Bind("acme-cap", 0, crm.InWorkspace("acme", capDiscount)))
	t.Cleanup(func() { e.crm.Hooks().BeforeDeal.Unbind("acme-cap") })
	var seen []string
	after := e.crm.Hooks().After.BindFunc(crm.AfterInWorkspace("globex", func(ctx context.Context, ev *crm.Event) error {
		seen = append(seen, ev.Workspace)
		return nil
	}))
	t.Cleanup(func() { e.crm.Hooks().After.Unbind(after) })

	big := crm.Deal{Name: "Big", Amount: crm.Money{Amount: 500_000_00}}
	_, err = e.ws.Deals().Create(e.ctx, big)
	var veto *crm.VetoError
	require.ErrorAs(t, err, &veto, "acme's rule applies in acme")
	assert.Equal(t, "acme-cap", veto.Hook)
	_, err = other.Deals().Create(e.ctx, big)
	require.NoError(t, err, "and not in globex")

	// A handler bound with BindFunc is named after its function.
	id := e.crm.Hooks().BeforeDeal.BindFunc(capDiscount)
	_, err = other.Deals().Create(e.ctx, big)
	require.ErrorAs(t, err, &veto)
	assert.Equal(t, id, veto.Hook)
	assert.Regexp(t, `^capDiscount#\d+$`, veto.Hook)
	e.crm.Hooks().BeforeDeal.Unbind(id)
	assert.NotEmpty(t, seen)
	for _, ws := range seen {
		assert.Equal(t, "globex", ws, "the after-hook sees globex's events only")
	}
}

// Before.Validate checks a hook's changed copy of the record as the CRM
// checks the record after its hooks, and changes neither the copy nor the
// record: a hook acting for another can tell a change that breaks the
// record from a record that was invalid already.
func TestBeforeValidate(t *testing.T) {
	e := setup(t)
	var valid, broken error
	var newAfter, copyAfter crm.Deal
	require.NoError(t, e.crm.Hooks().BeforeDeal.Bind("checks", 0, func(ctx context.Context, b *crm.Before[crm.Deal]) error {
		valid = b.Validate(b.New)
		c := *b.New
		c.Name = " "
		c.Amount.Amount = -1
		broken = b.Validate(&c)
		newAfter, copyAfter = *b.New, c
		return nil
	}))
	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "  fine ", Amount: crm.Money{Amount: 100, Currency: "EUR"}})
	require.NoError(t, err)
	assert.Equal(t, "fine", d.Name)
	assert.NoError(t, valid)
	require.ErrorIs(t, broken, crm.ErrInvalid)
	var ve *crm.ValidationError
	require.ErrorAs(t, broken, &ve)
	assert.Equal(t, "deal", ve.Kind)
	assert.Equal(t, []string{"name", "amount.amount"}, fieldErrors(t, broken))
	assert.Equal(t, " ", copyAfter.Name, "the copy is not normalised")
	assert.Equal(t, int64(100), newAfter.Amount.Amount)
}
