package crm_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/require"
)

// clock is a fake clock tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type env struct {
	ctx   context.Context
	st    store.Store
	crm   *crm.CRM
	ws    *crm.Workspace
	clock *clock
}

// setup opens a CRM over the backend under test (see internal/teststore)
// with one workspace "acme".
func setup(t testing.TB) *env {
	t.Helper()
	st := teststore.Open(t)
	clk := newClock()
	c := crm.New(st, crm.WithClock(clk.Now))
	ctx := crm.WithActor(context.Background(), "u_test")
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})
	require.NoError(t, err)
	return &env{ctx: ctx, st: st, crm: c, ws: ws, clock: clk}
}

// fieldErrors returns the failing fields of a *crm.ValidationError.
func fieldErrors(t testing.TB, err error) []string {
	t.Helper()
	var ve *crm.ValidationError
	require.ErrorAs(t, err, &ve)
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

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
