// Command maven imports the Maven Analytics "CRM Sales Opportunities"
// dataset (accounts, products, sales teams and 8,800 opportunities) into a
// crmkit workspace on the embedded Badger store, end to end, and reports
// every flawed row it fixed, kept as it was, or rejected. No row is lost:
// each is imported or listed as rejected with the reason.
//
//	go run ./examples/maven                      # data from ../shared/datasets/maven-crm
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
	"cmp"
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
	"github.com/crmkit/crmkit/crmio"
	"github.com/crmkit/crmkit/store/badger"
)

func main() {
	data := flag.String("data", "../shared/datasets/maven-crm", "directory of the dataset's CSV files")
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
		price, err := crmio.ParseMoney(row.Get("sales_price"), "USD")
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
		{Object: "company", Name: "year_established", Label: "Year established", Type: crm.FieldNumber},
		{Object: "deal", Name: "opportunity_id", Label: "Opportunity ID", Type: crm.FieldText, Unique: true},
		{Object: "deal", Name: "product", Label: "Product", Type: crm.FieldSelect, Options: names},
		{Object: "deal", Name: "manager", Label: "Manager", Type: crm.FieldText},
		{Object: "deal", Name: "regional_office", Label: "Regional office", Type: crm.FieldSelect, Options: offices},
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
			m, err := crmio.ParseMoney(v, "USD")
			if err != nil {
				return &crmio.Problem{Column: "revenue", Reason: err.Error()}
			}
			m.Amount *= 1_000_000
			r.Set("revenue", crmio.FormatMoney(m))
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
		if o.value, err = crmio.ParseMoney(row.Get("close_value"), "USD"); err != nil || o.value.Amount < 0 {
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
		s.Won, crmio.FormatMoney(s.WonValue), s.Lost, s.Open, s.Engaging, s.Prospecting)
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
