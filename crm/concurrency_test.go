package crm_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/crmkit/crmkit/store"
)

// createConcurrently has each of the CRMs create perWriter contacts with
// disjoint emails in workspace ws from goroutines of its own (goroutines
// per CRM), and returns the number of failed creates.
func createConcurrently(t *testing.T, crms []*crm.CRM, ws string, goroutines, perWriter int) int {
	t.Helper()
	ctx := context.Background()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed int
	)
	for i, c := range crms {
		h, err := c.Workspace(ctx, ws)
		require.NoError(t, err)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range perWriter {
					_, err := h.Contacts().Create(ctx, crm.Contact{
						FirstName: fmt.Sprintf("W%d-%d", i, g), LastName: fmt.Sprint(n), Lifecycle: "lead",
						Emails: []string{fmt.Sprintf("w%d.%d.%d@example.com", i, g, n)}, OwnerID: fmt.Sprintf("u_%d", n%3),
					})
					if err != nil {
						mu.Lock()
						failed++
						mu.Unlock()
						t.Errorf("create failed: %v", err)
					}
				}
			}()
		}
	}
	wg.Wait()
	return failed
}

// checkCreated checks that workspace ws holds want contacts, counted and
// listed, and that its indexes and counters agree with them.
func checkCreated(t *testing.T, c *crm.CRM, ws string, want int) {
	t.Helper()
	ctx := context.Background()
	h, err := c.Workspace(ctx, ws)
	require.NoError(t, err)
	n := 0
	for _, err := range h.Contacts().List(ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, want, n)
	rep, err := h.Check(ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, rep.Drifted(), rep.Issues)
	var seqs []uint64
	for ev, err := range h.Changes(ctx, 0) {
		require.NoError(t, err)
		seqs = append(seqs, ev.Seq)
	}
	assert.IsIncreasing(t, seqs, "each event once, in commit order")
}

// TestConcurrentCreatesInOneWorkspace has four CRM instances over one
// store, each with four goroutines, create disjoint contacts in one
// workspace: on a store that numbers the outbox itself, no write collides
// with another, so none is retried and none fails.
func TestConcurrentCreatesInOneWorkspace(t *testing.T) {
	st := teststore.Open(t)
	appends := false
	require.NoError(t, st.View(context.Background(), func(tx store.Tx) error {
		_, appends = tx.(store.Appender)
		return nil
	}))
	crms := make([]*crm.CRM, 4)
	for i := range crms {
		crms[i] = crm.New(st)
	}
	_, err := crms[0].CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "busy"})
	require.NoError(t, err)
	const perWriter = 25
	assert.Zero(t, createConcurrently(t, crms, "busy", 4, perWriter))
	var conflicts int64
	for _, c := range crms {
		conflicts += c.Stats().Conflicts
	}
	if appends {
		assert.Zero(t, conflicts, "writes of disjoint contacts collided")
	}
	checkCreated(t, crms[0], "busy", 4*4*perWriter)
}

// TestConcurrentCreatesAcrossInstances does the same with four CRM
// instances each over a store of its own on one PostgreSQL schema, as four
// application servers would.
func TestConcurrentCreatesAcrossInstances(t *testing.T) {
	dsn := os.Getenv(teststore.PostgresDSN)
	if dsn == "" {
		t.Skip("set " + teststore.PostgresDSN + " to run against PostgreSQL")
	}
	sh := teststore.NewSchema(t, dsn)
	crms := instances(t, sh, 4)
	_, err := crms[0].CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "busy"})
	require.NoError(t, err)
	const perWriter = 25
	assert.Zero(t, createConcurrently(t, crms, "busy", 2, perWriter))
	var conflicts int64
	for _, c := range crms {
		conflicts += c.Stats().Conflicts
	}
	assert.Zero(t, conflicts, "writes of disjoint contacts collided")
	checkCreated(t, crms[0], "busy", 4*2*perWriter)
}
