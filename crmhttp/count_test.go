package crmhttp_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// count answers GET path and decodes its count.
func (c as) count(t *testing.T, path string) int64 {
	t.Helper()
	c.t = t
	r := c.do("GET", path, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var n struct{ Count *int64 }
	r.decode(t, &n)
	require.NotNil(t, n.Count, "%s", r.Body)
	return *n.Count
}

func TestCount(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	for _, ct := range []crm.Contact{{FirstName: "A", Lifecycle: "customer", Tags: []string{"vip"}},
		{FirstName: "B", Lifecycle: "customer"}, {FirstName: "C", Lifecycle: "lead"}} {
		_, err := e.WS.Contacts().Create(e.Ctx, ct)
		require.NoError(t, err)
	}
	gone, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: "D", Lifecycle: "customer"})
	require.NoError(t, err)
	require.NoError(t, e.WS.Contacts().Delete(e.Ctx, gone.ID))
	_, err = e.WS.Companies().Create(e.Ctx, crm.Company{Name: "Acme", Industry: "retail"})
	require.NoError(t, err)

	tests := []struct {
		name, path string
		want       int64
	}{
		{"all live contacts", "/contacts/count", 3},
		{"a filter", "/contacts/count?where=" + url.QueryEscape(`lifecycle = "customer"`), 2},
		{"a compound filter", "/contacts/count?where=" + url.QueryEscape(`lifecycle = "customer" AND tags CONTAINS "vip"`), 1},
		{"a negation", "/contacts/count?where=" + url.QueryEscape(`NOT lifecycle = "customer"`), 1},
		{"nothing matches", "/contacts/count?where=" + url.QueryEscape(`first_name = "Zed"`), 0},
		{"companies", "/companies/count?where=" + url.QueryEscape(`industry = "retail"`), 1},
		{"no deals", "/deals/count", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, c.count(t, tt.path))
		})
	}

	t.Run("a bad filter", func(t *testing.T) {
		p := c.do("GET", "/contacts/count?where="+url.QueryEscape(`lifecycle = `), nil).problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status)
		assert.Equal(t, []string{"where"}, fields(p))
		p = c.do("GET", "/contacts/count?where="+url.QueryEscape(`shoe_size > 3`), nil).problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status)
		assert.Equal(t, "urn:crmkit:problem:bad-filter", p.Type)
	})
}

func TestCountAccess(t *testing.T) {
	e := setup(t)
	withPolicy(t, e)
	// A rep counts the records they may read, as the Go API would.
	bob := e.as(t, "bob", "rep")
	assert.Equal(t, int64(1), bob.count(t, "/contacts/count"))
	assert.Equal(t, int64(1), bob.count(t, "/deals/count?where="+url.QueryEscape(`name CONTAINS "deal"`)))
	assert.Equal(t, int64(2), e.as(t, "rita", "read_only").count(t, "/contacts/count"))
	// Without a role, nothing may be read.
	p := e.as(t, "eve", "nobody").do("GET", "/contacts/count", nil).problem(t)
	assert.Equal(t, http.StatusForbidden, p.Status)
}
