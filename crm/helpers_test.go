package crm_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/require"
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

// setup opens a CRM over the backend under test (see internal/teststore)
// with one workspace "acme" (see crmtest.Setup).
func setup(t testing.TB) *env {
	t.Helper()
	e := crmtest.Setup(t)
	return &env{ctx: e.Ctx, st: e.Store, crm: e.CRM, ws: e.WS, clock: e.Clock}
}

// fieldErrors returns the failing fields of a *crm.ValidationError.
func fieldErrors(t testing.TB, err error) []string { return crmtest.FieldErrors(t, err) }

// assertNoKeysMention fails if any key or value in the store still holds
// needle.
func assertNoKeysMention(t testing.TB, e *env, needle string) {
	t.Helper()
	err := e.st.View(e.ctx, func(tx store.Tx) error {
		for kv, err := range tx.Scan(store.Range{}) {
			if err != nil {
				return err
			}
			if bytes.Contains(kv.Key, []byte(needle)) || bytes.Contains(kv.Value, []byte(needle)) {
				t.Errorf("key %q still mentions %s", kv.Key, needle)
			}
		}
		return nil
	})
	require.NoError(t, err)
}

const day = crmtest.Day

// sales returns the default pipeline and its stage IDs by name.
func sales(t *testing.T, e *env) (crm.Pipeline, map[string]string) {
	t.Helper()
	return crmtest.Sales(t, &crmtest.Env{Ctx: e.ctx, WS: e.ws})
}
