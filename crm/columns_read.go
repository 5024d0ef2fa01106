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

var errColumn = errors.New("crm: malformed column row")

// columnSlots maps each projected filter field of a kind to the places
// in the row it is read from (amount needs its currency too: an amount
// of 0 without a currency is unset).
var columnSlots = map[byte]map[string][]int{
	'c': {"lifecycle": {0}, "owner_id": {1}, "address.country": {2}, "lead_source": {3}, "created_at": {4}, "updated_at": {5}},
	'o': {"industry": {0}, "owner_id": {1}, "address.country": {2}, "created_at": {3}, "updated_at": {4}},
	'd': {"pipeline_id": {0}, "stage_id": {1}, "status": {2}, "owner_id": {3}, "amount": {4, 5}, "amount_currency": {5},
		"close_date": {6}, "created_at": {7}, "updated_at": {8}},
}

// colReader decodes rows of one kind into a record it reuses, for
// evaluation only. It decodes the places a filter reads and skips the
// others, and interns the text it reads, so that values that repeat
// (a lifecycle stage, a country) cost no allocation.
type colReader struct {
	code   byte
	need   uint32 // bit i: place i is read
	custom bool   // custom values are read
	con    Contact
	com    Company
	deal   Deal
	cust   Custom
	// interned holds, per place, the distinct texts read (up to
	// maxInterned), boxed: low-cardinality fields (a lifecycle stage, a
	// country, an owner) then cost no allocation per row.
	interned [10]map[string]any
	// texts are the text fields the filter reads and their places; val
	// holds each place's value boxed for the filter, as last decoded.
	texts []colText
	val   [10]any
	// names are the custom fields the filter reads (nil: all).
	names []string
	// numBits and numBoxed are the last custom numbers read, boxed.
	numBits  [16]uint64
	numBoxed [16]any
	numNext  uint8
}

type colText struct {
	field string
	place int
}

// textPlaces are the places that hold text, per kind.
var textPlaces = map[byte][]int{'c': {0, 1, 2, 3}, 'o': {0, 1, 2}, 'd': {0, 1, 2, 3}}

// newColReader returns a reader of rows of kind code for the fields e
// reads.
func newColReader(code byte, e filter.Expr) *colReader {
	cr := &colReader{code: code, cust: Custom{}}
	slots := columnSlots[code]
	walkConds(e, func(c *filter.Cond) {
		if name, ok := strings.CutPrefix(c.Field, "custom."); ok {
			cr.custom = true
			for _, n := range []string{name, strings.TrimSuffix(name, "_currency")} {
				if !slices.Contains(cr.names, n) {
					cr.names = append(cr.names, n)
				}
			}
		}
		for _, i := range slots[c.Field] {
			cr.need |= 1 << i
		}
		if p := slots[c.Field]; len(p) == 1 && slices.Contains(textPlaces[code], p[0]) &&
			!slices.ContainsFunc(cr.texts, func(t colText) bool { return t.field == c.Field }) {
			cr.texts = append(cr.texts, colText{field: c.Field, place: p[0]})
		}
	})
	return cr
}

// row is a cursor over one row's bytes; a row it cannot read is
// errColumn.
type row struct{ cursor }

// str reads the text at place i (-1: a custom value), or skips it when
// the place is not read.
func (cr *colReader) str(r *row, i int) string {
	b := r.raw()
	if i >= 0 && cr.need&(1<<i) == 0 {
		return ""
	}
	if len(b) == 0 {
		if i >= 0 {
			cr.val[i] = ""
		}
		return ""
	}
	if i < 0 {
		return string(b)
	}
	m := cr.interned[i]
	if v, ok := m[string(b)]; ok {
		cr.val[i] = v
		return v.(string)
	}
	s := string(b)
	var v any = s
	if m == nil {
		m = map[string]any{}
		cr.interned[i] = m
	}
	if len(m) < maxInterned {
		m[s] = v
	}
	cr.val[i] = v
	return s
}

// maxInterned bounds the texts a colReader interns per place: past it,
// a high-cardinality field (an ID, a name) allocates as it is read.
const maxInterned = 4096

