package crm_test

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// events returns the types of the workspace's events after seq since.
func eventTypes(t *testing.T, e *env, since uint64) []string {
	t.Helper()
	var out []string
	for ev, err := range e.ws.Changes(e.ctx, since) {
		require.NoError(t, err)
		out = append(out, string(ev.Type))
	}
	return out
}

func TestUpdateCommitsSeveralRecordsTogether(t *testing.T) {
	e := setup(t)
	var co crm.Company
	var d crm.Deal
	err := e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		var err error
		if co, err = tx.Companies().Create(crm.Company{Name: "Globex"}); err != nil {
			return err
		}
		var ids []string
		for _, n := range []string{"Ada", "Grace"} {
			c, err := tx.Contacts().Create(crm.Contact{FirstName: n, Emails: []string{strings.ToLower(n) + "@globex.example"}, Companies: []crm.CompanyRole{{CompanyID: co.ID}}})
			if err != nil {
				return err
			}
			ids = append(ids, c.ID)
		}
		// Reads in the transaction see its own writes.
		got, err := tx.Contacts().Get(ids[1])
		if err != nil {
			return err
		}
		assert.Equal(t, "Grace", got.FirstName)
		d, err = tx.Deals().Create(crm.Deal{Name: "Globex renewal", CompanyID: co.ID, Amount: crm.Money{Amount: 1000}, Contacts: []crm.ContactRole{{ContactID: ids[0]}}})
		return err
	})
	require.NoError(t, err)

	got, err := e.ws.Deals().Get(e.ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, co.ID, got.CompanyID)
	assert.Equal(t, crm.Money{Amount: 1000, Currency: "EUR"}, got.Amount, "validation filled the workspace currency")
	n := 0
	for c, err := range e.ws.Contacts().ByCompany(e.ctx, co.ID) {
		require.NoError(t, err)
		assert.Equal(t, "u_test", c.CreatedBy)
		n++
	}
	assert.Equal(t, 2, n, "the contacts' index entries were written")
	types := eventTypes(t, e, 0)
	assert.Contains(t, types, "company.created")
	assert.Contains(t, types, "deal.created")
	var history []crm.Change
	for ch, err := range e.ws.History(e.ctx, crm.Ref{Kind: crm.KindDeal, ID: d.ID}) {
		require.NoError(t, err)
		history = append(history, ch)
	}
	require.Len(t, history, 1)
	assert.Equal(t, crm.OpCreated, history[0].Op)
}

func TestUpdateErrorWritesNothing(t *testing.T) {
	e := setup(t)
	head, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)
	boom := errors.New("boom")
	err = e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		if _, err := tx.Companies().Create(crm.Company{Name: "Initech"}); err != nil {
			return err
		}
		if err := tx.Space("notes").Set([]byte("k"), []byte("v")); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	for _, err := range e.ws.Companies().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		t.Fatal("a company of a failed transaction is visible")
	}
	assert.Empty(t, eventTypes(t, e, head))
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		n, err := rt.Count(crm.KindCompany, nil)
		assert.Zero(t, n, "the counter was not written")
		_, gerr := rt.Space("notes").Get([]byte("k"))
		assert.ErrorIs(t, gerr, crm.ErrNotFound)
		return err
	}))
}

func TestUpdateRefusedWriteLeavesNoTrace(t *testing.T) {
	e := setup(t)
	require.NoError(t, e.crm.Hooks().BeforeContact.Bind("no-spam", 0, func(ctx context.Context, b *crm.Before[crm.Contact]) error {
		if b.New.FirstName == "Spam" {
			return errors.New("no spam")
		}
		return nil
	}))
	err := e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		_, err := tx.Contacts().Create(crm.Contact{FirstName: "Bad", Emails: []string{"not an email"}})
		var ve *crm.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.True(t, ve.Has("emails[0]"), "%v", err)
		_, err = tx.Contacts().Create(crm.Contact{FirstName: "Spam"})
		require.ErrorIs(t, err, crm.ErrVetoed)
		_, err = tx.Contacts().Create(crm.Contact{FirstName: "Good", Emails: []string{"good@example.com"}})
		return err
	})
	require.NoError(t, err)
	var names []string
	for c, err := range e.ws.Contacts().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		names = append(names, c.FirstName)
	}
	assert.Equal(t, []string{"Good"}, names)
	_, err = e.ws.Contacts().GetByEmail(e.ctx, "good@example.com")
	require.NoError(t, err)
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		n, err := rt.Count(crm.KindContact, nil)
		assert.Equal(t, int64(1), n)
		return err
	}))
}

