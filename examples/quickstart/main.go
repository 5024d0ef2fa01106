// Command quickstart is a tour of crmkit: it opens the embedded Badger store,
// creates a workspace with a pipeline, companies, contacts and deals, moves
// the deals through their stages, logs activities, and prints a contact's
// timeline and a per-stage summary of the pipeline.
//
//	go run ./examples/quickstart            # in a temporary directory
//	go run ./examples/quickstart -dir data  # keep the database in ./data
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store/badger"
)

func main() {
	dir := flag.String("dir", "", "database directory (default: a temporary directory, removed at exit)")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, dir string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "crmkit-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	st, err := badger.Open(dir)
	if err != nil {
		return err
	}
	defer st.Close()

	started := time.Now()
	c := crm.New(st)
	ctx = crm.WithActor(ctx, "user-1")

	// A workspace is one tenant of your application. Reopening the same
	// directory finds it again.
	ws, err := c.Workspace(ctx, "demo")
	if errors.Is(err, crm.ErrNotFound) {
		ws, err = c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "demo", Name: "Demo Inc.", Currency: "EUR"})
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "workspace %q (%s)\n", ws.Info().Name, dir)

	// A pipeline of our own next to the default "Sales" one.
	pl, err := ws.Pipelines().Create(ctx, crm.Pipeline{Name: "Enterprise", Currency: "EUR", Stages: []crm.Stage{
		{Name: "Discovery", Probability: 10},
		{Name: "Demo", Probability: 30},
		{Name: "Proposal", Probability: 60},
		{Name: "Won", Kind: crm.StageWon},
		{Name: "Lost", Kind: crm.StageLost},
	}})
	if err != nil {
		return err
	}
	stage := func(name string) string { s, _ := pl.StageByName(name); return s.ID }

	acme, err := ws.Companies().Create(ctx, crm.Company{Name: "Acme Corp", Domain: "acme.example", Industry: "manufacturing", Employees: 1200,
		Address: crm.Address{City: "Berlin", Country: "DE"}})
	if err != nil {
		return err
	}
	globex, err := ws.Companies().Create(ctx, crm.Company{Name: "Globex", Domain: "globex.example", Industry: "energy", Employees: 300})
	if err != nil {
		return err
	}
	ada, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", LastName: "Lovelace", Title: "CTO",
		Emails: []string{"ada@acme.example"}, Lifecycle: "sales_qualified", LeadSource: "webinar",
		Companies: []crm.CompanyRole{{CompanyID: acme.ID, Role: "decision maker"}}})
	if err != nil {
		return err
	}
	hank, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Hank", LastName: "Scorpio",
		Emails: []string{"hank@globex.example"}, Companies: []crm.CompanyRole{{CompanyID: globex.ID}}})
	if err != nil {
		return err
	}

	// Bad input is refused with every failing field named, and nothing is
	// written.
	_, err = ws.Contacts().Create(ctx, crm.Contact{FirstName: "Eve", Emails: []string{"ADA@acme.example", "not-an-email"}})
	fmt.Fprintln(out, "refused:", err)

	deals := []crm.Deal{
		{Name: "Acme rollout", CompanyID: acme.ID, Amount: crm.Money{Amount: 120_000_00}},
		{Name: "Acme support plan", CompanyID: acme.ID, Amount: crm.Money{Amount: 18_000_00}},
		{Name: "Globex pilot", CompanyID: globex.ID, Amount: crm.Money{Amount: 45_000_00}},
		{Name: "Globex expansion", CompanyID: globex.ID, Amount: crm.Money{Amount: 90_000_00}},
	}
	for i := range deals {
		deals[i].PipelineID = pl.ID
		deals[i].Contacts = []crm.ContactRole{{ContactID: ada.ID, Role: "champion"}}
		if deals[i].CompanyID == globex.ID {
			deals[i].Contacts[0].ContactID = hank.ID
		}
		if deals[i], err = ws.Deals().Create(ctx, deals[i]); err != nil {
			return err
		}
	}
	moves := []struct {
		deal  int
		stage string
	}{{0, "Demo"}, {0, "Proposal"}, {1, "Demo"}, {2, "Demo"}, {3, "Proposal"}}
	for _, m := range moves {
		if _, err := ws.Deals().Move(ctx, deals[m.deal].ID, stage(m.stage)); err != nil {
			return err
		}
	}
	if _, err := ws.Deals().Win(ctx, deals[2].ID); err != nil {
		return err
	}
	if _, err := ws.Deals().Lose(ctx, deals[1].ID, "went with a competitor"); err != nil {
		return err
	}

	now := time.Now()
	logs := []crm.Activity{
		{Type: crm.ActivityCall, Subject: "Intro call", Duration: 25 * time.Minute, Direction: "outbound", OccurredAt: now.Add(-72 * time.Hour)},
		{Type: crm.ActivityEmail, Subject: "Sent the proposal", Direction: "outbound", OccurredAt: now.Add(-48 * time.Hour), DealIDs: []string{deals[0].ID}},
		{Type: crm.ActivityMeeting, Subject: "On-site demo", Duration: time.Hour, OccurredAt: now.Add(-24 * time.Hour)},
		{Type: crm.ActivityTask, Subject: "Send revised pricing", DueAt: now.Add(48 * time.Hour), AssigneeID: "user-1"},
	}
	for _, a := range logs {
		a.ContactIDs = []string{ada.ID}
		a.CompanyIDs = []string{acme.ID}
		if _, err := ws.Activities().Log(ctx, a); err != nil {
			return err
		}
	}
	if _, err := ws.Contacts().Update(ctx, ada.ID, func(c *crm.Contact) error {
		c.Lifecycle = "opportunity"
		return nil
	}); err != nil {
		return err
	}

	fmt.Fprintf(out, "\ntimeline of %s %s, newest first:\n", ada.FirstName, ada.LastName)
	page, err := ws.Timeline(ctx, crm.Ref{Kind: crm.KindContact, ID: ada.ID}, "", 10)
	if err != nil {
		return err
	}
	for _, e := range page.Items {
		switch {
		case e.Activity != nil:
			fmt.Fprintf(out, "  %-8s %s\n", e.Activity.Type, e.Activity.Subject)
		case e.Change != nil:
			var fields []string
			for _, f := range e.Change.Fields {
				fields = append(fields, fmt.Sprintf("%s %v -> %v", f.Field, f.Old, f.New))
			}
			fmt.Fprintln(out, strings.TrimRight(fmt.Sprintf("  %-8s by %s %s", e.Change.Op, e.Change.Actor, strings.Join(fields, ", ")), " "))
		}
	}

	summary, err := ws.Deals().Summary(ctx, pl.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\npipeline %q:\n", pl.Name)
	for _, s := range summary {
		deals := "deals"
		if s.Count == 1 {
			deals = "deal"
		}
		fmt.Fprintf(out, "  %-10s %3d%%  %d %-5s  %16s\n", s.Stage.Name, s.Stage.Probability, s.Count, deals, crm.Money{Amount: s.Totals["EUR"], Currency: "EUR"})
	}
	fmt.Fprintf(out, "\ndone in %v\n", time.Since(started).Round(time.Millisecond))
	return nil
}
