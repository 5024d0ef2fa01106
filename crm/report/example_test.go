package report_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/store/memory"
)

// The pipeline report: open deals per stage and currency, plain and
// weighted by the stage's probability, as rows that also write as CSV.
func ExamplePipeline() {
	st := memory.New()
	defer st.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	ws, _ := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Currency: "EUR"})
	pl, _ := ws.Pipelines().Default(ctx)
	proposal, _ := pl.StageByName("Proposal")
	for _, amount := range []int64{1000, 3000} {
		ws.Deals().Create(ctx, crm.Deal{Name: "deal", StageID: proposal.ID, Amount: crm.Money{Amount: amount}})
	}
	ws.Deals().Create(ctx, crm.Deal{Name: "deal", StageID: proposal.ID, Amount: crm.Money{Amount: 500, Currency: "USD"}})

	rep, err := report.Pipeline(ctx, ws, report.Filter{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rep.Rows {
		fmt.Println(r.Stage, r.Currency, r.Count, r.Amount, r.Weighted)
	}
	// Output:
	// Proposal EUR 2 4000 2000
	// Proposal USD 1 500 250
}

// The conversion report: win rate, cycle length and the funnel from the
// deals' recorded stage entries, here grouped by owner, with the funnel
// drawn as SVG.
func ExampleConversion() {
	st := memory.New()
	defer st.Close()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	ws, _ := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Currency: "EUR"})
	for i, owner := range []string{"ann", "ann", "bob"} {
		d, _ := ws.Deals().Create(ctx, crm.Deal{Name: "deal", OwnerID: owner, Amount: crm.Money{Amount: 1000}})
		now = now.Add(10 * 24 * time.Hour)
		if i < 2 {
			ws.Deals().Win(ctx, d.ID)
		} else {
			ws.Deals().Lose(ctx, d.ID, "price")
		}
	}
	rep, err := report.Conversion(ctx, ws, report.ConversionOptions{Filter: report.Filter{GroupBy: report.GroupOwner}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range rep.Groups {
		fmt.Printf("%s won %d lost %d win rate %.2f cycle %.0f days\n", g.Group, g.Won, g.Lost, g.WinRate, g.AvgCycleDays)
	}
	f, _ := os.CreateTemp("", "funnel-*.svg")
	defer os.Remove(f.Name())
	fmt.Println(rep.FunnelSVG(f, "ann"))
	f.Close()
	// Output:
	// ann won 2 lost 0 win rate 1.00 cycle 10 days
	// bob won 0 lost 1 win rate 0.00 cycle 0 days
	// <nil>
}

// A forecast for a quarter against a quota the host application sets.
func ExampleForecast() {
	st := memory.New()
	defer st.Close()
	now := time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	ws, _ := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Currency: "EUR"})
	q2 := report.Filter{From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}
	report.SetQuota(ctx, ws, report.Quota{OwnerID: "ann", From: q2.From, To: q2.To, Amount: crm.Money{Amount: 5000}})
	pl, _ := ws.Pipelines().Default(ctx)
	neg, _ := pl.StageByName("Negotiation")
	won, _ := ws.Deals().Create(ctx, crm.Deal{Name: "won", OwnerID: "ann", Amount: crm.Money{Amount: 2000}})
	ws.Deals().Win(ctx, won.ID)
	ws.Deals().Create(ctx, crm.Deal{Name: "open", OwnerID: "ann", StageID: neg.ID, Amount: crm.Money{Amount: 2000},
		CloseDate: crm.Date{Year: 2026, Month: 5, Day: 20}})

	rep, err := report.Forecast(ctx, ws, report.ForecastOptions{Filter: q2})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rep.Rows {
		fmt.Printf("%s %s won %d weighted %d forecast %d commit %d quota %d attainment %.2f\n",
			r.Group, r.Currency, r.ClosedWon, r.Weighted, r.Forecast, r.Commit, r.Quota, r.Attainment)
	}
	// Output:
	// ann EUR won 2000 weighted 1500 forecast 3500 commit 4000 quota 5000 attainment 0.40
}

// Revenue and customer lifetime value per currency, for every customer
// and then for the members of a saved segment of companies.
func ExampleRevenue() {
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
	retail, _ := ws.Segments().Create(ctx, crm.Segment{Name: "Retail", Object: crm.KindCompany, Filter: `industry = "retail"`})

	for _, f := range []report.Filter{{}, {Segment: retail.ID}} {
		name := "all"
		if f.Segment != "" {
			name = "retail"
		}
		rep, err := report.Revenue(ctx, ws, f)
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
