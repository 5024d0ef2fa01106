package crm_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// fixture is a workspace with a bit of everything that owns index
// entries: unique and indexed custom fields, a composite index, companies,
// contacts (one soft-deleted), deals, activities and a purchase.
type fixture struct {
	ada, bob, cyd crm.Contact
	acme          crm.Company
	deal          crm.Deal
	call          crm.Activity
}

func populate(t testing.TB, ctx context.Context, ws *crm.Workspace) fixture {
	t.Helper()
	var f fixture
	_, err := ws.Fields().Define(ctx, crm.FieldDef{Object: crm.KindContact, Name: "badge", Type: crm.FieldText, Unique: true})
	require.NoError(t, err)
	_, err = ws.Fields().Define(ctx, crm.FieldDef{Object: crm.KindContact, Name: "tier", Type: crm.FieldSelect, Options: []string{"gold", "silver"}, Indexed: true})
	require.NoError(t, err)
	_, err = ws.Indexes().Define(ctx, crm.IndexDef{Object: crm.KindContact, Fields: []string{"lifecycle", "tags"}})
	require.NoError(t, err)
	f.acme, err = ws.Companies().Create(ctx, crm.Company{Name: "Acme", Domain: "acme.example", Industry: "software"})
	require.NoError(t, err)
	f.ada, err = ws.Contacts().Create(ctx, crm.Contact{
		FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada@acme.example", "ada@home.example"},
		Lifecycle: "customer", Tags: []string{"vip", "beta"}, OwnerID: "u_1",
		Companies: []crm.CompanyRole{{CompanyID: f.acme.ID}},
		Custom:    crm.Custom{"badge": "A-1", "tier": "gold"},
	})
	require.NoError(t, err)
	f.bob, err = ws.Contacts().Create(ctx, crm.Contact{FirstName: "Bob", Emails: []string{"bob@acme.example"}, Lifecycle: "lead", Tags: []string{"vip"}, Custom: crm.Custom{"badge": "B-2"}})
	require.NoError(t, err)
	f.cyd, err = ws.Contacts().Create(ctx, crm.Contact{FirstName: "Cyd", Emails: []string{"cyd@acme.example"}, Lifecycle: "lead"})
	require.NoError(t, err)
	require.NoError(t, ws.Contacts().Delete(ctx, f.cyd.ID))
	f.deal, err = ws.Deals().Create(ctx, crm.Deal{Name: "Big one", CompanyID: f.acme.ID, Amount: crm.Money{Amount: 120000, Currency: "EUR"},
		Contacts: []crm.ContactRole{{ContactID: f.ada.ID}}})
	require.NoError(t, err)
	f.call, err = ws.Activities().Log(ctx, crm.Activity{Type: crm.ActivityCall, Subject: "Kick-off", OccurredAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		ContactIDs: []string{f.ada.ID}, DealIDs: []string{f.deal.ID}})
	require.NoError(t, err)
	_, err = ws.Purchases().Record(ctx, crm.Purchase{ContactID: f.ada.ID, PurchasedAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		Items: []crm.LineItem{{Product: "Seat", Quantity: 2, UnitPrice: crm.Money{Amount: 5000, Currency: "EUR"}}}})
	require.NoError(t, err)
	return f
}

// dump returns every key and value of the store with prefix, in order.
func dump(t testing.TB, st store.Store, prefix []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, st.View(context.Background(), func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{Prefix: prefix}) {
			if err != nil {
				return err
			}
			out[string(e.Key)] = string(e.Value)
		}
		return nil
	}))
	return out
}

// findKey returns the one key of the store whose rendering starts with
// parts[0] (after the key space, or with it) and contains the other parts.
func findKey(t testing.TB, st store.Store, parts ...string) []byte {
	t.Helper()
	var found [][]byte
	for k := range dump(t, st, nil) {
		s := crm.KeyString([]byte(k))
		rest := s
		if i := strings.Index(s, ")"); strings.HasPrefix(s, "space(") && i > 0 {
			rest = s[i+1:]
		}
		if !strings.HasPrefix(rest, parts[0]) && !strings.HasPrefix(s, parts[0]) {
			continue
		}
		if !slices.ContainsFunc(parts[1:], func(p string) bool { return !strings.Contains(s, p) }) {
			found = append(found, []byte(k))
		}
	}
	require.Len(t, found, 1, "keys matching %q", parts)
	return found[0]
}

