package crmhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
)

// Problem is an error answer: an RFC 9457 problem details object, sent as
// application/problem+json.
type Problem struct {
	// Type names the kind of problem (a URN of this package, such as
	// "urn:crmkit:problem:validation").
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Errors lists every failing field of invalid input.
	Errors []FieldProblem `json:"errors,omitempty"`
	// Line, Column and Offset locate a filter's syntax error (Column in
	// characters, Offset in bytes); Hint says what was probably meant.
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Offset *int   `json:"offset,omitempty"`
	Hint   string `json:"hint,omitempty"`
}

// FieldProblem is one failing field of a Problem: the field's name as in
// the JSON form of the record ("emails[1]", "custom.score") and why.
type FieldProblem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Problem types.
const (
	typeValidation    = "urn:crmkit:problem:validation"
	typeBadRequest    = "urn:crmkit:problem:bad-request"
	typeBadFilter     = "urn:crmkit:problem:bad-filter"
	typeNotFound      = "urn:crmkit:problem:not-found"
	typeForbidden     = "urn:crmkit:problem:forbidden"
	typeUnauthorized  = "urn:crmkit:problem:unauthorized"
	typeConflict      = "urn:crmkit:problem:conflict"
	typeDuplicate     = "urn:crmkit:problem:duplicate"
	typePrecondition  = "urn:crmkit:problem:precondition-failed"
	typeTooLarge      = "urn:crmkit:problem:too-large"
	typeMediaType     = "urn:crmkit:problem:unsupported-media-type"
	typeNotAcceptable = "urn:crmkit:problem:not-acceptable"
	typeVetoed        = "urn:crmkit:problem:vetoed"
	typeTimeout       = "urn:crmkit:problem:timeout"
	typeInternal      = "urn:crmkit:problem:internal"
	typeNoRoute       = "urn:crmkit:problem:no-route"
	typeIdempotency   = "urn:crmkit:problem:idempotency"
)

var (
	errUnauthorized = &httpError{Problem{Type: typeUnauthorized, Title: "Unauthorized", Status: http.StatusUnauthorized,
		Detail: "the request is not authenticated"}}
	errNoWorkspace = &httpError{Problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound,
		Detail: "the workspace does not exist"}}
)

// httpError is an error that is its own answer.
type httpError struct{ p Problem }

func (e *httpError) Error() string { return "crmhttp: " + e.p.Detail }

// badRequest is a 400 about the request itself: its JSON, a parameter.
func badRequest(format string, args ...any) error {
	return &httpError{Problem{Type: typeBadRequest, Title: "Bad request", Status: http.StatusBadRequest,
		Detail: fmt.Sprintf(format, args...)}}
}

// badParam is a 400 naming the query parameter or body field at fault.
func badParam(field, reason string) error {
	return &httpError{Problem{Type: typeBadRequest, Title: "Bad request", Status: http.StatusBadRequest,
		Detail: field + ": " + reason, Errors: []FieldProblem{{Field: field, Reason: reason}}}}
}

// paramError marks errors of a request's parameters, such as an order a
// list does not have: crm reports them as invalid input, but they are the
// request's fault, not a record's, so they are 400 rather than 422.
type paramError struct{ err error }

func (e *paramError) Error() string { return e.err.Error() }
func (e *paramError) Unwrap() error { return e.err }

