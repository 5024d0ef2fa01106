package crm_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store/memory"
)

// The examples run on the in-memory store with a clock they move by hand,
// so their output never changes. Generated IDs carry random bits, so the
// examples print names, versions and counts, never IDs.

// A CRM runs over any store.Store; a workspace is one tenant of the host
// application and starts with a default sales pipeline.
func ExampleNew() {
	st := memory.New()
	defer st.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := context.Background()

	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme Inc.", Currency: "EUR"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ws.ID(), ws.Info().Name, ws.Info().Currency, ws.Info().CreatedAt.Format(time.DateOnly))

	// Later, or in another process: open the handle by ID.
	again, err := c.Workspace(ctx, "acme")
	fmt.Println(again.Info().Name, err)
	_, err = c.Workspace(ctx, "globex")
	fmt.Println(errors.Is(err, crm.ErrNotFound))
	// Output:
	// acme Acme Inc. EUR 2026-03-02
	// Acme Inc. <nil>
	// true
}

// CreateWorkspace validates the workspace's settings and refuses an ID that
// is taken.
func ExampleCRM_CreateWorkspace() {
	st := memory.New()
	defer st.Close()
	c := crm.New(st)
	ctx := context.Background()

	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	info := ws.Info()
	fmt.Println("currency:", info.Currency)
	fmt.Println("lifecycle:", strings.Join(info.LifecycleStages, " > "))
	pl, err := ws.Pipelines().Default(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range pl.Stages {
		fmt.Printf("%s: %s %d%%\n", pl.Name, s.Name, s.Probability)
	}

	_, err = c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme again"})
	fmt.Println(errors.Is(err, crm.ErrInvalid), err)
	_, err = c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "bad id!", Currency: "euro"})
	fmt.Println(err)
	// Output:
	// currency: USD
	// lifecycle: subscriber > lead > marketing_qualified > sales_qualified > opportunity > customer > evangelist > churned
	// Sales: Qualification 10%
	// Sales: Needs analysis 25%
	// Sales: Proposal 50%
	// Sales: Negotiation 75%
	// Sales: Closed won 100%
	// Sales: Closed lost 0%
	// true crm: invalid workspace acme: id: already exists
	// crm: invalid workspace bad id!: id: must be 1 to 64 letters, digits, '-', '_' or '.'; currency: "EURO" is not an ISO 4217 currency code such as "EUR"
}

// Create normalises and validates a contact and indexes its email
// addresses, which are unique in the workspace and found case-insensitively.
func ExampleContacts_Create() {
	st := memory.New()
	defer st.Close()
	c := crm.New(st)
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	contacts := ws.Contacts()

	ada, err := contacts.Create(ctx, crm.Contact{
		FirstName: " Ada ",
		LastName:  "Lovelace",
		Emails:    []string{"Ada@Analytical.ORG", "ada@example.com"},
		Phones:    []crm.Phone{{Number: "+44 20 7946 0000", Label: "work"}},
		Tags:      []string{"VIP", "math", "vip"},
		Lifecycle: "Lead",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s, version %d, emails %v, tags %v, %s\n", ada.Name(), ada.Version, ada.Emails, ada.Tags, ada.Lifecycle)

	found, err := contacts.GetByEmail(ctx, "ADA@analytical.org")
	fmt.Println(found.ID == ada.ID, err)

	// The same address again, and a malformed one: both refused, nothing
	// written.
	_, err = contacts.Create(ctx, crm.Contact{FirstName: "Impostor", Emails: []string{"ada@example.com", "not-an-email"}})
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			fmt.Println(f.Field, "-", strings.Replace(f.Reason, ada.ID, "<id>", 1))
		}
	}
	_, err = contacts.GetByEmail(ctx, "nobody@example.com")
	fmt.Println(errors.Is(err, crm.ErrNotFound))
	// Output:
	// Ada Lovelace, version 1, emails [Ada@analytical.org ada@example.com], tags [vip math], lead
	// true <nil>
	// emails[1] - "not-an-email" is not a valid email address
	// emails[0] - already used by contact <id>
	// true
}

