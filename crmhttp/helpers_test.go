package crmhttp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmhttp"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/stretchr/testify/require"
)

// env is a CRM over the backend the test run selects, served over
// loopback HTTP. Its Authenticator takes the principal from the X-User and
// X-Roles headers, the workspace from X-Workspace (default "acme").
type env struct {
	*crmtest.Env
	srv *httptest.Server
}

func testAuth(r *http.Request) (string, crm.Principal, error) {
	user := r.Header.Get("X-User")
	if user == "" {
		return "", crm.Principal{}, errors.New("no user")
	}
	ws := r.Header.Get("X-Workspace")
	if ws == "" {
		ws = "acme"
	}
	p := crm.Principal{ID: user}
	if roles := r.Header.Get("X-Roles"); roles != "" {
		p.Roles = strings.Split(roles, ",")
	}
	return ws, p, nil
}

// setup serves a CRM for a test. In tests (not benchmarks) every JSON
// answer is checked against its schema in the OpenAPI document when the
// test ends (checkAnswers).
func setup(t testing.TB, opts ...crmhttp.Option) *env {
	t.Helper()
	e := crmtest.Setup(t)
	var h http.Handler = crmhttp.New(e.CRM, testAuth, opts...)
	if _, ok := t.(*testing.T); ok {
		rec := &recording{h: h}
		h = rec
		// Registered before the server's Close, so it runs after it:
		// every request has been answered by then.
		t.Cleanup(func() { checkAnswers(t, rec) })
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{Env: e, srv: srv}
}

// as is a client acting as one user.
type as struct {
	t     testing.TB
	e     *env
	user  string
	roles string
}

func (e *env) as(t testing.TB, user, roles string) as {
	return as{t: t, e: e, user: user, roles: roles}
}

// admin is the client of the tests without a policy.
func (e *env) admin(t testing.TB) as { return e.as(t, "u_test", "admin") }

// reply is an answer, read whole.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) decode(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

func (r reply) problem(t testing.TB) crmhttp.Problem {
	t.Helper()
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), "body: %s", r.Body)
	var p crmhttp.Problem
	r.decode(t, &p)
	require.Equal(t, r.Status, p.Status)
	return p
}

// do sends a request; body is JSON-encoded unless it is a string or nil.
// headers are name, value pairs.
func (c as) do(method, path string, body any, headers ...string) reply {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(c.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	require.NoError(c.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.user != "" {
		req.Header.Set("X-User", c.user)
		req.Header.Set("X-Roles", c.roles)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.e.srv.Client().Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func fields(p crmhttp.Problem) []string {
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}
