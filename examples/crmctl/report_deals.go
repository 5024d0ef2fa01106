package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
)

// The deal reports: pipeline, forecast and conversion.

var pipelineSpec = reportSpec{
	fields:       withPipeline | withOwner | withPeriod,
	dates:        "the deals' expected close date",
	groups:       dealGroups,
	segments:     dealSegments,
	whereDefault: "deal",
	chart:        "the open pipeline by stage",
	chartNote:    " (stacked by group with --group-by)",
}

func pipelineReportCmd(fs *flag.FlagSet) func(*env, []string) error {
	r := newReportFlags(fs, pipelineSpec)
	currency := fs.String("currency", "", "the `currency` the chart draws (default the workspace's)")
	return r.run(func(e *env, ws *crm.Workspace, f report.Filter) (reportView, error) {
		rep, err := report.Pipeline(e.ctx, ws, f)
		if err != nil {
			return reportView{}, err
		}
		g := grouping(rep.Filter.GroupBy)
		pipelines := map[string]bool{}
		for _, x := range rep.Rows {
			pipelines[x.PipelineID] = true
		}
		stage := func(x report.PipelineRow) string {
			if len(pipelines) > 1 {
				return x.PipelineID + " / " + x.Stage
			}
			return x.Stage
		}
		sec := tableSection{header: g.header("STAGE", "PROBABILITY", "DEALS", "AMOUNT", "WEIGHTED", "SHARE")}
		for _, x := range rep.Rows {
			sec.rows = append(sec.rows, g.row(x.Group, stage(x), fmt.Sprintf("%d%%", x.Probability), count(x.Count),
				money(x.Amount, x.Currency), money(x.Weighted, x.Currency), pct(x.Share)))
		}
		cur := chartCurrency(*currency, ws, currencies(rep.Rows, func(x report.PipelineRow) string { return x.Currency }))
		return reportView{
			value: rep, tables: []tableSection{sec}, csv: []func(io.Writer) error{rep.WriteCSV},
			svg: func(w io.Writer) error {
				if f.GroupBy != report.GroupNone {
					return rep.PeriodBarsSVG(w, cur)
				}
				return rep.StageBarsSVG(w, cur)
			},
		}, nil
	})
}

var forecastSpec = reportSpec{
	fields:         withPipeline | withOwner | withPeriod,
	dates:          "the date deals were won and open deals' expected close date",
	periodRequired: true,
	groups:         dealGroups + " (team rows need owner)",
	groupDefault:   "owner",
	segments:       dealSegments,
	whereDefault:   "deal",
	chart:          "closed won and weighted pipeline per group",
}

func forecastReportCmd(fs *flag.FlagSet) func(*env, []string) error {
	r := newReportFlags(fs, forecastSpec)
	commit := fs.Int("commit-probability", 0, "lowest stage probability, in `percent`, whose open deals count as commit (default 70)")
	currency := fs.String("currency", "", "the `currency` the chart draws (default the workspace's)")
	r.check = func() error {
		if *commit < 0 || *commit > 100 {
			return usagef("--commit-probability %d is not a percentage", *commit)
		}
		return nil
	}
	return r.run(func(e *env, ws *crm.Workspace, f report.Filter) (reportView, error) {
		rep, err := report.Forecast(e.ctx, ws, report.ForecastOptions{Filter: f, CommitProbability: *commit})
		if err != nil {
			return reportView{}, err
		}
		g := grouping(rep.Options.GroupBy)
		sec := tableSection{header: g.header("WON", "PIPELINE", "WEIGHTED", "COMMIT", "BEST CASE", "FORECAST", "QUOTA", "ATTAINMENT")}
		for _, x := range rep.Rows {
			group, quota, attainment := x.Group, "-", "-"
			if x.Team {
				group = "team " + group
			}
			if x.HasQuota {
				quota, attainment = money(x.Quota, x.Currency), pct(x.Attainment)
			}
			c := x.Currency
			sec.rows = append(sec.rows, g.row(group, money(x.ClosedWon, c), money(x.Pipeline, c), money(x.Weighted, c),
				money(x.Commit, c), money(x.BestCase, c), money(x.Forecast, c), quota, attainment))
		}
		cur := chartCurrency(*currency, ws, currencies(rep.Rows, func(x report.ForecastRow) string { return x.Currency }))
		return reportView{
			value: rep, tables: []tableSection{sec}, csv: []func(io.Writer) error{rep.WriteCSV},
			svg: func(w io.Writer) error { return rep.SVG(w, cur) },
		}, nil
	})
}