func TestUpdateDeleteRestoreAndVersions(t *testing.T) {
	e := setup(t)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		_, err := tx.Contacts().Update(c.ID, func(c *crm.Contact) error { c.LastName = "Lovelace"; return nil }, crm.IfVersion(c.Version+1))
		require.ErrorIs(t, err, crm.ErrConflict)
		u, err := tx.Contacts().Update(c.ID, func(c *crm.Contact) error { c.LastName = "Lovelace"; return nil }, crm.IfVersion(c.Version))
		require.NoError(t, err)
		assert.Equal(t, c.Version+1, u.Version)
		return tx.Contacts().Delete(c.ID)
	}))
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		got, err := rt.Contacts().Get(c.ID)
		require.NoError(t, err)
		assert.True(t, got.Deleted(), "Get returns soft-deleted records, marked")
		for c, err := range rt.Contacts().All() {
			require.NoError(t, err)
			t.Errorf("All streamed deleted contact %s", c.ID)
		}
		return nil
	}))
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		_, err := tx.Contacts().Update(c.ID, func(*crm.Contact) error { return nil })
		require.ErrorIs(t, err, crm.ErrDeleted)
		return tx.Contacts().Restore(c.ID)
	}))
	got, err := e.ws.Contacts().Get(e.ctx, c.ID)
	require.NoError(t, err)
	assert.False(t, got.Deleted())
	assert.Equal(t, "Lovelace", got.LastName)
}

func TestReadTxQueriesSegmentsAndHistory(t *testing.T) {
	e := setup(t)
	var ids []string
	for i, lc := range []string{"lead", "customer", "customer", "lead"} {
		c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: string(rune('A' + i)), Lifecycle: lc})
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	_, err := e.ws.Contacts().Update(e.ctx, ids[0], func(c *crm.Contact) error { c.Lifecycle = "customer"; return nil })
	require.NoError(t, err)
	dyn, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Customers", Object: crm.KindContact, Filter: `lifecycle = "customer"`})
	require.NoError(t, err)
	static, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: "Picked", Object: crm.KindContact, Static: true})
	require.NoError(t, err)
	require.NoError(t, e.ws.Segments().Add(e.ctx, static.ID, ids[3], ids[1]))
	require.NoError(t, e.ws.Contacts().Delete(e.ctx, ids[1]))

	expr, err := filter.Parse(`lifecycle = "customer"`)
	require.NoError(t, err)
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		n, err := rt.Count(crm.KindContact, expr)
		require.NoError(t, err)
		assert.Equal(t, int64(2), n, "ids[0] and ids[2]; ids[1] is deleted")
		assert.ElementsMatch(t, []string{ids[0], ids[2]}, collect(t, rt.Matching(crm.KindContact, expr)))

		seg, err := rt.Segment(dyn.ID)
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{ids[0], ids[2]}, collect(t, rt.Members(seg)))
		seg, err = rt.Segment(static.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{ids[3]}, collect(t, rt.Members(seg)), "deleted members are left out")
		_, err = rt.Segment("seg_missing")
		assert.ErrorIs(t, err, crm.ErrNotFound)

		bad, err := filter.Parse(`shoe_size > 3`)
		require.NoError(t, err)
		_, err = rt.Count(crm.KindContact, bad)
		assert.ErrorIs(t, err, filter.ErrInvalid)
		for _, err := range rt.Matching(crm.KindContact, bad) {
			assert.ErrorIs(t, err, filter.ErrInvalid)
		}

		var ops []crm.Op
		for ch, err := range rt.History(crm.Ref{Kind: crm.KindContact, ID: ids[0]}) {
			require.NoError(t, err)
			ops = append(ops, ch.Op)
		}
		assert.Equal(t, []crm.Op{crm.OpUpdated, crm.OpCreated}, ops, "newest first")
		var all []string
		for ch, err := range rt.AllHistory() {
			require.NoError(t, err)
			all = append(all, ch.Kind.String()+" "+string(ch.Op))
		}
		assert.Equal(t, []string{
			"contact created", "contact updated", // ids[0], oldest first
			"contact created", "contact deleted", "contact created", "contact created",
			"pipeline created", // the default pipeline
		}, all)
		s, err := rt.Schema(crm.KindContact)
		require.NoError(t, err)
		assert.NotNil(t, s)
		_, err = rt.Schema(crm.KindSegment)
		assert.ErrorIs(t, err, crm.ErrInvalid)
		return nil
	}))
}

