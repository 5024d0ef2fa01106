package main

import (
	"flag"
	"io"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
)

// The operations report: how the team uses the CRM.

var operationsSpec = reportSpec{
	fields:       withOwner | withPeriod,
	dates:        "activities, ticket resolutions and changes",
	groups:       "owner, week, month or quarter",
	groupDefault: "owner",
	segments:     dealSegments,
	chart:        "activity volume per group",
	sections:     []string{"activities", "adoption"},
}

func operationsReportCmd(fs *flag.FlagSet) func(*env, []string) error {
	r := newReportFlags(fs, operationsSpec)
	return r.run(func(e *env, ws *crm.Workspace, f report.Filter) (reportView, error) {
		rep, err := report.Operations(e.ctx, ws, f)
		if err != nil {
			return reportView{}, err
		}
		g := grouping(rep.Filter.GroupBy)
		acts := tableSection{title: "Activities", header: g.header("TYPE", "COUNT")}
		for _, x := range rep.Activities {
			acts.rows = append(acts.rows, g.row(x.Group, string(x.Type), count(x.Count)))
		}
		tickets := tableSection{title: "Tickets", header: g.header("RESOLVED", "AVG HOURS", "MEDIAN HOURS", "OPEN")}
		for _, x := range rep.Tickets {
			tickets.rows = append(tickets.rows, g.row(x.Group, count(x.Resolved), num(x.AvgHours), num(x.MedianHours), count(x.Open)))
		}
		overdue := tableSection{title: "Overdue tasks", header: []string{"ASSIGNEE", "COUNT", "OLDEST DUE"}}
		for _, x := range rep.Overdue {
			overdue.rows = append(overdue.rows, []string{x.Assignee, count(x.Count), x.OldestDueAt.Format("2006-01-02 15:04")})
		}
		adoption := tableSection{title: "Adoption", header: []string{"PERIOD", "ACTIVE USERS", "UPDATES", "PER USER"}}
		for _, x := range rep.Adoption {
			adoption.rows = append(adoption.rows, []string{x.Period, count(x.ActiveUsers), count(x.Updates), num(x.PerUser)})
		}
		return reportView{
			value:  rep,
			tables: []tableSection{acts, tickets, overdue, adoption},
			csv:    []func(io.Writer) error{rep.WriteCSV, rep.WriteAdoptionCSV},
			svg:    rep.SVG,
		}, nil
	})
}
