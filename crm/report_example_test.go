package crm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store/memory"
)

// Revenue and customer lifetime value per currency, for every customer
// and then for the members of a saved segment of companies.
func ExampleWorkspace_Revenue() {
	st := memory.New()
	defer st.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	ws, _ := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Currency: "EUR"})
	shop, _ := ws.Companies().Create(ctx, crm.Company{Name: "Shop", Industry: "retail"})
	soft, _ := ws.Companies().Create(ctx, crm.Company{Name: "Soft", Industry: "software"})
	buy := func(companyID string, amount int64, currency string) {
		ws.Purchases().Record(ctx, crm.Purchase{CompanyID: companyID,
			Items: []crm.LineItem{{Product: "widget", Quantity: 1, UnitPrice: crm.Money{Amount: amount, Currency: currency}}}})
	}
	buy(shop.ID, 1000, "EUR")
	buy(shop.ID, 500, "EUR")
	buy(soft.ID, 3000, "EUR")
	buy(soft.ID, 700, "USD")
	retail, _ := ws.Segments().Create(ctx, crm.Segment{Name: "Retail", Object: "company", Filter: `industry = "retail"`})

	for _, f := range []crm.ReportFilter{{}, {Segment: retail.ID}} {
		name := "all"
		if f.Segment != "" {
			name = "retail"
		}
		rep, err := ws.Revenue(ctx, f)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, r := range rep.Rows {
			fmt.Printf("%s: %s revenue %d from %d customers, lifetime value %.0f\n", name, r.Currency, r.Revenue, r.Customers, r.LifetimeValue)
		}
	}
	// Output:
	// all: EUR revenue 4500 from 2 customers, lifetime value 2250
	// all: USD revenue 700 from 1 customers, lifetime value 700
	// retail: EUR revenue 1500 from 1 customers, lifetime value 1500
}
