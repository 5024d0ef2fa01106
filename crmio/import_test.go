package crmio_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedCompanies creates Acme (acme.com), Globex (no domain) and two
// companies named Twin.
func seedCompanies(t testing.TB, ws *crm.Workspace) map[string]string {
	t.Helper()
	ctx := context.Background()
	ids := map[string]string{}
	for _, c := range []crm.Company{
		{Name: "Acme", Domain: "acme.com"}, {Name: "Globex"}, {Name: "Twin", Domain: "twin-a.com"}, {Name: "Twin", Domain: "twin-b.com"},
	} {
		got, err := ws.Companies().Create(ctx, c)
		require.NoError(t, err)
		ids[c.Name+"|"+c.Domain] = got.ID
	}
	return ids
}

func TestImportContacts(t *testing.T) {
	type tc struct {
		name        string
		in          string
		opts        crmio.ImportOptions
		created     int
		skipped     int
		rejects     map[int]string // line -> substring of the reject
		ignored     []string
		check       func(t *testing.T, ws *crm.Workspace, ids map[string]string)
		wantMapping crmio.Mapping
	}
	tests := []tc{
		{
			name: "guessed mapping and normalised values",
			in: "\ufeffFull Name,E-Mail Address,Phone,Company,Tags,Birthday,Favourite Colour,Country\r\n" +
				"Ada Lovelace, ADA@Example.COM ,+44 20 7946 0000 (work),www.acme.com,vip|Early;beta,10/12/1815,green,gb\r\n" +
				"\"Hopper, Grace\",grace@example.com,,globex,,,blue,\r\n",
			created: 2,
			ignored: []string{"Favourite Colour"},
			wantMapping: crmio.Mapping{"Full Name": "name", "E-Mail Address": "emails", "Phone": "phones", "Company": "company",
				"Tags": "tags", "Birthday": "birthday", "Country": "address.country"},
			check: func(t *testing.T, ws *crm.Workspace, ids map[string]string) {
				cs := contacts(t, ws)
				require.Len(t, cs, 2)
				ada := cs[0]
				assert.Equal(t, "Ada", ada.FirstName)
				assert.Equal(t, "Lovelace", ada.LastName)
				assert.Equal(t, []string{"ADA@example.com"}, ada.Emails, "the local part as written, the domain lower case")
				assert.Equal(t, []crm.Phone{{Number: "+44 20 7946 0000", Label: "work", E164: "+442079460000"}}, ada.Phones)
				assert.Equal(t, []crm.CompanyRole{{CompanyID: ids["Acme|acme.com"]}}, ada.Companies)
				assert.Equal(t, []string{"vip", "early", "beta"}, ada.Tags)
				assert.Equal(t, crm.Date{Year: 1815, Month: 12, Day: 10}, ada.Birthday)
				assert.Equal(t, "GB", ada.Address.Country)
				grace := cs[1]
				assert.Equal(t, "Grace", grace.FirstName)
				assert.Equal(t, "Hopper", grace.LastName)
				assert.Equal(t, []crm.CompanyRole{{CompanyID: ids["Globex|"]}}, grace.Companies)
			},
		},
		{
			name: "bad rows are rejected with their column",
			in: "first_name,email,company,country,birthday,lifecycle\n" +
				"A,a@example.com,,,,\n" +
				"B,not-an-email,,,,\n" +
				"C,c@example.com,Nowhere Inc,,,\n" +
				"D,d@example.com,Twin,,,\n" +
				"E,e@example.com,,XX,,\n" +
				"F,f@example.com,,,12/31/1990,\n" +
				"G,g@example.com,,,2999-01-01,\n" +
				"H,h@example.com,,,,Customer\n" +
				",,,,,\n" +
				"I,a@example.com,,,,\n",
			created: 2, skipped: 1,
			rejects: map[int]string{
				3:  `email: "not-an-email" is not a valid email address`,
				4:  `company: no company named "Nowhere Inc"`,
				5:  `company: 2 companies are named "Twin"`,
				6:  `country: "XX" is not an ISO 3166-1`,
				7:  `birthday: "12/31/1990" is not a date (want YYYY-MM-DD or DD/MM/YYYY)`,
				8:  `birthday: 2999-01-01 is in the future`,
				11: `email: already used by contact`,
			},
			check: func(t *testing.T, ws *crm.Workspace, _ map[string]string) {
				cs := contacts(t, ws)
				require.Len(t, cs, 2)
				assert.Equal(t, "customer", cs[1].Lifecycle, "lower-cased to match the stage")
			},
		},
		{
			name:    "month-first date layout",
			in:      "first_name,birthday\nF,12/31/1990\n",
			opts:    crmio.ImportOptions{DateLayout: "01/02/2006"},
			created: 1,
			check: func(t *testing.T, ws *crm.Workspace, _ map[string]string) {
				assert.Equal(t, crm.Date{Year: 1990, Month: 12, Day: 31}, contacts(t, ws)[0].Birthday)
			},
		},
		{
			name: "explicit mapping",
			in:   "Nom,Courriel,Société,Note\nCurie,MARIE@example.com,acme.com,x\n",
			opts: crmio.ImportOptions{Mapping: crmio.Mapping{"Nom": "last_name", "Courriel": "emails", "Société": "company", "Note": "-"}},
			// An explicitly skipped column is not reported.
			created: 1,
			check: func(t *testing.T, ws *crm.Workspace, ids map[string]string) {
				c := contacts(t, ws)[0]
				assert.Equal(t, "Curie", c.LastName)
				assert.Equal(t, []string{"MARIE@example.com"}, c.Emails)
				assert.Equal(t, ids["Acme|acme.com"], c.Companies[0].CompanyID)
			},
		},
		{
			name: "several companies with roles and external ids",
			in: "first_name,company,company_role,external_id.hubspot,external_ids\n" +
				"Z,acme.com; Globex,buyer;,hs-1,sf:0031\n",
			created: 1,
			check: func(t *testing.T, ws *crm.Workspace, ids map[string]string) {
				c := contacts(t, ws)[0]
				assert.Equal(t, []crm.CompanyRole{{CompanyID: ids["Acme|acme.com"], Role: "buyer"}, {CompanyID: ids["Globex|"]}}, c.Companies)
				assert.Equal(t, map[string]string{"hubspot": "hs-1", "sf": "0031"}, c.ExternalIDs)
			},
		},
	}
	onBackends(t, func(t *testing.T, b backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ws := newWorkspace(t, b.open(t))
				ids := seedCompanies(t, ws)
				tt.opts.Object = crmio.ObjectContact
				res := importString(t, ws, tt.in, tt.opts)
				assert.Equal(t, tt.created, res.Created, "created")
				assert.Equal(t, tt.skipped, res.Skipped, "skipped")
				got := rejectsByLine(res)
				assert.Len(t, got, len(tt.rejects), "rejects: %v", got)
				for line, want := range tt.rejects {
					assert.Contains(t, got[line], want, "line %d", line)
				}
				for _, r := range res.Rejects {
					assert.NotEmpty(t, r.Raw, "line %d keeps its fields", r.Line)
				}
				if tt.ignored != nil {
					assert.Equal(t, tt.ignored, res.Ignored)
				}
				if tt.wantMapping != nil {
					assert.Equal(t, tt.wantMapping, res.Mapping)
				}
				if tt.check != nil {
					tt.check(t, ws, ids)
				}
			})
		}
	})
}

