package crmhttp_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crmhttp"
)

// A validator for the subset of JSON Schema the OpenAPI document uses:
// type (one or a list), properties, required, additionalProperties, items,
// enum, minItems, maxItems, format date-time and date, and $ref into the
// document's components. Objects with properties and no
// additionalProperties are closed: a key the schema does not name is an
// error, so a response that grows a field its schema lacks fails.

// apiSchemas are the component schemas of the API's OpenAPI document.
var apiSchemas = sync.OnceValue(func() map[string]any {
	b, err := json.Marshal(crmhttp.OpenAPI(crmhttp.Routes()))
	if err != nil {
		panic(err)
	}
	var doc struct {
		Components struct{ Schemas map[string]any }
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		panic(err)
	}
	return doc.Components.Schemas
})

// validateJSON checks a JSON document against the named component schema
// and returns what does not fit, one line per problem.
func validateJSON(name string, body []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var errs []string
	validate(map[string]any{"$ref": "#/components/schemas/" + name}, v, "$", &errs)
	return errs
}

func validate(s map[string]any, v any, at string, errs *[]string) {
	fail := func(format string, args ...any) { *errs = append(*errs, at+": "+fmt.Sprintf(format, args...)) }
	if r, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(r, "#/components/schemas/")
		target, ok := apiSchemas()[name].(map[string]any)
		if !ok {
			fail("$ref %s names no schema", r)
			return
		}
		s = target
	}
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if got := jsonTypeOf(v); !slices.Contains(types, got) && !(got == "integer" && slices.Contains(types, "number")) {
			fail("is %s, not %s", got, strings.Join(types, " or "))
			return
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		fail("%v is not one of %v", v, enum)
	}
	switch x := v.(type) {
	case string:
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339Nano, x); err != nil {
				fail("%q is not a date-time", x)
			}
		case "date":
			if _, err := time.Parse(time.DateOnly, x); err != nil {
				fail("%q is not a date", x)
			}
		}
	case []any:
		if n, ok := s["maxItems"].(float64); ok && len(x) > int(n) {
			fail("has %d items, more than %v", len(x), n)
		}
		if n, ok := s["minItems"].(float64); ok && len(x) < int(n) {
			fail("has %d items, fewer than %v", len(x), n)
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, it := range x {
				validate(items, it, fmt.Sprintf("%s[%d]", at, i), errs)
			}
		}
	case map[string]any:
		props, hasProps := s["properties"].(map[string]any)
		for _, r := range asStrings(s["required"]) {
			if _, ok := x[r]; !ok {
				fail("lacks required %q", r)
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				validate(ps, x[k], at+"."+k, errs)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case map[string]any:
				validate(ap, x[k], at+"."+k, errs)
			case bool:
				if !ap {
					fail("has %q, which the schema does not allow", k)
				}
			case nil:
				if hasProps {
					fail("has %q, which the schema does not name", k)
				}
			}
		}
	}
}

func jsonTypeOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "number"
		}
		return "integer"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func asStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, x.(string))
		}
	}
	return out
}

// exchange is one request the test server answered.
type exchange struct {
	method, pattern, path string
	status                int
	contentType           string
	body                  []byte
}

// recording wraps the handler under test, keeping every answer for
// checkAnswers.
type recording struct {
	h  http.Handler
	mu sync.Mutex
	ex []exchange
}

func (rec *recording) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &captureWriter{ResponseWriter: w, status: http.StatusOK}
	rec.h.ServeHTTP(cw, r)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.ex = append(rec.ex, exchange{method: r.Method, pattern: r.Pattern, path: r.URL.Path, status: cw.status,
		contentType: w.Header().Get("Content-Type"), body: cw.body.Bytes()})
}

func (rec *recording) exchanges() []exchange {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.ex)
}

// captureWriter keeps a copy of what a handler writes; Unwrap lets
// http.ResponseController reach the server's writer (flushes, full
// duplex, deadlines).
type captureWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *captureWriter) WriteHeader(status int) {
	c.status = status
	c.ResponseWriter.WriteHeader(status)
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.body.Write(p)
	return c.ResponseWriter.Write(p)
}

func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// checkAnswers validates every JSON answer of rec against the schema the
// OpenAPI document gives it: the route's response for its success status,
// Problem for a problem. It returns the routes (method and pattern) that
// answered with success.
func checkAnswers(t testing.TB, rec *recording) map[string]bool {
	t.Helper()
	routes := map[string]crmhttp.Route{}
	for _, rt := range crmhttp.Routes() {
		routes[rt.Method+" "+rt.Pattern] = rt
	}
	ok := map[string]bool{}
	for _, x := range rec.exchanges() {
		mt, _, _ := mime.ParseMediaType(x.contentType)
		rt, known := routes[x.pattern]
		var schema string
		switch {
		case mt == "application/problem+json":
			schema = "Problem"
		case !known:
			continue // a path no route serves: its problem is checked above
		case x.status == rt.Status:
			ok[x.pattern] = true
			if mt != "application/json" || rt.Response == "OpenAPI" {
				continue // CSV, SVG, events, files: not JSON values
			}
			schema = rt.Response
		case x.status == http.StatusNotModified:
			continue
		default:
			t.Errorf("%s %s answered %d, which its route does not list as success", x.method, x.path, x.status)
			continue
		}
		for _, e := range validateJSON(schema, x.body) {
			t.Errorf("%s %s (%d) does not fit schema %s: %s\nbody: %.600s", x.method, x.path, x.status, schema, e, x.body)
		}
	}
	return ok
}
