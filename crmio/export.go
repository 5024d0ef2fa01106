package crmio

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/crmkit/crmkit/crm"
)

// ExportOptions says what to export and how.
type ExportOptions struct {
	// Object is the type of the records: ObjectContact, ObjectCompany,
	// ObjectDeal, ObjectActivity or ObjectPurchase.
	Object crm.Kind
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
func Columns(ctx context.Context, ws *crm.Workspace, object crm.Kind) ([]string, error) {
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
	for d, err := range ws.Fields().List(ctx, k.name) {
		if err != nil {
			return nil, fmt.Errorf("crmio: reading custom fields: %w", err)
		}
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
//
// Under a workspace's access policy, Export reads as an export
// (crm.ForExport): it writes the records the principal's export scope
// reaches, with the fields hidden from it left empty, and fails with an
// error matching crm.ErrForbidden for a principal that may not export the
// kind.
func Export(ctx context.Context, ws *crm.Workspace, w io.Writer, opts ExportOptions) (int, error) {
	ctx = crm.ForExport(ctx)
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
