package crm

import (
	"encoding/binary"
	"errors"
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

var errColumn = errors.New("crm: malformed column row")

// colReader decodes rows of one kind into a record it reuses, for
// evaluation only: strings it reads are interned per reader.
type colReader struct {
	code   byte
	intern map[string]string
	con    Contact
	com    Company
	deal   Deal
	custom Custom
}

func newColReader(code byte) *colReader {
	return &colReader{code: code, intern: map[string]string{}, custom: Custom{}}
}

// row is a cursor over one row's bytes.
type row struct {
	b   []byte
	err error
}

func (r *row) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errColumn
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *row) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errColumn
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *row) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errColumn
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *row) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *row) raw() []byte { return r.bytes(int(min(r.uvarint(), uint64(len(r.b)+1)))) }

func (cr *colReader) str(r *row) string {
	b := r.raw()
	if len(b) == 0 {
		return ""
	}
	if s, ok := cr.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(cr.intern) < 4096 {
		cr.intern[s] = s
	}
	return s
}

func (r *row) time() time.Time {
	if r.byte() == 0 {
		return time.Time{}
	}
	b := r.bytes(12)
	if b == nil {
		return time.Time{}
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}

func (r *row) date() Date {
	return Date{Year: int(r.varint()), Month: time.Month(r.varint()), Day: int(r.varint())}
}

func (cr *colReader) customs(r *row) Custom {
	clear(cr.custom)
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		name := cr.str(r)
		var v any
		switch r.byte() {
		case cvString:
			v = cr.str(r)
		case cvNumber:
			if b := r.bytes(8); b != nil {
				v = math.Float64frombits(binary.BigEndian.Uint64(b))
			}
		case cvBool:
			v = r.byte() == 1
		case cvMoney:
			v = Money{Amount: r.varint(), Currency: cr.str(r)}
		case cvDate:
			v = r.date()
		case cvList:
			m := r.uvarint()
			l := make([]string, 0, min(m, 100))
			for j := uint64(0); j < m && r.err == nil; j++ {
				l = append(l, cr.str(r))
			}
			v = l
		default:
			r.err = errColumn
		}
		cr.custom[name] = v
	}
	return cr.custom
}

// decode reads a row of record id into the reader's record and returns
// it (a pointer, valid until the next decode) and whether the row is
// partial.
func (cr *colReader) decode(id string, b []byte) (any, bool, error) {
	r := &row{b: b}
	if r.byte() != colFormat {
		return nil, false, errColumn
	}
	partial := r.byte()&colPartial != 0
	var out any
	switch cr.code {
	case 'c':
		c := &cr.con
		c.ID = id
		c.Lifecycle, c.OwnerID, c.Address.Country, c.LeadSource = cr.str(r), cr.str(r), cr.str(r), cr.str(r)
		c.CreatedAt, c.UpdatedAt = r.time(), r.time()
		c.Custom = cr.customs(r)
		out = c
	case 'o':
		c := &cr.com
		c.ID = id
		c.Industry, c.OwnerID, c.Address.Country = cr.str(r), cr.str(r), cr.str(r)
		c.CreatedAt, c.UpdatedAt = r.time(), r.time()
		c.Custom = cr.customs(r)
		out = c
	case 'd':
		d := &cr.deal
		d.ID = id
		d.PipelineID, d.StageID, d.Status, d.OwnerID = cr.str(r), cr.str(r), DealStatus(cr.str(r)), cr.str(r)
		d.Amount.Amount = r.varint()
		d.Amount.Currency = cr.str(r)
		d.CloseDate = r.date()
		d.CreatedAt, d.UpdatedAt = r.time(), r.time()
		d.Custom = cr.customs(r)
		out = d
	default:
		return nil, false, errColumn
	}
	if r.err != nil || len(r.b) != 0 {
		return nil, false, errColumn
	}
	return out, partial, nil
}
