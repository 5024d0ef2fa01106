package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
)

// opportunity is one row of sales_pipeline.csv, checked.
type opportunity struct {
	line               int
	id, agent, account string
	product            *product
	stage              string
	engage, close      crm.Date
	value              crm.Money
	companyID, dealID  string
	name               string
	manager, office    string
}

func compact(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), "")) }

func importPipeline(ctx context.Context, ws *crm.Workspace, clk *clock, sum *Summary, path string, products map[string]product, teams map[string]team) error {
	rep := sum.file(pipelineFile)
	companies := map[string]string{}
	for co, err := range ws.Companies().List(ctx, crm.ListOptions{}) {
		if err != nil {
			return err
		}
		companies[co.Name] = co.ID
	}
	byCompact := map[string]*product{}
	for name, p := range products {
		byCompact[compact(name)] = &p
	}
	var pl crm.Pipeline
	for p, err := range ws.Pipelines().List(ctx) {
		if err != nil {
			return err
		}
		if p.Name == "Maven" {
			pl = p
		}
	}
	stageID := func(name string) string { s, _ := pl.StageByName(name); return s.ID }

	var opps []*opportunity
	seen := map[string]int{}
	err := readRows(sum, path, func(row *crmio.Row) {
		o := &opportunity{line: row.Line, id: strings.TrimSpace(row.Get("opportunity_id")), agent: strings.TrimSpace(row.Get("sales_agent")),
			account: strings.TrimSpace(row.Get("account")), stage: strings.TrimSpace(row.Get("deal_stage"))}
		fixed := false
		if o.id == "" {
			sum.reject(pipelineFile, o.line, "opportunity_id", "no opportunity_id")
			return
		}
		if first, dup := seen[o.id]; dup {
			sum.reject(pipelineFile, o.line, "opportunity_id", "opportunity %s is already on line %d", o.id, first)
			return
		}
		seen[o.id] = o.line
		switch o.stage {
		case "Prospecting", "Engaging", "Won", "Lost":
		default:
			sum.reject(pipelineFile, o.line, "deal_stage", "deal_stage %q is not Prospecting, Engaging, Won or Lost", o.stage)
			return
		}
		var err error
		if s := row.Get("engage_date"); strings.TrimSpace(s) != "" {
			if o.engage, err = crmio.ParseDate(s, ""); err != nil {
				sum.reject(pipelineFile, o.line, "engage_date", "%v", err)
				return
			}
		}
		if s := row.Get("close_date"); strings.TrimSpace(s) != "" {
			if o.close, err = crmio.ParseDate(s, ""); err != nil {
				sum.reject(pipelineFile, o.line, "close_date", "%v", err)
				return
			}
		}
		if o.value, err = crm.ParseMoney(row.Get("close_value"), "USD"); err != nil || o.value.Amount < 0 {
			sum.reject(pipelineFile, o.line, "close_value", "close_value %q is not an amount in dollars", row.Get("close_value"))
			return
		}
		switch {
		case o.stage != "Prospecting" && o.engage.IsZero():
			sum.reject(pipelineFile, o.line, "engage_date", "a deal in %s needs the date it was engaged", o.stage)
			return
		case (o.stage == "Won" || o.stage == "Lost") && o.close.IsZero():
			sum.reject(pipelineFile, o.line, "close_date", "a %s deal needs its close date", strings.ToLower(o.stage))
			return
		case !o.close.IsZero() && o.close.Before(o.engage):
			sum.reject(pipelineFile, o.line, "close_date", "closed on %s, before it was engaged on %s", o.close, o.engage)
			return
		case o.stage == "Prospecting" && !o.engage.IsZero():
			sum.note(pipelineFile, o.line, "engage_date", "a prospecting deal with an engage date: the date is not recorded")
		}
		if o.stage != "Won" && o.value.Amount != 0 {
			sum.note(pipelineFile, o.line, "close_value", "close_value of a deal that was not won: not recorded")
		}
		if o.stage != "Won" {
			o.value = crm.Money{}
		}

		pname := strings.TrimSpace(row.Get("product"))
		if p, ok := products[pname]; ok {
			o.product = &p
		} else if p := byCompact[compact(pname)]; p != nil {
			sum.fix(pipelineFile, o.line, "product", "product %q -> %q", pname, p.name)
			o.product, fixed = p, true
		} else {
			sum.note(pipelineFile, o.line, "product", "product %q is not in products.csv: imported without a product", pname)
		}
		if t, ok := teams[o.agent]; ok {
			o.manager, o.office = t.manager, t.office
		} else {
			sum.note(pipelineFile, o.line, "sales_agent", "sales agent %q is not in sales_teams.csv: no manager or office", o.agent)
		}
		switch id, ok := companies[o.account]; {
		case o.account == "" && (o.stage == "Won" || o.stage == "Lost"):
			sum.note(pipelineFile, o.line, "account", "a closed deal without an account: imported without a company")
		case o.account == "":
			sum.note(pipelineFile, o.line, "account", "an open deal without an account: imported without a company")
		case !ok:
			sum.note(pipelineFile, o.line, "account", "account %q is not in accounts.csv: imported without a company", o.account)
		default:
			o.companyID = id
		}
		o.name = o.account
		if o.name == "" {
			o.name = "(no account)"
		}
		if o.product != nil {
			o.name += " - " + o.product.name
		}
		if fixed {
			rep.Fixed++
		}
		opps = append(opps, o)
	})
	if err != nil {
		return err
	}

	deal := func(o *opportunity, stage string) crm.Deal {
		d := crm.Deal{Name: o.name, PipelineID: pl.ID, StageID: stageID(stage), Amount: o.value, OwnerID: o.agent,
			CompanyID: o.companyID, CloseDate: o.close, Custom: crm.Custom{"opportunity_id": o.id}}
		if o.product != nil {
			d.Custom["product"] = o.product.name
		}
		if o.manager != "" {
			d.Custom["manager"], d.Custom["regional_office"] = o.manager, o.office
		}
		return d
	}
	// Create the deals: engaged ones in Engaging on the day they were
	// engaged, a day at a time; prospecting ones now.
	slices.SortStableFunc(opps, func(a, b *opportunity) int { return cmp.Compare(dateKey(a.engage), dateKey(b.engage)) })
	for i := 0; i < len(opps); {
		j := i
		for j < len(opps) && opps[j].engage == opps[i].engage {
			j++
		}
		group, stage := opps[i:j], "Engaging"
		if opps[i].engage.IsZero() {
			clk.Set(time.Time{})
			stage = "Prospecting"
		} else {
			clk.Set(opps[i].engage.Time())
		}
		ds := make([]crm.Deal, len(group))
		for k, o := range group {
			ds[k] = deal(o, stage)
		}
		out, err := ws.Deals().CreateMany(ctx, ds)
		var be *crm.BatchError
		if err != nil && !errors.As(err, &be) {
			return fmt.Errorf("%s: %w", pipelineFile, err)
		}
		for k, o := range group {
			o.dealID = out[k].ID
		}
		if be != nil {
			for _, it := range be.Items {
				o := group[it.Index]
				o.dealID = ""
				sum.reject(pipelineFile, o.line, "", "%v", it.Err)
			}
		}
		i = j
	}
	// Close the won and lost deals on their close dates, in date order.
	var closing []*opportunity
	for _, o := range opps {
		if o.dealID != "" && (o.stage == "Won" || o.stage == "Lost") {
			closing = append(closing, o)
		}
	}
	slices.SortStableFunc(closing, func(a, b *opportunity) int { return cmp.Compare(dateKey(a.close), dateKey(b.close)) })
	for i := 0; i < len(closing); {
		j := i
		for j < len(closing) && closing[j].close == closing[i].close {
			j++
		}
		group := closing[i:j]
		clk.Set(group[0].close.Time())
		ids := make([]string, len(group))
		stages := make(map[string]string, len(group))
		for k, o := range group {
			ids[k] = o.dealID
			stages[o.dealID] = stageID(o.stage)
		}
		_, err := ws.Deals().UpdateMany(ctx, ids, func(d *crm.Deal) error {
			d.StageID = stages[d.ID]
			return nil
		})
		var be *crm.BatchError
		if err != nil && !errors.As(err, &be) {
			return fmt.Errorf("%s: %w", pipelineFile, err)
		}
		if be != nil {
			for _, it := range be.Items {
				// Take the half-imported deal back out and report the row.
				o := group[it.Index]
				if err := ws.Deals().Erase(ctx, o.dealID); err != nil {
					return err
				}
				o.dealID = ""
				sum.reject(pipelineFile, o.line, "", "closing the deal: %v", it.Err)
			}
		}
		i = j
	}
	clk.Set(time.Time{})
	for _, o := range opps {
		if o.dealID == "" {
			continue
		}
		rep.Imported++
		switch o.stage {
		case "Won":
			sum.Won++
			sum.WonValue.Amount += o.value.Amount
		case "Lost":
			sum.Lost++
		case "Engaging":
			sum.Open++
			sum.Engaging++
		case "Prospecting":
			sum.Open++
			sum.Prospecting++
		}
	}
	return nil
}

func dateKey(d crm.Date) int { return d.Year*10000 + int(d.Month)*100 + d.Day }