func rawSet(t testing.TB, st store.Store, k, v []byte) {
	t.Helper()
	require.NoError(t, st.Update(context.Background(), func(tx store.Tx) error { return tx.Set(k, v) }))
}

func rawDelete(t testing.TB, st store.Store, k []byte) {
	t.Helper()
	require.NoError(t, st.Update(context.Background(), func(tx store.Tx) error { return tx.Delete(k) }))
}

func TestCheckCleanWorkspace(t *testing.T) {
	e := setup(t)
	f := populate(t, e.ctx, e.ws)
	// Changes after creation move entries around; they must stay exact.
	_, err := e.ws.Contacts().Update(e.ctx, f.bob.ID, func(c *crm.Contact) error {
		c.Lifecycle, c.Tags, c.Custom["tier"] = "customer", []string{"beta"}, "silver"
		return nil
	})
	require.NoError(t, err)
	_, err = e.ws.Deals().Win(e.ctx, f.deal.ID)
	require.NoError(t, err)

	rep, err := e.ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Empty(t, rep.Issues)
	assert.Zero(t, rep.Drifted())
	assert.GreaterOrEqual(t, rep.Records, int64(8), "3 contacts, a company, a pipeline, a deal, an activity, a purchase")
	assert.Greater(t, rep.Entries, rep.Records)
	assert.Positive(t, rep.Counters)
}

func TestCheckReportsAndRepairsDrift(t *testing.T) {
	e := setup(t)
	f := populate(t, e.ctx, e.ws)
	ws := []byte(crm.KeyString(keySpace(t, e.st, "acme")))
	require.NoError(t, crm.FoldCounters(e.ws))
	before := dump(t, e.st, nil)

	// Corrupt the workspace in every way the check knows.
	email := findKey(t, e.st, string(ws)+"uc", "email/ada@home.example/")
	rawDelete(t, e.st, email)
	lifecycle := findKey(t, e.st, "ic", "f.lifecycle/customer/", f.ada.ID)
	rawDelete(t, e.st, lifecycle)
	timeline := findKey(t, e.st, "tc"+f.ada.ID, f.call.ID)
	rawDelete(t, e.st, timeline)
	bobEmail := findKey(t, e.st, "uc", "email/bob@acme.example/")
	rawSet(t, e.st, bobEmail, []byte(f.ada.ID)) // held by a record that does not claim it
	stale := append(bytes.Clone(findKey(t, e.st, "ic", "owner/u_1/", f.ada.ID)[:0]), findKey(t, e.st, "ic", "owner/u_1/", f.ada.ID)...)
	stale = append(stale[:len(stale)-len(f.ada.ID)-2], "con_ghost\x00\x01"...)
	rawSet(t, e.st, stale, []byte("con_ghost"))
	counter := findKey(t, e.st, "nc", "f.lifecycle/lead/")
	rawSet(t, e.st, counter, binary.BigEndian.AppendUint64(nil, 7))

	rep, err := e.ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	type got struct {
		problem crm.DriftProblem
		key     string
		record  string
	}
	var issues []got
	for _, d := range rep.Issues {
		issues = append(issues, got{d.Problem, string(d.Key), d.RecordID})
		assert.NotEmpty(t, d.Reason)
		assert.False(t, d.Repaired)
	}
	assert.ElementsMatch(t, []got{
		{crm.DriftMissing, string(email), f.ada.ID},
		{crm.DriftMissing, string(lifecycle), f.ada.ID},
		{crm.DriftMissing, string(timeline), f.call.ID},
		{crm.DriftWrongValue, string(bobEmail), f.bob.ID},
		{crm.DriftStale, string(stale), "con_ghost"},
		{crm.DriftCounter, string(counter), ""},
	}, issues)
	assert.Equal(t, int64(6), rep.Drifted())
	for _, d := range rep.Issues {
		switch d.Problem {
		case crm.DriftMissing:
			if d.RecordID == f.ada.ID && string(d.Key) == string(email) {
				assert.Equal(t, "email", d.Index)
				assert.Equal(t, f.ada.ID, string(d.Want))
				assert.Nil(t, d.Got)
				assert.Contains(t, d.String(), "missing "+string(ws)+"uc")
			}
		case crm.DriftStale:
			assert.Contains(t, d.Reason, "does not exist")
		case crm.DriftCounter:
			assert.Equal(t, "7", crm.CountString(d.Got))
			assert.Equal(t, "1", crm.CountString(d.Want), "only cyd and bob are leads, and cyd is deleted")
		}
	}
	// A check alone writes nothing.
	assert.Equal(t, rep.Drifted(), int64(len(rep.Issues)))

	rep, err = e.ws.Check(e.ctx, crm.CheckOptions{Repair: true})
	require.NoError(t, err)
	assert.Equal(t, int64(6), rep.Drifted())
	assert.Equal(t, int64(6), rep.Repaired)
	for _, d := range rep.Issues {
		assert.True(t, d.Repaired, d.String())
	}
	// The repaired store is byte for byte the store before the damage,
	// once the repair's counter deltas are folded.
	require.NoError(t, crm.FoldCounters(e.ws))
	assert.Equal(t, before, dump(t, e.st, nil))

	rep, err = e.ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, rep.Drifted(), rep.Issues)
}

