package crm

import (
	"encoding/binary"
	"fmt"

	"github.com/crmkit/crmkit/hooks"
	"github.com/crmkit/crmkit/store"
)

// hooksOf is the before-hook of records of type T.
type hooksOf[T any] = hooks.Hook[*Before[T]]

func binaryUint(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// kindCodes maps record kind names to their key byte.
var kindCodes = map[string]byte{
	"contact":  'c',
	"company":  'o',
	"deal":     'd',
	"activity": 'a',
	"purchase": 'p',
	"pipeline": 'l',
}

// customKinds are the kinds that have custom fields.
var customKinds = map[string]byte{
	"contact":  'c',
	"company":  'o',
	"deal":     'd',
	"activity": 'a',
	"purchase": 'p',
}

// kindInfo is what code that handles records of any kind needs of one.
type kindInfo struct {
	name string
	code byte
	// get reads a record (a pointer to it), as get does.
	get func(tx store.Reader, w *Workspace, id string) (any, error)
	// decode decodes a stored record into a new one.
	decode func(b []byte) (any, error)
	// update loads a live record, lets mutate change it and saves it.
	update func(t *txn, id string, mutate func(any) error) (any, error)
}

// kindsByName and kindsByCode register every record kind.
var (
	kindsByName = map[string]*kindInfo{}
	kindsByCode = map[byte]*kindInfo{}
)

func register[T any](k *kind[T]) {
	info := &kindInfo{
		name: k.name, code: k.code,
		get: func(tx store.Reader, w *Workspace, id string) (any, error) { return get(tx, w, k, id) },
		decode: func(b []byte) (any, error) {
			r := new(T)
			return r, decode(b, r)
		},
		update: func(t *txn, id string, mutate func(any) error) (any, error) {
			return objects[T]{t.w, k}.updateIn(t, id, 0, func(r *T) error { return mutate(r) })
		},
	}
	kindsByName[k.name], kindsByCode[k.code] = info, info
}

func unknownKind(k string) error {
	return &ValidationError{Kind: "ref", Fields: []FieldError{{"kind", fmt.Sprintf("%q is not a record kind", k)}}}
}

// The kinds' prepare functions refer back to the kinds (to check
// references), so they are wired here rather than in the declarations.
func init() {
	register(kindContact)
	register(kindCompany)
	register(kindPipeline)
	register(kindDeal)
	register(kindActivity)
	register(kindPurchase)
	kindContact.before = func(h *Hooks) *hooksOf[Contact] { return &h.BeforeContact }
	kindCompany.before = func(h *Hooks) *hooksOf[Company] { return &h.BeforeCompany }
	kindPipeline.before = func(h *Hooks) *hooksOf[Pipeline] { return &h.BeforePipeline }
	kindDeal.before = func(h *Hooks) *hooksOf[Deal] { return &h.BeforeDeal }
	kindActivity.before = func(h *Hooks) *hooksOf[Activity] { return &h.BeforeActivity }
	kindPurchase.before = func(h *Hooks) *hooksOf[Purchase] { return &h.BeforePurchase }
	kindContact.owner = func(c *Contact) string { return c.OwnerID }
	kindCompany.owner = func(c *Company) string { return c.OwnerID }
	kindDeal.owner = func(d *Deal) string { return d.OwnerID }
	kindActivity.owner = func(a *Activity) string { return a.OwnerID }
	kindContact.events = contactEvents
	kindDeal.events = dealEvents
	kindActivity.events = activityEvents
	kindContact.field = contactField
	kindCompany.field = companyField
	kindDeal.field = dealField

	kindContact.prepare = prepareContact
	kindCompany.prepare = prepareCompany
	kindPipeline.prepare = preparePipeline
	kindDeal.prepare = prepareDeal
	kindActivity.prepare = prepareActivity
	kindPurchase.prepare = preparePurchase
}
