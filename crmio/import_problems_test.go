package crmio_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countEvents counts the workspace's outbox events: a write that was
// rolled back leaves none.
func countEvents(t testing.TB, ws *crm.Workspace) int {
	t.Helper()
	n := 0
	for _, err := range ws.Changes(context.Background(), 0) {
		require.NoError(t, err)
		n++
	}
	return n
}

// rejectColumns lists the columns of a reject's problems, in order.
func rejectColumns(r crmio.Reject) []string {
	out := make([]string, len(r.Problems))
	for i, p := range r.Problems {
		out[i] = p.Column
	}
	return out
}

// TestImportRejectsEveryProblem checks that a row crmio rejects for a
// value that does not convert or a reference to nothing is also checked
// by the CRM, so that its reject names every failing column at once, in
// the order of the header, and that the check writes nothing.
func TestImportRejectsEveryProblem(t *testing.T) {
	ctx := context.Background()
	onBackends(t, func(t *testing.T, b backend) {
		t.Run("contacts", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			seedCompanies(t, ws)
			events := countEvents(t, ws)
			in := "first_name,email,company,company_role,country,birthday\n" +
				"A,not-an-email,Nowhere Inc,buyer,XX,31/31/1990\n" +
				"B,b@example.com,acme.com,buyer;extra,,2100-01-01\n"
			res := importString(t, ws, in, crmio.ImportOptions{Object: crmio.ObjectContact})
			require.Equal(t, 2, res.Rejected, "%v", res.Rejects)
			assert.Empty(t, contacts(t, ws))
			assert.Equal(t, events, countEvents(t, ws), "checking the rejected rows wrote nothing")

			// crmio's problems (company, birthday) and the CRM's (email,
			// country), by column; the role is not blamed for the company
			// that was not found.
			// (The CRM's reasons are checked by their start only: their
			// detail is the CRM's business.)
			a := res.Rejects[0]
			require.Equal(t, []string{"email", "company", "country", "birthday"}, rejectColumns(a), a.Error())
			assert.True(t, strings.HasPrefix(a.Problems[0].Reason, `"not-an-email" is not a valid email address`), a.Problems[0].Reason)
			assert.Equal(t, `no company named "Nowhere Inc" or with that domain`, a.Problems[1].Reason)
			assert.True(t, strings.HasPrefix(a.Problems[2].Reason, `"XX" is not an ISO 3166-1`), a.Problems[2].Reason)
			assert.Equal(t, `"31/31/1990" is not a date (want YYYY-MM-DD or DD/MM/YYYY)`, a.Problems[3].Reason)
			assert.Equal(t, "email", a.Column, "Column and Reason are the first problem")
			assert.Equal(t, a.Problems[0].Reason, a.Reason)

			// A role without a company (crmio) and a birthday in the future
			// (the CRM).
			bad := res.Rejects[1]
			require.Equal(t, []string{"company_role", "birthday"}, rejectColumns(bad), bad.Error())
			assert.Equal(t, `role "extra" has no company to go with`, bad.Problems[0].Reason)
			assert.Contains(t, bad.Problems[1].Reason, "future")

			// The rejects file carries them all in _error.
			var buf bytes.Buffer
			require.NoError(t, res.WriteRejects(&buf))
			recs, err := csv.NewReader(&buf).ReadAll()
			require.NoError(t, err)
			require.Len(t, recs, 3)
			assert.Equal(t, a.Error(), recs[1][7])
			assert.Equal(t, res.Rejects[1].Error(), recs[2][7])

			// The same file gives the same rejects, in the same order.
			again := importString(t, newWorkspaceWith(t, b, seedCompanies), in, crmio.ImportOptions{Object: crmio.ObjectContact})
			assert.Equal(t, res.Rejects, again.Rejects)
		})

		t.Run("upsert rows are checked as updates", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			_, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}, Address: crm.Address{Country: "GB"}})
			require.NoError(t, err)
			in := "email,country,birthday\nada@example.com,XX,31/31/1990\n"
			res := importString(t, ws, in, crmio.ImportOptions{Object: crmio.ObjectContact, UpsertBy: "email"})
			require.Len(t, res.Rejects, 1)
			assert.Equal(t, []string{"country", "birthday"}, rejectColumns(res.Rejects[0]),
				"no complaint that the email is taken, the row updates its record: %s", res.Rejects[0].Error())
			assert.Contains(t, res.Rejects[0].Error(), `country: "XX" is not an ISO 3166-1`)
			got, err := ws.Contacts().GetByEmail(ctx, "ada@example.com")
			require.NoError(t, err)
			assert.Equal(t, "GB", got.Address.Country)
			assert.Equal(t, int64(1), got.Version, "the check changed nothing")
		})

		t.Run("deals", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			seedCompanies(t, ws)
			_, err := ws.Pipelines().Create(ctx, crm.Pipeline{Name: "Enterprise", Currency: "USD", Stages: []crm.Stage{
				{Name: "Demo"}, {Name: "Signed", Kind: crm.StageWon}, {Name: "Dropped", Kind: crm.StageLost},
			}})
			require.NoError(t, err)
			sales, err := ws.Pipelines().Default(ctx)
			require.NoError(t, err)
			_, err = ws.Pipelines().Update(ctx, sales.ID, func(p *crm.Pipeline) error {
				p.Currency = "EUR"
				return nil
			})
			require.NoError(t, err)
			in := "name,pipeline,stage,amount,close_date,company\n" +
				",Enterprise,Negotiation,abc,2024-99-01,Nowhere\n" +
				"Bad pipeline,Nope,Demo,5 USD,,\n" +
				"Good,Enterprise,Demo,5 USD,,acme.com\n"
			res := importString(t, ws, in, crmio.ImportOptions{Object: crmio.ObjectDeal})
			assert.Equal(t, 1, res.Created)
			require.Len(t, res.Rejects, 2)
			assert.Equal(t, []string{"name", "stage", "amount", "close_date", "company"}, rejectColumns(res.Rejects[0]),
				"the CRM's name, the stage resolved after the row, and the cells: %s", res.Rejects[0].Error())
			assert.Contains(t, res.Rejects[0].Error(), `; stage: no stage "Negotiation" in pipeline "Enterprise" (its stages: Demo, Signed, Dropped); `+
				`amount: "abc" is not an amount`)
			// No stage looked up in, nor currency checked against, a
			// pipeline the row does not name.
			assert.Equal(t, []string{"pipeline"}, rejectColumns(res.Rejects[1]), res.Rejects[1].Error())
		})

		t.Run("activities", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			in := "type,subject,contacts,done\n" +
				"meeting,Intro,bob@example.com,maybe\n" +
				"call,Lonely,,maybe\n"
			res := importString(t, ws, in, crmio.ImportOptions{Object: crmio.ObjectActivity})
			require.Len(t, res.Rejects, 2)
			assert.Equal(t, `contacts: no contact with email bob@example.com; done: "maybe" is not yes/no, true/false or 1/0`, res.Rejects[0].Error(),
				"the CRM's 'links to nothing' follows from the contact not found")
			assert.Equal(t, []string{"contacts", "done"}, rejectColumns(res.Rejects[1]),
				"the CRM's 'links to nothing' is news here: %s", res.Rejects[1].Error())
		})
	})
}

// newWorkspaceWith opens a new workspace on b and seeds it.
func newWorkspaceWith(t *testing.T, b backend, seed func(testing.TB, *crm.Workspace) map[string]string) *crm.Workspace {
	t.Helper()
	ws := newWorkspace(t, b.open(t))
	seed(t, ws)
	return ws
}
