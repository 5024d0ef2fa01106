package crmhttp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
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
	// Every reference of the document names one of its schemas.
	var refs func(v any)
	refs = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				assert.Contains(t, doc.Components.Schemas, strings.TrimPrefix(r, "#/components/schemas/"), r)
			}
			for _, y := range x {
				refs(y)
			}
		case []any:
			for _, y := range x {
				refs(y)
			}
		}
	}
	var raw any
	r.decode(t, &raw)
	refs(raw)
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

// TestEveryRouteFitsItsSchema answers every route of the table once with
// success, and checks each answer against its schema (setup's
// checkAnswers does so for every test; here every route is sure to be
// among them).
func TestEveryRouteFitsItsSchema(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	rec := e.srv.Config.Handler.(*recording)
	// id answers a request that must succeed and returns the "id" of its
	// JSON answer, if any.
	id := func(method, path string, body any, headers ...string) string {
		t.Helper()
		r := c.do(method, path, body, headers...)
		require.Less(t, r.Status, 300, "%s %s: %s", method, path, r.Body)
		var v struct{ ID string }
		_ = json.Unmarshal(r.Body, &v)
		return v.ID
	}
	id("GET", "/openapi.json", nil)

	c1 := id("POST", "/contacts", map[string]any{"first_name": "Ada", "emails": []string{"ada@example.com"},
		"phones": []map[string]any{{"number": "+49 30 1234567"}}, "tags": []string{"vip"}, "custom": map[string]any{}})
	c2 := id("POST", "/contacts", map[string]any{"first_name": "Ada L.", "phones": []map[string]any{{"number": "+49 30 1234567"}}})
	co1 := id("POST", "/companies", map[string]any{"name": "Acme", "domain": "acme.example", "industry": "retail"})
	co2 := id("POST", "/companies", map[string]any{"name": "Acme", "industry": "retail"})
	d1 := id("POST", "/deals", map[string]any{"name": "Big", "amount": map[string]any{"amount": 100000, "currency": "EUR"},
		"close_date": "2026-03-20", "company_id": co1, "contacts": []map[string]any{{"contact_id": c1}}, "owner_id": "u_test"})
	d2 := id("POST", "/deals", map[string]any{"name": "Small", "amount": map[string]any{"amount": 500, "currency": "EUR"}})
	for _, k := range []string{"contacts", "companies", "deals"} {
		id("GET", "/"+k, nil)
		id("GET", "/"+k+"/count", nil)
	}
	id("GET", "/contacts/count?where="+url.QueryEscape(`tags CONTAINS "vip"`), nil)
	id("POST", "/contacts/batch", []map[string]any{{"first_name": "Grace"}, {"first_name": "Bad", "emails": []string{"nope"}}})
	id("POST", "/companies/batch", []map[string]any{{"name": "Initech"}})
	id("POST", "/deals/batch", []map[string]any{{"name": "Third"}})
	for k, rid := range map[string]string{"contacts": c1, "companies": co1, "deals": d1} {
		id("GET", "/"+k+"/"+rid, nil)
		id("PATCH", "/"+k+"/"+rid, `{"custom": {}}`)
		id("GET", "/"+k+"/"+rid+"/timeline", nil)
	}
	id("POST", "/deals/"+d1+"/move", map[string]any{"stage": "Proposal"})
	id("POST", "/deals/"+d1+"/win", nil)
	id("POST", "/deals/"+d2+"/lose", map[string]any{"reason": "price"})

	a := id("POST", "/activities", map[string]any{"type": "task", "subject": "Call", "contact_ids": []string{c1},
		"due_at": "2026-03-10T09:00:00Z", "assignee_id": "u_test"})
	id("POST", "/activities", map[string]any{"type": "call", "subject": "Called", "deal_ids": []string{d1}, "duration": 60e9})
	id("GET", "/activities", nil)
	id("GET", "/activities/"+a, nil)
	id("PATCH", "/activities/"+a, `{"body": "about the offer"}`)
	id("POST", "/activities/"+a+"/complete", map[string]any{"done": true})

	p := id("POST", "/purchases", map[string]any{"contact_id": c1, "company_id": co1,
		"items": []map[string]any{{"product": "Widget", "quantity": 2, "unit_price": map[string]any{"amount": 150, "currency": "EUR"},
			"discount": map[string]any{"amount": 10, "currency": "EUR"}}}})
	id("GET", "/purchases", nil)
	id("GET", "/purchases/"+p, nil)
	id("PATCH", "/purchases/"+p, `{"payment_method": "card"}`)

	id("GET", "/duplicates?kind=contacts", nil)
	id("GET", "/duplicates?kind=companies", nil)
	id("POST", "/contacts/"+c1+"/merge", map[string]any{"from": c2})
	id("POST", "/companies/"+co1+"/merge", map[string]any{"from": co2})

	id("POST", "/import/contacts", "first_name,emails\nLinus,linus@example.com\nBad,nope\n", "Content-Type", "text/csv")
	id("GET", "/export/contacts", nil)

	pl := id("POST", "/pipelines", map[string]any{"name": "Renewals", "stages": []map[string]any{
		{"name": "Open", "probability": 20, "kind": "open"}, {"name": "Won", "probability": 100, "kind": "won"},
		{"name": "Lost", "probability": 0, "kind": "lost"}}})
	id("GET", "/pipelines", nil)
	id("GET", "/pipelines/"+pl, nil)
	id("PATCH", "/pipelines/"+pl, `{"name": "Renewals 2026"}`)

	id("PUT", "/fields/contact/score", map[string]any{"type": "number", "label": "Score"})
	id("GET", "/fields/contact", nil)

	s := id("POST", "/segments", map[string]any{"name": "VIPs", "object": "contact", "filter": `tags CONTAINS "vip"`})
	id("GET", "/segments", nil)
	id("GET", "/segments/"+s, nil)
	id("PATCH", "/segments/"+s, map[string]any{"name": "Very important"})
	id("GET", "/segments/"+s+"/members", nil)
	id("GET", "/segments/"+s+"/count", nil)

	for _, path := range []string{"/reports/pipeline?group=owner", "/reports/forecast?from=2026-03-01&to=2026-04-01",
		"/reports/conversion?group=owner", "/reports/lead-conversion?group=month", "/reports/churn?from=2026-01-01&to=2026-04-01",
		"/reports/revenue?group=product", "/reports/operations"} {
		id("GET", path, nil)
	}
	id("GET", "/workspace", nil)
	id("PATCH", "/workspace", map[string]any{"time_zone": "Europe/Berlin"})
	id("GET", "/search?q=ada", nil)

	id("DELETE", "/segments/"+s, nil)
	id("DELETE", "/fields/contact/score", nil)
	id("DELETE", "/purchases/"+p, nil)
	id("DELETE", "/activities/"+a, nil)
	for k, rid := range map[string]string{"contacts": c1, "companies": co1, "deals": d2} {
		id("DELETE", "/"+k+"/"+rid, nil)
	}

	ok := checkAnswers(t, rec)
	for _, rt := range crmhttp.Routes() {
		if rt.Pattern == "/events" {
			continue // a stream that does not end by itself: TestEvents
		}
		assert.True(t, ok[rt.Method+" "+rt.Pattern], "%s %s was not answered with success", rt.Method, rt.Pattern)
	}
}

