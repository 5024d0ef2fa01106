package crmhttp

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
)

// transferObjects maps the path segment of an import or export to the
// crmio object.
var transferObjects = map[string]crm.Kind{
	"contacts": crmio.ObjectContact, "companies": crmio.ObjectCompany, "deals": crmio.ObjectDeal,
	"activities": crmio.ObjectActivity, "purchases": crmio.ObjectPurchase,
}

// transferRoutes are the streaming imports and exports.
func transferRoutes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/import/{kind}", Summary: "Import records from CSV or JSON Lines",
			Query: []string{"upsert_by", "overwrite", "create_companies", "dry_run", "batch_size", "currency",
				"date_layout", "decimal_comma", "comma", "tz"},
			Request: "ImportFile", Response: "ImportResult", Status: http.StatusOK,
			Errors: []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound,
				http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
			media: []string{"text/event-stream"}, stream: true, upload: true, handle: importRecords},
		{Method: "GET", Pattern: "/export/{kind}", Summary: "Export records as CSV or JSON Lines",
			Query:    []string{"format", "where", "segment", "columns", "sort", "desc", "deleted"},
			Response: "ExportFile", Status: http.StatusOK,
			Errors: []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusNotAcceptable},
			stream: true, handle: exportRecords},
	}
}

// ImportResult is the answer of POST /import/{kind}: what the import did
// (crmio.ImportResult). Every row read is counted once: Read == Created +
// Updated + Skipped + Rejected, and each rejected row is in Rejects with
// its line, column and reasons.
type ImportResult struct {
	Object           crm.Kind       `json:"object"`
	Format           string         `json:"format"`
	Read             int            `json:"read"`
	Created          int            `json:"created"`
	Updated          int            `json:"updated"`
	Skipped          int            `json:"skipped"`
	Rejected         int            `json:"rejected"`
	Rejects          []crmio.Reject `json:"rejects"`
	CompaniesCreated int            `json:"companies_created"`
	Mapping          crmio.Mapping  `json:"mapping"`
	Ignored          []string       `json:"ignored"`
	DryRun           bool           `json:"dry_run,omitempty"`
}

// ImportProgress is the data of a "progress" event of an import answered
// as server-sent events: how far it is after a committed batch.
type ImportProgress struct {
	// Line is the last line committed; Bytes how much of the body was read.
	Line     int   `json:"line"`
	Bytes    int64 `json:"bytes"`
	Read     int   `json:"read"`
	Created  int   `json:"created"`
	Updated  int   `json:"updated"`
	Skipped  int   `json:"skipped"`
	Rejected int   `json:"rejected"`
}

func importResultOf(r *crmio.ImportResult) ImportResult {
	out := ImportResult{Object: r.Object, Format: r.Format.String(), Read: r.Read, Created: r.Created,
		Updated: r.Updated, Skipped: r.Skipped, Rejected: r.Rejected, Rejects: r.Rejects,
		CompaniesCreated: r.CompaniesCreated, Mapping: r.Mapping, Ignored: r.Ignored, DryRun: r.DryRun}
	if out.Rejects == nil {
		out.Rejects = []crmio.Reject{}
	}
	if out.Ignored == nil {
		out.Ignored = []string{}
	}
	return out
}