// Update is a partial update: it changes only what the function changes.
// IfVersion turns it into an optimistic lock for an edit made on a copy
// read earlier.
func ExampleContacts_Update() {
	st := memory.New()
	defer st.Close()
	c := crm.New(st)
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	contacts := ws.Contacts()
	grace, err := contacts.Create(ctx, crm.Contact{FirstName: "Grace", LastName: "Hopper", Emails: []string{"grace@example.com"}})
	if err != nil {
		fmt.Println(err)
		return
	}

	// A user opens the contact in an editor (version 1) ...
	shown := grace
	// ... meanwhile an import sets the job title.
	updated, err := contacts.Update(ctx, grace.ID, func(c *crm.Contact) error {
		c.Title = "Rear Admiral"
		return nil
	})
	fmt.Println(updated.Title, updated.Emails, "version", updated.Version, err)

	// The user's save pins the version they saw, and is refused.
	_, err = contacts.Update(ctx, grace.ID, func(c *crm.Contact) error {
		c.LastName = "Murray Hopper"
		return nil
	}, crm.IfVersion(shown.Version))
	fmt.Println("conflict:", errors.Is(err, crm.ErrConflict))

	// Reloaded, the edit goes through on the current version.
	cur, _ := contacts.Get(ctx, grace.ID)
	cur, err = contacts.Update(ctx, grace.ID, func(c *crm.Contact) error {
		c.LastName = "Murray Hopper"
		return nil
	}, crm.IfVersion(cur.Version))
	fmt.Println(cur.Name(), cur.Title, "version", cur.Version, err)

	// An update that changes nothing writes nothing.
	same, _ := contacts.Update(ctx, grace.ID, func(c *crm.Contact) error { return nil })
	fmt.Println("version", same.Version)
	// Output:
	// Rear Admiral [grace@example.com] version 2 <nil>
	// conflict: true
	// Grace Murray Hopper Rear Admiral version 3 <nil>
	// version 3
}

