package report

import (
	"fmt"
	"io"
	"slices"

	"github.com/crmkit/crmkit/crm/chart"

	"github.com/crmkit/crmkit/crm"
)

// Charts show one currency at a time: amounts in different currencies are
// never drawn on one axis.

// FunnelSVG draws a group's funnel (see FunnelStep.Reached) as a
// standalone SVG; group is a ConversionGroup's Group ("" without
// grouping). It fails if the report has no such group.
func (r *ConversionReport) FunnelSVG(w io.Writer, group string) error {
	i := slices.IndexFunc(r.Groups, func(g ConversionGroup) bool { return g.Group == group })
	if i < 0 {
		return fmt.Errorf("report: report group %q: %w", group, crm.ErrNotFound)
	}
	steps := make([]chart.Bar, len(r.Groups[i].Funnel))
	for j, s := range r.Groups[i].Funnel {
		steps[j] = chart.Bar{Label: s.Stage, Value: float64(s.Reached)}
	}
	title := "Funnel"
	if group != "" {
		title += ": " + group
	}
	return chart.Funnel(w, title, steps)
}

// StageBarsSVG draws the open pipeline's amount per stage in one currency,
// all groups together, as a standalone SVG bar chart.
func (r *PipelineReport) StageBarsSVG(w io.Writer, currency string) error {
	var bars []chart.Bar
	for _, x := range r.Rows {
		if x.Currency != currency {
			continue
		}
		i := slices.IndexFunc(bars, func(b chart.Bar) bool { return b.Label == x.Stage })
		if i < 0 {
			bars = append(bars, chart.Bar{Label: x.Stage})
			i = len(bars) - 1
		}
		bars[i].Value += float64(x.Amount)
	}
	return chart.Bars(w, fmt.Sprintf("Open pipeline by stage (%s, minor units)", currency), bars)
}

// PeriodBarsSVG draws the open pipeline in one currency as stacked bars:
// one bar per group (with a period GroupBy, one per expected close
// period), stacking the stages' amounts.
func (r *PipelineReport) PeriodBarsSVG(w io.Writer, currency string) error {
	var groups, stages []string
	for _, x := range r.Rows {
		if x.Currency != currency {
			continue
		}
		if !slices.Contains(groups, x.Group) {
			groups = append(groups, x.Group)
		}
		if !slices.Contains(stages, x.Stage) {
			stages = append(stages, x.Stage)
		}
	}
	series := make([]chart.Series, len(stages))
	for i, s := range stages {
		series[i] = chart.Series{Name: s, Values: make([]float64, len(groups))}
	}
	for _, x := range r.Rows {
		if x.Currency == currency {
			series[slices.Index(stages, x.Stage)].Values[slices.Index(groups, x.Group)] += float64(x.Amount)
		}
	}
	return chart.StackedBars(w, fmt.Sprintf("Open pipeline (%s, minor units)", currency), groups, series)
}

// SVG draws the forecast in one currency as stacked bars, one per owner or
// team: closed won, then the weighted open pipeline on top.
func (r *ForecastReport) SVG(w io.Writer, currency string) error {
	var cats []string
	won := chart.Series{Name: "closed won"}
	weighted := chart.Series{Name: "weighted pipeline"}
	for _, x := range r.Rows {
		if x.Currency != currency {
			continue
		}
		cats = append(cats, x.Group)
		won.Values = append(won.Values, float64(x.ClosedWon))
		weighted.Values = append(weighted.Values, float64(x.Weighted))
	}
	return chart.StackedBars(w, fmt.Sprintf("Forecast (%s, minor units)", currency), cats, []chart.Series{won, weighted})
}

// SVG draws activity volume as stacked bars, one per group, stacking the
// activity types.
func (r *OperationsReport) SVG(w io.Writer) error {
	var groups []string
	var types []crm.ActivityType
	for _, a := range r.Activities {
		if !slices.Contains(groups, a.Group) {
			groups = append(groups, a.Group)
		}
		if !slices.Contains(types, a.Type) {
			types = append(types, a.Type)
		}
	}
	series := make([]chart.Series, len(types))
	for i, t := range types {
		series[i] = chart.Series{Name: string(t), Values: make([]float64, len(groups))}
	}
	for _, a := range r.Activities {
		series[slices.Index(types, a.Type)].Values[slices.Index(groups, a.Group)] += float64(a.Count)
	}
	return chart.StackedBars(w, "Activities", groups, series)
}
