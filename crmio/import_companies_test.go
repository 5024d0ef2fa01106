package crmio_test

import (
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// companyNamed returns the one live company with the name.
func companyNamed(t testing.TB, ws *crm.Workspace, name string) crm.Company {
	t.Helper()
	var out []crm.Company
	for _, c := range companies(t, ws) {
		if c.Name == name {
			out = append(out, c)
		}
	}
	require.Len(t, out, 1, "companies named %q", name)
	return out[0]
}

// TestImportCreateCompanies checks ImportOptions.CreateCompanies: off, a
// reference to a missing company rejects the row; on, it creates the
// company once, by name or by domain, and later rows find it.
func TestImportCreateCompanies(t *testing.T) {
	dealCSV := "name,company,amount\n" +
		"D1,NewCo,\n" +
		"D2,newco,\n" +
		"D3,www.new.io,\n" +
		"D4,acme.com,\n" +
		"D5,Ghost Corp,abc\n" +
		"D6,Twin,\n" +
		"D7,com_0000000000000000,\n"
	onBackends(t, func(t *testing.T, b backend) {
		t.Run("off by default", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			seedCompanies(t, ws)
			res := importString(t, ws, dealCSV, crmio.ImportOptions{Object: crmio.ObjectDeal})
			assert.Equal(t, 1, res.Created)
			assert.Contains(t, rejectsByLine(res)[2], `company: no company named "NewCo"`)
			assert.Zero(t, res.CompaniesCreated)
			assert.Len(t, companies(t, ws), 4)
		})

		t.Run("deals", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			ids := seedCompanies(t, ws)
			res := importString(t, ws, dealCSV, crmio.ImportOptions{Object: crmio.ObjectDeal, CreateCompanies: true})
			assert.Equal(t, 4, res.Created, "%v", res.Rejects)
			assert.Equal(t, 2, res.CompaniesCreated, "NewCo and new.io, once each")
			got := rejectsByLine(res)
			assert.Equal(t, `amount: "abc" is not an amount: unexpected 'a'`, got[6], "a row with another problem creates nothing")
			assert.Contains(t, got[7], `2 companies are named "Twin"`)
			assert.Contains(t, got[8], "no company com_0000000000000000")
			assert.Len(t, got, 3)

			newCo := companyNamed(t, ws, "NewCo")
			newIO := companyNamed(t, ws, "new.io")
			assert.Equal(t, "new.io", newIO.Domain)
			assert.Len(t, companies(t, ws), 6, "no Ghost Corp")
			byName := map[string]string{}
			for _, d := range deals(t, ws) {
				byName[d.Name] = d.CompanyID
			}
			assert.Equal(t, map[string]string{"D1": newCo.ID, "D2": newCo.ID, "D3": newIO.ID, "D4": ids["Acme|acme.com"]}, byName)
		})

		t.Run("contacts with several companies and roles", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			ids := seedCompanies(t, ws)
			in := "first_name,company,company_role\nAda,Analytical Engines; acme.com,founder;advisor\nBob,analytical engines,\n"
			res := importString(t, ws, in, crmio.ImportOptions{Object: crmio.ObjectContact, CreateCompanies: true})
			assert.Equal(t, 2, res.Created, "%v", res.Rejects)
			assert.Equal(t, 1, res.CompaniesCreated)
			ae := companyNamed(t, ws, "Analytical Engines")
			cs := contacts(t, ws)
			require.Len(t, cs, 2)
			assert.Equal(t, []crm.CompanyRole{{CompanyID: ae.ID, Role: "founder"}, {CompanyID: ids["Acme|acme.com"], Role: "advisor"}}, cs[0].Companies)
			assert.Equal(t, []crm.CompanyRole{{CompanyID: ae.ID}}, cs[1].Companies)
		})

		t.Run("a company the CRM refuses rejects the row", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			res := importString(t, ws, "name,company\nD,"+strings.Repeat("x", 1000)+"\n", crmio.ImportOptions{Object: crmio.ObjectDeal, CreateCompanies: true})
			require.Len(t, res.Rejects, 1)
			assert.Equal(t, "company", res.Rejects[0].Column)
			assert.Contains(t, res.Rejects[0].Reason, "cannot create company")
			assert.Empty(t, companies(t, ws))
		})

		t.Run("dry run", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			seedCompanies(t, ws)
			res := importString(t, ws, dealCSV, crmio.ImportOptions{Object: crmio.ObjectDeal, CreateCompanies: true, DryRun: true})
			assert.Equal(t, 4, res.Created)
			assert.Equal(t, 2, res.CompaniesCreated)
			assert.Len(t, companies(t, ws), 4, "a dry run creates nothing")
		})

		t.Run("not a company's parent", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			res := importString(t, ws, "name,parent\nChild,Parent Co\n", crmio.ImportOptions{Object: crmio.ObjectCompany, CreateCompanies: true})
			assert.Contains(t, rejectsByLine(res)[2], `parent: no company named "Parent Co"`)
			assert.Zero(t, res.CompaniesCreated)
			assert.Empty(t, companies(t, ws), "neither the child nor its parent")
		})
	})
}
