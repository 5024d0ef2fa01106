package crm

import (
	"fmt"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// Kind names a kind of record (contact, company, deal, ...), or another
// thing a policy grants on (segment, workspace). It is a struct rather
// than a string type so that a literal such as "contacts" does not
// convert to it: a misspelt kind fails to compile. Use the Kind values
// below, or ParseKind for a name read at run time (a flag, a URL).
//
// The zero Kind is no kind. Kinds compare with == and serve as map keys.
// In JSON, text and msgpack a Kind is its name as a string ("contact"),
// exactly as the bare strings stored before it, so data written by older
// versions reads unchanged. Decoding keeps a name it does not know (see
// UnmarshalText): the call that takes the value rejects it, naming the
// field.
type Kind struct{ name string }

// The record kinds.
var (
	KindContact  = Kind{"contact"}
	KindCompany  = Kind{"company"}
	KindDeal     = Kind{"deal"}
	KindActivity = Kind{"activity"}
	KindPurchase = Kind{"purchase"}
	KindPipeline = Kind{"pipeline"}
)

// The kinds a policy grants on besides records: segment definitions
// (their members are records of their own kind) and the workspace itself
// (its settings, policy, backup and export).
var (
	KindSegment   = Kind{"segment"}
	KindWorkspace = Kind{"workspace"}
)

// AnyKind is every kind, in a policy's Grant only; its name is "*".
var AnyKind = Kind{"*"}

// kindPlurals are the plural names ParseKind accepts besides the kinds'
// own names, for URLs and command lines ("/contacts", --kind companies).
var kindPlurals = map[string]Kind{
	"contacts":   KindContact,
	"companies":  KindCompany,
	"deals":      KindDeal,
	"activities": KindActivity,
	"purchases":  KindPurchase,
	"pipelines":  KindPipeline,
	"segments":   KindSegment,
	"workspaces": KindWorkspace,
}

// RecordKinds lists the record kinds, in a fixed order.
func RecordKinds() []Kind {
	return []Kind{KindContact, KindCompany, KindDeal, KindActivity, KindPurchase, KindPipeline}
}

// namedKinds are the kinds a name parses to: the record kinds, segment,
// workspace and *.
func namedKinds() []Kind {
	return append(RecordKinds(), KindSegment, KindWorkspace, AnyKind)
}

// String returns the kind's name, as stored: "contact", "*", or "" for
// the zero Kind.
func (k Kind) String() string { return k.name }

// IsZero reports whether k is the zero Kind (no kind). Fields tagged
// omitempty (msgpack) or omitzero (JSON) leave it out.
func (k Kind) IsZero() bool { return k.name == "" }

// ParseKind returns the kind named s: one of the names the Kind values
// have ("contact", "company", "deal", "activity", "purchase", "pipeline",
// "segment", "workspace", and "*" for AnyKind) or, for the convenience
// of URLs and command lines, their plurals ("contacts", "companies", ...).
// Names are case-sensitive. An unknown name fails with a *ValidationError
// (matching ErrInvalid) naming the field "kind" and listing the valid
// names.
func ParseKind(s string) (Kind, error) {
	if k, ok := kindPlurals[s]; ok {
		return k, nil
	}
	return parseKindName(s)
}

// parseKindName accepts only the kinds' own names.
func parseKindName(s string) (Kind, error) {
	for _, k := range namedKinds() {
		if k.name == s {
			return k, nil
		}
	}
	return Kind{}, &ValidationError{Kind: "kind", Fields: []FieldError{{
		Field:  "kind",
		Reason: fmt.Sprintf("%q is not one of %s", s, kindNames(namedKinds())),
	}}}
}

// MarshalText returns the kind's name, so JSON and text carry "contact".
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.name), nil }

// UnmarshalText sets k to the kind named by text, as it is: it does not
// fail on a name it does not know (nor read plurals), because decoding
// has no field to blame. The call that takes the value checks the kind
// and names the field ("object", "roles[0].grants[1].kind") in its
// *ValidationError; such a kind equals none of the known ones. Use
// ParseKind to check a name on its own.
func (k *Kind) UnmarshalText(text []byte) error {
	*k = Kind{string(text)}
	return nil
}

// EncodeMsgpack writes the kind's name as a msgpack string, byte for
// byte what the bare string field it replaced wrote.
func (k Kind) EncodeMsgpack(enc *msgpack.Encoder) error { return enc.EncodeString(k.name) }

// DecodeMsgpack reads a kind's name (nil reads as the zero Kind). Like
// UnmarshalText it keeps a name it does not know, rather than failing, so
// that a value written by a newer version still opens: such a kind
// equals none of the known ones, and the checks that take a kind reject
// it.
func (k *Kind) DecodeMsgpack(dec *msgpack.Decoder) error {
	s, err := dec.DecodeString()
	if err != nil {
		return err
	}
	*k = Kind{s}
	return nil
}

// kindNames joins the names of kinds with commas, for error messages.
func kindNames(kinds []Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.name
	}
	return strings.Join(names, ", ")
}
