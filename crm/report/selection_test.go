package report_test

import (
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repSegment creates a segment: a static one of the given members when
// the filter is empty, else a dynamic one.
func repSegment(t *testing.T, e *crmtest.Env, object crm.Kind, flt string, members ...string) string {
	t.Helper()
	seg, err := e.WS.Segments().Create(e.Ctx, crm.Segment{Name: object.String() + " " + flt + " " + strings.Join(members, ","), Object: object, Filter: flt, Static: flt == ""})
	require.NoError(t, err)
	if len(members) > 0 {
		require.NoError(t, e.WS.Segments().Add(e.Ctx, seg.ID, members...))
	}
	return seg.ID
}

// segmentDeals adds to purchaseFixture's companies and contacts:
//
//	d1: acme (retail), contact quinn, Proposal, 1000
//	d2: beta (retail), Proposal, 2000
//	d3: no company, contact pat, Negotiation, 400
//	d4: gamma (software, quinn's company), Qualification, 100
func segmentDeals(t *testing.T, e *crmtest.Env, b buyers) map[string]string {
	t.Helper()
	_, st := crmtest.Sales(t, e)
	ids := map[string]string{}
	for _, d := range []crm.Deal{
		{Name: "d1", CompanyID: b.companies["acme"], Contacts: []crm.ContactRole{{ContactID: b.contacts["quinn"]}}, StageID: st["Proposal"], Amount: crm.Money{Amount: 1000}},
		{Name: "d2", CompanyID: b.companies["beta"], StageID: st["Proposal"], Amount: crm.Money{Amount: 2000}},
		{Name: "d3", Contacts: []crm.ContactRole{{ContactID: b.contacts["pat"]}}, StageID: st["Negotiation"], Amount: crm.Money{Amount: 400}},
		{Name: "d4", CompanyID: b.companies["gamma"], StageID: st["Qualification"], Amount: crm.Money{Amount: 100}},
	} {
		got, err := e.WS.Deals().Create(e.Ctx, d)
		require.NoError(t, err)
		ids[d.Name] = got.ID
	}
	return ids
}

// stageCounts sums a pipeline report's rows by stage: count and amount.
func stageCounts(rep *report.PipelineReport) map[string][2]int64 {
	out := map[string][2]int64{}
	for _, r := range rep.Rows {
		c := out[r.Stage]
		out[r.Stage] = [2]int64{c[0] + r.Count, c[1] + r.Amount}
	}
	return out
}

func TestPipelineBySegment(t *testing.T) {
	e := crmtest.Setup(t)
	b := purchaseFixture(t, e)
	d := segmentDeals(t, e, b)
	retail := repSegment(t, e, crm.KindCompany, `industry = "retail"`)
	tests := []struct {
		name   string
		filter report.Filter
		want   map[string][2]int64
	}{
		{"deal segment", report.Filter{Segment: repSegment(t, e, crm.KindDeal, "", d["d1"], d["d3"])},
			map[string][2]int64{"Proposal": {1, 1000}, "Negotiation": {1, 400}}},
		// A company segment selects the deals whose company is a member.
		{"static company segment", report.Filter{Segment: repSegment(t, e, crm.KindCompany, "", b.companies["acme"])},
			map[string][2]int64{"Proposal": {1, 1000}}},
		{"dynamic company segment", report.Filter{Segment: retail}, map[string][2]int64{"Proposal": {2, 3000}}},
		// A contact segment selects the deals that list a member among
		// their contacts: d1 for quinn, not d4 of quinn's company.
		{"contact segment", report.Filter{Segment: repSegment(t, e, crm.KindContact, "", b.contacts["quinn"])},
			map[string][2]int64{"Proposal": {1, 1000}}},
		{"contact segment without deals", report.Filter{Segment: repSegment(t, e, crm.KindContact, `first_name = "nobody"`)},
			map[string][2]int64{}},
		{"where on deals", report.Filter{Where: `name = "d2"`}, map[string][2]int64{"Proposal": {1, 2000}}},
		{"where on companies", report.Filter{Where: `industry = "software"`, WhereObject: crm.KindCompany},
			map[string][2]int64{"Qualification": {1, 100}}},
		{"segment and where", report.Filter{Segment: retail, Where: `name != "d1"`}, map[string][2]int64{"Proposal": {1, 2000}}},
		{"segment and owner", report.Filter{Segment: retail, OwnerIDs: []string{"nobody"}}, map[string][2]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := report.Pipeline(e.Ctx, e.WS, tt.filter)
			require.NoError(t, err)
			assert.Equal(t, tt.want, stageCounts(rep))
			assert.Equal(t, tt.filter.Segment, rep.Filter.Segment, "the report says what it covers")
		})
	}

	// Membership is read when the report runs: gamma turns retail.
	_, err := e.WS.Companies().Update(e.Ctx, b.companies["gamma"], func(c *crm.Company) error { c.Industry = "retail"; return nil })
	require.NoError(t, err)
	rep, err := report.Pipeline(e.Ctx, e.WS, report.Filter{Segment: retail})
	require.NoError(t, err)
	assert.Equal(t, map[string][2]int64{"Proposal": {2, 3000}, "Qualification": {1, 100}}, stageCounts(rep))

	// A static segment holds live records only: with acme deleted, its
	// deal d1 drops out.
	acme := repSegment(t, e, crm.KindCompany, "", b.companies["acme"], b.companies["zeta"])
	require.NoError(t, e.WS.Companies().Delete(e.Ctx, b.companies["acme"]))
	rep, err = report.Pipeline(e.Ctx, e.WS, report.Filter{Segment: acme})
	require.NoError(t, err)
	assert.Empty(t, rep.Rows)

	// The forecast takes the same selection.
	year := report.ForecastOptions{Filter: report.Filter{Segment: retail, From: e.Clock.Now(), To: e.Clock.Now().AddDate(1, 0, 0)}}
	fc, err := report.Forecast(e.Ctx, e.WS, year)
	require.NoError(t, err)
	assert.Empty(t, fc.Rows, "no deal of the segment has an expected close date")

	// A snapshot keeps its segment, and its accuracy report needs it.
	sn, err := report.TakeSnapshot(e.Ctx, e.WS, year)
	require.NoError(t, err)
	got, err := report.GetSnapshot(e.Ctx, e.WS, sn.ID)
	require.NoError(t, err)
	assert.Equal(t, retail, got.Report.Options.Segment)
	require.NoError(t, e.WS.Segments().Delete(e.Ctx, retail))
	_, err = report.ForecastAccuracy(e.Ctx, e.WS, sn.ID)
	assert.ErrorIs(t, err, crm.ErrNotFound)
}

