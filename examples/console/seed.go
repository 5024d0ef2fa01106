package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// The demo workspace's ID.
const workspaceID = "demo"

// user is one of the demo's people, as the host application would know
// them: an ID the records' owner fields hold, a name, and their roles and
// teams in the workspace's policy.
type user struct {
	ID    string   `json:"id"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	Teams []string `json:"teams,omitempty"`
	// agent is the sales agent of the dataset whose deals this user owns.
	agent string
}

// users are the demo's people: an admin, a manager of the Central team
// and two of the team's sales agents from the dataset.
var users = []user{
	{ID: "admin", Name: "Alex Admin", Roles: []string{"admin"}},
	{ID: "dustin", Name: "Dustin Brinkmann", Roles: []string{"manager"}, Teams: []string{"central"}},
	{ID: "anna", Name: "Anna Snelling", Roles: []string{"rep"}, Teams: []string{"central"}, agent: "Anna Snelling"},
	{ID: "cecily", Name: "Cecily Lampkin", Roles: []string{"rep"}, Teams: []string{"central"}, agent: "Cecily Lampkin"},
}

func userByID(id string) (user, bool) {
	return findUser(func(u user) bool { return u.ID == id })
}

// agentUser is the demo user who owns a sales agent's deals.
func agentUser(agent string) (user, bool) {
	return findUser(func(u user) bool { return u.agent != "" && u.agent == agent })
}

func findUser(match func(user) bool) (user, bool) {
	if i := slices.IndexFunc(users, match); i >= 0 {
		return users[i], true
	}
	return user{}, false
}

// policy is the demo workspace's access policy: the built-in roles, and
// the Central team of the two agents.
func policy() crm.Policy {
	team := crm.TeamDef{Name: "central"}
	for _, u := range users {
		if u.agent != "" {
			team.Members = append(team.Members, u.ID)
		}
	}
	return crm.Policy{Teams: []crm.TeamDef{team}}
}

// seed fills a new workspace with the deals of the demo's agents in the
// Maven Analytics dataset in dir: their accounts as companies, one
// contact per account, the deals with their stage history, and a logged
// call per deal. It does nothing to a workspace that already exists.
func seed(ctx context.Context, c *crm.CRM, dir string) (*crm.Workspace, error) {
	ctx = crm.As(ctx, crm.System())
	ws, err := c.Workspace(ctx, workspaceID)
	if err == nil {
		return ws, nil
	}
	if !errors.Is(err, crm.ErrNotFound) {
		return nil, err
	}
	accounts, err := readCSV(filepath.Join(dir, "accounts.csv"))
	if err != nil {
		return nil, err
	}
	prices := map[string]int64{}
	products, err := readCSV(filepath.Join(dir, "products.csv"))
	if err != nil {
		return nil, err
	}
	for _, p := range products {
		price, _ := strconv.ParseInt(p["sales_price"], 10, 64)
		prices[p["product"]] = price
	}
	pipeline, err := readCSV(filepath.Join(dir, "sales_pipeline.csv"))
	if err != nil {
		return nil, err
	}

	ws, err = c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: workspaceID, Name: "Maven demo", Currency: "USD"})
	if err != nil {
		return nil, err
	}
	// The dataset's pipeline replaces the one a new workspace starts with.
	def, err := ws.Pipelines().Default(ctx)
	if err != nil {
		return nil, err
	}
	p, err := ws.Pipelines().Create(ctx, crm.Pipeline{Name: "Sales", Stages: []crm.Stage{
		{Name: "Prospecting", Probability: 10, Kind: crm.StageOpen},
		{Name: "Engaging", Probability: 40, Kind: crm.StageOpen},
		{Name: "Proposal", Probability: 70, Kind: crm.StageOpen},
		{Name: "Won", Probability: 100, Kind: crm.StageWon},
		{Name: "Lost", Probability: 0, Kind: crm.StageLost},
	}})
	if err != nil {
		return nil, err
	}
	if err := ws.Pipelines().Delete(ctx, def.ID); err != nil {
		return nil, err
	}
	stage := func(name string) string { s, _ := p.StageByName(name); return s.ID }

	// The agents' deals, and the owner of each account: the agent with
	// the most deals there.
	owners := map[string]string{}
	var deals []map[string]string
	counts := map[string]map[string]int{}
	for _, row := range pipeline {
		u, ok := agentUser(row["sales_agent"])
		if !ok {
			continue
		}
		deals = append(deals, row)
		acct := row["account"]
		if acct == "" {
			continue
		}
		if counts[acct] == nil {
			counts[acct] = map[string]int{}
		}
		counts[acct][u.ID]++
		if owners[acct] == "" || counts[acct][u.ID] > counts[acct][owners[acct]] {
			owners[acct] = u.ID
		}
	}

	var companies []crm.Company
	var contacts []crm.Contact
	for i, a := range accounts {
		name := a["account"]
		owner, ok := owners[name]
		if !ok {
			continue
		}
		employees, _ := strconv.ParseInt(a["employees"], 10, 64)
		industry := a["sector"]
		if industry == "technolgy" {
			industry = "technology"
		}
		companies = append(companies, crm.Company{Name: name, Industry: industry, Employees: employees,
			Domain: slug(name) + ".example", OwnerID: owner})
		first, last := firstNames[i%len(firstNames)], lastNames[(i*7)%len(lastNames)]
		contacts = append(contacts, crm.Contact{FirstName: first, LastName: last, OwnerID: owner,
			Title: titles[i%len(titles)], Lifecycle: "customer",
			Emails: []string{strings.ToLower(first+"."+last) + "@" + slug(name) + ".example"}})
	}
	if companies, err = ws.Companies().CreateMany(ctx, companies); err != nil {
		return nil, fmt.Errorf("companies: %w", err)
	}
	companyOf, contactOf := map[string]string{}, map[string]string{}
	for i := range companies {
		contacts[i].Companies = []crm.CompanyRole{{CompanyID: companies[i].ID, Role: contacts[i].Title}}
	}
	if contacts, err = ws.Contacts().CreateMany(ctx, contacts); err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	for i := range companies {
		companyOf[companies[i].Name] = companies[i].ID
		contactOf[companies[i].Name] = contacts[i].ID
	}

	now := c.Now()
	var ds []crm.Deal
	for _, row := range deals {
		u, _ := agentUser(row["sales_agent"])
		product := row["product"]
		if product == "GTXPro" {
			product = "GTX Pro"
		}
		amount := prices[product]
		if v, err := strconv.ParseInt(row["close_value"], 10, 64); err == nil && v > 0 {
			amount = v
		}
		d := crm.Deal{Name: product + " for " + cmp.Or(row["account"], "a new account"), PipelineID: p.ID,
			Amount: crm.Money{Amount: amount * 100, Currency: "USD"}, OwnerID: u.ID, Source: "maven",
			CompanyID: companyOf[row["account"]]}
		if id := contactOf[row["account"]]; id != "" {
			d.Contacts = []crm.ContactRole{{ContactID: id, Role: "buyer"}}
		}
		engaged, _ := time.Parse(time.DateOnly, row["engage_date"])
		closed, _ := time.Parse(time.DateOnly, row["close_date"])
		switch row["deal_stage"] {
		case "Prospecting":
			d.StageID = stage("Prospecting")
			d.CloseDate = crm.DateOf(now.AddDate(0, 0, 20+int(hash(row["opportunity_id"])%70)))
		case "Engaging":
			// The dataset's open engaged deals are split between Engaging
			// and Proposal so the board has three open columns.
			name := "Engaging"
			if hash(row["opportunity_id"])%3 == 0 {
				name = "Proposal"
			}
			d.StageID = stage(name)
			d.CloseDate = crm.DateOf(now.AddDate(0, 0, 5+int(hash(row["opportunity_id"])%60)))
			d.StageHistory = []crm.StageEntry{{PipelineID: p.ID, StageID: d.StageID, EnteredAt: engaged}}
		case "Won", "Lost":
			d.StageID = stage(row["deal_stage"])
			if row["deal_stage"] == "Lost" {
				d.LostReason = "not given in the dataset"
			}
			d.ClosedAt = closed
			d.CloseDate = crm.DateOf(closed)
			d.StageHistory = []crm.StageEntry{
				{PipelineID: p.ID, StageID: stage("Engaging"), EnteredAt: engaged, LeftAt: closed},
				{PipelineID: p.ID, StageID: d.StageID, EnteredAt: closed},
			}
		default:
			continue
		}
		ds = append(ds, d)
	}
	if ds, err = ws.Deals().CreateMany(crm.WithImportedHistory(ctx), ds); err != nil {
		return nil, fmt.Errorf("deals: %w", err)
	}

	var calls []crm.Activity
	for _, d := range ds {
		if len(d.Contacts) == 0 {
			continue
		}
		at := d.StageHistory[0].EnteredAt
		calls = append(calls, crm.Activity{Type: crm.ActivityCall, Subject: "Discovery call: " + d.Name,
			Direction: "outbound", Duration: 15 * time.Minute, OccurredAt: at, OwnerID: d.OwnerID,
			ContactIDs: []string{d.Contacts[0].ContactID}, DealIDs: []string{d.ID}})
	}
	if _, err := ws.Activities().LogMany(ctx, calls); err != nil {
		return nil, fmt.Errorf("activities: %w", err)
	}
	if _, err := ws.SetPolicy(ctx, policy()); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return ws, nil
}

// readCSV reads a CSV file with a header into one map per row.
func readCSV(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var rows []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		row := make(map[string]string, len(header))
		for i, h := range header {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
}

func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// Names of the demo's contacts: the dataset has none.
var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus", "Radia", "Tony", "Hedy", "Dennis", "Karen"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Wirth", "Perlman", "Hoare", "Lamarr", "Ritchie", "Jones", "Moreno", "Okafor"}
	titles     = []string{"Head of Purchasing", "CTO", "Operations Manager", "CFO", "IT Director"}
)
