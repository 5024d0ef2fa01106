package crmhttp

import (
	"context"
	"encoding/base64"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// Duplicates is the answer of GET /duplicates: a page of likely duplicate
// pairs and the cursor to the next.
type Duplicates struct {
	Items []crm.Duplicate `json:"items"`
	Next  string          `json:"next,omitempty"`
}

// MergeRequest is the body of POST /{contacts|companies}/{id}/merge: the
// record merged into the one of the path, which survives.
type MergeRequest struct {
	// From is the ID of the record merged away.
	From string `json:"from"`
	// Fields chooses, per field ("first_name", "custom.score"), the record
	// whose value the survivor keeps: "survivor" or "merged" (see
	// crm.MergeOptions).
	Fields map[string]crm.Keep `json:"fields,omitempty"`
}

// mergeRoutes are duplicate detection and merging.
func mergeRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/duplicates", Summary: "Find likely duplicate contacts or companies",
			Query: []string{"kind", "min_score", "limit", "after"}, Response: "Duplicates", Status: http.StatusOK,
			Errors: readErrs, handle: findDuplicates},
		{Method: "POST", Pattern: "/contacts/{id}/merge", Summary: "Merge another contact into a contact",
			Request: "MergeRequest", Response: "Contact", Status: http.StatusOK, Errors: writeErrs,
			Idempotent: true, handle: func(c *call) error { return merge(c, c.ws.Contacts().Merge) }},
		{Method: "POST", Pattern: "/companies/{id}/merge", Summary: "Merge another company into a company",
			Request: "MergeRequest", Response: "Company", Status: http.StatusOK, Errors: writeErrs,
			Idempotent: true, handle: func(c *call) error { return merge(c, c.ws.Companies().Merge) }},
	}
}

// merge merges the body's record into the path's, which it answers.
func merge[T any](c *call, fn func(ctx context.Context, survivorID, mergedID string, opts crm.MergeOptions) (T, error)) error {
	var m MergeRequest
	if err := c.decodeBody(&m); err != nil {
		return err
	}
	if strings.TrimSpace(m.From) == "" {
		return &httpError{Problem{Type: typeValidation, Title: "Invalid merge", Status: http.StatusUnprocessableEntity,
			Detail: "from: is required", Errors: []FieldProblem{{Field: "from", Reason: "is required"}}}}
	}
	r, err := fn(c.ctx, c.r.PathValue("id"), m.From, crm.MergeOptions{Fields: m.Fields})
	if err != nil {
		return err
	}
	return writeRecord(c, http.StatusOK, &r)
}

// findDuplicates answers a page of the pairs crm's duplicate detection
// finds. Detection streams the records in creation order and yields a
// pair when its newer record (B) is read, so a page continues after the
// last pair of the previous one by (B, A); each page reruns detection
// from the start, stopping once it is full.
func findDuplicates(c *call) error {
	q := c.r.URL.Query()
	var all func(context.Context, crm.DuplicateOptions) iter.Seq2[crm.Duplicate, error]
	switch q.Get("kind") {
	case "contacts":
		all = c.ws.Contacts().FindDuplicates
	case "companies":
		all = c.ws.Companies().FindDuplicates
	default:
		return badParam("kind", "must be contacts or companies")
	}
	limit, err := intParam(q, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	var opts crm.DuplicateOptions
	if s := q.Get("min_score"); s != "" {
		if opts.MinScore, err = strconv.ParseFloat(s, 64); err != nil || opts.MinScore <= 0 || opts.MinScore > 1 {
			return badParam("min_score", "must be a number above 0, at most 1")
		}
	}
	afterB, afterA, err := pairCursor(q.Get("after"))
	if err != nil {
		return err
	}
	out := Duplicates{Items: []crm.Duplicate{}}
	skipping := afterB != ""
	for d, err := range all(c.ctx, opts) {
		if err != nil {
			return err
		}
		if skipping {
			switch {
			case d.B < afterB:
				continue
			case d.B == afterB:
				skipping = d.A != afterA
				continue
			}
			skipping = false // the cursor's pair is gone: go on from the next record
		}
		if len(out.Items) == limit {
			last := out.Items[limit-1]
			out.Next = base64.RawURLEncoding.EncodeToString([]byte(last.B + " " + last.A))
			break
		}
		out.Items = append(out.Items, d)
	}
	return c.writeJSON(http.StatusOK, out)
}

// pairCursor decodes the cursor of a page of duplicates: the IDs of the
// last pair's B and A.
func pairCursor(cursor string) (b, a string, err error) {
	if cursor == "" {
		return "", "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	b, a, ok := strings.Cut(string(raw), " ")
	if err != nil || !ok || b == "" || a == "" || len(raw) > 2*crm.MaxIDLength+1 {
		return "", "", fmt.Errorf("crmhttp: %w", crm.ErrBadCursor)
	}
	return b, a, nil
}
