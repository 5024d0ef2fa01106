package crm_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLongIDsAndCursorsAreRefused gives every read that takes an ID or a
// cursor one longer than any the CRM makes: each must answer at once with
// an error matching ErrInvalid, within its deadline, and the store must
// go on working (on Badger, such a cursor once froze the store).
func TestLongIDsAndCursorsAreRefused(t *testing.T) {
	e := setup(t)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	long := "con_" + strings.Repeat("\xff\x00x", 1000)
	cursor := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\xff", 3*store.MaxKeySize)))

	_, err = e.ws.Contacts().Get(ctx, long)
	assert.ErrorIs(t, err, crm.ErrInvalid, "Get")
	_, err = e.ws.Contacts().Update(ctx, long, func(*crm.Contact) error { return nil })
	assert.ErrorIs(t, err, crm.ErrInvalid, "Update")
	assert.ErrorIs(t, e.ws.Contacts().Delete(ctx, long), crm.ErrInvalid, "Delete")
	for _, err := range e.ws.History(ctx, crm.Ref{Kind: crm.KindContact, ID: long}) {
		assert.ErrorIs(t, err, crm.ErrInvalid, "History")
	}
	_, err = e.ws.Timeline(ctx, crm.Ref{Kind: crm.KindContact, ID: long}, "", 10)
	assert.ErrorIs(t, err, crm.ErrInvalid, "Timeline")
	_, err = e.ws.Timeline(ctx, crm.Ref{Kind: crm.KindContact, ID: c.ID}, cursor, 10)
	assert.ErrorIs(t, err, crm.ErrBadCursor, "Timeline cursor")
	for _, desc := range []bool{false, true} {
		_, err = e.ws.Contacts().Page(ctx, crm.ListOptions{After: cursor, Desc: desc})
		assert.ErrorIs(t, err, crm.ErrInvalid, "Page cursor, desc %v", desc)
	}
	_, err = e.ws.Query(crm.KindContact, nil).Page(ctx, crm.MemberOptions{After: cursor})
	assert.ErrorIs(t, err, crm.ErrInvalid, "Query cursor")

	// Cursors as long as a list makes, but pointing past every key, end
	// the list, forwards and backwards.
	edge := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\xff", store.MaxKeySize)))
	for _, desc := range []bool{false, true} {
		pg, err := e.ws.Contacts().Page(ctx, crm.ListOptions{After: edge, Desc: desc})
		require.NoError(t, err, "desc %v", desc)
		if desc {
			assert.Len(t, pg.Items, 1, "backwards from past the end: every contact")
		} else {
			assert.Empty(t, pg.Items)
		}
	}
	tl, err := e.ws.Timeline(ctx, crm.Ref{Kind: crm.KindContact, ID: c.ID}, edge, 10)
	require.NoError(t, err)
	assert.Len(t, tl.Items, 1, "the contact's creation")

	got, err := e.ws.Contacts().Get(ctx, c.ID)
	require.NoError(t, err, "the store still answers")
	assert.Equal(t, "Ada", got.FirstName)
}

func TestEmptyLinksAreRefused(t *testing.T) {
	e := setup(t)
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	_, err = e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityNote, Subject: "x", ContactIDs: []string{""}, CompanyIDs: []string{""}, DealIDs: []string{""}})
	assert.ElementsMatch(t, []string{"contact_ids[0]", "company_ids[0]", "deal_ids[0]"}, fieldErrors(t, err))
	_, err = e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityNote, Subject: "x", ContactIDs: []string{c.ID, ""}})
	assert.Equal(t, []string{"contact_ids[1]"}, fieldErrors(t, err))
	_, err = e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityNote, Subject: "x", ContactIDs: []string{"con_" + strings.Repeat("x", crm.MaxIDLength)}})
	assert.Equal(t, []string{"contact_ids[0]"}, fieldErrors(t, err))
	n := 0
	for _, err := range e.ws.Activities().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		n++
	}
	assert.Zero(t, n, "nothing was stored")
}

func TestNonFiniteLimitsAreRefused(t *testing.T) {
	e := setup(t)
	nan, inf := math.NaN(), math.Inf(1)
	_, err := e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "score", Type: crm.FieldNumber, Min: &nan, Max: &inf})
	assert.ElementsMatch(t, []string{"min", "max"}, fieldErrors(t, err))
	for d, err := range e.ws.Fields().List(e.ctx, crm.KindContact) {
		require.NoError(t, err)
		t.Errorf("field %s was defined", d.Name)
	}
}

// TestKeyedValuesHaveLimits gives fields whose values become part of a
// key values far past their limits: each is refused by name, before the
// store is reached, and nothing is written.
func TestKeyedValuesHaveLimits(t *testing.T) {
	e := setup(t)
	_, err := e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "code", Type: crm.FieldText, Unique: true})
	require.NoError(t, err)
	huge := strings.Repeat("x", 1<<20)
	cases := []struct {
		name  string
		c     crm.Contact
		field string
	}{
		{"1 MB email", crm.Contact{FirstName: "A", Emails: []string{huge + "@example.com"}}, "emails[0]"},
		{"1 MB external ID", crm.Contact{FirstName: "A", ExternalIDs: map[string]string{"erp": huge}}, "external_ids.erp"},
		{"4 KB unique custom text", crm.Contact{FirstName: "A", Custom: crm.Custom{"code": strings.Repeat("c", 4096)}}, "custom.code"},
		{"10,000 phones", crm.Contact{FirstName: "A", Phones: manyPhones(10000)}, "phones"},
		{"10,000 external IDs", crm.Contact{FirstName: "A", ExternalIDs: manyIDs(10000)}, "external_ids"},
	}
	for _, tc := range cases {
		_, err := e.ws.Contacts().Create(e.ctx, tc.c)
		assert.NotErrorIs(t, err, store.ErrKeyTooLarge, tc.name)
		assert.Contains(t, fieldErrors(t, err), tc.field, tc.name)
	}
	n := 0
	for _, err := range e.ws.Contacts().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		n++
	}
	assert.Zero(t, n)
	// At the limit, a list is fine.
	_, err = e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "A", Phones: manyPhones(100), ExternalIDs: manyIDs(100)})
	require.NoError(t, err)
}

func manyPhones(n int) []crm.Phone {
	out := make([]crm.Phone, n)
	for i := range out {
		out[i] = crm.Phone{Number: fmt.Sprintf("+49 30 %07d", i)}
	}
	return out
}

func manyIDs(n int) map[string]string {
	out := make(map[string]string, n)
	for i := range n {
		out[fmt.Sprintf("sys%d", i)] = fmt.Sprint(i)
	}
	return out
}