func TestGuessMapping(t *testing.T) {
	got := crmio.GuessMapping([]string{"E-mail", "Zip Code", "Sector", "Score", "Website", "Email 2", "Created At", "Whatever"}, crmio.ObjectCompany,
		crm.FieldDef{Object: crm.KindCompany, Name: "score", Type: crm.FieldNumber})
	assert.Equal(t, crmio.Mapping{"Zip Code": "address.postal_code", "Sector": "industry", "Score": "custom.score", "Website": "domain"}, got)

	got = crmio.GuessMapping([]string{"Email", "Email 2", "First", "first_name", "custom.tier", "external id hubspot"}, crmio.ObjectContact)
	assert.Equal(t, crmio.Mapping{"Email": "emails", "Email 2": "emails", "First": "first_name", "custom.tier": "custom.tier", "external id hubspot": "external_id.hubspot"}, got,
		"lists take several columns; a second first_name does not")
	assert.Empty(t, crmio.GuessMapping([]string{"a"}, crm.KindPipeline))
}

func TestImportErrors(t *testing.T) {
	ws := newWorkspace(t, selected.open(t))
	ctx := context.Background()
	tests := []struct {
		name string
		in   string
		opts crmio.ImportOptions
		err  error
	}{
		{"unknown object", "a\n", crmio.ImportOptions{Object: crm.KindPipeline}, crmio.ErrOptions},
		{"upsert key of another object", "a\n", crmio.ImportOptions{Object: crm.KindContact, UpsertBy: "domain"}, crmio.ErrOptions},
		{"upsert key deals lack", "a\n", crmio.ImportOptions{Object: crm.KindDeal, UpsertBy: "external_id.x"}, crmio.ErrOptions},
		{"mapping names a missing column", "a\n", crmio.ImportOptions{Object: crm.KindContact, Mapping: crmio.Mapping{"b": "emails"}}, crmio.ErrMapping},
		{"mapping names a missing field", "a\n", crmio.ImportOptions{Object: crm.KindContact, Mapping: crmio.Mapping{"a": "shoe_size"}}, crmio.ErrMapping},
		{"mapping names an undefined custom field", "a\n", crmio.ImportOptions{Object: crm.KindContact, Mapping: crmio.Mapping{"a": "custom.nope"}}, crmio.ErrMapping},
		{"upsert key not in the file", "name\nx\n", crmio.ImportOptions{Object: crm.KindContact, UpsertBy: "email"}, crmio.ErrMapping},
		{"two columns for one value", "a,b\n", crmio.ImportOptions{Object: crm.KindContact, Mapping: crmio.Mapping{"a": "title", "b": "title"}}, crmio.ErrMapping},
		{"empty file", "", crmio.ImportOptions{Object: crm.KindContact}, crmio.ErrHeader},
		{"bad comma", "a\n", crmio.ImportOptions{Object: crm.KindContact, Comma: '\n'}, crmio.ErrOptions},
		{"resume without checkpoint", "a\n", crmio.ImportOptions{Object: crm.KindContact}, crmio.ErrOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if strings.HasPrefix(tt.name, "resume") {
				_, err = crmio.Resume(ctx, ws, strings.NewReader(tt.in), tt.opts)
			} else {
				_, err = crmio.Import(ctx, ws, strings.NewReader(tt.in), tt.opts)
			}
			assert.ErrorIs(t, err, tt.err)
		})
	}
	assert.Empty(t, contacts(t, ws))
}

