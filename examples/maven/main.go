// Command maven imports the Maven Analytics "CRM Sales Opportunities"
// dataset (accounts, products, sales teams and 8,800 opportunities) into a
// crmkit workspace on the embedded Badger store, end to end, and reports
// every flawed row it fixed, kept as it was, or rejected. No row is lost:
// each is imported or listed as rejected with the reason.
//
//	go run ./examples/maven                      # the Maven CRM dataset kept in examples/internal/mavencrm
//	go run ./examples/maven -data dir -dir db -v # your copy, a kept database, every row listed
//
// How the dataset maps onto the CRM:
//
//   - accounts.csv -> companies, imported with crmio: sector -> industry
//     (the misspelled "technolgy" is fixed to "technology"), revenue in
//     millions of dollars -> annual revenue in USD minor units (scaled
//     exactly, from the decimal text), employees, year_established -> the
//     custom field year_established, office_location -> the address's
//     ISO country code (the dataset names only countries, so city and
//     region stay empty; "Philipines" is fixed to PH, "Korea" is taken as
//     South Korea and reported). subsidiary_of -> the parent company: a
//     second crmio pass, upserting by name, once every company exists.
//   - sales_teams.csv -> each deal's owner is its sales agent's name
//     (OwnerID is the host application's user ID; the dataset has only
//     names); the agent's manager and regional office go to the deal's
//     custom fields manager and regional_office.
//   - products.csv -> the deal's custom field product, a select of the
//     seven products ("GTXPro" in the pipeline is fixed to "GTX Pro"); a
//     product's series and list price stay in products.csv.
//   - sales_pipeline.csv -> deals in a pipeline "Maven" with the stages
//     Prospecting, Engaging, Won and Lost. A deal that was engaged is
//     created in Engaging at its engage_date and then won or lost at its
//     close_date; close_value is the amount of won deals, in USD. The CRM
//     stamps stage entries with its clock, so the import runs the CRM on a
//     clock it sets to the dataset's date before each write. Prospecting
//     deals have no date in the dataset: they enter Prospecting at the
//     time of the import. Open opportunities without an account are
//     imported without a company and reported as notes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/examples/internal/mavencrm"
	"github.com/crmkit/crmkit/store/badger"
)

func main() {
	data := flag.String("data", mavencrm.Dir(), "directory of the dataset's CSV files")
	dir := flag.String("dir", "", "Badger directory (default: a temporary directory, removed at exit)")
	verbose := flag.Bool("v", false, "list every fixed, noted and rejected row")
	flag.Parse()
	sum, err := run(context.Background(), *data, *dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "maven:", err)
		os.Exit(1)
	}
	sum.Print(os.Stdout, *verbose)
}

// File names of the dataset.
const (
	accountsFile = "accounts.csv"
	productsFile = "products.csv"
	teamsFile    = "sales_teams.csv"
	pipelineFile = "sales_pipeline.csv"
)

// FileReport counts what happened to one file's rows.
type FileReport struct {
	Name                            string
	Read, Imported, Fixed, Rejected int
}

// Issue is a flawed row: fixed, kept as it was (a note), or rejected.
type Issue struct {
	File   string
	Line   int
	Column string
	// What describes the flaw and what was done, the same for every row
	// with the same flaw ("product \"GTXPro\" -> \"GTX Pro\"").
	What string
}

// Summary is the outcome of the import.
type Summary struct {
	Dir   string
	Files []*FileReport
	// Fixes are flaws repaired; Notes are flaws kept as they are
	// (an open deal without an account is imported without a company).
	Fixes, Notes, Rejects []Issue
	Companies, Parents    int
	Won, Lost, Open       int
	Engaging, Prospecting int
	// WonValue is the total amount of won deals.
	WonValue crm.Money
	Elapsed  time.Duration
}

func (s *Summary) file(name string) *FileReport {
	for _, f := range s.Files {
		if f.Name == name {
			return f
		}
	}
	f := &FileReport{Name: name}
	s.Files = append(s.Files, f)
	return f
}

func (s *Summary) fix(file string, line int, column, format string, args ...any) {
	s.Fixes = append(s.Fixes, Issue{File: file, Line: line, Column: column, What: fmt.Sprintf(format, args...)})
}

func (s *Summary) note(file string, line int, column, format string, args ...any) {
	s.Notes = append(s.Notes, Issue{File: file, Line: line, Column: column, What: fmt.Sprintf(format, args...)})
}

func (s *Summary) reject(file string, line int, column, format string, args ...any) {
	s.Rejects = append(s.Rejects, Issue{File: file, Line: line, Column: column, What: fmt.Sprintf(format, args...)})
	s.file(file).Rejected++
}