func TestSchemaValidator(t *testing.T) {
	tests := []struct {
		name, schema, body string
		problems           int
	}{
		{"fits", "Count", `{"count": 3}`, 0},
		{"a wrong type", "Count", `{"count": "3"}`, 1},
		{"a fraction for an integer", "Count", `{"count": 3.5}`, 1},
		{"a missing property", "Count", `{}`, 1},
		{"a property the schema does not name", "Count", `{"count": 3, "total": 4}`, 1},
		{"a bad date-time", "Segment", `{"id": "s", "name": "n", "object": "contact", "created_at": "yesterday", "updated_at": "2026-03-02T09:00:00Z"}`, 1},
		{"nested through a $ref", "BatchResults", `{"items": [{"index": 0, "status": 422, "problem": {"type": "t", "title": "t"}}], "created": 0, "failed": 1}`, 1},
		{"null where the Go type can be nil", "FieldDefs", `{"items": null}`, 0},
		{"a number for a string", "StageMove", `{"stage": 7}`, 1},
		{"an item of an array", "Duplicates", `{"items": [{"kind": "contact", "a": "x", "b": "y", "score": "high", "reasons": []}]}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Len(t, validateJSON(tt.schema, []byte(tt.body)), tt.problems, "%v", validateJSON(tt.schema, []byte(tt.body)))
		})
	}
}