func TestImportUpsert(t *testing.T) {
	ctx := context.Background()
	onBackends(t, func(t *testing.T, b backend) {
		t.Run("contacts by email", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			old, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Title: "Countess", Emails: []string{"ada@example.com", "ada@home.example"}, Tags: []string{"old"}})
			require.NoError(t, err)
			in := "email,title,tags,first_name\nADA@example.com,Analyst,new,\nbob@example.com,,,Bob\nbob@example.com,Builder,,\n"
			res := importString(t, ws, in, crmio.ImportOptions{Object: crm.KindContact, UpsertBy: "email"})
			assert.Equal(t, 1, res.Created, "bob once")
			assert.Equal(t, 2, res.Updated, "ada, then bob by his second row")
			got, err := ws.Contacts().Get(ctx, old.ID)
			require.NoError(t, err)
			assert.Equal(t, "Analyst", got.Title)
			assert.Equal(t, []string{"old", "new"}, got.Tags, "list items are added")
			assert.Equal(t, []string{"ada@example.com", "ada@home.example"}, got.Emails, "the other address stays")
			assert.Equal(t, "Ada", got.FirstName, "an empty cell leaves the field alone")
			bob, err := ws.Contacts().GetByEmail(ctx, "bob@example.com")
			require.NoError(t, err)
			assert.Equal(t, "Builder", bob.Title)
			assert.Len(t, contacts(t, ws), 2)

			// The same file again changes nothing.
			res = importString(t, ws, in, crmio.ImportOptions{Object: crm.KindContact, UpsertBy: "email"})
			assert.Equal(t, 3, res.Skipped)
			assert.Zero(t, res.Created+res.Updated)

			// Overwrite replaces lists and clears empty cells.
			res = importString(t, ws, "email,title,tags\nada@example.com,,fresh\n", crmio.ImportOptions{Object: crm.KindContact, UpsertBy: "email", Overwrite: true})
			assert.Equal(t, 1, res.Updated)
			got, err = ws.Contacts().Get(ctx, old.ID)
			require.NoError(t, err)
			assert.Empty(t, got.Title)
			assert.Equal(t, []string{"fresh"}, got.Tags)
			assert.Equal(t, []string{"ada@example.com"}, got.Emails)
		})
		t.Run("contacts by external id and by id", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			c, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Old", ExternalIDs: map[string]string{"hubspot": "42"}})
			require.NoError(t, err)
			res := importString(t, ws, "hubspot id,first_name\n42,New\n43,Other\n", crmio.ImportOptions{
				Object: crm.KindContact, UpsertBy: "external_id.HubSpot", Mapping: crmio.Mapping{"hubspot id": "external_id.hubspot", "first_name": "first_name"},
			})
			assert.Equal(t, 1, res.Updated)
			assert.Equal(t, 1, res.Created)
			got, _ := ws.Contacts().Get(ctx, c.ID)
			assert.Equal(t, "New", got.FirstName)

			res = importString(t, ws, "id,first_name\n"+c.ID+",Newer\ncon_0000000000000000,Ghost\n", crmio.ImportOptions{Object: crm.KindContact, UpsertBy: "id"})
			assert.Equal(t, 1, res.Updated)
			assert.Equal(t, 1, res.Created, "an unknown id creates a record")
			got, _ = ws.Contacts().Get(ctx, c.ID)
			assert.Equal(t, "Newer", got.FirstName)
		})
		t.Run("companies by domain", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			co, err := ws.Companies().Create(ctx, crm.Company{Name: "Acme", Domain: "acme.com", Employees: 10})
			require.NoError(t, err)
			res := importString(t, ws, "website,employees,name\nhttps://www.ACME.com/about,\"1,200\",\nnew.io,5,New Co\n", crmio.ImportOptions{Object: crm.KindCompany, UpsertBy: "domain"})
			assert.Equal(t, 1, res.Updated)
			assert.Equal(t, 1, res.Created)
			got, _ := ws.Companies().Get(ctx, co.ID)
			assert.Equal(t, int64(1200), got.Employees)
			assert.Equal(t, "Acme", got.Name)
		})
		t.Run("companies by name", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			seedCompanies(t, ws)
			in := "name,industry\nacme,Tools\nNew Co,Food\nnew  co,Drinks\nTwin,x\n"
			res := importString(t, ws, in, crmio.ImportOptions{Object: crm.KindCompany, UpsertBy: "name"})
			assert.Equal(t, 1, res.Created, "New Co")
			assert.Equal(t, 2, res.Updated, "Acme, and New Co by its second row")
			assert.Equal(t, `name: 2 companies are named "twin": upsert them by domain or ID`, rejectsByLine(res)[5])
			acme, err := ws.Companies().GetByDomain(ctx, "acme.com")
			require.NoError(t, err)
			assert.Equal(t, "Tools", acme.Industry)
			assert.Equal(t, "Acme", acme.Name, "the name the key matched is kept as it was written")
			assert.Len(t, companies(t, ws), 5)
		})
		t.Run("updating a deleted record is rejected", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			c, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Gone"})
			require.NoError(t, err)
			require.NoError(t, ws.Contacts().Delete(ctx, c.ID))
			res := importString(t, ws, "id,title\n"+c.ID+",x\n", crmio.ImportOptions{Object: crm.KindContact, UpsertBy: "id"})
			require.Len(t, res.Rejects, 1)
			assert.Contains(t, res.Rejects[0].Reason, "deleted")
		})
	})
}

