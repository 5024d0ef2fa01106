package automation_test

import (
	"context"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/crmkit/crmkit/store"
)

// clock is the fake clock tests move by hand.
type clock = crmtest.Clock

func newClock() *clock { return crmtest.NewClock() }

type env struct {
	ctx   context.Context
	st    store.Store
	crm   *crm.CRM
	ws    *crm.Workspace
	clock *clock
}

// setup opens a CRM over the backend under test with one workspace
// "acme" (see crmtest.Setup).
func setup(t testing.TB, opts ...crm.Option) *env {
	t.Helper()
	e := crmtest.Setup(t, opts...)
	return &env{ctx: e.Ctx, st: e.Store, crm: e.CRM, ws: e.WS, clock: e.Clock}
}

// fieldErrors returns the failing fields of a *crm.ValidationError.
func fieldErrors(t testing.TB, err error) []string { return crmtest.FieldErrors(t, err) }

const day = crmtest.Day

var (
	benchEpoch      = crmtest.BenchEpoch
	benchContacts   = crmtest.Contacts
	processCPU      = crmtest.ProcessCPU
	openBenchBadger = crmtest.OpenBadger
)
