package crm

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
)

// Column projections. Scans that read few fields of many records (broad
// segment counts, residual filters, counts no index answers) read a
// compact row per live contact, company and deal instead of the record:
//
//	ws 'k' k str(id) -> row
//
// The row holds the fields filters and reports read most, in a fixed
// order per kind, so it decodes with no map walking and no field names:
//
//	contact  lifecycle owner_id address.country lead_source created_at updated_at custom
//	company  industry owner_id address.country created_at updated_at custom
//	deal     pipeline_id stage_id status owner_id amount close_date created_at updated_at custom
//
// Text is a uvarint length and the bytes; a time a presence byte, then
// seconds and nanoseconds (exact for any time a record holds); a date
// three varints; money a varint and the currency. Custom fields are
// listed by name with their tagged value; a value longer than
// colMaxCustom bytes is left out and the row marked partial, and a filter
// that reads custom fields reads the record of a partial row instead.
//
// The row is an entry of its record like an index entry: allIndexes
// computes it, so the write path writes it in the record's transaction
// (only when it changed), erase and soft deletion remove it, and
// Workspace.Check verifies and repairs it. A row is one key per record,
// never shared, so writers of one workspace do not collide on it.
//
// Rows are per record rather than blocks of records: a block keyed by an
// ID range would be a key every writer of recent records rewrites (IDs
// are minted from the clock), which would make concurrent writers of a
// workspace conflict. Low-cardinality text is not dictionary-encoded in
// the store for the same reason (a shared dictionary is a shared key);
// a scan interns the values it reads instead, so repeated values cost no
// allocation.

// colFormat is the first byte of a row; colPartial is set in the second
// when some custom value was left out.
const (
	colFormat    byte = 1
	colPartial   byte = 1
	colMaxCustom      = 128
)

// columnFields are the filter fields a kind's rows hold, besides
// custom.*.
var columnFields = map[byte][]string{
	'c': {"id", "lifecycle", "owner_id", "address.country", "lead_source", "created_at", "updated_at"},
	'o': {"id", "industry", "owner_id", "address.country", "created_at", "updated_at"},
	'd': {"id", "pipeline_id", "stage_id", "status", "owner_id", "amount", "amount_currency", "close_date", "created_at", "updated_at"},
}

func (w *Workspace) columnKey(code byte, id string) key { return w.k(tagColumn).byte(code).str(id) }

// columnsCover reports whether every field e reads is in the rows of
// kind code, and whether e reads custom fields.
func columnsCover(code byte, e filter.Expr) (ok, custom bool) {
	fields, has := columnFields[code]
	if !has {
		return false, false
	}
	ok = true
	walkConds(e, func(c *filter.Cond) {
		switch {
		case strings.HasPrefix(c.Field, "custom."):
			custom = true
		case !slices.Contains(fields, c.Field):
			ok = false
		}
	})
	return ok, custom
}

// columnEntry returns the row of a live record as an entry.
func columnEntry(w *Workspace, code byte, r any) (indexEntry, bool) {
	var b []byte
	switch x := r.(type) {
	case *Contact:
		b = []byte{colFormat, 0}
		b = colStr(b, x.Lifecycle)
		b = colStr(b, x.OwnerID)
		b = colStr(b, x.Address.Country)
		b = colStr(b, x.LeadSource)
		b = colTime(b, x.CreatedAt)
		b = colTime(b, x.UpdatedAt)
		b = colCustom(b, x.Custom)
		return indexEntry{field: "columns", key: w.columnKey(code, x.ID), value: b}, true
	case *Company:
		b = []byte{colFormat, 0}
		b = colStr(b, x.Industry)
		b = colStr(b, x.OwnerID)
		b = colStr(b, x.Address.Country)
		b = colTime(b, x.CreatedAt)
		b = colTime(b, x.UpdatedAt)
		b = colCustom(b, x.Custom)
		return indexEntry{field: "columns", key: w.columnKey(code, x.ID), value: b}, true
	case *Deal:
		b = []byte{colFormat, 0}
		b = colStr(b, x.PipelineID)
		b = colStr(b, x.StageID)
		b = colStr(b, string(x.Status))
		b = colStr(b, x.OwnerID)
		b = binary.AppendVarint(b, x.Amount.Amount)
		b = colStr(b, x.Amount.Currency)
		b = colDate(b, x.CloseDate)
		b = colTime(b, x.CreatedAt)
		b = colTime(b, x.UpdatedAt)
		b = colCustom(b, x.Custom)
		return indexEntry{field: "columns", key: w.columnKey(code, x.ID), value: b}, true
	}
	return indexEntry{}, false
}

func colStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func colTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

func colDate(b []byte, d Date) []byte {
	b = binary.AppendVarint(b, int64(d.Year))
	b = binary.AppendVarint(b, int64(d.Month))
	return binary.AppendVarint(b, int64(d.Day))
}

// colCustom appends the custom values short enough to project, and marks
// the row partial (b[1]) when it leaves one out.
func colCustom(b []byte, c Custom) []byte {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	slices.Sort(names)
	var vals []byte
	kept := 0
	for _, n := range names {
		start := len(vals)
		vals = colStr(vals, n)
		switch v := c[n].(type) {
		case string:
			vals = colStr(append(vals, cvString), v)
		case float64:
			vals = binary.BigEndian.AppendUint64(append(vals, cvNumber), math.Float64bits(v))
		case bool:
			flag := byte(0)
			if v {
				flag = 1
			}
			vals = append(vals, cvBool, flag)
		case Money:
			vals = colStr(binary.AppendVarint(append(vals, cvMoney), v.Amount), v.Currency)
		case Date:
			vals = colDate(append(vals, cvDate), v)
		case []string:
			vals = binary.AppendUvarint(append(vals, cvList), uint64(len(v)))
			for _, s := range v {
				vals = colStr(vals, s)
			}
		default:
			vals = vals[:start]
			b[1] |= colPartial
			continue
		}
		if len(vals)-start > colMaxCustom {
			vals = vals[:start]
			b[1] |= colPartial
			continue
		}
		kept++
	}
	return append(binary.AppendUvarint(b, uint64(kept)), vals...)
}