func TestConversionBySegment(t *testing.T) {
	e := crmtest.Setup(t)
	b := purchaseFixture(t, e)
	d := segmentDeals(t, e, b)
	e.Clock.Advance(4 * day)
	_, err := e.WS.Deals().Win(e.Ctx, d["d1"])
	require.NoError(t, err)
	_, err = e.WS.Deals().Lose(e.Ctx, d["d2"], "price")
	require.NoError(t, err)
	_, err = e.WS.Deals().Win(e.Ctx, d["d3"])
	require.NoError(t, err)

	all, err := report.Conversion(e.Ctx, e.WS, report.ConversionOptions{})
	require.NoError(t, err)
	require.Len(t, all.Groups, 1)
	assert.Equal(t, []int64{4, 1, 2, 1}, []int64{all.Groups[0].Deals, all.Groups[0].Open, all.Groups[0].Won, all.Groups[0].Lost})

	// The retail companies' deals: d1 won, d2 lost.
	rep, err := report.Conversion(e.Ctx, e.WS, report.ConversionOptions{Filter: report.Filter{Segment: repSegment(t, e, crm.KindCompany, `industry = "retail"`)}})
	require.NoError(t, err)
	require.Len(t, rep.Groups, 1)
	g := rep.Groups[0]
	assert.Equal(t, []int64{2, 0, 1, 1}, []int64{g.Deals, g.Open, g.Won, g.Lost})
	assert.Equal(t, 0.5, g.WinRate)
	assert.Equal(t, []report.CurrencyAmount{{Currency: "EUR", Count: 1, Amount: 1000}}, g.WonAmounts)
	assert.InDelta(t, 4.0, g.AvgCycleDays, 1e-9)
	var stays int64
	for _, s := range rep.StageTimes {
		stays += s.Stays
	}
	assert.Equal(t, int64(2), stays, "stage times cover the segment's deals only: d1's and d2's Proposal stays")

	// pat's deal, by a contact segment.
	rep, err = report.Conversion(e.Ctx, e.WS, report.ConversionOptions{Filter: report.Filter{Segment: repSegment(t, e, crm.KindContact, "", b.contacts["pat"])}})
	require.NoError(t, err)
	require.Len(t, rep.Groups, 1)
	assert.Equal(t, []report.CurrencyAmount{{Currency: "EUR", Count: 1, Amount: 400}}, rep.Groups[0].WonAmounts)
}