func TestImportDeals(t *testing.T) {
	ctx := context.Background()
	onBackends(t, func(t *testing.T, b backend) {
		ws := newWorkspace(t, b.open(t))
		ids := seedCompanies(t, ws)
		ada, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}})
		require.NoError(t, err)
		ent, err := ws.Pipelines().Create(ctx, crm.Pipeline{Name: "Enterprise", Currency: "USD", Stages: []crm.Stage{
			{Name: "Discovery"}, {Name: "Demo"}, {Name: "Signed", Kind: crm.StageWon}, {Name: "Dropped", Kind: crm.StageLost},
		}})
		require.NoError(t, err)
		sales, err := ws.Pipelines().Default(ctx)
		require.NoError(t, err)
		for _, d := range []crm.FieldDef{
			{Object: crm.KindDeal, Name: "region", Type: crm.FieldSelect, Options: []string{"North", "South"}},
			{Object: crm.KindDeal, Name: "score", Type: crm.FieldNumber},
			{Object: crm.KindDeal, Name: "list_price", Type: crm.FieldMoney},
			{Object: crm.KindDeal, Name: "signed_on", Type: crm.FieldDate},
			{Object: crm.KindDeal, Name: "strategic", Type: crm.FieldBool},
			{Object: crm.KindDeal, Name: "products", Type: crm.FieldMultiSelect, Options: []string{"Basic", "Pro"}},
		} {
			_, err := ws.Fields().Define(ctx, d)
			require.NoError(t, err)
		}
		in := "Deal Name,Pipeline,Stage,Amount,Close Date,Account,Contact Email,Owner,Region,Score,List Price,Signed On,Strategic,Products\n" +
			"Big one,Enterprise,demo,\"$12,500.00\",2024-06-30,acme.com,ADA@example.com,u1,north,4.5,13000 USD,01/06/2024,yes,basic|PRO\n" +
			"Small,,Needs analysis,99.90,,Globex,,u2,,,,,,\n" +
			"Won one,Enterprise,won,1 USD,,,,,,,,,no,\n" +
			"Bad stage,Enterprise,Negotiation,,,,,,,,,,,\n" +
			"Bad pipeline,Nope,Demo,,,,,,,,,,,\n" +
			"Wrong currency,Enterprise,Demo,5 EUR,,,,,,,,,,\n" +
			"Bad option,,,,,,,,West,,,,,\n" +
			"No contact,,,,,,zed@example.com,,,,,,,\n" +
			",Enterprise,Demo,,,,,,,,,,,\n"
		res := importString(t, ws, in, crmio.ImportOptions{Object: crm.KindDeal})
		assert.Equal(t, 3, res.Created)
		got := rejectsByLine(res)
		assert.Contains(t, got[5], `Stage: no stage "Negotiation" in pipeline "Enterprise" (its stages: Discovery, Demo, Signed, Dropped)`)
		assert.Contains(t, got[6], `Pipeline: no pipeline "Nope"`)
		assert.Contains(t, got[7], "Amount: EUR differs from the pipeline's currency USD")
		assert.Contains(t, got[8], `Region: "West" is not one of North, South`)
		assert.Contains(t, got[9], "Contact Email: no contact with email zed@example.com")
		assert.Contains(t, got[10], "Deal Name: is required")
		assert.Len(t, got, 6)

		ds := deals(t, ws)
		require.Len(t, ds, 3)
		big := ds[0]
		assert.Equal(t, ent.ID, big.PipelineID)
		demo, _ := ent.StageByName("Demo")
		assert.Equal(t, demo.ID, big.StageID)
		assert.Equal(t, crm.Money{Amount: 1250000, Currency: "USD"}, big.Amount)
		assert.Equal(t, crm.Date{Year: 2024, Month: 6, Day: 30}, big.CloseDate)
		assert.Equal(t, ids["Acme|acme.com"], big.CompanyID)
		assert.Equal(t, []crm.ContactRole{{ContactID: ada.ID}}, big.Contacts)
		assert.Equal(t, "u1", big.OwnerID)
		assert.Equal(t, crm.Custom{
			"region": "North", "score": 4.5, "list_price": crm.Money{Amount: 1300000, Currency: "USD"},
			"signed_on": crm.Date{Year: 2024, Month: 6, Day: 1}, "strategic": true, "products": []string{"Basic", "Pro"},
		}, big.Custom)
		small := ds[1]
		assert.Equal(t, sales.ID, small.PipelineID, "the default pipeline")
		na, _ := sales.StageByName("Needs analysis")
		assert.Equal(t, na.ID, small.StageID)
		assert.Equal(t, crm.Money{Amount: 9990, Currency: "EUR"}, small.Amount, "the workspace's currency")
		assert.Equal(t, crm.StatusWon, ds[2].Status, `"won" names the won stage`)
		assert.Equal(t, false, ds[2].Custom["strategic"])
	})
}