func (cr *colReader) time(r *row, i int) time.Time {
	if r.byte() == 0 {
		return time.Time{}
	}
	b := r.bytes(12)
	if b == nil || cr.need&(1<<i) == 0 {
		return time.Time{}
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}

func (r *row) date() Date {
	return Date{Year: int(r.varint()), Month: time.Month(r.varint()), Day: int(r.varint())}
}

func (cr *colReader) customs(r *row) Custom {
	if !cr.custom {
		return nil
	}
	clear(cr.cust)
	n := r.uvarint()
	for i := uint64(0); i < n && !r.bad; i++ {
		nb := r.raw()
		name := ""
		if cr.names == nil {
			name = string(nb)
		} else {
			for _, n := range cr.names {
				if n == string(nb) {
					name = n
				}
			}
		}
		if name == "" && cr.names != nil {
			r.skipCustom()
			continue
		}
		var v any
		switch r.byte() {
		case cvString:
			v = cr.str(r, -1)
		case cvNumber:
			if b := r.bytes(8); b != nil {
				v = cr.number(binary.BigEndian.Uint64(b))
			}
		case cvBool:
			v = r.byte() == 1
		case cvMoney:
			v = Money{Amount: r.varint(), Currency: cr.str(r, -1)}
		case cvDate:
			v = r.date()
		case cvList:
			m := r.uvarint()
			l := make([]string, 0, min(m, 100))
			for j := uint64(0); j < m && !r.bad; j++ {
				l = append(l, cr.str(r, -1))
			}
			v = l
		default:
			r.bad = true
		}
		if name != "" {
			cr.cust[name] = v
		}
	}
	if len(r.b) != 0 {
		r.bad = true
	}
	return cr.cust
}

// number returns the float64 of bits boxed, from the last 16 numbers
// boxed when it is among them: scores and counts repeat.
func (cr *colReader) number(bits uint64) any {
	for i, b := range cr.numBits {
		if b == bits && cr.numBoxed[i] != nil {
			return cr.numBoxed[i]
		}
	}
	v := any(math.Float64frombits(bits))
	i := cr.numNext % uint8(len(cr.numBits))
	cr.numBits[i], cr.numBoxed[i] = bits, v
	cr.numNext++
	return v
}

// skipCustom skips a custom value.
func (r *row) skipCustom() {
	switch r.byte() {
	case cvString:
		r.raw()
	case cvNumber:
		r.bytes(8)
	case cvBool:
		r.byte()
	case cvMoney:
		r.varint()
		r.raw()
	case cvDate:
		r.date()
	case cvList:
		m := r.uvarint()
		for j := uint64(0); j < m && !r.bad; j++ {
			r.raw()
		}
	default:
		r.bad = true
	}
}

// decode reads a row of record id into the reader's record and returns
// it (a pointer, valid until the next decode) and whether the row is
// partial. A row is checked whole only where it is read: the places
// skipped are checked for their length alone, and custom values only
// when the filter reads them.
func (cr *colReader) decode(id string, b []byte) (any, bool, error) {
	r := &row{cursor{b: b}}
	if r.byte() != colFormat {
		return nil, false, errColumn
	}
	partial := r.byte()&colPartial != 0
	var out any
	switch cr.code {
	case 'c':
		c := &cr.con
		c.ID = id
		c.Lifecycle, c.OwnerID, c.Address.Country, c.LeadSource = cr.str(r, 0), cr.str(r, 1), cr.str(r, 2), cr.str(r, 3)
		c.CreatedAt, c.UpdatedAt = cr.time(r, 4), cr.time(r, 5)
		c.Custom = cr.customs(r)
		out = c
	case 'o':
		c := &cr.com
		c.ID = id
		c.Industry, c.OwnerID, c.Address.Country = cr.str(r, 0), cr.str(r, 1), cr.str(r, 2)
		c.CreatedAt, c.UpdatedAt = cr.time(r, 3), cr.time(r, 4)
		c.Custom = cr.customs(r)
		out = c
	case 'd':
		d := &cr.deal
		d.ID = id
		d.PipelineID, d.StageID, d.Status, d.OwnerID = cr.str(r, 0), cr.str(r, 1), DealStatus(cr.str(r, 2)), cr.str(r, 3)
		d.Amount.Amount = r.varint()
		d.Amount.Currency = cr.str(r, 5)
		d.CloseDate = r.date()
		d.CreatedAt, d.UpdatedAt = cr.time(r, 7), cr.time(r, 8)
		d.Custom = cr.customs(r)
		out = d
	default:
		return nil, false, errColumn
	}
	if r.bad {
		return nil, false, errColumn
	}
	return out, partial, nil
}

// Field returns a field of the record last decoded: the filter.Record
// the filter is evaluated on.
func (cr *colReader) Field(name string) (any, bool) {
	for _, t := range cr.texts {
		if t.field == name {
			return cr.val[t.place], true
		}
	}
	if strings.HasPrefix(name, "custom.") {
		return customField(cr.cust, name)
	}
	switch cr.code {
	case 'c':
		return contactField(&cr.con, name)
	case 'o':
		return companyField(&cr.com, name)
	}
	return dealField(&cr.deal, name)
}
