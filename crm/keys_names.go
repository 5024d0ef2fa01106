package crm

import (
	"bytes"

	"github.com/crmkit/crmkit/store/tuple"
)

// Index names in keys. The built-in indexes, counters and unique indexes
// are named in their keys by a two-byte code, 0x01 and the name's place
// in indexNames, instead of by their name (up to 19 bytes, in every entry
// and counter of a record). Names no code stands for (custom fields,
// composite indexes) are written out; no name starts with 0x01.
//
// indexNames may only grow at its end: a code, once given, is in stores.
var indexNames = []string{
	"", // code 0 is not used
	// sort and lookup indexes
	"updated", "deleted", "name", "owner", "phone", "email", "domain", "ext",
	"company", "contact", "stage", "amount", "link", "due", "open_ticket", "parent",
	pipeAggIndex, pipeSumIndex,
	// field indexes and their counters
	"f.lifecycle", "f.lead_source", "f.address.country", "f.address.city",
	"f.preferred_channel", "f.owner_id", "f.tags", "f.interests", "f.company_ids",
	"f.created_at", "f.birthday", "f.industry", "f.employees", "f.annual_revenue",
	"f.status", "f.pipeline_id", "f.stage_id", "f.source", "f.company_id",
	"f.amount", "f.close_date", "f.closed_at",
	// the conversion aggregate (deal_conversion.go)
	convIndex, convSumIndex, convStayIndex, convStayMillis, convCycleIndex, convCycleMilli, convOpenIndexV3,
	convOpenIndex,
}

// nameCode is the code byte marking a coded index name.
const nameCode byte = 0x01

var indexCodes = func() map[string]byte {
	m := make(map[string]byte, len(indexNames))
	for i, n := range indexNames[1:] {
		m[n] = byte(i + 1)
	}
	return m
}()

// keyName returns how index name is written in keys.
func keyName(name string) string {
	if c, ok := indexCodes[name]; ok {
		return string([]byte{nameCode, c})
	}
	return name
}

// nameOfKey returns the index name a key name (see keyName) stands for.
func nameOfKey(s string) string {
	if len(s) == 2 && s[0] == nameCode && int(s[1]) < len(indexNames) && s[1] != 0 {
		return indexNames[s[1]]
	}
	return s
}

// upgradeKey returns a key of a workspace (rest, the key after the
// workspace prefix) and its value as the current layout writes them,
// given them in the layout before key spaces: index names were written
// out in full, and index entries held their record's ID as value (now the
// length of its encoding at the end of the key).
func upgradeKey(rest, value []byte) ([]byte, []byte) {
	if len(rest) < 2 {
		return rest, value
	}
	switch tag := rest[0]; tag {
	case tagIndex, tagUnique, tagCount:
		r := tuple.NewReader(rest[2:])
		name := r.Str()
		if r.Err() != nil {
			return rest, value
		}
		out := append(key{tag, rest[1]}.str(keyName(name)), r.Rest()...)
		if tag == tagIndex && len(value) > 1 {
			if enc := (key{}).str(string(value)); bytes.HasSuffix(out, enc) && len(enc) < 256 {
				value = []byte{byte(len(enc))}
			}
		}
		return out, value
	}
	return rest, value
}
