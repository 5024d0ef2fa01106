// Command reports imports the Maven Analytics "CRM Sales Opportunities"
// dataset into a crmkit workspace and prints the conversion report:
// overall and per sales agent, manager and regional office, the won and
// lost deals, win rate, won revenue and average sales cycle; per product,
// the won revenue. With -svg it also writes the funnel as a standalone
// SVG, and prints the file's absolute path; without it, it writes no file.
//
//	go run ./examples/reports                          # the Maven CRM dataset kept in examples/internal/mavencrm
//	go run ./examples/reports -svg funnel.svg          # and the funnel chart
//	go run ./examples/reports -data dir -svg out.svg   # your copy
//
// Each opportunity becomes a deal of a pipeline "Maven" (Prospecting,
// Engaging, Won, Lost). The CRM stamps stage entries with its clock, so
// the import sets the clock to the dataset's dates: an engaged deal enters
// Engaging on its engage_date and Won or Lost on its close_date, which
// makes the sales cycle (first stage entry to win) engage to close.
// Prospecting deals have no date and enter Prospecting at a fixed time
// after the data. The agent's manager and regional office and the
// product go to custom fields, which the report groups by. Products are
// named as in products.csv ("GTXPro" in the pipeline is "GTX Pro").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/crmio"
	"github.com/crmkit/crmkit/examples/internal/mavencrm"
	"github.com/crmkit/crmkit/store/memory"
)

func main() {
	os.Exit(cli(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// cli runs the example with the command-line arguments args and returns
// its exit code: 0 done, 1 failed, 2 a usage error. It writes a file
// only when -svg names one.
func cli(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("reports", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", mavencrm.Dir(), "`directory` of the dataset's CSV files")
	svg := fs.String("svg", "", "also write the funnel chart as SVG to `FILE` (default: no chart)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "reports: unexpected argument %q (the flags are -data and -svg)\n", fs.Arg(0))
		return 2
	}
	res, err := run(ctx, *data)
	var chart string
	if err == nil && *svg != "" {
		if chart, err = filepath.Abs(*svg); err == nil {
			err = writeFunnel(res, chart)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "reports:", err)
		return 1
	}
	res.Print(stdout)
	if chart == "" {
		fmt.Fprintln(stdout, "\nno funnel chart written: run with -svg FILE to write one")
	} else {
		fmt.Fprintf(stdout, "\nfunnel chart written to %s\n", chart)
	}
	return 0
}

// Breakdowns are the groupings the example reports, by title.
var Breakdowns = []struct {
	Title string       // heads the breakdown's table
	By    report.Group // the report's grouping
}{
	{"Overall", report.GroupNone},
	{"Sales agent", report.GroupOwner},
	{"Manager", "custom.manager"},
	{"Regional office", "custom.regional_office"},
	{"Product", report.GroupProduct},
}

// Result is the conversion report of each breakdown, by title.
type Result struct {
	// Reports maps each breakdown's Title to its report.
	Reports map[string]*report.ConversionReport
}

// clock is the CRM's clock during the import: the time last set.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the time last set.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set sets the time Now returns.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// prospectingTime is when deals without dates enter the pipeline, after
// every date of the dataset.
var prospectingTime = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)

// run imports the dataset into a memory store and computes the reports.
func run(ctx context.Context, dataDir string) (*Result, error) {
	clk := &clock{t: prospectingTime}
	c := crm.New(memory.New(), crm.WithClock(clk.Now))
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "maven", Name: "Maven CRM", Currency: "USD"})
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"manager", "regional_office", "product"} {
		if _, err := ws.Fields().Define(ctx, crm.FieldDef{Object: crm.KindDeal, Name: name, Label: name, Type: crm.FieldText}); err != nil {
			return nil, err
		}
	}
	pl, err := ws.Pipelines().Create(ctx, crm.Pipeline{Name: "Maven", Currency: "USD", Stages: []crm.Stage{
		{Name: "Prospecting", Probability: 10}, {Name: "Engaging", Probability: 50},
		{Name: "Won", Kind: crm.StageWon}, {Name: "Lost", Kind: crm.StageLost},
	}})
	if err != nil {
		return nil, err
	}
	stage := func(name string) string { s, _ := pl.StageByName(name); return s.ID }

	products := map[string]string{} // compact name -> name
	if err := readRows(filepath.Join(dataDir, "products.csv"), func(r *crmio.Row) error {
		products[compact(r.Get("product"))] = strings.TrimSpace(r.Get("product"))
		return nil
	}); err != nil {
		return nil, err
	}
	teams := map[string][2]string{}
	if err := readRows(filepath.Join(dataDir, "sales_teams.csv"), func(r *crmio.Row) error {
		teams[strings.TrimSpace(r.Get("sales_agent"))] = [2]string{strings.TrimSpace(r.Get("manager")), strings.TrimSpace(r.Get("regional_office"))}
		return nil
	}); err != nil {
		return nil, err
	}
	err = readRows(filepath.Join(dataDir, "sales_pipeline.csv"), func(r *crmio.Row) error {
		agent, st := strings.TrimSpace(r.Get("sales_agent")), strings.TrimSpace(r.Get("deal_stage"))
		product := products[compact(r.Get("product"))]
		if product == "" {
			product = strings.TrimSpace(r.Get("product"))
		}
		d := crm.Deal{Name: r.Get("opportunity_id"), PipelineID: pl.ID, OwnerID: agent,
			Custom: crm.Custom{"manager": teams[agent][0], "regional_office": teams[agent][1], "product": product}}
		if st == "Won" {
			if d.Amount, err = crm.ParseMoney(r.Get("close_value"), "USD"); err != nil {
				return fmt.Errorf("line %d: close_value: %w", r.Line, err)
			}
		}
		if st == "Prospecting" {
			clk.Set(prospectingTime)
			d.StageID = stage("Prospecting")
			_, err := ws.Deals().Create(ctx, d)
			return err
		}
		engage, err := crmio.ParseDate(r.Get("engage_date"), "")
		if err != nil {
			return fmt.Errorf("line %d: engage_date: %w", r.Line, err)
		}
		clk.Set(engage.Time())
		d.StageID = stage("Engaging")
		created, err := ws.Deals().Create(ctx, d)
		if err != nil || st == "Engaging" {
			return err
		}
		closed, err := crmio.ParseDate(r.Get("close_date"), "")
		if err != nil {
			return fmt.Errorf("line %d: close_date: %w", r.Line, err)
		}
		clk.Set(closed.Time())
		_, err = ws.Deals().Move(ctx, created.ID, stage(st))
		return err
	})
	if err != nil {
		return nil, err
	}
	clk.Set(prospectingTime)
	res := &Result{Reports: map[string]*report.ConversionReport{}}
	for _, b := range Breakdowns {
		rep, err := report.Conversion(ctx, ws, report.ConversionOptions{Filter: report.Filter{PipelineID: pl.ID, GroupBy: b.By}})
		if err != nil {
			return nil, err
		}
		res.Reports[b.Title] = rep
	}
	return res, nil
}