func TestRevenueBySegment(t *testing.T) {
	e := crmtest.Setup(t)
	b := purchaseFixture(t, e)
	acmeZeta := repSegment(t, e, crm.KindCompany, "", b.companies["acme"], b.companies["zeta"])
	tests := []struct {
		name   string
		filter report.Filter
		want   []report.RevenueRow
	}{
		{"static company segment", report.Filter{Segment: acmeZeta},
			[]report.RevenueRow{{Currency: "EUR", Revenue: 1800, Purchases: 3, Customers: 2, LifetimeValue: 900}}},
		// quinn's purchase names no company, so it is in no company
		// segment, though quinn works for gamma.
		{"dynamic company segment", report.Filter{Segment: repSegment(t, e, crm.KindCompany, `industry = "software"`)},
			[]report.RevenueRow{{Currency: "EUR", Revenue: 500, Purchases: 1, Customers: 1, LifetimeValue: 500}}},
		{"contact segment", report.Filter{Segment: repSegment(t, e, crm.KindContact, "", b.contacts["quinn"])},
			[]report.RevenueRow{{Currency: "EUR", Revenue: 2000, Purchases: 1, Customers: 1, LifetimeValue: 2000}}},
		{"where on companies, by industry", report.Filter{Where: `industry = "retail"`, WhereObject: crm.KindCompany, GroupBy: report.GroupIndustry},
			[]report.RevenueRow{
				{Group: "retail", Currency: "EUR", Revenue: 1800, Purchases: 4, Customers: 3, LifetimeValue: 600},
				{Group: "retail", Currency: "USD", Revenue: 600, Purchases: 1, Customers: 1, LifetimeValue: 600},
			}},
		{"segment and where", report.Filter{Segment: acmeZeta, Where: `industry = "retail"`, WhereObject: crm.KindCompany},
			[]report.RevenueRow{{Currency: "EUR", Revenue: 1300, Purchases: 2, Customers: 1, LifetimeValue: 1300}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := report.Revenue(e.Ctx, e.WS, tt.filter)
			require.NoError(t, err)
			assert.Equal(t, tt.want, rep.Rows)
		})
	}

	// Cross-sell among the retail companies only: quinn is no customer.
	cs, err := report.CrossSell(e.Ctx, e.WS, report.CrossSellOptions{Product: "widget", Filter: report.Filter{Where: `industry = "retail"`, WhereObject: crm.KindCompany}})
	require.NoError(t, err)
	assert.Equal(t, []report.CrossSellGroup{{Group: "retail", Customers: 3, Buyers: 2, Share: 2.0 / 3}}, cs.Groups)
	require.Len(t, cs.Candidates, 1)
	assert.Equal(t, b.companies["delta"], cs.Candidates[0].ID)
}