func TestCheckConflictAndUnreadableAreLeftAlone(t *testing.T) {
	e := setup(t)
	f := populate(t, e.ctx, e.ws)
	// Rewrite Bob's stored record to claim Ada's address, as a buggy
	// writer or a hand edit could.
	bobKey := findKey(t, e.st, "rc"+f.bob.ID+"/")
	raw := dump(t, e.st, bobKey)[string(bobKey)]
	var rec map[string]any
	require.NoError(t, msgpack.Unmarshal([]byte(raw[1:]), &rec))
	rec["emails"] = []any{"ada@acme.example"}
	b, err := msgpack.Marshal(rec)
	require.NoError(t, err)
	rawSet(t, e.st, bobKey, append([]byte{raw[0]}, b...))
	// And make the purchase unreadable.
	pu := findKey(t, e.st, "rp")
	rawSet(t, e.st, pu, []byte("garbage"))

	rep, err := e.ws.Check(e.ctx, crm.CheckOptions{Repair: true})
	require.NoError(t, err)
	// The search index follows the rewritten record: bob's old address's
	// words are stale, ada's missing; both are repaired.
	counts, repaired := map[crm.DriftProblem]int64{}, int64(0)
	for _, d := range rep.Issues {
		if d.Index == "search" {
			assert.True(t, d.Repaired, d)
			continue
		}
		counts[d.Problem]++
		if d.Repaired {
			repaired++
		}
	}
	assert.Equal(t, int64(1), counts[crm.DriftConflict])
	assert.Equal(t, int64(1), counts[crm.DriftUnreadable])
	assert.Equal(t, int64(1), counts[crm.DriftStale], "bob's old address")
	assert.Equal(t, int64(1), repaired, "only the stale address is repaired")
	assert.Equal(t, int64(2), rep.Unrepaired())
	for _, d := range rep.Issues {
		switch d.Problem {
		case crm.DriftConflict:
			assert.Equal(t, f.bob.ID, d.RecordID)
			assert.Contains(t, d.Reason, f.ada.ID)
			assert.False(t, d.Repaired)
		case crm.DriftUnreadable:
			assert.Equal(t, string(pu), string(d.Key))
			assert.False(t, d.Repaired)
		}
	}
	// The purchase's entries stay: they belong to a record being mended.
	assert.NotEmpty(t, findKey(t, e.st, "ip", "contact/"+f.ada.ID+"/"))
	ada, err := e.ws.Contacts().GetByEmail(e.ctx, "ada@acme.example")
	require.NoError(t, err)
	assert.Equal(t, f.ada.ID, ada.ID)
}

func TestCheckMaxIssuesKeepsCountsAndRepairsAll(t *testing.T) {
	e := setup(t)
	populate(t, e.ctx, e.ws)
	before := dump(t, e.st, nil)
	// Drop every index entry of the contacts.
	for k := range before {
		if strings.HasPrefix(crm.KeyString([]byte(k)), crm.KeyString(keySpace(t, e.st, "acme"))+"ic") {
			rawDelete(t, e.st, []byte(k))
		}
	}
	rep, err := e.ws.Check(e.ctx, crm.CheckOptions{MaxIssues: 3, Repair: true})
	require.NoError(t, err)
	assert.Len(t, rep.Issues, 3)
	assert.Greater(t, rep.Counts[crm.DriftMissing], int64(10))
	assert.Equal(t, rep.Drifted(), rep.Repaired)
	assert.Equal(t, before, dump(t, e.st, nil))
}

func TestCheckUnknownWorkspace(t *testing.T) {
	e := setup(t)
	require.NoError(t, e.crm.DeleteWorkspace(e.ctx, "acme"))
	_, err := e.ws.Check(e.ctx, crm.CheckOptions{})
	assert.ErrorIs(t, err, crm.ErrNotFound)
}
