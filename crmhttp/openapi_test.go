package crmhttp_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crmhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type openAPIDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct{ Title, Version string }
	Paths   map[string]map[string]struct {
		OperationID string `json:"operationId"`
		Summary     string
		Parameters  []struct {
			Name, In string
			Required bool
		}
		Responses map[string]struct{ Description string }
	}
	Components struct {
		Schemas map[string]any
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := setup(t)
	r := e.as(t, "", "").do("GET", "/openapi.json", nil) // served without authentication
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var doc openAPIDoc
	r.decode(t, &doc)
	assert.Equal(t, "3.1.0", doc.OpenAPI)
	assert.NotEmpty(t, doc.Info.Title)

	routes := crmhttp.Routes()
	ids := map[string]bool{}
	for _, rt := range routes {
		op, ok := doc.Paths[rt.Pattern][strings.ToLower(rt.Method)]
		if !assert.True(t, ok, "%s %s is not in the document", rt.Method, rt.Pattern) {
			continue
		}
		assert.Equal(t, rt.Summary, op.Summary)
		assert.False(t, ids[op.OperationID], "operationId %s twice", op.OperationID)
		ids[op.OperationID] = true
		assert.Contains(t, op.Responses, strconv.Itoa(rt.Status))
		for _, s := range rt.Errors {
			assert.Contains(t, op.Responses, strconv.Itoa(s))
		}
		var inPath []string
		for _, p := range op.Parameters {
			if p.In == "path" {
				assert.True(t, p.Required)
				inPath = append(inPath, p.Name)
			}
		}
		for _, w := range inPath {
			assert.Contains(t, rt.Pattern, "{"+w+"}")
		}
		assert.Equal(t, strings.Count(rt.Pattern, "{"), len(inPath), rt.Pattern)
		for _, name := range []string{rt.Request, rt.Response} {
			if name != "" {
				assert.Contains(t, doc.Components.Schemas, name)
			}
		}
	}
	for path, item := range doc.Paths {
		for method := range item {
			assert.True(t, slices.ContainsFunc(routes, func(rt crmhttp.Route) bool {
				return rt.Pattern == path && strings.ToLower(rt.Method) == method
			}), "%s %s is described but not in the table", method, path)
		}
	}
}

// TestServedRoutes checks that the handler serves every route of the table
// and nothing else.
func TestServedRoutes(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	for _, rt := range crmhttp.Routes() {
		if rt.Pattern == "/events" {
			continue // a stream: TestEvents
		}
		path := strings.NewReplacer("{id}", "x_404", "{kind}", "contact", "{name}", "x_404").Replace(rt.Pattern)
		r := c.do(rt.Method, path, "{}")
		if r.Header.Get("Content-Type") == "application/problem+json" {
			p := r.problem(t)
			assert.NotEqual(t, "urn:crmkit:problem:no-route", p.Type, "%s %s: %s", rt.Method, path, r.Body)
		}
	}
	p := c.do("GET", "/invoices", nil).problem(t)
	assert.Equal(t, http.StatusNotFound, p.Status)
	assert.Equal(t, "urn:crmkit:problem:no-route", p.Type)
	r := c.do("PUT", "/contacts/x", "{}")
	p = r.problem(t)
	assert.Equal(t, http.StatusMethodNotAllowed, p.Status)
	assert.ElementsMatch(t, []string{"GET", "PATCH", "DELETE"}, r.Header.Values("Allow"))
}
