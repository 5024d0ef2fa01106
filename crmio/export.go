package crmio

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
)

// ExportOptions says what to export and how.
type ExportOptions struct {
	// Object is the type of the records: ObjectContact, ObjectCompany,
	// ObjectDeal, ObjectActivity or ObjectPurchase.
	Object string
	// Format is CSV (the default) or JSONL.
	Format Format
	// Columns selects and orders the columns; nil means all of them
	// (Columns returns the list).
	Columns []string
	// Comma is the CSV field separator (default ',').
	Comma rune
	// List orders the records and selects live or soft-deleted ones (see
	// crm.ListOptions). Purchases are listed by company, then the
	// purchases of contacts without a company, whatever List says.
	List crm.ListOptions
	// Segment, a saved segment's ID, exports only its live members, in
	// the segment's order (List is then ignored). The segment must hold
	// records of Object: contacts, companies or deals.
	Segment string
	// Where, a filter in the segmentation language (see crm/filter), exports
	// only the live records of Object it matches, in the filter's order (List
	// is then ignored). With Segment too, a record must satisfy both.
	Where string
}

// Columns returns the columns Export writes for an object type in the
// workspace, in order: the record's fields, then custom.<name> for each
// custom field, then created_at and updated_at.
func Columns(ctx context.Context, ws *crm.Workspace, object string) ([]string, error) {
	switch object {
	case ObjectContact:
		return columnsOf(ctx, ws, contactKind)
	case ObjectCompany:
		return columnsOf(ctx, ws, companyKind)
	case ObjectDeal:
		return columnsOf(ctx, ws, dealKind)
	case ObjectActivity:
		return columnsOf(ctx, ws, activityKind)
	case ObjectPurchase:
		return columnsOf(ctx, ws, purchaseKind)
	}
	return nil, fmt.Errorf("%w: unknown object %q", ErrOptions, object)
}

func columnsOf[T any](ctx context.Context, ws *crm.Workspace, k *kind[T]) ([]string, error) {
	fields, err := exportFields(ctx, ws, k)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out, nil
}

func exportFields[T any](ctx context.Context, ws *crm.Workspace, k *kind[T]) ([]*field[T], error) {
	var out []*field[T]
	for _, f := range k.fields {
		if !f.noExport && f.export != nil {
			out = append(out, f)
		}
	}
	defs, err := ws.Fields().List(ctx, k.name)
	if err != nil {
		return nil, fmt.Errorf("crmio: reading custom fields: %w", err)
	}
	for _, d := range defs {
		out = append(out, customField(d, k.custom))
	}
	return append(out, k.stamps...), nil
}

// Export writes every record of one object type in the workspace to w,
// streaming, and returns how many records it wrote. CSV has a header row
// and one row per record (per line item for purchases); lists are joined
// with "; ", amounts written as "1234.50 EUR", dates as YYYY-MM-DD, times
// in RFC 3339, references as natural keys (a company's domain, or its name
// if it has none; a contact's first email, or its ID if it has none),
// custom fields as custom.<name> columns. JSON Lines has one flat object
// per row with the same keys, empty values left out, amounts as
// {"amount": minor units, "currency": code}.
//
// CSV cells that a spreadsheet would take for a formula (those starting
// with =, +, -, @, tab or carriage return) get a leading apostrophe
// (OWASP's advice against CSV injection); Import removes it again, so an
// export imports back unchanged.
func Export(ctx context.Context, ws *crm.Workspace, w io.Writer, opts ExportOptions) (int, error) {
	switch opts.Object {
	case ObjectContact:
		return export(ctx, ws, w, opts, contactKind)
	case ObjectCompany:
		return export(ctx, ws, w, opts, companyKind)
	case ObjectDeal:
		return export(ctx, ws, w, opts, dealKind)
	case ObjectActivity:
		return export(ctx, ws, w, opts, activityKind)
	case ObjectPurchase:
		return export(ctx, ws, w, opts, purchaseKind)
	}
	return 0, fmt.Errorf("%w: unknown object %q (want contact, company, deal, activity or purchase)", ErrOptions, opts.Object)
}

