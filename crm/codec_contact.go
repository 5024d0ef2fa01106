package crm

import (
	"encoding/binary"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Contacts are read far more often than any other record, so their decoding
// is written out instead of left to msgpack's reflection and its io.Reader
// machinery: decodeContact reads, straight from the stored bytes (with the
// byte-level readers of plan_decode.go), the map the reflective encoder
// writes (the msgpack tags of Contact and Meta), sets times to UTC as it
// goes, and skips keys it does not know. Values of nested types (address,
// phones, companies, external IDs, birthday, custom fields) are cut out and
// handed to msgpack. Encoding stays msgpack's, so the stored form is
// unchanged; a test fills every field of a Contact and checks that both
// decoders agree, and a fuzz test that bad input is an error.

// decodeContact decodes a contact stored by msgpack's encoder.
func decodeContact(b []byte, c *Contact) error {
	*c = Contact{}
	n, b, err := mapLen(b)
	if err != nil {
		return err
	}
	var (
		k []byte
		s *string
	)
	for range n {
		if k, b, err = strBytes(b); err != nil {
			return err
		}
		s = nil
		switch string(k) {
		case "id":
			s = &c.ID
		case "version":
			c.Version, b, err = intValue(b)
		case "created_at":
			c.CreatedAt, b, err = timeValue(b)
		case "updated_at":
			c.UpdatedAt, b, err = timeValue(b)
		case "created_by":
			s = &c.CreatedBy
		case "updated_by":
			s = &c.UpdatedBy
		case "deleted_at":
			c.DeletedAt, b, err = timeValue(b)
		case "first_name":
			s = &c.FirstName
		case "last_name":
			s = &c.LastName
		case "emails":
			c.Emails, b, err = stringsValue(b)
		case "phones":
			b, err = listValue(b, &c.Phones, (*Phone).field)
		case "title":
			s = &c.Title
		case "address":
			b, err = structValue(b, func(k string) *string { return c.Address.field(k) })
		case "birthday":
			b, err = nestedValue(b, &c.Birthday)
		case "preferred_channel":
			s = &c.PreferredChannel
		case "interests":
			c.Interests, b, err = stringsValue(b)
		case "lead_source":
			s = &c.LeadSource
		case "lifecycle":
			s = &c.Lifecycle
		case "owner_id":
			s = &c.OwnerID
		case "tags":
			c.Tags, b, err = stringsValue(b)
		case "external_ids":
			b, err = nestedValue(b, &c.ExternalIDs)
		case "companies":
			b, err = listValue(b, &c.Companies, (*CompanyRole).field)
		case "custom":
			b, err = nestedValue(b, &c.Custom)
		default:
			b, err = skipValue(b)
		}
		if s != nil {
			*s, b, err = stringValue(b)
		}
		if err != nil {
			return err
		}
	}
	if len(b) != 0 {
		return errMsgpack
	}
	return nil
}

// stringValue reads a string (nil reads as "").
func stringValue(b []byte) (string, []byte, error) {
	if len(b) > 0 && b[0] == 0xc0 {
		return "", b[1:], nil
	}
	s, b, err := strBytes(b)
	return string(s), b, err
}

// stringsValue reads a list of strings; nil stays nil.
func stringsValue(b []byte) ([]string, []byte, error) {
	if err := need(b, 1); err != nil {
		return nil, nil, err
	}
	var n int
	switch c := b[0]; {
	case c == 0xc0:
		return nil, b[1:], nil
	case c >= 0x90 && c <= 0x9f:
		n, b = int(c&0x0f), b[1:]
	case c == 0xdc && len(b) >= 3:
		n, b = int(binary.BigEndian.Uint16(b[1:])), b[3:]
	case c == 0xdd && len(b) >= 5:
		n, b = int(binary.BigEndian.Uint32(b[1:])), b[5:]
	default:
		return nil, nil, errMsgpack
	}
	if n > len(b) {
		return nil, nil, errMsgpack
	}
	out := make([]string, n)
	var err error
	for i := range out {
		if out[i], b, err = stringValue(b); err != nil {
			return nil, nil, err
		}
	}
	return out, b, nil
}

// intValue reads an integer (nil reads as 0).
func intValue(b []byte) (int64, []byte, error) {
	if err := need(b, 1); err != nil {
		return 0, nil, err
	}
	c := b[0]
	size := map[byte]int{0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8, 0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8}[c]
	switch {
	case c <= 0x7f:
		return int64(c), b[1:], nil
	case c >= 0xe0:
		return int64(int8(c)), b[1:], nil
	case c == 0xc0:
		return 0, b[1:], nil
	case size == 0 || len(b) < 1+size:
		return 0, nil, errMsgpack
	}
	var v uint64
	for _, x := range b[1 : 1+size] {
		v = v<<8 | uint64(x)
	}
	n := int64(v)
	if c >= 0xd0 { // signed: extend the sign of narrower widths
		n = int64(v<<(64-8*size)) >> (64 - 8*size)
	}
	return n, b[1+size:], nil
}

// timeValue reads msgpack's timestamp extension, in UTC unless it is the
// zero time (as utcTimes leaves times); nil reads as the zero time.
func timeValue(b []byte) (time.Time, []byte, error) {
	if len(b) > 0 && b[0] == 0xc0 {
		return time.Time{}, b[1:], nil
	}
	rest, err := skipValue(b)
	if err != nil {
		return time.Time{}, nil, err
	}
	t, ok := extTime(b[:len(b)-len(rest)])
	if !ok {
		return time.Time{}, nil, errMsgpack
	}
	if t.IsZero() {
		return time.Time{}, rest, nil
	}
	return t.UTC(), rest, nil
}

// nestedValue decodes the next value into v with msgpack.
func nestedValue(b []byte, v any) ([]byte, error) {
	rest, err := skipValue(b)
	if err != nil {
		return nil, err
	}
	return rest, msgpack.Unmarshal(b[:len(b)-len(rest)], v)
}

// field returns the address field a msgpack key names, nil for none.
func (a *Address) field(k string) *string {
	switch k {
	case "street":
		return &a.Street
	case "city":
		return &a.City
	case "region":
		return &a.Region
	case "postal_code":
		return &a.PostalCode
	case "country":
		return &a.Country
	}
	return nil
}

// field returns the phone field a msgpack key names, nil for none.
func (p *Phone) field(k string) *string {
	switch k {
	case "number":
		return &p.Number
	case "label":
		return &p.Label
	case "region":
		return &p.Region
	case "e164":
		return &p.E164
	case "extension":
		return &p.Extension
	}
	return nil
}

// field returns the company role field a msgpack key names, nil for none.
func (r *CompanyRole) field(k string) *string {
	switch k {
	case "company_id":
		return &r.CompanyID
	case "role":
		return &r.Role
	}
	return nil
}

// structValue reads a map of string fields into the fields field names
// (keys it names nil are skipped). A nil map leaves them as they are.
func structValue(b []byte, field func(k string) *string) ([]byte, error) {
	if len(b) > 0 && b[0] == 0xc0 {
		return b[1:], nil
	}
	n, b, err := mapLen(b)
	if err != nil {
		return nil, err
	}
	var k []byte
	for range n {
		if k, b, err = strBytes(b); err != nil {
			return nil, err
		}
		if f := field(string(k)); f != nil {
			*f, b, err = stringValue(b)
		} else {
			b, err = skipValue(b)
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// listValue reads a list of maps of string fields into *list; nil stays
// nil.
func listValue[T any](b []byte, list *[]T, field func(*T, string) *string) ([]byte, error) {
	if err := need(b, 1); err != nil {
		return nil, err
	}
	var n int
	switch c := b[0]; {
	case c == 0xc0:
		*list = nil
		return b[1:], nil
	case c >= 0x90 && c <= 0x9f:
		n, b = int(c&0x0f), b[1:]
	case c == 0xdc && len(b) >= 3:
		n, b = int(binary.BigEndian.Uint16(b[1:])), b[3:]
	default:
		return nestedValue(b, list)
	}
	if n > len(b) {
		return nil, errMsgpack
	}
	out := make([]T, n)
	var err error
	for i := range out {
		if b, err = structValue(b, func(k string) *string { return field(&out[i], k) }); err != nil {
			return nil, err
		}
	}
	*list = out
	return b, nil
}
