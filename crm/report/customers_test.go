package report_test

import (
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buyers are the customers of purchaseFixture, by name.
type buyers struct{ companies, contacts map[string]string }

// purchaseFixture records these purchases (EUR unless said otherwise):
//
//	acme (retail, Bavaria/DE)  5 Mar  widget 2×500          = 1000
//	acme                       20 Mar gadget 1×300          = 300
//	beta (retail, FR)          2 Apr  widget 1×500 - 100    = 400
//	beta                       10 Mar widget 3×200          = 600 USD
//	quinn (of gamma, software,
//	       Ontario/CA), alone  15 Mar service 1×2000        = 2000
//	pat (no company)           20 Feb widget 1×150          = 150 USD
//	delta (retail, FR)         8 Mar  gadget 1×100          = 100
//	zeta (software, CA)        25 Mar widget 1×500          = 500
//	acme, deleted              1 Mar  widget 1×99999
func purchaseFixture(t *testing.T, e *crmtest.Env) buyers {
	t.Helper()
	b := buyers{companies: map[string]string{}, contacts: map[string]string{}}
	for _, c := range []crm.Company{
		{Name: "acme", Industry: "retail", Address: crm.Address{Region: "Bavaria", Country: "DE"}},
		{Name: "beta", Industry: "retail", Address: crm.Address{Country: "FR"}},
		{Name: "delta", Industry: "retail", Address: crm.Address{Country: "FR"}},
		{Name: "gamma", Industry: "software", Address: crm.Address{Region: "Ontario", Country: "CA"}},
		{Name: "zeta", Industry: "software", Address: crm.Address{Country: "CA"}},
	} {
		co, err := e.WS.Companies().Create(e.Ctx, c)
		require.NoError(t, err)
		b.companies[c.Name] = co.ID
	}
	for _, c := range []crm.Contact{
		{FirstName: "quinn", Companies: []crm.CompanyRole{{CompanyID: b.companies["gamma"]}}},
		{FirstName: "pat"},
	} {
		ct, err := e.WS.Contacts().Create(e.Ctx, c)
		require.NoError(t, err)
		b.contacts[c.FirstName] = ct.ID
	}
	buy := func(company, contact string, at time.Time, li crm.LineItem) crm.Purchase {
		if li.UnitPrice.Currency == "" {
			li.UnitPrice.Currency = "EUR"
		}
		p, err := e.WS.Purchases().Record(e.Ctx, crm.Purchase{CompanyID: b.companies[company], ContactID: b.contacts[contact],
			PurchasedAt: at, Items: []crm.LineItem{li}})
		require.NoError(t, err)
		return p
	}
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 12, 0, 0, 0, time.UTC) }
	item := func(product string, qty, price int64, cur string) crm.LineItem {
		return crm.LineItem{Product: product, Quantity: qty, UnitPrice: crm.Money{Amount: price, Currency: cur}}
	}
	buy("acme", "", day(3, 5), item("widget", 2, 500, ""))
	buy("acme", "", day(3, 20), item("gadget", 1, 300, ""))
	discounted := item("widget", 1, 500, "")
	discounted.Discount = crm.Money{Amount: 100}
	buy("beta", "", day(4, 2), discounted)
	buy("beta", "", day(3, 10), item("widget", 3, 200, "USD"))
	buy("", "quinn", day(3, 15), item("service", 1, 2000, ""))
	buy("", "pat", day(2, 20), item("widget", 1, 150, "USD"))
	buy("delta", "", day(3, 8), item("gadget", 1, 100, ""))
	buy("zeta", "", day(3, 25), item("widget", 1, 500, ""))
	gone := buy("acme", "", day(3, 1), item("widget", 1, 99999, ""))
	require.NoError(t, e.WS.Purchases().Delete(e.Ctx, gone.ID))
	return b
}

