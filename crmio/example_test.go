package crmio_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/crmkit/crmkit/store/memory"
)

// Import a small CSV of contacts, upserting by email, and look at what
// happened to each row.
func ExampleImport() {
	ctx := context.Background()
	st := memory.New()
	defer st.Close()
	ws, _ := crm.New(st).CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Currency: "EUR"})
	_, _ = ws.Companies().Create(ctx, crm.Company{Name: "Acme", Domain: "acme.com"})

	csv := "Full Name,E-mail,Company,Birthday,Shoe size\n" +
		"Ada Lovelace,ADA@example.com,acme.com,10/12/1815,38\n" +
		"Grace Hopper,grace@example,Acme,,\n" +
		"\"Babbage, Charles\",charles@example.com,Initech,,\n" +
		"Ada L.,ada@example.com,,,\n"
	res, err := crmio.Import(ctx, ws, strings.NewReader(csv), crmio.ImportOptions{Object: crmio.ObjectContact, UpsertBy: "email"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("read %d: created %d, updated %d, skipped %d, rejected %d\n", res.Read, res.Created, res.Updated, res.Skipped, res.Rejected)
	fmt.Println("ignored:", res.Ignored)
	for _, r := range res.Rejects {
		fmt.Printf("line %d: %s\n", r.Line, r.Error())
	}
	_ = res.WriteRejects(os.Stdout)

	ada, _ := ws.Contacts().GetByEmail(ctx, "ada@example.com")
	fmt.Println(ada.FirstName, ada.LastName, ada.Birthday)
	// Output:
	// read 4: created 1, updated 1, skipped 0, rejected 2
	// ignored: [Shoe size]
	// line 3: E-mail: "grace@example" is not a valid email address: domain "example" has no top-level domain
	// line 4: Company: no company named "Initech" or with that domain
	// Full Name,E-mail,Company,Birthday,Shoe size,_line,_error
	// Grace Hopper,grace@example,Acme,,,3,"E-mail: ""grace@example"" is not a valid email address: domain ""example"" has no top-level domain"
	// "Babbage, Charles",charles@example.com,Initech,,,4,"Company: no company named ""Initech"" or with that domain"
	// Ada L. 1815-12-10
}

// Export contacts as CSV: custom fields become custom.<name> columns, and
// cells a spreadsheet would run as formulas are defused.
func ExampleExport() {
	ctx := context.Background()
	st := memory.New()
	defer st.Close()
	ws, _ := crm.New(st).CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme"})
	_, _ = ws.Fields().Define(ctx, crm.FieldDef{Object: crm.KindContact, Name: "tier", Type: crm.FieldText})
	_, _ = ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", LastName: "=HYPERLINK(\"http://evil\")",
		Emails: []string{"ada@example.com"}, Tags: []string{"vip", "beta"}, Custom: crm.Custom{"tier": "gold"}})

	n, err := crmio.Export(ctx, ws, os.Stdout, crmio.ExportOptions{
		Object:  crmio.ObjectContact,
		Columns: []string{"first_name", "last_name", "emails", "tags", "custom.tier"},
	})
	fmt.Println(n, err)
	// Output:
	// first_name,last_name,emails,tags,custom.tier
	// Ada,"'=HYPERLINK(""http://evil"")",ada@example.com,vip; beta,gold
	// 1 <nil>
}