// problemOf maps an error to its answer.
func problemOf(err error) Problem {
	var (
		he  *httpError
		pe  *paramError
		se  *filter.SyntaxError
		fe  *filter.FieldError
		ve  *crm.ValidationError
		fb  *crm.ForbiddenError
		vt  *crm.VetoError
		mb  *http.MaxBytesError
		je  *json.SyntaxError
		jte *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &he):
		return he.p
	case errors.As(err, &mb):
		return Problem{Type: typeTooLarge, Title: "Content too large", Status: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("the body is larger than %d bytes", mb.Limit)}
	case errors.As(err, &se):
		off := se.Offset
		return Problem{Type: typeBadFilter, Title: "Bad filter", Status: http.StatusBadRequest,
			Detail: se.Error(), Line: se.Line, Column: se.Column, Offset: &off, Hint: se.Hint,
			Errors: []FieldProblem{{Field: "where", Reason: fmt.Sprintf("expected %s, found %s", se.Expected, se.Found)}}}
	case errors.As(err, &fe), errors.Is(err, filter.ErrInvalid):
		p := Problem{Type: typeBadFilter, Title: "Bad filter", Status: http.StatusBadRequest, Detail: err.Error()}
		for _, e := range unjoin(err) {
			if errors.As(e, &fe) {
				p.Errors = append(p.Errors, FieldProblem{Field: fe.Field, Reason: fe.Reason})
			}
		}
		return p
	case errors.Is(err, crm.ErrBadCursor):
		return Problem{Type: typeBadRequest, Title: "Bad request", Status: http.StatusBadRequest,
			Detail: "after: the cursor is malformed or belongs to another list",
			Errors: []FieldProblem{{Field: "after", Reason: "is not a cursor of this list"}}}
	case errors.As(err, &pe) && errors.As(err, &ve):
		p := validation(ve)
		p.Type, p.Title, p.Status = typeBadRequest, "Bad request", http.StatusBadRequest
		return p
	case errors.As(err, &jte):
		field := jte.Field
		if field == "" {
			field = "body"
		}
		reason := "must be " + jsonType(jte.Type.Kind().String())
		return Problem{Type: typeBadRequest, Title: "Bad request", Status: http.StatusBadRequest,
			Detail: field + ": " + reason + ", not " + jte.Value, Errors: []FieldProblem{{Field: field, Reason: reason}}}
	case errors.As(err, &je):
		return Problem{Type: typeBadRequest, Title: "Bad request", Status: http.StatusBadRequest,
			Detail: fmt.Sprintf("the body is not valid JSON (at byte %d): %v", je.Offset, je)}
	case errors.As(err, &fb):
		return Problem{Type: typeForbidden, Title: "Forbidden", Status: http.StatusForbidden, Detail: fb.Error()}
	case errors.As(err, &vt):
		return Problem{Type: typeVetoed, Title: "Refused", Status: http.StatusUnprocessableEntity, Detail: vt.Error()}
	case errors.As(err, &ve):
		return validation(ve)
	case errors.Is(err, crm.ErrNotFound), errors.Is(err, crm.ErrDeleted):
		// A merged record matches ErrNotFound too: its error names the
		// survivor, which the detail shows.
		return Problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: err.Error()}
	case errors.Is(err, crm.ErrConflict):
		return Problem{Type: typeConflict, Title: "Conflict", Status: http.StatusConflict,
			Detail: "concurrent changes kept colliding; retry the request"}
	case errors.Is(err, context.DeadlineExceeded):
		return Problem{Type: typeTimeout, Title: "Timed out", Status: http.StatusServiceUnavailable,
			Detail: "the request ran past its time bound"}
	}
	return Problem{Type: typeInternal, Title: "Internal server error", Status: http.StatusInternalServerError}
}

// validation is the 422 of an invalid record, one entry per failing field,
// or the 409 of one holding a value a unique index already has.
func validation(ve *crm.ValidationError) Problem {
	p := Problem{Type: typeValidation, Title: "Invalid " + ve.Kind, Status: http.StatusUnprocessableEntity, Detail: ve.Error()}
	if errors.Is(ve, crm.ErrDuplicate) {
		p.Type, p.Title, p.Status = typeDuplicate, "Duplicate "+ve.Kind, http.StatusConflict
	}
	for _, f := range ve.Fields {
		p.Errors = append(p.Errors, FieldProblem{Field: f.Field, Reason: f.Reason})
	}
	return p
}

// precondition is the 412 of a write whose If-Match names a version the
// record no longer has.
func precondition(err error) error {
	return &httpError{Problem{Type: typePrecondition, Title: "Precondition failed", Status: http.StatusPreconditionFailed,
		Detail: err.Error()}}
}

// unjoin flattens errors.Join's tree of errors one level deep.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "a number"
}

func writeProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Del("ETag")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
