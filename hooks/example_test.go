package hooks_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/crmkit/crmkit/hooks"
)

// DealCreate is an event a domain package might declare.
type DealCreate struct {
	Name        string
	AmountMinor int64 // minor units
	Currency    string
}

var errTooSmall = errors.New("deal below minimum")

// A before-hook vetoes a write by returning an error: Trigger stops there
// and reports which handler refused.
func ExampleHook_Trigger() {
	var onDealCreate hooks.Hook[*DealCreate]

	_ = onDealCreate.Bind("minimum-amount", 0, func(_ context.Context, e *DealCreate) error {
		if e.AmountMinor < 100_00 {
			return fmt.Errorf("%s: %w", e.Name, errTooSmall)
		}
		return nil
	})

	for _, deal := range []*DealCreate{
		{Name: "Acme renewal", AmountMinor: 250_00, Currency: "EUR"},
		{Name: "Tiny pilot", AmountMinor: 40_00, Currency: "EUR"},
	} {
		err := onDealCreate.Trigger(context.Background(), deal)
		var herr *hooks.HandlerError
		switch {
		case err == nil:
			fmt.Println("accepted:", deal.Name)
		case errors.Is(err, errTooSmall) && errors.As(err, &herr):
			fmt.Printf("vetoed by %s: %v\n", herr.ID, herr.Err)
		}
	}
	// Output:
	// accepted: Acme renewal
	// vetoed by minimum-amount: Tiny pilot: deal below minimum
}

// Handlers run in ascending priority; equal priorities run in the order
// they were bound.
func ExampleHook_Bind() {
	var onDealCreate hooks.Hook[*DealCreate]
	say := func(s string) hooks.Func[*DealCreate] {
		return func(context.Context, *DealCreate) error {
			fmt.Println(s)
			return nil
		}
	}

	_ = onDealCreate.Bind("notify", 10, say("notify (10)"))
	_ = onDealCreate.Bind("normalise", -10, say("normalise (-10)"))
	_ = onDealCreate.Bind("validate", 0, say("validate (0)"))
	_ = onDealCreate.Bind("enrich", 0, say("enrich (0)"))

	_ = onDealCreate.Trigger(context.Background(), &DealCreate{Name: "Acme"})
	// Output:
	// normalise (-10)
	// validate (0)
	// enrich (0)
	// notify (10)
}

// After-hooks run with TriggerAll: every handler runs, and each failure,
// panics included, is reported.
func ExampleHook_TriggerAll() {
	var afterDealCreate hooks.Hook[*DealCreate]

	_ = afterDealCreate.Bind("mailer", 0, func(context.Context, *DealCreate) error {
		return errors.New("smtp unavailable")
	})
	_ = afterDealCreate.Bind("buggy", 0, func(context.Context, *DealCreate) error {
		var m map[string]int
		m["x"]++ // panics: assignment to entry in nil map
		return nil
	})
	_ = afterDealCreate.Bind("audit", 0, func(_ context.Context, e *DealCreate) error {
		fmt.Println("audited:", e.Name)
		return nil
	})

	err := afterDealCreate.TriggerAll(context.Background(), &DealCreate{Name: "Acme"})
	for _, herr := range hooks.HandlerErrors(err) {
		var perr *hooks.PanicError
		if errors.As(herr, &perr) {
			fmt.Printf("%s panicked: %v\n", herr.ID, perr.Value)
			continue
		}
		fmt.Printf("%s failed: %v\n", herr.ID, herr.Err)
	}
	// Output:
	// audited: Acme
	// mailer failed: smtp unavailable
	// buggy panicked: assignment to entry in nil map
}
