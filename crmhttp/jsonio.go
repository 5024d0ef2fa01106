package crmhttp

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// decodeBody reads the request's JSON body into v, refusing fields v does
// not have and anything after the value.
func (c *call) decodeBody(v any) error {
	if ct := c.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return &httpError{Problem{Type: typeMediaType, Title: "Unsupported media type",
				Status: http.StatusUnsupportedMediaType, Detail: "the body must be application/json, not " + ct}}
		}
	}
	if c.r.Body == nil {
		return badRequest("the body is empty")
	}
	dec := json.NewDecoder(c.r.Body)
	dec.DisallowUnknownFields()
	if _, ok := v.(*map[string]any); ok {
		dec.UseNumber() // a merge patch's numbers go on as written
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return err
		}
		return badRequest("the body holds more than one JSON value")
	}
	return nil
}

// jsonError turns a decoding error into its answer: the typed errors of
// encoding/json map by type, the others (an unknown field, a value a
// type's UnmarshalJSON refuses) are the body's fault.
func jsonError(err error) error {
	var (
		mb  *http.MaxBytesError
		se  *json.SyntaxError
		jte *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("the body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the body ends in the middle of its JSON")
	case errors.As(err, &mb), errors.As(err, &se), errors.As(err, &jte):
		return err
	}
	return badRequest("the body: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// writeJSON answers with v as JSON.
func (c *call) writeJSON(status int, v any) error {
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(status)
	return json.NewEncoder(c.w).Encode(v)
}

// writeRecord answers with one record and its version as entity tag; a
// GET whose If-None-Match names that version gets 304.
func writeRecord[T any](c *call, status int, rec *T) error {
	tag := etag(crm.MetaOf(rec).Version)
	c.w.Header().Set("ETag", tag)
	if c.r.Method == http.MethodGet && noneMatch(c.r.Header.Values("If-None-Match"), tag) {
		c.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return c.writeJSON(status, rec)
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

func noneMatch(values []string, tag string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == tag || t == "*" {
				return true
			}
		}
	}
	return false
}

// parseIfMatch reads the version an If-Match header pins: nil without
// one or for "*" (any current record), else the one version it names.
func parseIfMatch(values []string) (*int64, error) {
	if len(values) == 0 {
		return nil, nil
	}
	v := strings.TrimSpace(strings.Join(values, ","))
	if v == "*" {
		return nil, nil
	}
	if strings.Contains(v, ",") {
		return nil, badParam("If-Match", "names more than one version")
	}
	if strings.HasPrefix(v, "W/") {
		return nil, badParam("If-Match", "takes a strong entity tag, not a weak one")
	}
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	if err != nil || n < 0 || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, badParam("If-Match", `is not an entity tag of this API ("7")`)
	}
	return &n, nil
}

// updateOpts pins the version If-Match names.
func (c *call) updateOpts() []crm.UpdateOption {
	if c.ifMatch == nil {
		return nil
	}
	return []crm.UpdateOption{crm.IfVersion(*c.ifMatch)}
}

// intParam reads an integer query parameter between lo and hi; def when
// it is absent.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badParam(name, "must be a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	}
	return n, nil
}

// boolParam reads a true/false query parameter, false when absent.
func boolParam(q url.Values, name string) (bool, error) {
	s := q.Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badParam(name, "must be true or false")
	}
	return b, nil
}
