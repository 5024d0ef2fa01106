package crmhttp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCRUD(t *testing.T) {
	e := setup(t)
	c := e.admin(t)

	r := c.do("POST", "/contacts", map[string]any{"first_name": "Ada", "last_name": "Lovelace",
		"emails": []string{"ada@example.com"}, "address": map[string]any{"city": "London", "country": "GB"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var ada crm.Contact
	r.decode(t, &ada)
	require.NotEmpty(t, ada.ID)
	assert.Equal(t, "contacts/"+ada.ID, r.Header.Get("Location"))
	assert.Equal(t, fmt.Sprintf("%q", fmt.Sprint(ada.Version)), r.Header.Get("ETag"))

	r = c.do("GET", "/contacts/"+ada.ID, nil)
	require.Equal(t, http.StatusOK, r.Status)
	var got crm.Contact
	r.decode(t, &got)
	assert.Equal(t, "Ada", got.FirstName)
	assert.Equal(t, []string{"ada@example.com"}, got.Emails)
	tag := r.Header.Get("ETag")
	assert.Equal(t, http.StatusNotModified, c.do("GET", "/contacts/"+ada.ID, nil, "If-None-Match", tag).Status)

	// A merge patch: fields given change, objects merge, the rest stays.
	r = c.do("PATCH", "/contacts/"+ada.ID, map[string]any{"title": "Countess", "address": map[string]any{"city": "Marylebone"}})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.decode(t, &got)
	assert.Equal(t, "Countess", got.Title)
	assert.Equal(t, "Lovelace", got.LastName)
	assert.Equal(t, "Marylebone", got.Address.City)
	assert.Equal(t, "GB", got.Address.Country)
	assert.Equal(t, ada.Version+1, got.Version)
	assert.NotEqual(t, tag, r.Header.Get("ETag"))
	stored, err := e.WS.Contacts().Get(e.Ctx, ada.ID)
	require.NoError(t, err)
	assert.Equal(t, "Countess", stored.Title)

	// null clears.
	r = c.do("PATCH", "/contacts/"+ada.ID, `{"title": null}`)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	got = crm.Contact{}
	r.decode(t, &got)
	assert.Empty(t, got.Title)
	assert.Equal(t, "Ada", got.FirstName)

	assert.Equal(t, http.StatusNoContent, c.do("DELETE", "/contacts/"+ada.ID, nil).Status)
	assert.Equal(t, http.StatusNotFound, c.do("GET", "/contacts/"+ada.ID, nil).problem(t).Status)
	assert.Equal(t, http.StatusNotFound, c.do("GET", "/contacts/c_nope", nil).problem(t).Status)
	assert.Equal(t, http.StatusNotFound, c.do("PATCH", "/contacts/c_nope", `{"title":"x"}`).problem(t).Status)

	t.Run("companies and deals", func(t *testing.T) {
		c := e.admin(t)
		r := c.do("POST", "/companies", crm.Company{Name: "Globex", Domain: "globex.example"})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		var co crm.Company
		r.decode(t, &co)
		r = c.do("POST", "/deals", map[string]any{"name": "Pilot", "company_id": co.ID, "amount": map[string]any{"amount": 5000000}})
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		var d crm.Deal
		r.decode(t, &d)
		assert.Equal(t, "EUR", d.Amount.Currency)
		r = c.do("PATCH", "/deals/"+d.ID, map[string]any{"amount": map[string]any{"amount": 7500000}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		r.decode(t, &d)
		assert.Equal(t, int64(7500000), d.Amount.Amount)
		r = c.do("GET", "/companies/"+co.ID, nil)
		require.Equal(t, http.StatusOK, r.Status)
		r.decode(t, &co)
		assert.Equal(t, "globex.example", co.Domain)
	})
}

func TestListPaging(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	in := make([]crm.Contact, 120)
	for i := range in {
		in[i] = crm.Contact{FirstName: fmt.Sprintf("P%03d", i), Emails: []string{fmt.Sprintf("p%d@example.com", i)}}
	}
	_, err := e.WS.Contacts().CreateMany(e.Ctx, in)
	require.NoError(t, err)

	seen := map[string]bool{}
	var sizes []int
	after := ""
	for {
		r := c.do("GET", "/contacts?limit=50&after="+url.QueryEscape(after), nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var pg crm.Page[crm.Contact]
		r.decode(t, &pg)
		sizes = append(sizes, len(pg.Items))
		for _, ct := range pg.Items {
			assert.False(t, seen[ct.ID], "%s twice", ct.ID)
			seen[ct.ID] = true
		}
		if pg.Next == "" {
			break
		}
		after = pg.Next
	}
	assert.Equal(t, []int{50, 50, 20}, sizes)
	assert.Len(t, seen, 120)

	r := c.do("GET", "/contacts?sort=name&desc=true&limit=3", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var pg crm.Page[crm.Contact]
	r.decode(t, &pg)
	require.Len(t, pg.Items, 3)
	assert.Equal(t, "P119", pg.Items[0].FirstName)

	for name, q := range map[string]string{
		"bad cursor": "after=%21%21",
		"bad sort":   "sort=amount",
		"bad limit":  "limit=0",
		"bad desc":   "desc=maybe",
	} {
		t.Run(name, func(t *testing.T) {
			r := c.do("GET", "/contacts?"+q, nil)
			p := r.problem(t)
			assert.Equal(t, http.StatusBadRequest, p.Status, "%s", r.Body)
			assert.NotEmpty(t, p.Errors)
		})
	}
}

func TestWhere(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	var in []crm.Contact
	for i := range 30 {
		lc := "lead"
		if i%3 == 0 {
			lc = "customer"
		}
		in = append(in, crm.Contact{FirstName: fmt.Sprintf("W%02d", i), Lifecycle: lc})
	}
	_, err := e.WS.Contacts().CreateMany(e.Ctx, in)
	require.NoError(t, err)

	where := url.QueryEscape(`lifecycle = "customer"`)
	n, after := 0, ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		r := c.do("GET", "/contacts?limit=4&where="+where+"&after="+url.QueryEscape(after), nil)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var pg crm.Page[crm.Contact]
		r.decode(t, &pg)
		for _, ct := range pg.Items {
			assert.Equal(t, "customer", ct.Lifecycle)
			n++
		}
		if pg.Next == "" {
			break
		}
		after = pg.Next
	}
	assert.Equal(t, 10, n)

	t.Run("syntax error", func(t *testing.T) {
		r := c.do("GET", "/contacts?where="+url.QueryEscape(`lifecycle == "customer"`), nil)
		p := r.problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status)
		assert.Equal(t, 1, p.Line)
		assert.Equal(t, 11, p.Column)
		require.NotNil(t, p.Offset)
		assert.Equal(t, 10, *p.Offset)
		assert.NotEmpty(t, p.Hint)
	})
	t.Run("unknown field", func(t *testing.T) {
		p := c.do("GET", "/contacts?where="+url.QueryEscape(`shoe_size > 40`), nil).problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status)
		assert.Equal(t, []string{"shoe_size"}, fields(p))
	})
	t.Run("with sort", func(t *testing.T) {
		p := c.do("GET", "/contacts?sort=name&where="+where, nil).problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status)
	})
}

func TestIfMatch(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	r := c.do("POST", "/contacts", crm.Contact{FirstName: "Grace"})
	require.Equal(t, http.StatusCreated, r.Status)
	var g crm.Contact
	r.decode(t, &g)
	first := r.Header.Get("ETag")

	r = c.do("PATCH", "/contacts/"+g.ID, `{"title":"Rear Admiral"}`, "If-Match", first)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	second := r.Header.Get("ETag")

	// Someone saved over the version the client read: 412, nothing written.
	p := c.do("PATCH", "/contacts/"+g.ID, `{"title":"Commodore"}`, "If-Match", first).problem(t)
	assert.Equal(t, http.StatusPreconditionFailed, p.Status)
	p = c.do("DELETE", "/contacts/"+g.ID, nil, "If-Match", first).problem(t)
	assert.Equal(t, http.StatusPreconditionFailed, p.Status)
	got, err := e.WS.Contacts().Get(e.Ctx, g.ID)
	require.NoError(t, err)
	assert.Equal(t, "Rear Admiral", got.Title)
	assert.False(t, got.Deleted())

	assert.Equal(t, http.StatusBadRequest, c.do("PATCH", "/contacts/"+g.ID, `{}`, "If-Match", "7").problem(t).Status)
	assert.Equal(t, http.StatusBadRequest, c.do("PATCH", "/contacts/"+g.ID, `{}`, "If-Match", `"1", "2"`).problem(t).Status)
	assert.Equal(t, http.StatusOK, c.do("PATCH", "/contacts/"+g.ID, `{}`, "If-Match", "*").Status)
	assert.Equal(t, http.StatusNoContent, c.do("DELETE", "/contacts/"+g.ID, nil, "If-Match", second).Status)
}

func TestInvalidInput(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	bad := crm.Contact{FirstName: "X", Emails: []string{"not-an-address", "b@example.com"},
		Lifecycle: "zombie", PreferredChannel: "pigeon", Address: crm.Address{Country: "Atlantis"}}
	_, goErr := e.WS.Contacts().Create(e.Ctx, bad)
	var ve *crm.ValidationError
	require.ErrorAs(t, goErr, &ve)
	require.GreaterOrEqual(t, len(ve.Fields), 4)

	r := c.do("POST", "/contacts", bad)
	p := r.problem(t)
	assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
	want := make([]crmhttp.FieldProblem, len(ve.Fields))
	for i, f := range ve.Fields {
		want[i] = crmhttp.FieldProblem{Field: f.Field, Reason: f.Reason}
	}
	assert.Equal(t, want, p.Errors, "every field, as crm names it")
	pg, err := e.WS.Contacts().Page(e.Ctx, crm.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, pg.Items, "nothing of a rejected write is stored")

	// A value a unique index holds: 409, naming the field.
	require.Equal(t, http.StatusCreated, c.do("POST", "/contacts", crm.Contact{Emails: []string{"taken@example.com"}}).Status)
	p = c.do("POST", "/contacts", crm.Contact{Emails: []string{"TAKEN@example.com"}}).problem(t)
	assert.Equal(t, http.StatusConflict, p.Status)
	assert.Equal(t, []string{"emails[0]"}, fields(p))

	for name, tc := range map[string]struct {
		body   string
		ctype  string
		status int
		field  string
	}{
		"malformed":     {body: `{"first_name": `, status: 400},
		"not json":      {body: `first_name=Ada`, status: 400},
		"unknown field": {body: `{"first_nam": "Ada"}`, status: 400},
		"wrong type":    {body: `{"first_name": 5}`, status: 400, field: "first_name"},
		"two values":    {body: `{} {}`, status: 400},
		"empty":         {body: ``, status: 400},
		"media type":    {body: `first_name=Ada`, ctype: "application/x-www-form-urlencoded", status: 415},
	} {
		t.Run(name, func(t *testing.T) {
			var hdr []string
			if tc.ctype != "" {
				hdr = []string{"Content-Type", tc.ctype}
			}
			p := c.do("POST", "/contacts", tc.body, hdr...).problem(t)
			assert.Equal(t, tc.status, p.Status)
			if tc.field != "" {
				assert.Equal(t, []string{tc.field}, fields(p))
			}
		})
	}

	t.Run("too large", func(t *testing.T) {
		e := setup(t, crmhttp.WithMaxBodyBytes(1024))
		big := fmt.Sprintf(`{"first_name": "Ada", "title": %q}`, strings.Repeat("a", 2000))
		p := e.admin(t).do("POST", "/contacts", big).problem(t)
		assert.Equal(t, http.StatusRequestEntityTooLarge, p.Status)
	})
}