func TestImportActivitiesAndPurchases(t *testing.T) {
	ctx := context.Background()
	onBackends(t, func(t *testing.T, b backend) {
		ws := newWorkspace(t, b.open(t))
		ids := seedCompanies(t, ws)
		ada, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}})
		require.NoError(t, err)

		in := "Type,Subject,Notes,Date,Contact,Company,Done,Due,Duration\n" +
			"Call,Intro,\"Long talk\nabout engines\",2024-03-01 10:30,ada@example.com,,,,15m\n" +
			"task,Follow up,,2024-03-02,ada@example.com,acme.com,yes,2024-03-09,\n" +
			"Meeting,,,,,,maybe,,\n" +
			"call,,,,bob@example.com,,,,\n" +
			"call,Nobody,,,,,,,\n"
		res := importString(t, ws, in, crmio.ImportOptions{Object: crm.KindActivity})
		assert.Equal(t, 2, res.Created)
		got := rejectsByLine(res)
		assert.Contains(t, got[5], `Done: "maybe" is not yes/no`)
		assert.Contains(t, got[6], "Contact: no contact with email bob@example.com")
		assert.Contains(t, got[7], "an activity must link to at least one contact")
		as := activities(t, ws)
		require.Len(t, as, 2)
		assert.Equal(t, crm.ActivityCall, as[0].Type)
		assert.Equal(t, "Long talk\nabout engines", as[0].Body)
		assert.Equal(t, time.Date(2024, 3, 1, 10, 30, 0, 0, time.UTC), as[0].OccurredAt)
		assert.Equal(t, 15*time.Minute, as[0].Duration)
		assert.Equal(t, []string{ada.ID}, as[0].ContactIDs)
		assert.True(t, as[1].Done)
		assert.Equal(t, []string{ids["Acme|acme.com"]}, as[1].CompanyIDs)

		// Purchases: consecutive rows with the same order id are one
		// purchase; a bad line rejects its whole order.
		in = "order_id,email,company,date,product,qty,price\n" +
			"A-1,ada@example.com,,2024-01-05,Widget,2,10.00\n" +
			"A-1,,,,Gadget,,5.50\n" +
			"B-2,,acme.com,2024-01-06,Widget,1,10.00\n" +
			"B-2,,,,Gizmo,x,1\n" +
			"B-2,,,,Doohickey,1,1\n" +
			"C-3,,globex,2024-01-07,Thing,1,3 USD\n" +
			"C-3,,,,Other,1,3 EUR\n" +
			",ada@example.com,,,Single,,7\n"
		res = importString(t, ws, in, crmio.ImportOptions{Object: crm.KindPurchase})
		assert.Equal(t, 3, res.Created, "rows of created purchases: A-1 twice and the single one")
		got = rejectsByLine(res)
		assert.Contains(t, got[5], `qty: "x" is not a whole number`)
		assert.Contains(t, got[4], "line 5 of the same purchase was rejected")
		assert.Contains(t, got[6], "line 5 of the same purchase was rejected")
		assert.Contains(t, got[8], "price: EUR differs from the purchase's currency USD")
		assert.Contains(t, got[7], "another line of the same purchase was rejected (line 8")
		assert.Len(t, got, 5)
		var ps []crm.Purchase
		for p, err := range ws.Purchases().ByContact(ctx, ada.ID) {
			require.NoError(t, err)
			ps = append(ps, p)
		}
		require.Len(t, ps, 2)
		assert.Equal(t, []crm.LineItem{
			{Product: "Widget", Quantity: 2, UnitPrice: crm.Money{Amount: 1000, Currency: "EUR"}},
			{Product: "Gadget", Quantity: 1, UnitPrice: crm.Money{Amount: 550, Currency: "EUR"}},
		}, ps[0].Items)
		assert.Equal(t, crm.Money{Amount: 2550, Currency: "EUR"}, ps[0].Total)
		assert.Equal(t, time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC), ps[0].PurchasedAt)
		assert.Equal(t, "Single", ps[1].Items[0].Product)
	})
}

