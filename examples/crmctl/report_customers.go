package main

import (
	"flag"
	"io"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
)

// The customer reports: lead conversion and churn from the contacts'
// lifecycle changes, revenue and cross-sell from purchases.

var leadConversionSpec = reportSpec{
	fields:       withOwner | withPeriod,
	dates:        "when contacts became leads",
	groups:       "owner, source, week, month or quarter",
	segments:     contactSegments,
	whereDefault: "contact",
}

func leadConversionReportCmd(fs *flag.FlagSet) func(*env, []string) error {
	r := newReportFlags(fs, leadConversionSpec)
	options := lifecycleFlags(fs)
	return r.run(func(e *env, ws *crm.Workspace, f report.Filter) (reportView, error) {
		rep, err := report.LeadConversion(e.ctx, ws, options(f))
		if err != nil {
			return reportView{}, err
		}
		g := grouping(rep.Options.GroupBy)
		sec := tableSection{header: g.header("LEADS", "CONVERTED", "RATE", "AVG DAYS", "MEDIAN DAYS")}
		for _, x := range rep.Rows {
			sec.rows = append(sec.rows, g.row(x.Group, count(x.Leads), count(x.Converted), pct(x.Rate), num(x.AvgDays), num(x.MedianDays)))
		}
		return reportView{value: rep, tables: []tableSection{sec}, csv: []func(io.Writer) error{rep.WriteCSV}}, nil
	})
}

var churnSpec = reportSpec{
	fields:         withOwner | withPeriod,
	dates:          "the customers at its start and end, and the changes between",
	periodRequired: true,
	groups:         "owner or source",
	segments:       contactSegments,
	whereDefault:   "contact",
}

func churnReportCmd(fs *flag.FlagSet) func(*env, []string) error {
	r := newReportFlags(fs, churnSpec)
	options := lifecycleFlags(fs)
	return r.run(func(e *env, ws *crm.Workspace, f report.Filter) (reportView, error) {
		rep, err := report.Churn(e.ctx, ws, options(f))
		if err != nil {
			return reportView{}, err
		}
		g := grouping(rep.Options.GroupBy)
		sec := tableSection{header: g.header("AT START", "NEW", "CHURNED", "AT END", "CHURN RATE", "RETENTION")}
		for _, x := range rep.Rows {
			sec.rows = append(sec.rows, g.row(x.Group, count(x.AtStart), count(x.New), count(x.Churned), count(x.AtEnd),
				pct(x.ChurnRate), pct(x.Retention)))
		}
		return reportView{value: rep, tables: []tableSection{sec}, csv: []func(io.Writer) error{rep.WriteCSV}}, nil
	})
}

var revenueSpec = reportSpec{
	fields:   withPeriod,
	dates:    "the purchase date",
	groups:   "industry, region, product, week, month or quarter",
	segments: purchaseSegments,
}

func revenueReportCmd(fs *flag.FlagSet) func(*env, []string) error {
	r := newReportFlags(fs, revenueSpec)
	return r.run(func(e *env, ws *crm.Workspace, f report.Filter) (reportView, error) {
		rep, err := report.Revenue(e.ctx, ws, f)
		if err != nil {
			return reportView{}, err
		}
		g := grouping(rep.Filter.GroupBy)
		sec := tableSection{header: g.header("REVENUE", "PURCHASES", "CUSTOMERS", "LIFETIME VALUE")}
		for _, x := range rep.Rows {
			sec.rows = append(sec.rows, g.row(x.Group, money(x.Revenue, x.Currency), count(x.Purchases), count(x.Customers),
				moneyFloat(x.LifetimeValue, x.Currency)))
		}
		return reportView{value: rep, tables: []tableSection{sec}, csv: []func(io.Writer) error{rep.WriteCSV}}, nil
	})
}

var crossSellSpec = reportSpec{groups: "industry or region", groupDefault: "industry", segments: purchaseSegments}

func crossSellReportCmd(fs *flag.FlagSet) func(*env, []string) error {
	r := newReportFlags(fs, crossSellSpec)
	product := fs.String("product", "", "the `product` to sell, as purchases' line items name it (required)")
	minShare := fs.Float64("min-share", 0, "least `share` (0 to 1) of a group's customers that bought the product for the others to be candidates (default 0.25)")
	r.check = func() error {
		if *product == "" {
			return usagef("--product is required")
		}
		if *minShare < 0 || *minShare > 1 {
			return usagef("--min-share %v is not between 0 and 1", *minShare)
		}
		return nil
	}
	return r.run(func(e *env, ws *crm.Workspace, f report.Filter) (reportView, error) {
		rep, err := report.CrossSell(e.ctx, ws, report.CrossSellOptions{Filter: f, Product: *product, MinShare: *minShare})
		if err != nil {
			return reportView{}, err
		}
		g := grouping(rep.Options.GroupBy)
		groups := tableSection{title: "Groups", header: g.header("CUSTOMERS", "BUYERS", "SHARE")}
		for _, x := range rep.Groups {
			groups.rows = append(groups.rows, g.row(x.Group, count(x.Customers), count(x.Buyers), pct(x.Share)))
		}
		cands := tableSection{title: "Candidates", header: append([]string{"KIND", "ID"}, g.header("GROUP SHARE")...)}
		for _, x := range rep.Candidates {
			cands.rows = append(cands.rows, append([]string{x.Kind.String(), x.ID}, g.row(x.Group, pct(x.Share))...))
		}
		return reportView{value: rep, tables: []tableSection{groups, cands}, csv: []func(io.Writer) error{rep.WriteCSV}}, nil
	})
}