// importRecords streams the body into crmio.Import as the principal, and
// answers the result: as JSON, or as server-sent events (progress after
// every batch, then the result) when the client accepts text/event-stream.
func importRecords(c *call) error {
	object, ok := transferObjects[c.r.PathValue("kind")]
	if !ok {
		return notFoundKind(c.r.PathValue("kind"))
	}
	opts, err := importOptions(c, object)
	if err != nil {
		return err
	}
	if err := c.ws.Can(c.ctx, object, crm.ActionCreate); err != nil && (opts.UpsertBy == "" ||
		c.ws.Can(c.ctx, object, crm.ActionUpdate) != nil) {
		return err
	}
	if !accepts(c.r, "text/event-stream") {
		res, err := crmio.Import(c.ctx, c.ws, c.r.Body, opts)
		if err != nil {
			return transferError(err)
		}
		return c.writeJSON(http.StatusOK, importResultOf(res))
	}

	// HTTP/1 servers stop reading a request's body once its response has
	// started, unless told that both go on at once: the import reads the
	// body while it sends progress (HTTP/2 always does both). The
	// connection then ends with the response, since a body the import did
	// not read to its end cannot be skipped to reuse it.
	if http.NewResponseController(c.w).EnableFullDuplex() == nil {
		c.w.Header().Set("Connection", "close")
	}
	sse, err := openEvents(c)
	if err != nil {
		return nil // the writer cannot stream: nothing more to do
	}
	opts.Progress = func(p crmio.Progress) {
		_ = sse.send("progress", ImportProgress{Line: p.Line, Bytes: p.Bytes, Read: p.Read, Created: p.Created,
			Updated: p.Updated, Skipped: p.Skipped, Rejected: p.Rejected})
	}
	res, err := crmio.Import(c.ctx, c.ws, c.r.Body, opts)
	if err != nil {
		if c.r.Context().Err() != nil {
			return nil // the client went away
		}
		pr := problemOf(transferError(err))
		if pr.Status >= 500 {
			c.h.cfg.logger.ErrorContext(c.ctx, "crmhttp: import failed", "err", err)
		}
		_ = sse.send("error", pr)
		return nil
	}
	_ = sse.send("result", importResultOf(res))
	return nil
}

// importOptions reads the import's options from the request: the format
// from Content-Type, the rest from the query.
func importOptions(c *call, object crm.Kind) (crmio.ImportOptions, error) {
	opts := crmio.ImportOptions{Object: object}
	ct := c.r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
	case mt == "text/csv":
		opts.Format = crmio.CSV
	case mt == "application/x-ndjson", mt == "application/jsonl", mt == "application/x-jsonlines":
		opts.Format = crmio.JSONL
	default:
		err = errors.New("unsupported")
	}
	if err != nil {
		return opts, &httpError{Problem{Type: typeMediaType, Title: "Unsupported media type",
			Status: http.StatusUnsupportedMediaType, Detail: "the body must be text/csv or application/x-ndjson, not " + strings.TrimSpace(ct)}}
	}
	q := c.r.URL.Query()
	opts.UpsertBy, opts.Currency, opts.DateLayout = q.Get("upsert_by"), q.Get("currency"), q.Get("date_layout")
	for _, b := range []struct {
		name string
		v    *bool
	}{{"overwrite", &opts.Overwrite}, {"create_companies", &opts.CreateCompanies}, {"dry_run", &opts.DryRun},
		{"decimal_comma", &opts.DecimalComma}} {
		if *b.v, err = boolParam(q, b.name); err != nil {
			return opts, err
		}
	}
	if opts.BatchSize, err = intParam(q, "batch_size", crmio.DefaultBatchSize, 1, 10_000); err != nil {
		return opts, err
	}
	if s := q.Get("comma"); s != "" {
		r, n := utf8.DecodeRuneInString(s)
		if n != len(s) || r >= utf8.RuneSelf || r == '"' || r == '\r' || r == '\n' {
			return opts, badParam("comma", "must be one ASCII character other than a quote or a newline")
		}
		opts.Comma = r
	}
	if tz := q.Get("tz"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil || strings.EqualFold(tz, "local") {
			return opts, badParam("tz", "is not an IANA time zone name such as Europe/Berlin")
		}
		opts.Location = loc
	}
	return opts, nil
}

// accepts reports whether the request's Accept header names the media
// type mt (parameters and weights aside).
func accepts(r *http.Request, mt string) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			t, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(t), mt) {
				return true
			}
		}
	}
	return false
}

// transferError answers crmio's errors about the request (its options,
// mapping or header) as 400.
func transferError(err error) error {
	if errors.Is(err, crmio.ErrOptions) || errors.Is(err, crmio.ErrMapping) || errors.Is(err, crmio.ErrHeader) {
		return badRequest("%s", err.Error())
	}
	return err
}

func notFoundKind(kind string) error {
	return &httpError{Problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound,
		Detail: fmt.Sprintf("%q is not contacts, companies, deals, activities or purchases", kind)}}
}

// queryList splits a comma-separated query parameter; nil when absent.
func queryList(q url.Values, name string) []string {
	s := q.Get(name)
	if s == "" {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