func TestImportJSONL(t *testing.T) {
	ctx := context.Background()
	onBackends(t, func(t *testing.T, b backend) {
		ws := newWorkspace(t, b.open(t))
		_, err := ws.Fields().Define(ctx, crm.FieldDef{Object: crm.KindContact, Name: "score", Type: crm.FieldNumber})
		require.NoError(t, err)
		in := `{"first_name":"Ada","emails":["ADA@example.com"],"address":{"city":"London","country":"gb"},"custom":{"score":12.5},"tags":"a;b","shoe":42}` + "\n" +
			`{"name":"Bob Builder","email":"bob@example.com","external_ids":{"hubspot":7},"custom.score":"3"}` + "\r\n" +
			`{"first_name":["x","y"]}` + "\n" +
			`{"first_name":"Carl","address":{"country":"XX"}}` + "\n" +
			`not json` + "\n"
		res := importString(t, ws, in, crmio.ImportOptions{Object: crm.KindContact, Format: crmio.JSONL})
		assert.Equal(t, 2, res.Created)
		got := rejectsByLine(res)
		assert.Contains(t, got[3], "first_name: want one value, got a list of 2")
		assert.Contains(t, got[4], `address.country: "XX" is not an ISO 3166-1`)
		assert.Contains(t, got[5], "not a JSON object")
		assert.Equal(t, []string{"shoe"}, res.Ignored)
		cs := contacts(t, ws)
		require.Len(t, cs, 2)
		assert.Equal(t, crm.Address{City: "London", Country: "GB"}, cs[0].Address)
		assert.Equal(t, []string{"ADA@example.com"}, cs[0].Emails)
		assert.Equal(t, 12.5, cs[0].Custom["score"])
		assert.Equal(t, []string{"a", "b"}, cs[0].Tags)
		assert.Equal(t, "Builder", cs[1].LastName)
		assert.Equal(t, map[string]string{"hubspot": "7"}, cs[1].ExternalIDs)
		assert.Equal(t, 3.0, cs[1].Custom["score"])

		// Money as an object of minor units, or as text.
		res = importString(t, ws, `{"name":"D1","amount":{"amount":12345,"currency":"usd"}}`+"\n"+`{"name":"D2","amount":"1.5 USD"}`+"\n"+`{"name":"D3","amount":{"amount":1.5}}`+"\n",
			crmio.ImportOptions{Object: crm.KindDeal, Format: crmio.JSONL})
		assert.Equal(t, 2, res.Created)
		assert.Contains(t, rejectsByLine(res)[3], "amount: want")
		ds := deals(t, ws)
		assert.Equal(t, crm.Money{Amount: 12345, Currency: "USD"}, ds[0].Amount)
		assert.Equal(t, crm.Money{Amount: 150, Currency: "USD"}, ds[1].Amount)
	})
}