func TestRevenueAndLifetimeValue(t *testing.T) {
	e := crmtest.Setup(t)
	purchaseFixture(t, e)
	tests := []struct {
		name   string
		filter report.Filter
		want   []report.RevenueRow
	}{
		{
			// Never one sum across currencies; the deleted purchase is out.
			name: "all time", filter: report.Filter{},
			want: []report.RevenueRow{
				{Currency: "EUR", Revenue: 4300, Purchases: 6, Customers: 5, LifetimeValue: 860},
				{Currency: "USD", Revenue: 750, Purchases: 2, Customers: 2, LifetimeValue: 375},
			},
		},
		{
			name: "by industry", filter: report.Filter{GroupBy: report.GroupIndustry},
			want: []report.RevenueRow{
				{Group: "", Currency: "USD", Revenue: 150, Purchases: 1, Customers: 1, LifetimeValue: 150},
				{Group: "retail", Currency: "EUR", Revenue: 1800, Purchases: 4, Customers: 3, LifetimeValue: 600},
				{Group: "retail", Currency: "USD", Revenue: 600, Purchases: 1, Customers: 1, LifetimeValue: 600},
				// quinn's purchase counts in its first company's industry.
				{Group: "software", Currency: "EUR", Revenue: 2500, Purchases: 2, Customers: 2, LifetimeValue: 1250},
			},
		},
		{
			// The region falls back to the country.
			name: "by region", filter: report.Filter{GroupBy: report.GroupRegion},
			want: []report.RevenueRow{
				{Group: "", Currency: "USD", Revenue: 150, Purchases: 1, Customers: 1, LifetimeValue: 150},
				{Group: "Bavaria", Currency: "EUR", Revenue: 1300, Purchases: 2, Customers: 1, LifetimeValue: 1300},
				{Group: "CA", Currency: "EUR", Revenue: 500, Purchases: 1, Customers: 1, LifetimeValue: 500},
				{Group: "FR", Currency: "EUR", Revenue: 500, Purchases: 2, Customers: 2, LifetimeValue: 250},
				{Group: "FR", Currency: "USD", Revenue: 600, Purchases: 1, Customers: 1, LifetimeValue: 600},
				{Group: "Ontario", Currency: "EUR", Revenue: 2000, Purchases: 1, Customers: 1, LifetimeValue: 2000},
			},
		},
		{
			name: "March only", filter: report.Filter{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
			want: []report.RevenueRow{
				{Currency: "EUR", Revenue: 3900, Purchases: 5, Customers: 4, LifetimeValue: 975},
				{Currency: "USD", Revenue: 600, Purchases: 1, Customers: 1, LifetimeValue: 600},
			},
		},
		{
			name: "by month", filter: report.Filter{GroupBy: report.GroupMonth},
			want: []report.RevenueRow{
				{Group: "2026-02", Currency: "USD", Revenue: 150, Purchases: 1, Customers: 1, LifetimeValue: 150},
				{Group: "2026-03", Currency: "EUR", Revenue: 3900, Purchases: 5, Customers: 4, LifetimeValue: 975},
				{Group: "2026-03", Currency: "USD", Revenue: 600, Purchases: 1, Customers: 1, LifetimeValue: 600},
				{Group: "2026-04", Currency: "EUR", Revenue: 400, Purchases: 1, Customers: 1, LifetimeValue: 400},
			},
		},
		{
			// Each line counts in its product's group with its own total.
			name: "by product", filter: report.Filter{GroupBy: report.GroupProduct},
			want: []report.RevenueRow{
				{Group: "gadget", Currency: "EUR", Revenue: 400, Purchases: 2, Customers: 2, LifetimeValue: 200},
				{Group: "service", Currency: "EUR", Revenue: 2000, Purchases: 1, Customers: 1, LifetimeValue: 2000},
				{Group: "widget", Currency: "EUR", Revenue: 1900, Purchases: 3, Customers: 3, LifetimeValue: 1900.0 / 3},
				{Group: "widget", Currency: "USD", Revenue: 750, Purchases: 2, Customers: 2, LifetimeValue: 375},
			},
		},
		{
			name: "empty period", filter: report.Filter{From: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
			want: []report.RevenueRow{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := report.Revenue(e.Ctx, e.WS, tt.filter)
			require.NoError(t, err)
			assert.Equal(t, tt.want, rep.Rows)
		})
	}

	_, err := report.Revenue(e.Ctx, e.WS, report.Filter{GroupBy: report.GroupOwner})
	assert.Equal(t, []string{"group_by"}, crmtest.FieldErrors(t, err))
}

func TestCrossSell(t *testing.T) {
	e := crmtest.Setup(t)
	b := purchaseFixture(t, e)

	// Widget buyers by industry: "" pat (1 of 1), retail acme and beta (2
	// of 3: delta has not), software zeta (1 of 2: quinn has not).
	rep, err := report.CrossSell(e.Ctx, e.WS, report.CrossSellOptions{Product: "widget"})
	require.NoError(t, err)
	assert.Equal(t, report.GroupIndustry, rep.Options.GroupBy)
	assert.Equal(t, 0.25, rep.Options.MinShare)
	assert.Equal(t, []report.CrossSellGroup{
		{Group: "", Customers: 1, Buyers: 1, Share: 1},
		{Group: "retail", Customers: 3, Buyers: 2, Share: 2.0 / 3},
		{Group: "software", Customers: 2, Buyers: 1, Share: 0.5},
	}, rep.Groups)
	assert.Equal(t, []report.CrossSellCandidate{
		{Kind: crm.KindCompany, ID: b.companies["delta"], Group: "retail", Share: 2.0 / 3},
		{Kind: crm.KindContact, ID: b.contacts["quinn"], Group: "software", Share: 0.5},
	}, rep.Candidates, "highest share first; a contact's purchase makes the contact the customer")

	// A higher bar leaves software out.
	rep, err = report.CrossSell(e.Ctx, e.WS, report.CrossSellOptions{Product: "widget", MinShare: 0.6})
	require.NoError(t, err)
	require.Len(t, rep.Candidates, 1)
	assert.Equal(t, b.companies["delta"], rep.Candidates[0].ID)

	// By region: FR has beta (widget) and delta (not); Ontario's only
	// customer, quinn, bought none, so nobody there resembles a buyer.
	rep, err = report.CrossSell(e.Ctx, e.WS, report.CrossSellOptions{Product: "widget", Filter: report.Filter{GroupBy: report.GroupRegion}})
	require.NoError(t, err)
	assert.Equal(t, []report.CrossSellCandidate{{Kind: crm.KindCompany, ID: b.companies["delta"], Group: "FR", Share: 0.5}}, rep.Candidates)

	// Nobody bought it: no candidates, not an error.
	rep, err = report.CrossSell(e.Ctx, e.WS, report.CrossSellOptions{Product: "nothing"})
	require.NoError(t, err)
	assert.Empty(t, rep.Candidates)
	assert.Len(t, rep.Groups, 3)

	_, err = report.CrossSell(e.Ctx, e.WS, report.CrossSellOptions{Product: "widget", MinShare: 2})
	assert.Equal(t, []string{"min_share"}, crmtest.FieldErrors(t, err))
}