func export[T any](ctx context.Context, ws *crm.Workspace, w io.Writer, o ExportOptions, k *kind[T]) (int, error) {
	if ws == nil {
		return 0, fmt.Errorf("%w: no workspace", ErrOptions)
	}
	all, err := exportFields(ctx, ws, k)
	if err != nil {
		return 0, err
	}
	fields := all
	if o.Columns != nil {
		fields = fields[:0:0]
		for _, c := range o.Columns {
			i := slices.IndexFunc(all, func(f *field[T]) bool { return f.name == c })
			if i < 0 {
				return 0, fmt.Errorf("%w: %s has no column %q", ErrOptions, k.name, c)
			}
			fields = append(fields, all[i])
		}
	}
	x := newExportCtx(ctx, ws)
	bw := bufio.NewWriterSize(w, 64<<10)
	var cw *csv.Writer
	if o.Format == CSV {
		cw = csv.NewWriter(bw)
		if o.Comma != 0 {
			cw.Comma = o.Comma
		}
		header := make([]string, len(fields))
		for i, f := range fields {
			header[i] = guardCell(f.name)
		}
		if err := cw.Write(header); err != nil {
			return 0, fmt.Errorf("crmio: writing: %w", err)
		}
	} else if o.Format != JSONL {
		return 0, fmt.Errorf("%w: unknown format %d", ErrOptions, o.Format)
	}
	n := 0
	cells := make([]string, len(fields))
	var line []byte
	records, err := exportRecords(ctx, ws, o, k)
	if err != nil {
		return 0, err
	}
	for r, err := range records {
		if err != nil {
			return n, fmt.Errorf("crmio: listing %ss: %w", k.name, err)
		}
		rows := []*T{&r}
		if k.rows != nil {
			rows = k.rows(&r)
		}
		for _, row := range rows {
			if cw != nil {
				for i, f := range fields {
					cells[i] = guardCell(formatCell(f.export(x, row)))
				}
				if err := cw.Write(cells); err != nil {
					return n, fmt.Errorf("crmio: writing: %w", err)
				}
			} else {
				line = append(line[:0], '{')
				for _, f := range fields {
					v, ok := jsonValue(f.export(x, row))
					if !ok {
						continue
					}
					b, err := json.Marshal(v)
					if err != nil {
						return n, fmt.Errorf("crmio: encoding %s: %w", f.name, err)
					}
					if len(line) > 1 {
						line = append(line, ',')
					}
					line = strconv.AppendQuote(line, f.name)
					line = append(line, ':')
					line = append(line, b...)
				}
				line = append(line, '}', '\n')
				if _, err := bw.Write(line); err != nil {
					return n, fmt.Errorf("crmio: writing: %w", err)
				}
			}
			if x.err != nil {
				return n, x.err
			}
		}
		n++
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, fmt.Errorf("crmio: writing: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("crmio: writing: %w", err)
	}
	return n, nil
}

// exportRecords returns the records an export writes: every record of the
// kind (as o.List says), or the members of o.Segment and matches of o.Where.
func exportRecords[T any](ctx context.Context, ws *crm.Workspace, o ExportOptions, k *kind[T]) (iter.Seq2[T, error], error) {
	if o.Segment == "" && o.Where == "" {
		return k.list(ctx, ws, o.List), nil
	}
	if o.Object != ObjectContact && o.Object != ObjectCompany && o.Object != ObjectDeal {
		return nil, fmt.Errorf("%w: a %s export cannot be limited to a segment or a filter (only contacts, companies and deals)", ErrOptions, o.Object)
	}
	var where filter.Expr
	if o.Where != "" {
		e, err := filter.Parse(o.Where)
		if err != nil {
			return nil, fmt.Errorf("%w: where: %w", ErrOptions, err)
		}
		where = e
	}
	var members iter.Seq2[crm.Member, error]
	var also *crm.Query // a filter members must match too (static segments)
	if o.Segment != "" {
		seg, err := ws.Segments().Get(ctx, o.Segment)
		if err != nil {
			return nil, fmt.Errorf("crmio: segment: %w", err)
		}
		if seg.Object != o.Object {
			return nil, fmt.Errorf("%w: segment %s holds %ss, not %ss", ErrOptions, o.Segment, seg.Object, o.Object)
		}
		switch {
		case where == nil:
			members = ws.Segments().Members(ctx, o.Segment, "")
		case seg.Static:
			members, also = ws.Segments().Members(ctx, o.Segment, ""), ws.Query(o.Object, where)
		default:
			// A dynamic segment and a filter are one query: both filters.
			segExpr, err := filter.Parse(seg.Filter)
			if err != nil {
				return nil, fmt.Errorf("crmio: segment %s: %w", o.Segment, err)
			}
			where = filter.And(segExpr, where)
		}
	}
	if members == nil {
		q := ws.Query(o.Object, where)
		// A filter naming an unknown field, or comparing a field with a
		// value of another type, is refused before anything is written.
		if _, err := q.Explain(ctx); err != nil {
			if errors.Is(err, filter.ErrInvalid) {
				return nil, fmt.Errorf("%w: where: %w", ErrOptions, err)
			}
			return nil, err
		}
		members = q.Members(ctx, "")
	}
	return func(yield func(T, error) bool) {
		var zero T
		for m, err := range members {
			if err != nil {
				yield(zero, err)
				return
			}
			if also != nil {
				ok, err := also.Contains(ctx, m.ID)
				if err != nil {
					yield(zero, err)
					return
				}
				if !ok {
					continue
				}
			}
			r, ok := m.Record.(T)
			if !ok {
				yield(zero, fmt.Errorf("crmio: member %s is a %T, not a %s", m.ID, m.Record, k.name))
				return
			}
			if !yield(r, nil) {
				return
			}
		}
	}, nil
}

// purchasesList streams every live purchase. The CRM lists purchases only
// by company and by contact, so it walks the companies, then the contacts
// for the purchases that have no company.
func purchasesList(ctx context.Context, ws *crm.Workspace, _ crm.ListOptions) iter.Seq2[crm.Purchase, error] {
	return func(yield func(crm.Purchase, error) bool) {
		var companies []string
		for c, err := range ws.Companies().List(ctx, crm.ListOptions{}) {
			if err != nil {
				yield(crm.Purchase{}, err)
				return
			}
			companies = append(companies, c.ID)
			if len(companies) < 1000 {
				continue
			}
			if !yieldPurchases(ctx, ws, companies, true, yield) {
				return
			}
			companies = companies[:0]
		}
		if !yieldPurchases(ctx, ws, companies, true, yield) {
			return
		}
		var contacts []string
		for c, err := range ws.Contacts().List(ctx, crm.ListOptions{}) {
			if err != nil {
				yield(crm.Purchase{}, err)
				return
			}
			contacts = append(contacts, c.ID)
			if len(contacts) < 1000 {
				continue
			}
			if !yieldPurchases(ctx, ws, contacts, false, yield) {
				return
			}
			contacts = contacts[:0]
		}
		yieldPurchases(ctx, ws, contacts, false, yield)
	}
}

// yieldPurchases yields the purchases of a chunk of companies, or of
// contacts (only those without a company), outside the listing's
// transaction.
func yieldPurchases(ctx context.Context, ws *crm.Workspace, ids []string, companies bool, yield func(crm.Purchase, error) bool) bool {
	for _, id := range ids {
		seq := ws.Purchases().ByContact(ctx, id)
		if companies {
			seq = ws.Purchases().ByCompany(ctx, id)
		}
		for p, err := range seq {
			if err != nil {
				yield(crm.Purchase{}, err)
				return false
			}
			if !companies && p.CompanyID != "" {
				continue
			}
			if !yield(p, nil) {
				return false
			}
		}
	}
	return true
}

// exportCtx turns IDs into the natural keys an export writes, with
// bounded caches.
type exportCtx struct {
	ctx       context.Context
	ws        *crm.Workspace
	companies map[string]string
	contacts  map[string]string
	pipelines map[string]*crm.Pipeline
	err       error
}

const exportCacheSize = 100_000

func newExportCtx(ctx context.Context, ws *crm.Workspace) *exportCtx {
	return &exportCtx{ctx: ctx, ws: ws, companies: map[string]string{}, contacts: map[string]string{}, pipelines: map[string]*crm.Pipeline{}}
}

func (x *exportCtx) fail(err error) {
	if x.err == nil {
		x.err = err
	}
}

func (x *exportCtx) companyRef(id string) string {
	if id == "" {
		return ""
	}
	if ref, ok := x.companies[id]; ok {
		return ref
	}
	ref := id
	c, err := x.ws.Companies().Get(x.ctx, id)
	switch {
	case err == nil && c.Domain != "":
		ref = c.Domain
	case err == nil:
		ref = c.Name
	case !errors.Is(err, crm.ErrNotFound):
		x.fail(err)
	}
	if len(x.companies) >= exportCacheSize {
		clear(x.companies)
	}
	x.companies[id] = ref
	return ref
}

func (x *exportCtx) contactRef(id string) string {
	if id == "" {
		return ""
	}
	if ref, ok := x.contacts[id]; ok {
		return ref
	}
	ref := id
	c, err := x.ws.Contacts().Get(x.ctx, id)
	switch {
	case err == nil && len(c.Emails) > 0:
		ref = c.Emails[0]
	case err != nil && !errors.Is(err, crm.ErrNotFound):
		x.fail(err)
	}
	if len(x.contacts) >= exportCacheSize {
		clear(x.contacts)
	}
	x.contacts[id] = ref
	return ref
}

func (x *exportCtx) pipeline(id string) *crm.Pipeline {
	if p, ok := x.pipelines[id]; ok {
		return p
	}
	var p *crm.Pipeline
	pl, err := x.ws.Pipelines().Get(x.ctx, id)
	switch {
	case err == nil:
		p = &pl
	case !errors.Is(err, crm.ErrNotFound):
		x.fail(err)
	}
	x.pipelines[id] = p
	return p
}

func (x *exportCtx) pipelineName(id string) string {
	if p := x.pipeline(id); p != nil {
		return p.Name
	}
	return id
}

func (x *exportCtx) stageName(pipelineID, stageID string) string {
	if p := x.pipeline(pipelineID); p != nil {
		if st, ok := p.Stage(stageID); ok {
			return st.Name
		}
	}
	return stageID
}

// WriteRejects writes the rejected rows so they can be fixed and imported
// again. For a CSV import it writes CSV: the file's header and each
// rejected row's original fields, plus a "_line" column (where the row
// was) and an "_error" column (why it was rejected); fields beyond the
// header of a ragged row follow _error. For a JSON Lines import it writes
// each rejected object with "_line" and "_error" keys added (a line that
// was not a JSON object is kept under "_raw"). Cells are guarded against
// formula injection as in Export. Import ignores the _line and _error
// columns (they are reported as ignored).
func (r *ImportResult) WriteRejects(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if r.Format == JSONL {
		for _, rj := range r.Rejects {
			obj := map[string]any{}
			raw := ""
			if len(rj.Raw) > 0 {
				raw = rj.Raw[0]
			}
			dec := json.NewDecoder(strings.NewReader(raw))
			dec.UseNumber()
			if err := dec.Decode(&obj); err != nil || obj == nil {
				obj = map[string]any{"_raw": raw}
			}
			obj["_line"] = rj.Line
			obj["_error"] = rj.Error()
			b, err := json.Marshal(obj)
			if err != nil {
				return fmt.Errorf("crmio: writing rejects: %w", err)
			}
			bw.Write(b)
			bw.WriteByte('\n')
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("crmio: writing rejects: %w", err)
		}
		return nil
	}
	cw := csv.NewWriter(bw)
	header := append(append([]string(nil), r.Header...), "_line", "_error")
	for i := range header {
		header[i] = guardCell(header[i])
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("crmio: writing rejects: %w", err)
	}
	n := len(r.Header)
	for _, rj := range r.Rejects {
		row := make([]string, n, n+2+max(0, len(rj.Raw)-n))
		copy(row, rj.Raw)
		row = append(row, strconv.Itoa(rj.Line), rj.Error())
		if len(rj.Raw) > n {
			row = append(row, rj.Raw[n:]...)
		}
		for i := range row {
			row[i] = guardCell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("crmio: writing rejects: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("crmio: writing rejects: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("crmio: writing rejects: %w", err)
	}
	return nil
}