func TestLifecycleAndOperationsBySegment(t *testing.T) {
	e := crmtest.Setup(t)
	leadFixture(t, e)
	// a and e are customers now: both were leads and converted.
	rep, err := report.LeadConversion(e.Ctx, e.WS, report.LifecycleOptions{Filter: report.Filter{Segment: repSegment(t, e, crm.KindContact, `lifecycle = "customer"`)}})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 1)
	assert.Equal(t, []int64{2, 2}, []int64{rep.Rows[0].Leads, rep.Rows[0].Converted})
	rep, err = report.LeadConversion(e.Ctx, e.WS, report.LifecycleOptions{Filter: report.Filter{Where: `lead_source = "event"`}})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 1)
	assert.Equal(t, []int64{2, 0}, []int64{rep.Rows[0].Leads, rep.Rows[0].Converted}, "h and g")

	// Operations: the activities linked to a member, and the changes
	// made to one.
	x, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: "x"})
	require.NoError(t, err)
	y, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: "y"})
	require.NoError(t, err)
	for _, id := range []string{x.ID, y.ID, y.ID} {
		_, err := e.WS.Activities().Log(e.Ctx, crm.Activity{Type: crm.ActivityCall, OwnerID: "ann", ContactIDs: []string{id}})
		require.NoError(t, err)
	}
	_, err = e.WS.Contacts().Update(e.Ctx, x.ID, func(c *crm.Contact) error { c.Title = "CTO"; return nil })
	require.NoError(t, err)
	ops, err := report.Operations(e.Ctx, e.WS, report.Filter{Segment: repSegment(t, e, crm.KindContact, "", x.ID)})
	require.NoError(t, err)
	assert.Equal(t, []report.ActivityVolume{{Group: "ann", Type: crm.ActivityCall, Count: 1}}, ops.Activities)
	assert.Equal(t, []report.Adoption{{Period: "2026-04", ActiveUsers: 1, Updates: 2, PerUser: 2}}, ops.Adoption, "x's creation and update")
}

func TestReportSegmentErrors(t *testing.T) {
	e := crmtest.Setup(t)
	deals := repSegment(t, e, crm.KindDeal, "")
	companies := repSegment(t, e, crm.KindCompany, "")

	_, err := report.Pipeline(e.Ctx, e.WS, report.Filter{Segment: "seg_nope"})
	assert.Equal(t, []string{"segment"}, crmtest.FieldErrors(t, err))
	assert.ErrorIs(t, err, crm.ErrNotFound, "an unknown segment is not found")
	assert.ErrorIs(t, err, crm.ErrInvalid)
	assert.Contains(t, err.Error(), "seg_nope")

	tests := []struct {
		name  string
		run   func() error
		field string
	}{
		{"revenue takes no deal segment", func() error {
			_, err := report.Revenue(e.Ctx, e.WS, report.Filter{Segment: deals})
			return err
		}, "segment"},
		{"lead conversion takes no company segment", func() error {
			_, err := report.LeadConversion(e.Ctx, e.WS, report.LifecycleOptions{Filter: report.Filter{Segment: companies}})
			return err
		}, "segment"},
		{"cross-sell takes no deal segment", func() error {
			_, err := report.CrossSell(e.Ctx, e.WS, report.CrossSellOptions{Product: "widget", Filter: report.Filter{Segment: deals}})
			return err
		}, "segment"},
		{"revenue's where needs an object", func() error {
			_, err := report.Revenue(e.Ctx, e.WS, report.Filter{Where: `industry = "retail"`})
			return err
		}, "where_object"},
		{"lead conversion's where selects contacts", func() error {
			_, err := report.LeadConversion(e.Ctx, e.WS, report.LifecycleOptions{Filter: report.Filter{Where: `industry = "retail"`, WhereObject: crm.KindCompany}})
			return err
		}, "where_object"},
		{"where_object alone", func() error {
			_, err := report.Pipeline(e.Ctx, e.WS, report.Filter{WhereObject: crm.KindDeal})
			return err
		}, "where_object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			assert.Equal(t, []string{tt.field}, crmtest.FieldErrors(t, err))
			assert.NotErrorIs(t, err, crm.ErrNotFound)
		})
	}

	_, err = report.Pipeline(e.Ctx, e.WS, report.Filter{Where: `name = `})
	assert.Equal(t, []string{"where"}, crmtest.FieldErrors(t, err))
	assert.ErrorIs(t, err, filter.ErrSyntax)
	_, err = report.Pipeline(e.Ctx, e.WS, report.Filter{Where: `colour = "red"`})
	assert.Equal(t, []string{"where"}, crmtest.FieldErrors(t, err))
	assert.ErrorIs(t, err, filter.ErrInvalid)
	_, err = report.Forecast(e.Ctx, e.WS, report.ForecastOptions{Filter: report.Filter{Segment: "seg_nope", From: e.Clock.Now(), To: e.Clock.Now().Add(day)}})
	assert.ErrorIs(t, err, crm.ErrNotFound)
}
