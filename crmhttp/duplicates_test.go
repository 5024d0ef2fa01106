package crmhttp_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDuplicatesAndMerge(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	var ids []string
	for i, name := range []string{"Ada", "Ada L.", "A. Lovelace"} {
		ct, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: name, Emails: []string{[]string{"ada@one.example", "al@two.example", "lovelace@three.example"}[i]},
			Phones: []crm.Phone{{Number: "+49 30 1234567"}}})
		require.NoError(t, err)
		ids = append(ids, ct.ID)
	}
	_, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: "Grace", Phones: []crm.Phone{{Number: "+1 212 555 0100"}}})
	require.NoError(t, err)

	// One pair a page, three pages: every pair of the three.
	var pairs [][2]string
	after := ""
	for n := 0; ; n++ {
		require.Less(t, n, 10)
		r := c.do("GET", "/duplicates?kind=contacts&limit=1&after="+url.QueryEscape(after), nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var pg crmhttp.Duplicates
		r.decode(t, &pg)
		for _, d := range pg.Items {
			assert.Equal(t, crm.KindContact, d.Kind)
			assert.NotEmpty(t, d.Reasons)
			pairs = append(pairs, [2]string{d.A, d.B})
		}
		if pg.Next == "" {
			break
		}
		after = pg.Next
	}
	assert.ElementsMatch(t, [][2]string{{ids[0], ids[1]}, {ids[0], ids[2]}, {ids[1], ids[2]}}, pairs)

	r := c.do("GET", "/duplicates?kind=companies", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var none crmhttp.Duplicates
	r.decode(t, &none)
	assert.Empty(t, none.Items)

	// Merge the newest into the oldest, keeping the newer first name.
	r = c.do("POST", "/contacts/"+ids[0]+"/merge", map[string]any{"from": ids[2], "fields": map[string]string{"first_name": "merged"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var got crm.Contact
	r.decode(t, &got)
	assert.Equal(t, ids[0], got.ID)
	assert.Equal(t, "A. Lovelace", got.FirstName)
	assert.Len(t, got.Emails, 2)
	assert.NotEmpty(t, r.Header.Get("ETag"))
	p := c.do("GET", "/contacts/"+ids[2], nil).problem(t)
	assert.Equal(t, http.StatusNotFound, p.Status, "the merged record is gone")

	t.Run("invalid", func(t *testing.T) {
		tests := []struct {
			name, path string
			body       any
			status     int
			field      string
		}{
			{"no from", "/contacts/" + ids[0] + "/merge", map[string]any{}, http.StatusUnprocessableEntity, "from"},
			{"a bad keep", "/contacts/" + ids[0] + "/merge", map[string]any{"from": ids[1], "fields": map[string]string{"first_name": "both"}},
				http.StatusUnprocessableEntity, "fields.first_name"},
			{"an unknown field", "/contacts/" + ids[0] + "/merge", map[string]any{"into": ids[1]}, http.StatusBadRequest, ""},
			{"a missing record", "/contacts/" + ids[0] + "/merge", map[string]any{"from": "con_nope"}, http.StatusNotFound, ""},
			{"a missing survivor", "/companies/com_nope/merge", map[string]any{"from": "com_other"}, http.StatusNotFound, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c.t = t
				p := c.do("POST", tt.path, tt.body).problem(t)
				assert.Equal(t, tt.status, p.Status, "%+v", p)
				if tt.field != "" {
					assert.Contains(t, fields(p), tt.field)
				}
			})
		}
		c.t = t
		for _, q := range []string{"kind=deals", "", "kind=contacts&min_score=2", "kind=contacts&after=%21"} {
			p := c.do("GET", "/duplicates?"+q, nil).problem(t)
			assert.Equal(t, http.StatusBadRequest, p.Status, q)
		}
	})
}

func TestMergeAccess(t *testing.T) {
	e := setup(t)
	withPolicy(t, e)
	sys := crm.As(e.Ctx, crm.System())
	var ids []string
	for range 2 {
		ct, err := e.WS.Contacts().Create(sys, crm.Contact{FirstName: "Twin", OwnerID: "bob", Phones: []crm.Phone{{Number: "+49 30 7654321"}}})
		require.NoError(t, err)
		ids = append(ids, ct.ID)
	}
	bob := e.as(t, "bob", "rep")
	// A rep sees the pairs of their own records, and may not merge (erase).
	r := bob.do("GET", "/duplicates?kind=contacts", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var pg crmhttp.Duplicates
	r.decode(t, &pg)
	assert.Len(t, pg.Items, 1)
	p := bob.do("POST", "/contacts/"+ids[0]+"/merge", map[string]any{"from": ids[1]}).problem(t)
	assert.Equal(t, http.StatusForbidden, p.Status)
	r = e.as(t, "ann", "rep").do("GET", "/duplicates?kind=contacts", nil)
	pg = crmhttp.Duplicates{}
	r.decode(t, &pg)
	assert.Empty(t, pg.Items, "another's records are not shown")
	p = e.as(t, "eve", "nobody").do("GET", "/duplicates?kind=contacts", nil).problem(t)
	assert.Equal(t, http.StatusForbidden, p.Status)

	r = e.as(t, "ada", "admin").do("POST", "/contacts/"+ids[0]+"/merge", map[string]any{"from": ids[1]})
	assert.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
}
