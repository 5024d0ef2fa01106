package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
)

// sectorFixes are the misspelled sectors of accounts.csv.
var sectorFixes = map[string]string{"technolgy": "technology"}

// countries maps office_location to ISO 3166-1 codes; fixed marks a
// name that is misspelled or ambiguous in the dataset.
var countries = map[string]struct {
	code  string
	fixed string
}{
	"United States": {code: "US"}, "Belgium": {code: "BE"}, "Brazil": {code: "BR"}, "China": {code: "CN"},
	"Germany": {code: "DE"}, "Italy": {code: "IT"}, "Japan": {code: "JP"}, "Jordan": {code: "JO"}, "Kenya": {code: "KE"},
	"Norway": {code: "NO"}, "Panama": {code: "PA"}, "Poland": {code: "PL"}, "Romania": {code: "RO"},
	"Philipines": {code: "PH", fixed: "misspelled Philippines"},
	"Korea":      {code: "KR", fixed: "taken as South Korea"},
}

func importAccounts(ctx context.Context, ws *crm.Workspace, sum *Summary, path string) error {
	rep := sum.file(accountsFile)
	fixedLines := map[int]bool{}
	transform := func(r *crmio.Row) error {
		if s := strings.TrimSpace(r.Get("sector")); sectorFixes[s] != "" {
			sum.fix(accountsFile, r.Line, "sector", "sector %q -> %q", s, sectorFixes[s])
			r.Set("sector", sectorFixes[s])
			fixedLines[r.Line] = true
		}
		// Revenue is in millions of dollars: scale the exact amount.
		if v := strings.TrimSpace(r.Get("revenue")); v != "" {
			m, err := crm.ParseMoney(v, "USD")
			if err != nil {
				return &crmio.Problem{Column: "revenue", Reason: err.Error()}
			}
			m.Amount *= 1_000_000
			r.Set("revenue", m.String())
		}
		loc := strings.TrimSpace(r.Get("office_location"))
		c, ok := countries[loc]
		switch {
		case loc == "":
		case !ok:
			sum.note(accountsFile, r.Line, "office_location", "office_location %q is not a known country: imported without one", loc)
			r.Set("office_location", "")
		case c.fixed != "":
			sum.fix(accountsFile, r.Line, "office_location", "office_location %q -> %s (%s)", loc, c.code, c.fixed)
			fixedLines[r.Line] = true
			r.Set("office_location", c.code)
		default:
			r.Set("office_location", c.code)
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := crmio.Import(ctx, ws, f, crmio.ImportOptions{
		Object: crmio.ObjectCompany, UpsertBy: "name", Transform: transform,
		Mapping: crmio.Mapping{
			"account": "name", "sector": "industry", "year_established": "custom.year_established",
			"revenue": "annual_revenue", "employees": "employees", "office_location": "address.country",
			"subsidiary_of": "-",
		},
	})
	if err != nil {
		return fmt.Errorf("%s: %w", accountsFile, err)
	}
	rep.Read += res.Read
	rep.Imported += res.Created + res.Updated + res.Skipped
	rep.Fixed = len(fixedLines)
	for _, r := range res.Rejects {
		sum.reject(accountsFile, r.Line, r.Column, "%s", r.Error())
	}

	// Second pass, now that every company exists: link subsidiaries to
	// their parents.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	res, err = crmio.Import(ctx, ws, f, crmio.ImportOptions{
		Object: crmio.ObjectCompany, UpsertBy: "name",
		Mapping: crmio.Mapping{"account": "name", "subsidiary_of": "parent", "sector": "-", "year_established": "-",
			"revenue": "-", "employees": "-", "office_location": "-"},
	})
	if err != nil {
		return fmt.Errorf("%s: linking parents: %w", accountsFile, err)
	}
	for _, r := range res.Rejects {
		// The company was imported; only its parent could not be linked.
		sum.note(accountsFile, r.Line, r.Column, "parent not linked: %s", r.Error())
	}
	for co, err := range ws.Companies().List(ctx, crm.ListOptions{}) {
		if err != nil {
			return err
		}
		sum.Companies++
		if co.ParentID != "" {
			sum.Parents++
		}
	}
	return nil
}
