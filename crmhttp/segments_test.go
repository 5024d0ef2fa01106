package crmhttp_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFields(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	r := c.do("PUT", "/fields/contact/shoe_size", map[string]any{"type": "number", "label": "Shoe size"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var d crm.FieldDef
	r.decode(t, &d)
	assert.Equal(t, crm.KindContact, d.Object)
	assert.Equal(t, "shoe_size", d.Name)

	// Redefining with matching object and name changes the label.
	r = c.do("PUT", "/fields/contact/shoe_size", map[string]any{"object": "contact", "name": "shoe_size", "type": "number", "label": "Size"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)

	r = c.do("GET", "/fields/contacts", nil) // a kind's plural names it too
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var defs struct{ Items []crm.FieldDef }
	r.decode(t, &defs)
	require.Len(t, defs.Items, 1)
	assert.Equal(t, "Size", defs.Items[0].Label)

	// The field is usable at once.
	r = c.do("POST", "/contacts", map[string]any{"first_name": "Cinderella", "custom": map[string]any{"shoe_size": 36}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)

	t.Run("invalid", func(t *testing.T) {
		p := c.do("PUT", "/fields/contact/shoe_size", map[string]any{"name": "hat_size", "type": "number"}).problem(t)
		assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
		assert.Equal(t, []string{"name"}, fields(p))
		p = c.do("PUT", "/fields/contact/Bad-Name", map[string]any{"type": "wobbly"}).problem(t)
		assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
		assert.ElementsMatch(t, []string{"name", "type"}, fields(p))
	})
	t.Run("not found", func(t *testing.T) {
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/fields/segment", nil).problem(t).Status)
		assert.Equal(t, http.StatusNotFound, c.do("GET", "/fields/shoes", nil).problem(t).Status)
		assert.Equal(t, http.StatusNotFound, c.do("DELETE", "/fields/contact/hat_size", nil).problem(t).Status)
	})

	assert.Equal(t, http.StatusNoContent, c.do("DELETE", "/fields/contact/shoe_size", nil).Status)
	r = c.do("GET", "/fields/contact", nil)
	defs.Items = nil
	r.decode(t, &defs)
	assert.Empty(t, defs.Items)
}

func TestSegments(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	for _, ct := range []crm.Contact{{FirstName: "A", Lifecycle: "customer"}, {FirstName: "B", Lifecycle: "customer"},
		{FirstName: "C", Lifecycle: "customer"}, {FirstName: "D", Lifecycle: "lead"}} {
		_, err := e.WS.Contacts().Create(e.Ctx, ct)
		require.NoError(t, err)
	}

	r := c.do("POST", "/segments", crm.Segment{Name: "Customers", Object: crm.KindContact, Filter: `lifecycle = "customer"`})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var seg crm.Segment
	r.decode(t, &seg)
	require.NotEmpty(t, seg.ID)
	assert.Equal(t, "segments/"+seg.ID, r.Header.Get("Location"))

	r = c.do("GET", "/segments/"+seg.ID+"/count", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var n struct{ Count int64 }
	r.decode(t, &n)
	assert.Equal(t, int64(3), n.Count)

	var names []string
	after := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		r = c.do("GET", "/segments/"+seg.ID+"/members?limit=2&after="+url.QueryEscape(after), nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var pg crm.Page[crm.Contact]
		r.decode(t, &pg)
		for _, ct := range pg.Items {
			assert.Equal(t, "customer", ct.Lifecycle)
			names = append(names, ct.FirstName)
		}
		if pg.Next == "" {
			break
		}
		after = pg.Next
	}
	assert.ElementsMatch(t, []string{"A", "B", "C"}, names)

	r = c.do("PATCH", "/segments/"+seg.ID, map[string]any{"name": "Leads", "filter": `lifecycle = "lead"`})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.decode(t, &seg)
	assert.Equal(t, "Leads", seg.Name)
	r = c.do("GET", "/segments/"+seg.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = c.do("GET", "/segments/"+seg.ID+"/count", nil)
	r.decode(t, &n)
	assert.Equal(t, int64(1), n.Count)

	r = c.do("GET", "/segments", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var list struct{ Items []crm.Segment }
	r.decode(t, &list)
	require.Len(t, list.Items, 1)
	assert.Equal(t, seg.ID, list.Items[0].ID)

	t.Run("invalid", func(t *testing.T) {
		p := c.do("POST", "/segments", `{"name":"Things","object":"widget"}`).problem(t)
		assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
		assert.Contains(t, fields(p), "object")
		p = c.do("PATCH", "/segments/"+seg.ID, `{"object":"deal"}`).problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status)
		p = c.do("GET", "/segments/"+seg.ID+"/members?limit=0", nil).problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status)
	})
	t.Run("not found", func(t *testing.T) {
		for _, path := range []string{"/segments/s_nope", "/segments/s_nope/members", "/segments/s_nope/count"} {
			assert.Equal(t, http.StatusNotFound, c.do("GET", path, nil).problem(t).Status, path)
		}
		assert.Equal(t, http.StatusNotFound, c.do("PATCH", "/segments/s_nope", `{"name":"x"}`).problem(t).Status)
		assert.Equal(t, http.StatusNotFound, c.do("DELETE", "/segments/s_nope", nil).problem(t).Status)
	})

	assert.Equal(t, http.StatusNoContent, c.do("DELETE", "/segments/"+seg.ID, nil).Status)
	assert.Equal(t, http.StatusNotFound, c.do("GET", "/segments/"+seg.ID, nil).problem(t).Status)
}

func TestSegmentsAndFieldsAccess(t *testing.T) {
	e := setup(t)
	contacts, _ := withPolicy(t, e)
	bob := e.as(t, "bob", "rep")
	admin := e.as(t, "ada", "admin")

	p := bob.do("PUT", "/fields/contact/shoe_size", map[string]any{"type": "number"}).problem(t)
	assert.Equal(t, http.StatusForbidden, p.Status)
	r := admin.do("PUT", "/fields/contact/shoe_size", map[string]any{"type": "number"})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, http.StatusForbidden, bob.do("DELETE", "/fields/contact/shoe_size", nil).problem(t).Status)

	r = admin.do("POST", "/segments", crm.Segment{Name: "Leads", Object: crm.KindContact, Filter: `first_name CONTAINS "lead"`})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var seg crm.Segment
	r.decode(t, &seg)

	r = admin.do("GET", "/segments/"+seg.ID+"/members", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var pg crm.Page[crm.Contact]
	r.decode(t, &pg)
	assert.Len(t, pg.Items, 2)

	r = bob.do("GET", "/segments/"+seg.ID+"/members", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	pg = crm.Page[crm.Contact]{}
	r.decode(t, &pg)
	require.Len(t, pg.Items, 1)
	assert.Equal(t, contacts["bob"], pg.Items[0].ID)
	r = bob.do("GET", "/segments/"+seg.ID+"/count", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var n struct{ Count int64 }
	r.decode(t, &n)
	assert.Equal(t, int64(1), n.Count)

	// A rep reads segments but does not make them.
	assert.Equal(t, http.StatusForbidden, bob.do("POST", "/segments", crm.Segment{Name: "Mine", Object: crm.KindContact}).problem(t).Status)
}
