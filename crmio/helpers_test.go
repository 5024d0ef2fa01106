package crmio_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/crmkit/crmkit/store/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// backend opens an empty store, closed when the test ends.
type backend struct {
	name string
	open func(t testing.TB) store.Store
}

var backends = []backend{
	{"memory", func(t testing.TB) store.Store {
		st := memory.New()
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
	{"badger", func(t testing.TB) store.Store {
		st, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}},
}

// onBackends runs fn as a subtest on each backend.
func onBackends(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// newWorkspace creates a workspace "acme" (currency EUR) in a new CRM
// over st.
func newWorkspace(t testing.TB, st store.Store) *crm.Workspace {
	t.Helper()
	ws, err := crm.New(st).CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})
	require.NoError(t, err)
	return ws
}

// importString imports in and checks the result's accounting.
func importString(t testing.TB, ws *crm.Workspace, in string, opts crmio.ImportOptions) *crmio.ImportResult {
	t.Helper()
	res, err := crmio.Import(context.Background(), ws, strings.NewReader(in), opts)
	require.NoError(t, err)
	checkAccounting(t, res)
	return res
}

func checkAccounting(t testing.TB, res *crmio.ImportResult) {
	t.Helper()
	assert.Equal(t, res.Read, res.Created+res.Updated+res.Skipped+res.Rejected, "read = created + updated + skipped + rejected: %+v", res)
	assert.Equal(t, res.Rejected, len(res.Rejects))
}

// rejectsByLine maps each rejected line to "column: reason".
func rejectsByLine(res *crmio.ImportResult) map[int]string {
	out := map[int]string{}
	for _, r := range res.Rejects {
		out[r.Line] = r.Error()
	}
	return out
}

func contacts(t testing.TB, ws *crm.Workspace) []crm.Contact {
	t.Helper()
	var out []crm.Contact
	for c, err := range ws.Contacts().List(context.Background(), crm.ListOptions{}) {
		require.NoError(t, err)
		out = append(out, c)
	}
	return out
}

func companies(t testing.TB, ws *crm.Workspace) []crm.Company {
	t.Helper()
	var out []crm.Company
	for c, err := range ws.Companies().List(context.Background(), crm.ListOptions{}) {
		require.NoError(t, err)
		out = append(out, c)
	}
	return out
}

func deals(t testing.TB, ws *crm.Workspace) []crm.Deal {
	t.Helper()
	var out []crm.Deal
	for d, err := range ws.Deals().List(context.Background(), crm.ListOptions{}) {
		require.NoError(t, err)
		out = append(out, d)
	}
	return out
}

func activities(t testing.TB, ws *crm.Workspace) []crm.Activity {
	t.Helper()
	var out []crm.Activity
	for a, err := range ws.Activities().List(context.Background(), crm.ListOptions{}) {
		require.NoError(t, err)
		out = append(out, a)
	}
	return out
}

// contactCSV generates a CSV of n contacts with unique emails.
func contactCSV(n int) string {
	var b bytes.Buffer
	b.WriteString("first_name,last_name,email,tags\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "First%d,Last%d,person%d@example.com,t%d\n", i, i, i, i%7)
	}
	return b.String()
}