var conversionSpec = reportSpec{
	fields:       withPipeline | withOwner | withPeriod,
	dates:        "the deals' first stage entry (the cohort)",
	groups:       dealGroups,
	segments:     dealSegments,
	whereDefault: "deal",
	chart:        "the funnel of one group",
	chartNote:    " (--chart-group)",
	sections:     []string{"groups", "funnel"},
}

func conversionReportCmd(fs *flag.FlagSet) func(*env, []string) error {
	r := newReportFlags(fs, conversionSpec)
	stall := fs.Float64("stall-factor", 0, "an open deal stalls after `F` times the median stay in its stage (default 2)")
	limit := fs.Int("stalled", 0, "list the `N` deals stalled longest (default 100, -1 all); all are counted")
	chartGroup := fs.String("chart-group", "", "the `group` whose funnel the chart draws (default the first)")
	r.check = func() error {
		if *stall < 0 {
			return usagef("--stall-factor must not be negative")
		}
		if *limit < -1 {
			return usagef("--stalled must be -1 (all) or more")
		}
		return nil
	}
	return r.run(func(e *env, ws *crm.Workspace, f report.Filter) (reportView, error) {
		rep, err := report.Conversion(e.ctx, ws, report.ConversionOptions{Filter: f, StallFactor: *stall, StalledLimit: *limit})
		if err != nil {
			return reportView{}, err
		}
		v := reportView{value: rep, tables: conversionTables(rep), csv: []func(io.Writer) error{rep.WriteCSV, rep.WriteFunnelCSV}}
		v.svg = func(w io.Writer) error {
			group := *chartGroup
			switch {
			case len(rep.Groups) == 0:
				return errors.New("the cohort has no deals: no funnel to draw")
			case group == "":
				group = rep.Groups[0].Group
			case !slices.ContainsFunc(rep.Groups, func(g report.ConversionGroup) bool { return g.Group == group }):
				return &usageError{fmt.Sprintf("--chart-group %q is not a group of the report", group)}
			}
			return rep.FunnelSVG(w, group)
		}
		return v, nil
	})
}

func conversionTables(rep *report.ConversionReport) []tableSection {
	g := grouping(rep.Filter.GroupBy)
	groups := tableSection{title: "Deals", header: g.header("DEALS", "OPEN", "WON", "LOST", "WIN RATE", "WON AMOUNT", "AVG CYCLE DAYS", "MEDIAN CYCLE DAYS")}
	funnel := tableSection{title: "Funnel", header: g.header("STAGE", "ENTERED", "REACHED", "TO NEXT STEP")}
	velocity := tableSection{title: "Velocity", header: g.header("OPEN DEALS", "AVG WON AMOUNT", "PER DAY")}
	for _, x := range rep.Groups {
		won := make([]string, len(x.WonAmounts))
		for i, a := range x.WonAmounts {
			won[i] = money(a.Amount, a.Currency)
		}
		groups.rows = append(groups.rows, g.row(x.Group, count(x.Deals), count(x.Open), count(x.Won), count(x.Lost),
			pct(x.WinRate), strings.Join(won, "; "), num(x.AvgCycleDays), num(x.MedianCycleDays)))
		for _, s := range x.Funnel {
			funnel.rows = append(funnel.rows, g.row(x.Group, s.Stage, count(s.Entered), count(s.Reached), pct(s.Conversion)))
		}
		for _, vel := range x.Velocity {
			velocity.rows = append(velocity.rows, g.row(x.Group, count(vel.OpenDeals),
				moneyFloat(vel.AvgWonAmount, vel.Currency), moneyFloat(vel.PerDay, vel.Currency)))
		}
	}
	times := tableSection{title: "Time in stage", header: []string{"STAGE", "STAYS", "AVG DAYS", "MEDIAN DAYS", "NOW IN STAGE"}}
	for _, x := range rep.StageTimes {
		times.rows = append(times.rows, []string{x.Stage, count(x.Stays), num(x.AvgDays), num(x.MedianDays), count(x.Current)})
	}
	title := "Stalled deals"
	if n := int64(len(rep.Stalled)); n < rep.StalledCount {
		title = fmt.Sprintf("Stalled deals (the %d longest of %d)", n, rep.StalledCount)
	}
	stalled := tableSection{title: title, header: []string{"DEAL", "NAME", "OWNER", "STAGE", "DAYS", "MEDIAN DAYS"}}
	for _, x := range rep.Stalled {
		stalled.rows = append(stalled.rows, []string{x.DealID, x.Name, x.OwnerID, x.Stage, num(x.Days), num(x.MedianDays)})
	}
	return []tableSection{groups, funnel, velocity, times, stalled}
}