// clock is the CRM's clock during the import: the time set before a
// write, or the real time when none is set.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the time set, or the real time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

// Set sets the time the next writes are stamped with; the zero time
// returns to the real clock.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// run imports the dataset in dataDir into a Badger store in dbDir (a
// temporary directory if empty).
func run(ctx context.Context, dataDir, dbDir string) (*Summary, error) {
	start := time.Now()
	if dbDir == "" {
		tmp, err := os.MkdirTemp("", "crmkit-maven-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dbDir = tmp
	}
	// The import can be run again from the files, so commits need not be
	// synced one by one (Close flushes everything), and larger memtables
	// spare the store most flushes and compactions during the import.
	st, err := badger.Open(dbDir, badger.WithSyncWrites(false), badger.WithMemTableSize(64<<20))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	clk := &clock{}
	c := crm.New(st, crm.WithClock(clk.Now))
	ctx = crm.WithSource(crm.WithActor(ctx, "maven-import"), "import")

	// A run starts from an empty workspace, so it can be repeated.
	if _, err := c.Workspace(ctx, "maven"); err == nil {
		if err := c.DeleteWorkspace(ctx, "maven"); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, crm.ErrNotFound) {
		return nil, err
	}
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "maven", Name: "Maven CRM", Currency: "USD"})
	if err != nil {
		return nil, err
	}
	sum := &Summary{Dir: dbDir, WonValue: crm.Money{Currency: "USD"}}
	for _, f := range []string{accountsFile, productsFile, teamsFile, pipelineFile} {
		sum.file(f)
	}
	products, err := readProducts(sum, filepath.Join(dataDir, productsFile))
	if err != nil {
		return nil, err
	}
	teams, err := readTeams(sum, filepath.Join(dataDir, teamsFile))
	if err != nil {
		return nil, err
	}
	if err := defineFields(ctx, ws, products, teams); err != nil {
		return nil, err
	}
	if err := importAccounts(ctx, ws, sum, filepath.Join(dataDir, accountsFile)); err != nil {
		return nil, err
	}
	if err := importPipeline(ctx, ws, clk, sum, filepath.Join(dataDir, pipelineFile), products, teams); err != nil {
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// Print writes the summary: counts per file, deals by outcome, and the
// flawed rows grouped by flaw (every row with verbose).
func (s *Summary) Print(w io.Writer, verbose bool) {
	fmt.Fprintf(w, "imported the Maven CRM dataset into workspace \"maven\" in %s (%s)\n\n", s.Elapsed.Round(time.Millisecond), s.Dir)
	fmt.Fprintf(w, "%-20s %6s %9s %6s %9s\n", "file", "read", "imported", "fixed", "rejected")
	for _, f := range s.Files {
		fmt.Fprintf(w, "%-20s %6d %9d %6d %9d\n", f.Name, f.Read, f.Imported, f.Fixed, f.Rejected)
	}
	fmt.Fprintf(w, "\ncompanies: %d (%d linked to a parent company)\n", s.Companies, s.Parents)
	fmt.Fprintf(w, "deals: %d won (%s), %d lost, %d open (%d engaging, %d prospecting)\n",
		s.Won, s.WonValue.String(), s.Lost, s.Open, s.Engaging, s.Prospecting)
	for _, g := range []struct {
		title  string
		issues []Issue
	}{{"fixed", s.Fixes}, {"kept as they are", s.Notes}, {"rejected", s.Rejects}} {
		fmt.Fprintf(w, "\n%s: %d rows\n", g.title, len(g.issues))
		printIssues(w, g.issues, verbose)
	}
}

// printIssues groups issues by file and flaw.
func printIssues(w io.Writer, issues []Issue, verbose bool) {
	type group struct {
		file, what string
		lines      []int
	}
	var groups []*group
	for _, is := range issues {
		i := slices.IndexFunc(groups, func(g *group) bool { return g.file == is.File && g.what == is.What })
		if i < 0 {
			groups = append(groups, &group{file: is.File, what: is.What})
			i = len(groups) - 1
		}
		groups[i].lines = append(groups[i].lines, is.Line)
	}
	for _, g := range groups {
		lines := g.lines
		more := ""
		if !verbose && len(lines) > 8 {
			lines, more = lines[:8], fmt.Sprintf(", ... (%d more; -v lists them)", len(g.lines)-8)
		}
		parts := make([]string, len(lines))
		for i, l := range lines {
			parts[i] = fmt.Sprint(l)
		}
		noun := "rows"
		if len(g.lines) == 1 {
			noun = "row"
		}
		fmt.Fprintf(w, "  %s: %s: %d %s (lines %s%s)\n", g.file, g.what, len(g.lines), noun, strings.Join(parts, ", "), more)
	}
}
