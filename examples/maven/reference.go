package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
)

type product struct {
	name  string
	price crm.Money
}

type team struct{ manager, office string }

// readRows reads a CSV file's rows with crmio's reader; rows it cannot
// read are rejected.
func readRows(sum *Summary, path string, fn func(row *crmio.Row)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	name := filepath.Base(path)
	rd := crmio.NewReader(f, crmio.ReadOptions{})
	for row, err := range rd.Rows() {
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		sum.file(name).Read++
		if row.Problem != nil {
			sum.reject(name, row.Line, row.Problem.Column, "%s", row.Problem.Reason)
			continue
		}
		fn(row)
	}
	return nil
}

func readProducts(sum *Summary, path string) (map[string]product, error) {
	out := map[string]product{}
	err := readRows(sum, path, func(row *crmio.Row) {
		name := strings.TrimSpace(row.Get("product"))
		price, err := crm.ParseMoney(row.Get("sales_price"), "USD")
		switch {
		case name == "":
			sum.reject(productsFile, row.Line, "product", "no product name")
		case err != nil:
			sum.reject(productsFile, row.Line, "sales_price", "%v", err)
		default:
			out[name] = product{name: name, price: price}
			sum.file(productsFile).Imported++
		}
	})
	return out, err
}

func readTeams(sum *Summary, path string) (map[string]team, error) {
	out := map[string]team{}
	err := readRows(sum, path, func(row *crmio.Row) {
		agent := strings.TrimSpace(row.Get("sales_agent"))
		if agent == "" {
			sum.reject(teamsFile, row.Line, "sales_agent", "no agent name")
			return
		}
		out[agent] = team{manager: strings.TrimSpace(row.Get("manager")), office: strings.TrimSpace(row.Get("regional_office"))}
		sum.file(teamsFile).Imported++
	})
	return out, err
}

// defineFields defines the custom fields the dataset needs and the
// pipeline of its four stages.
func defineFields(ctx context.Context, ws *crm.Workspace, products map[string]product, teams map[string]team) error {
	var names, offices []string
	for _, p := range products {
		names = append(names, p.name)
	}
	for _, t := range teams {
		if !slices.Contains(offices, t.office) && t.office != "" {
			offices = append(offices, t.office)
		}
	}
	slices.Sort(names)
	slices.Sort(offices)
	defs := []crm.FieldDef{
		{Object: crm.KindCompany, Name: "year_established", Label: "Year established", Type: crm.FieldNumber},
		{Object: crm.KindDeal, Name: "opportunity_id", Label: "Opportunity ID", Type: crm.FieldText, Unique: true},
		{Object: crm.KindDeal, Name: "product", Label: "Product", Type: crm.FieldSelect, Options: names},
		{Object: crm.KindDeal, Name: "manager", Label: "Manager", Type: crm.FieldText},
		{Object: crm.KindDeal, Name: "regional_office", Label: "Regional office", Type: crm.FieldSelect, Options: offices},
	}
	for _, d := range defs {
		if len(d.Options) == 0 && (d.Type == crm.FieldSelect) {
			d.Type = crm.FieldText
		}
		if _, err := ws.Fields().Define(ctx, d); err != nil {
			return err
		}
	}
	_, err := ws.Pipelines().Create(ctx, crm.Pipeline{Name: "Maven", Currency: "USD", Stages: []crm.Stage{
		{Name: "Prospecting", Probability: 10},
		{Name: "Engaging", Probability: 50},
		{Name: "Won", Kind: crm.StageWon},
		{Name: "Lost", Kind: crm.StageLost},
	}})
	return err
}