func TestImportDryRun(t *testing.T) {
	ws := newWorkspace(t, selected.open(t))
	in := "name,domain,parent\nA,a.com,\nB,b.com,a.com\nA again,a.com,\nC,,Nope\n"
	res := importString(t, ws, in, crmio.ImportOptions{Object: crm.KindCompany, UpsertBy: "domain", DryRun: true, BatchSize: 1})
	assert.True(t, res.DryRun)
	assert.Equal(t, 2, res.Created)
	assert.Equal(t, 1, res.Updated, "the second a.com would update the first")
	assert.Contains(t, rejectsByLine(res)[5], `parent: no company named "Nope"`)
	assert.Empty(t, companies(t, ws), "a dry run writes nothing")
}

func TestImportReferencesEarlierRows(t *testing.T) {
	onBackends(t, func(t *testing.T, b backend) {
		ws := newWorkspace(t, b.open(t))
		in := "name,domain,parent\nParent Co,parent.com,\nChild Co,,Parent Co\nGrandchild,,parent.com\n"
		res := importString(t, ws, in, crmio.ImportOptions{Object: crm.KindCompany})
		assert.Equal(t, 3, res.Created)
		cs := companies(t, ws)
		require.Len(t, cs, 3)
		assert.Equal(t, cs[0].ID, cs[1].ParentID)
		assert.Equal(t, cs[0].ID, cs[2].ParentID)
	})
}