func collect(t *testing.T, seq func(func(string, error) bool)) []string {
	t.Helper()
	var out []string
	for id, err := range seq {
		require.NoError(t, err)
		out = append(out, id)
	}
	return out
}

func TestSpaceKeepsAPackagesKeysPerWorkspace(t *testing.T) {
	e := setup(t)
	other, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: "globex", Name: "Globex"})
	require.NoError(t, err)
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		s := tx.Space("report")
		for _, k := range []string{"snap/2", "snap/1", "snap/3", "quota"} {
			if err := s.Set([]byte(k), []byte("v"+k)); err != nil {
				return err
			}
		}
		return s.Delete([]byte("snap/3"))
	}))
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		s := rt.Space("report")
		v, err := s.Get([]byte("quota"))
		require.NoError(t, err)
		assert.Equal(t, "vquota", string(v))
		var keys []string
		for e, err := range s.Scan(store.Range{Prefix: []byte("snap/"), Reverse: true}) {
			require.NoError(t, err)
			keys = append(keys, string(e.Key))
		}
		assert.Equal(t, []string{"snap/2", "snap/1"}, keys)
		assert.Error(t, s.Set([]byte("x"), nil), "a read transaction's space is read-only")
		_, err = rt.Space("automation").Get([]byte("quota"))
		assert.ErrorIs(t, err, crm.ErrNotFound, "spaces do not share keys")
		return nil
	}))
	require.NoError(t, other.View(e.ctx, func(rt *crm.ReadTx) error {
		_, err := rt.Space("report").Get([]byte("quota"))
		assert.ErrorIs(t, err, crm.ErrNotFound, "another workspace sees none of them")
		return nil
	}))
	err = e.ws.Update(e.ctx, func(tx *crm.Tx) error { return tx.Space("Bad Name").Set([]byte("k"), nil) })
	var ve *crm.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.True(t, ve.Has("name"))
}

// TestUpdateRetriesConflicts increments one counter in a space from many
// goroutines: every increment reads and writes the same key, so the
// transactions collide and are run again; none may be lost.
func TestUpdateRetriesConflicts(t *testing.T) {
	e := setup(t)
	const writers, each = 4, 10
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := e.ws.Update(e.ctx, func(tx *crm.Tx) error {
					s := tx.Space("counter")
					var n uint64
					v, err := s.Get([]byte("n"))
					switch {
					case err == nil:
						n = binary.BigEndian.Uint64(v)
					case !errors.Is(err, crm.ErrNotFound):
						return err
					}
					return s.Set([]byte("n"), binary.BigEndian.AppendUint64(nil, n+1))
				})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		v, err := rt.Space("counter").Get([]byte("n"))
		require.NoError(t, err)
		assert.Equal(t, uint64(writers*each), binary.BigEndian.Uint64(v))
		return nil
	}))
}