// Moving a deal through its pipeline records every stage it entered, with
// when it entered and left; Win moves it to the won stage and closes it.
func ExampleDeals_Move() {
	st := memory.New()
	defer st.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})
	if err != nil {
		fmt.Println(err)
		return
	}
	pl, err := ws.Pipelines().Default(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	stageName := func(id string) string {
		s, _ := pl.Stage(id)
		return s.Name
	}

	// Without a pipeline or stage, a deal starts in the default pipeline's
	// first open stage.
	deal, err := ws.Deals().Create(ctx, crm.Deal{Name: "Acme renewal", Amount: crm.Money{Amount: 12_000_00}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(deal.Name, deal.Amount, stageName(deal.StageID), deal.Status)

	now = now.Add(72 * time.Hour)
	proposal, _ := pl.StageByName("Proposal")
	deal, err = ws.Deals().Move(ctx, deal.ID, proposal.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	now = now.Add(10 * 24 * time.Hour)
	deal, err = ws.Deals().Win(ctx, deal.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(stageName(deal.StageID), deal.Status, "closed", deal.ClosedAt.Format(time.DateOnly), "version", deal.Version)
	for _, h := range deal.StageHistory {
		stay := "current"
		if !h.LeftAt.IsZero() {
			stay = h.LeftAt.Sub(h.EnteredAt).String()
		}
		fmt.Printf("  %-13s entered %s  %s\n", stageName(h.StageID), h.EnteredAt.Format(time.DateOnly), stay)
	}

	// A stage of another pipeline, or no stage at all, is refused.
	_, err = ws.Deals().Move(ctx, deal.ID, "stg_nope")
	fmt.Println(errors.Is(err, crm.ErrInvalid))
	// Output:
	// Acme renewal 12000.00 EUR Qualification open
	// Closed won won closed 2026-03-15 version 3
	//   Qualification entered 2026-03-02  72h0m0s
	//   Proposal      entered 2026-03-05  240h0m0s
	//   Closed won    entered 2026-03-15  current
	// true
}

// A stage that holds deals can only be removed by naming where its deals
// go; they move there in the same transaction, and their stage history
// records the move.
func ExamplePipelines_RemoveStage() {
	st := memory.New()
	defer st.Close()
	c := crm.New(st)
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	pl, err := ws.Pipelines().Default(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	analysis, _ := pl.StageByName("Needs analysis")
	proposal, _ := pl.StageByName("Proposal")
	for _, name := range []string{"Globex pilot", "Initech upgrade"} {
		if _, err := ws.Deals().Create(ctx, crm.Deal{Name: name, StageID: analysis.ID}); err != nil {
			fmt.Println(err)
			return
		}
	}

	_, err = ws.Pipelines().RemoveStage(ctx, pl.ID, analysis.ID, "")
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		fmt.Println(ve.Fields[0])
	}

	pl, err = ws.Pipelines().RemoveStage(ctx, pl.ID, analysis.ID, proposal.ID)
	if err != nil {
		fmt.Println(err)
		return
	}
	var names []string
	for _, s := range pl.Stages {
		names = append(names, s.Name)
	}
	fmt.Println(strings.Join(names, ", "))
	for d, err := range ws.Deals().InStage(ctx, pl.ID, proposal.ID) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(d.Name, "moved, stages entered:", len(d.StageHistory))
	}
	// Output:
	// move_to: stage holds 2 deals: name another stage of the pipeline for them
	// Qualification, Proposal, Negotiation, Closed won, Closed lost
	// Globex pilot moved, stages entered: 2
	// Initech upgrade moved, stages entered: 2
}

// Log records a call, email, meeting, note, task or ticket and links it to
// contacts, companies or deals. Tasks and tickets carry their own state.
func ExampleActivities_Log() {
	st := memory.New()
	defer st.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ada, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	acts := ws.Activities()

	call, err := acts.Log(ctx, crm.Activity{
		Type: crm.ActivityCall, Subject: "Discovery call", Direction: "outbound",
		Duration: 25 * time.Minute, ContactIDs: []string{ada.ID},
	})
	fmt.Println(call.Type, call.Subject, call.Duration, call.OccurredAt.Format(time.DateTime), err)

	task, err := acts.Log(ctx, crm.Activity{
		Type: crm.ActivityTask, Subject: "Send proposal", DueAt: now.Add(48 * time.Hour),
		ContactIDs: []string{ada.ID},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for a, err := range acts.DueBefore(ctx, now.Add(7*24*time.Hour)) {
		fmt.Println("due:", a.Subject, a.DueAt.Format(time.DateOnly), err)
	}
	now = now.Add(30 * time.Hour)
	task, err = acts.Complete(ctx, task.ID, true)
	fmt.Println(task.Subject, "done at", task.DoneAt.Format(time.DateTime), err)

	// Every activity links to something that exists; only tasks are due.
	_, err = acts.Log(ctx, crm.Activity{Type: crm.ActivityNote, DueAt: now})
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			fmt.Println(f)
		}
	}
	// Output:
	// call Discovery call 25m0s 2026-03-02 09:00:00 <nil>
	// due: Send proposal 2026-03-04 <nil>
	// Send proposal done at 2026-03-03 15:00:00 <nil>
	// contact_ids: an activity must link to at least one contact, company or deal
	// due_at: only tasks have a due date, assignee, reminder or done state
}

// A record's timeline merges the activities linked to it with the changes
// made to it, newest first, a page at a time.
func ExampleWorkspace_Timeline() {
	st := memory.New()
	defer st.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := crm.WithActor(context.Background(), "u_sales")
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ada, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	now = now.Add(time.Hour)
	_, err = ws.Activities().Log(ctx, crm.Activity{Type: crm.ActivityCall, Subject: "Intro call", ContactIDs: []string{ada.ID}})
	if err != nil {
		fmt.Println(err)
		return
	}
	now = now.Add(time.Hour)
	_, err = ws.Contacts().Update(ctx, ada.ID, func(c *crm.Contact) error {
		c.Lifecycle = "opportunity"
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	now = now.Add(time.Hour)
	_, err = ws.Activities().Log(ctx, crm.Activity{Type: crm.ActivityEmail, Subject: "Proposal sent", ContactIDs: []string{ada.ID}})
	if err != nil {
		fmt.Println(err)
		return
	}

	ref := crm.Ref{Kind: crm.KindContact, ID: ada.ID}
	cursor := ""
	for page := 1; ; page++ {
		pg, err := ws.Timeline(ctx, ref, cursor, 3)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, e := range pg.Items {
			at := e.At.Format("15:04")
			switch {
			case e.Activity != nil:
				fmt.Printf("page %d %s %s: %s\n", page, at, e.Activity.Type, e.Activity.Subject)
			case e.Change != nil:
				fmt.Printf("page %d %s %s by %s", page, at, e.Change.Op, e.Change.Actor)
				for _, f := range e.Change.Fields {
					fmt.Printf(" (%s: %q -> %q)", f.Field, f.Old, f.New)
				}
				fmt.Println()
			}
		}
		if pg.Next == "" {
			break
		}
		cursor = pg.Next
	}
	// Output:
	// page 1 12:00 email: Proposal sent
	// page 1 11:00 updated by u_sales (lifecycle: "" -> "opportunity")
	// page 1 10:00 call: Intro call
	// page 2 09:00 created by u_sales
}

// Define adds a custom field to an object kind. Values written to it are
// converted to the field's type and checked against its rules; a bad value
// is reported like any other invalid field.
func ExampleFields_Define() {
	st := memory.New()
	defer st.Close()
	c := crm.New(st)
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	lo, hi := 0.0, 100.0
	for _, d := range []crm.FieldDef{
		{Object: crm.KindContact, Name: "plan", Type: crm.FieldSelect, Options: []string{"free", "pro", "enterprise"}, Default: "free"},
		{Object: crm.KindContact, Name: "score", Type: crm.FieldNumber, Min: &lo, Max: &hi},
		{Object: crm.KindContact, Name: "renewal", Type: crm.FieldDate},
	} {
		if _, err := ws.Fields().Define(ctx, d); err != nil {
			fmt.Println(err)
			return
		}
	}

	// Accepted: an int becomes a number, a string a date, the default fills in.
	ok, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Custom: crm.Custom{"score": 87, "renewal": "2026-09-30"}})
	fmt.Printf("%v %T %v %T %v %v\n", ok.Custom["plan"], ok.Custom["score"], ok.Custom["score"], ok.Custom["renewal"], ok.Custom["renewal"], err)

	// Refused, with every failing field named.
	_, err = ws.Contacts().Create(ctx, crm.Contact{FirstName: "Bob", Custom: crm.Custom{"plan": "platinum", "score": 120, "shoe_size": 44}})
	fmt.Println(errors.Is(err, crm.ErrInvalid))
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		// Custom fields are checked in no particular order.
		slices.SortFunc(ve.Fields, func(a, b crm.FieldError) int { return strings.Compare(a.Field, b.Field) })
		for _, f := range ve.Fields {
			fmt.Println(f)
		}
	}

	// The definition itself is validated too.
	_, err = ws.Fields().Define(ctx, crm.FieldDef{Object: crm.KindContact, Name: "Tier", Type: crm.FieldText, Options: []string{"a"}})
	fmt.Println(err)
	// Output:
	// free float64 87 crm.Date 2026-09-30 <nil>
	// true
	// custom.plan: "platinum" is not one of free, pro, enterprise
	// custom.score: value 120 is above the maximum 100
	// custom.shoe_size: unknown field
	// crm: invalid field: name: "Tier" must be a lower-case letter followed by up to 63 lower-case letters, digits or underscores; options: only select and multi_select fields have options
}

// List streams every contact in the order asked for; Page returns one page
// and a cursor that continues after it, for APIs that page across requests.
func ExampleContacts_List() {
	st := memory.New()
	defer st.Close()
	c := crm.New(st)
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
	if err != nil {
		fmt.Println(err)
		return
	}
	var batch []crm.Contact
	for _, n := range []string{"Hopper", "Lovelace", "Babbage", "Turing", "Noether"} {
		batch = append(batch, crm.Contact{LastName: n, Emails: []string{strings.ToLower(n) + "@example.com"}})
	}
	if _, err := ws.Contacts().CreateMany(ctx, batch); err != nil {
		fmt.Println(err)
		return
	}

	fmt.Print("created:")
	for ct, err := range ws.Contacts().List(ctx, crm.ListOptions{}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Print(" ", ct.LastName)
	}
	fmt.Println()

	opts := crm.ListOptions{Sort: crm.SortName, Limit: 2}
	for {
		pg, err := ws.Contacts().Page(ctx, opts)
		if err != nil {
			fmt.Println(err)
			return
		}
		var names []string
		for _, ct := range pg.Items {
			names = append(names, ct.LastName)
		}
		fmt.Println("page:", strings.Join(names, ", "), "more:", pg.Next != "")
		if pg.Next == "" {
			break
		}
		opts.After = pg.Next // the next request carries the cursor
	}
	// Output:
	// created: Hopper Lovelace Babbage Turing Noether
	// page: Babbage, Hopper more: true
	// page: Lovelace, Noether more: true
	// page: Turing more: false
}

// Record stores a purchase and computes its total from the line items in
// integer minor units, in the workspace's currency unless one is given.
func ExamplePurchases_Record() {
	st := memory.New()
	defer st.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme", Currency: "EUR"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ada, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}})
	if err != nil {
		fmt.Println(err)
		return
	}

	p, err := ws.Purchases().Record(ctx, crm.Purchase{
		ContactID: ada.ID,
		Items: []crm.LineItem{
			{Product: "Pro plan (annual)", Quantity: 3, UnitPrice: crm.Money{Amount: 240_00}, Discount: crm.Money{Amount: 72_00}},
			{Product: "Onboarding", Quantity: 1, UnitPrice: crm.Money{Amount: 500_00}},
		},
		PaymentMethod: "card",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, li := range p.Items {
		fmt.Printf("%-18s %d x %v = %v\n", li.Product, li.Quantity, li.UnitPrice, li.Total())
	}
	fmt.Println("total", p.Total, "on", p.PurchasedAt.Format(time.DateOnly))

	for bought, err := range ws.Purchases().ByContact(ctx, ada.ID) {
		fmt.Println(ada.FirstName, "bought", len(bought.Items), "items for", bought.Total, err)
	}

	_, err = ws.Purchases().Record(ctx, crm.Purchase{
		ContactID: ada.ID,
		Items:     []crm.LineItem{{Product: "Seat", Quantity: 1, UnitPrice: crm.Money{Amount: 10_00, Currency: "USD"}, Discount: crm.Money{Amount: 20_00, Currency: "USD"}}},
	})
	fmt.Println(err)
	// Output:
	// Pro plan (annual)  3 x 240.00 EUR = 648.00 EUR
	// Onboarding         1 x 500.00 EUR = 500.00 EUR
	// total 1148.00 EUR on 2026-03-02
	// Ada bought 2 items for 1148.00 EUR <nil>
	// crm: invalid purchase: items[0].discount: is larger than the line's price
}

// Query selects the records of one kind, named by a Kind value: a
// misspelt kind ("contacts") does not compile. A name read at run time
// (a flag, a URL) goes through ParseKind, which also reads plurals.
func ExampleWorkspace_Query() {
	st := memory.New()
	defer st.Close()
	c := crm.New(st)
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Currency: "EUR"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range []crm.Contact{{FirstName: "Ada", Lifecycle: "lead"}, {FirstName: "Grace", Lifecycle: "customer"}, {FirstName: "Alan", Lifecycle: "lead"}} {
		if _, err := ws.Contacts().Create(ctx, c); err != nil {
			fmt.Println(err)
			return
		}
	}

	leads, err := filter.Parse(`lifecycle = "lead"`)
	if err != nil {
		fmt.Println(err)
		return
	}
	n, err := ws.Query(crm.KindContact, leads).Count(ctx)
	fmt.Println("leads:", n, err)

	kind, err := crm.ParseKind("contacts")
	fmt.Println(kind, err)
	_, err = crm.ParseKind("lead")
	fmt.Println(errors.Is(err, crm.ErrInvalid))
	// Output:
	// leads: 2 <nil>
	// contact <nil>
	// true
}
