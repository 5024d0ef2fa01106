package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/examples/internal/mavencrm"
)

func TestSeedRunsOnce(t *testing.T) {
	con := startConsole(t)
	ctx := crm.As(context.Background(), crm.System())
	count := func() int64 {
		n, err := con.ws.Query(crm.KindDeal, filter.Where("status").IsSet()).Count(ctx)
		require.NoError(t, err)
		return n
	}
	before := count()
	require.Positive(t, before)
	_, err := seed(ctx, con.crm, mavencrm.Dir())
	require.NoError(t, err)
	assert.Equal(t, before, count(), "a second start finds the demo workspace and adds nothing")
}

func TestLogIn(t *testing.T) {
	con := startConsole(t)
	get := func(path, cookie string) int {
		req, _ := http.NewRequest("GET", con.url+path, nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: cookieName, Value: cookie})
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, get("/api/deals", ""), "no log-in")
	assert.Equal(t, http.StatusUnauthorized, get("/api/deals", "mallory"), "no such demo user")
	assert.Equal(t, http.StatusOK, get("/api/deals", "anna"))

	post := func(body string) *http.Response {
		res, err := http.Post(con.url+"/session", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	assert.Equal(t, http.StatusUnprocessableEntity, post(`{"id":"mallory"}`).StatusCode)
	assert.Equal(t, http.StatusBadRequest, post(`not json`).StatusCode)
	res := post(`{"id":"cecily"}`)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Len(t, res.Cookies(), 1)
	assert.Equal(t, "cecily", res.Cookies()[0].Value)
	assert.True(t, res.Cookies()[0].HttpOnly)
}

func TestServesTheUI(t *testing.T) {
	con := startConsole(t)
	for path, typ := range map[string]string{"/": "text/html", "/app.js": "javascript", "/style.css": "text/css"} {
		res, err := http.Get(con.url + path)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Contains(t, res.Header.Get("Content-Type"), typ, path)
	}
}
