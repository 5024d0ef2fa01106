// Package crmtest holds what the tests of crm and of the packages built on
// it share: a CRM with one workspace over the backend the test run selects
// (see internal/teststore), a clock the test moves by hand, and helpers
// for the CRM's errors. Tests assert with testify from the test goroutine.
//
// It is for tests only. It imports crm, internal/teststore, testify and
// the standard library.
package crmtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/require"
)

// Start is the time a Clock starts at: a Monday, 2026-03-02 09:00 UTC.
var Start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Clock is a fake clock a test moves by hand. It is safe for concurrent
// use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at Start.
func NewClock() *Clock { return &Clock{now: Start} }

// Now returns the clock's time; pass it to crm.WithClock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Env is a CRM over the selected backend with one workspace, "acme" (Acme,
// EUR), written as the actor "u_test".
type Env struct {
	Ctx   context.Context
	Store store.Store
	CRM   *crm.CRM
	WS    *crm.Workspace
	Clock *Clock
}

// Setup opens an Env, closed when the test ends.
func Setup(t testing.TB, opts ...crm.Option) *Env {
	t.Helper()
	st := teststore.Open(t)
	clk := NewClock()
	c := crm.New(st, append([]crm.Option{crm.WithClock(clk.Now)}, opts...)...)
	ctx := crm.WithActor(context.Background(), "u_test")
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})
	require.NoError(t, err)
	return &Env{Ctx: ctx, Store: st, CRM: c, WS: ws, Clock: clk}
}

// FieldErrors returns the failing fields of err, which must be a
// *crm.ValidationError.
func FieldErrors(t testing.TB, err error) []string {
	t.Helper()
	var ve *crm.ValidationError
	require.ErrorAs(t, err, &ve)
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

// Day is 24 hours.
const Day = 24 * time.Hour

// Sales returns the workspace's default pipeline and its stage IDs by
// name.
func Sales(t testing.TB, e *Env) (crm.Pipeline, map[string]string) {
	t.Helper()
	pl, err := e.WS.Pipelines().Default(e.Ctx)
	require.NoError(t, err)
	ids := map[string]string{}
	for _, s := range pl.Stages {
		ids[s.Name] = s.ID
	}
	return pl, ids
}
