package crmio_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// backend opens an empty store, closed when the test ends.
type backend struct {
	name string
	open func(t testing.TB) store.Store
}

// selected is the backend the test run selects (CRMKIT_TEST_STORE:
// memory by default, badger or postgres; see internal/teststore).
var selected = backend{cmp.Or(os.Getenv("CRMKIT_TEST_STORE"), "memory"), teststore.Open}

// onBackends runs fn as a subtest on the selected backend.
func onBackends(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run(selected.name, func(t *testing.T) { fn(t, selected) })
}

// newWorkspace creates a workspace "acme" (currency EUR) in a new CRM
// over st.
func newWorkspace(t testing.TB, st store.Store) *crm.Workspace {
	t.Helper()
	ws, err := crm.New(st).CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR", PhoneRegion: "DE"})
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