func compact(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), "")) }

// readRows calls fn for every row of a CSV file; a row that cannot be
// read is an error.
func readRows(path string, fn func(*crmio.Row) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for row, err := range crmio.NewReader(f, crmio.ReadOptions{}).Rows() {
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		if row.Problem != nil {
			return fmt.Errorf("%s line %d: %s: %s", filepath.Base(path), row.Line, row.Problem.Column, row.Problem.Reason)
		}
		if err := fn(row); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
	}
	return nil
}

// wonUSD returns a group's won revenue in dollars.
func wonUSD(g report.ConversionGroup) float64 {
	for _, a := range g.WonAmounts {
		if a.Currency == "USD" {
			return float64(a.Amount) / 100
		}
	}
	return 0
}

// Print writes the reports as tables.
func (r *Result) Print(w io.Writer) {
	for _, b := range Breakdowns {
		fmt.Fprintf(w, "\n%s\n", b.Title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		if b.By == report.GroupProduct {
			fmt.Fprintln(tw, "product\twon revenue (USD)\t")
			for _, g := range r.Reports[b.Title].Groups {
				fmt.Fprintf(tw, "%s\t%.2f\t\n", g.Group, wonUSD(g))
			}
		} else {
			fmt.Fprintln(tw, "group\twon\tlost\twin rate\twon revenue (USD)\tavg cycle (days)\t")
			for _, g := range r.Reports[b.Title].Groups {
				name := g.Group
				if b.By == report.GroupNone {
					name = "all"
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%.2f\t%.1f\t\n", name, g.Won, g.Lost, 100*g.WinRate, wonUSD(g), g.AvgCycleDays)
			}
		}
		tw.Flush()
	}
}

// writeFunnel writes the overall funnel as SVG to path; a file it could
// not write whole is removed.
func writeFunnel(r *Result, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = r.Reports["Overall"].FunnelSVG(f, "")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}
