package crmhttp

import (
	"net/http"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/crmio"
)

// exportRecords streams crmio's export of a kind of record as the
// principal (an export under the policy: crm.ForExport), as CSV or JSON
// Lines. The records are written as they are read, so the status is sent
// with the first bytes; a failure after them aborts the response, so the
// client sees a truncated transfer rather than a complete-looking file.
func exportRecords(c *call) error {
	object, ok := transferObjects[c.r.PathValue("kind")]
	if !ok {
		return notFoundKind(c.r.PathValue("kind"))
	}
	q := c.r.URL.Query()
	opts := crmio.ExportOptions{Object: object, Segment: q.Get("segment"), Where: q.Get("where"), Columns: queryList(q, "columns")}
	format := q.Get("format")
	if format == "" {
		format = "csv"
		for _, mt := range []string{"application/x-ndjson", "application/jsonl"} {
			if accepts(c.r, mt) {
				format = "jsonl"
			}
		}
	}
	ct := "text/csv; charset=utf-8"
	switch format {
	case "csv":
	case "jsonl":
		opts.Format, ct = crmio.JSONL, "application/x-ndjson"
	default:
		return badParam("format", "must be csv or jsonl")
	}
	desc, err := boolParam(q, "desc")
	if err != nil {
		return err
	}
	deleted, err := boolParam(q, "deleted")
	if err != nil {
		return err
	}
	opts.List = crm.ListOptions{Sort: crm.SortField(q.Get("sort")), Desc: desc, Deleted: deleted}
	if opts.Where != "" {
		if _, err := filter.Parse(opts.Where); err != nil {
			return err
		}
	}
	if err := c.ws.Can(c.ctx, object, crm.ActionExport); err != nil {
		return err
	}
	lw := &lazyWriter{w: c.w, ct: ct}
	if _, err := crmio.Export(c.ctx, c.ws, lw, opts); err != nil {
		if !lw.started {
			return &paramError{transferError(err)}
		}
		if c.r.Context().Err() == nil {
			c.h.cfg.logger.ErrorContext(c.ctx, "crmhttp: export failed after its first bytes", "err", err)
		}
		// The status is sent: only ending the connection tells the client
		// the file is incomplete. net/http recovers this value quietly.
		panic(http.ErrAbortHandler)
	}
	if !lw.started {
		lw.begin()
	}
	return nil
}

// lazyWriter sends the status and Content-Type with the first bytes, so
// that an export failing before it writes anything is still a problem.
type lazyWriter struct {
	w       http.ResponseWriter
	ct      string
	started bool
}

func (l *lazyWriter) begin() {
	l.started = true
	l.w.Header().Set("Content-Type", l.ct)
	l.w.Header().Set("Cache-Control", "no-store")
	l.w.WriteHeader(http.StatusOK)
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.begin()
	}
	return l.w.Write(p)
}