func TestImportTransformAndEncodings(t *testing.T) {
	ws := newWorkspace(t, selected.open(t))
	in := "first_name,email,sector\nJos\xe9,jose@example.com,x\nAnn,ann@example.com,bad\nBo,bo@example.com,x\n"
	res := importString(t, ws, in, crmio.ImportOptions{Object: crm.KindContact})
	assert.Equal(t, 2, res.Created)
	assert.Contains(t, rejectsByLine(res)[2], "not valid UTF-8 (byte 0xE9")

	ws = newWorkspace(t, selected.open(t))
	var seen []int
	res = importString(t, ws, in, crmio.ImportOptions{Object: crm.KindContact, Encoding: crmio.Latin1, Transform: func(r *crmio.Row) error {
		seen = append(seen, r.Line)
		if r.Get("sector") == "bad" {
			return &crmio.Problem{Column: "sector", Reason: "unknown sector"}
		}
		r.Set("first_name", strings.ToUpper(r.Get("first_name")))
		return nil
	}})
	assert.Equal(t, []int{2, 3, 4}, seen)
	assert.Equal(t, 2, res.Created)
	assert.Equal(t, "sector: unknown sector", rejectsByLine(res)[3])
	assert.Equal(t, "JOSÉ", contacts(t, ws)[0].FirstName)

	res = importString(t, ws, "first_name,title\nBig,"+strings.Repeat("t", 300)+"\n", crmio.ImportOptions{Object: crm.KindContact, MaxFieldBytes: 100})
	assert.Contains(t, rejectsByLine(res)[2], "title: the field is 300 bytes, limit is 100")
}

func TestImportVetoedRows(t *testing.T) {
	st := selected.open(t)
	c := crm.New(st)
	ws, err := c.CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "acme"})
	require.NoError(t, err)
	require.NoError(t, c.Hooks().BeforeContact.Bind("no-spam", 0, func(_ context.Context, b *crm.Before[crm.Contact]) error {
		if b.New != nil && slices.Contains(b.New.Tags, "spam") {
			return errors.New("spam is not welcome")
		}
		return nil
	}))
	res := importString(t, ws, "first_name,tags\nA,\nB,spam\nC,\n", crmio.ImportOptions{Object: crm.KindContact})
	assert.Equal(t, 2, res.Created)
	assert.Contains(t, rejectsByLine(res)[3], "spam is not welcome")
	assert.Len(t, contacts(t, ws), 2)
}