func TestEmitCustomAndSignalEvents(t *testing.T) {
	e := setup(t)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	task, err := e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityTask, Subject: "Call", ContactIDs: []string{c.ID}})
	require.NoError(t, err)
	for ev, err := range e.ws.Changes(e.ctx, 0) {
		require.NoError(t, err)
		assert.Equal(t, crm.OpCreated, ev.Op, ev.Type) // the contact's and the task's
	}
	head, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)
	require.NoError(t, e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		if err := tx.Emit(crm.Ref{Kind: crm.KindContact, ID: c.ID}, crm.CustomEvent+"vip.flagged"); err != nil {
			return err
		}
		tx.Attribute(crm.WithCause(crm.WithActor(e.ctx, "rule:r1"), "r1", 2))
		return tx.Emit(crm.Ref{Kind: crm.KindActivity, ID: task.ID}, crm.TaskDue)
	}))
	var got []crm.Event
	for ev, err := range e.ws.Changes(e.ctx, head) {
		require.NoError(t, err)
		got = append(got, ev)
	}
	require.Len(t, got, 2)
	assert.Equal(t, crm.EventType("custom.vip.flagged"), got[0].Type)
	assert.Equal(t, c.ID, got[0].RecordID)
	assert.Equal(t, "u_test", got[0].Actor)
	assert.Empty(t, got[0].Op, "no write caused it")
	assert.Equal(t, crm.TaskDue, got[1].Type)
	assert.Equal(t, crm.KindActivity, got[1].Kind)
	assert.Equal(t, "rule:r1", got[1].Actor, "Attribute moves the rest of the transaction to its context")
	assert.Equal(t, "r1", got[1].Rule)
	assert.Equal(t, 2, got[1].Depth)
	rec, err := got[1].Record()
	require.NoError(t, err)
	assert.Equal(t, "Call", rec.(*crm.Activity).Subject)

	for _, bad := range []crm.EventType{"vip.flagged", crm.CustomEvent + "no spaces", crm.ContactCreated, crm.CustomEvent} {
		err = e.ws.Update(e.ctx, func(tx *crm.Tx) error { return tx.Emit(crm.Ref{Kind: crm.KindContact, ID: c.ID}, bad) })
		assert.ErrorIs(t, err, crm.ErrInvalid, bad)
	}
	err = e.ws.Update(e.ctx, func(tx *crm.Tx) error {
		return tx.Emit(crm.Ref{Kind: crm.KindContact, ID: "con_missing"}, crm.CustomEvent+"x")
	})
	assert.ErrorIs(t, err, crm.ErrNotFound)
	err = e.ws.Update(e.ctx, func(tx *crm.Tx) error { return tx.Emit(crm.Ref{Kind: crm.KindSegment, ID: c.ID}, crm.CustomEvent+"x") })
	assert.ErrorIs(t, err, crm.ErrInvalid)
}

func TestTxRefusesOverlongIDs(t *testing.T) {
	e := setup(t)
	long := "con_" + strings.Repeat("x", crm.MaxIDLength)
	require.NoError(t, e.ws.View(e.ctx, func(rt *crm.ReadTx) error {
		_, err := rt.Contacts().Get(long)
		var ve *crm.ValidationError
		require.ErrorAs(t, err, &ve)
		assert.True(t, ve.Has("id"))
		for _, err := range rt.History(crm.Ref{Kind: crm.KindContact, ID: long}) {
			assert.ErrorIs(t, err, crm.ErrInvalid)
		}
		return nil
	}))
	err := e.ws.Update(e.ctx, func(tx *crm.Tx) error { return tx.Contacts().Delete(long) })
	assert.ErrorIs(t, err, crm.ErrInvalid)
}

func TestUpdateOnDeletedWorkspaceFails(t *testing.T) {
	e := setup(t)
	require.NoError(t, e.crm.DeleteWorkspace(e.ctx, "acme"))
	ran := false
	err := e.ws.Update(e.ctx, func(tx *crm.Tx) error { ran = true; return nil })
	assert.ErrorIs(t, err, crm.ErrNotFound)
	assert.False(t, ran)
}
