package crm

import "fmt"

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

func unknownKind(k string) error {
	return &ValidationError{Kind: "ref", Fields: []FieldError{{"kind", fmt.Sprintf("%q is not a record kind", k)}}}
}

// The kinds' prepare functions refer back to the kinds (to check
// references), so they are wired here rather than in the declarations.
func init() {
	kindContact.prepare = prepareContact
	kindCompany.prepare = prepareCompany
	kindPipeline.prepare = preparePipeline
	kindDeal.prepare = prepareDeal
	kindActivity.prepare = prepareActivity
	kindPurchase.prepare = preparePurchase
}
