package crm_test

import (
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repSegment creates a segment: a static one of the given members when
// the filter is empty, else a dynamic one.
func repSegment(t *testing.T, e *env, object, flt string, members ...string) string {
	t.Helper()
	seg, err := e.ws.Segments().Create(e.ctx, crm.Segment{Name: object + " " + flt + " " + strings.Join(members, ","), Object: object, Filter: flt, Static: flt == ""})
	require.NoError(t, err)
	if len(members) > 0 {
		require.NoError(t, e.ws.Segments().Add(e.ctx, seg.ID, members...))
	}
	return seg.ID
}

// segmentDeals adds to purchaseFixture's companies and contacts:
//
//	d1: acme (retail), contact quinn, Proposal, 1000
//	d2: beta (retail), Proposal, 2000
//	d3: no company, contact pat, Negotiation, 400
//	d4: gamma (software, quinn's company), Qualification, 100
func segmentDeals(t *testing.T, e *env, b buyers) map[string]string {
	t.Helper()
	_, st := sales(t, e)
	ids := map[string]string{}
	for _, d := range []crm.Deal{
		{Name: "d1", CompanyID: b.companies["acme"], Contacts: []crm.ContactRole{{ContactID: b.contacts["quinn"]}}, StageID: st["Proposal"], Amount: crm.Money{Amount: 1000}},
		{Name: "d2", CompanyID: b.companies["beta"], StageID: st["Proposal"], Amount: crm.Money{Amount: 2000}},
		{Name: "d3", Contacts: []crm.ContactRole{{ContactID: b.contacts["pat"]}}, StageID: st["Negotiation"], Amount: crm.Money{Amount: 400}},
		{Name: "d4", CompanyID: b.companies["gamma"], StageID: st["Qualification"], Amount: crm.Money{Amount: 100}},
	} {
		got, err := e.ws.Deals().Create(e.ctx, d)
		require.NoError(t, err)
		ids[d.Name] = got.ID
	}
	return ids
}

// stageCounts sums a pipeline report's rows by stage: count and amount.
func stageCounts(rep *crm.PipelineReport) map[string][2]int64 {
	out := map[string][2]int64{}
	for _, r := range rep.Rows {
		c := out[r.Stage]
		out[r.Stage] = [2]int64{c[0] + r.Count, c[1] + r.Amount}
	}
	return out
}

func TestPipelineBySegment(t *testing.T) {
	e := setup(t)
	b := purchaseFixture(t, e)
	d := segmentDeals(t, e, b)
	retail := repSegment(t, e, "company", `industry = "retail"`)
	tests := []struct {
		name   string
		filter crm.ReportFilter
		want   map[string][2]int64
	}{
		{"deal segment", crm.ReportFilter{Segment: repSegment(t, e, "deal", "", d["d1"], d["d3"])},
			map[string][2]int64{"Proposal": {1, 1000}, "Negotiation": {1, 400}}},
		// A company segment selects the deals whose company is a member.
		{"static company segment", crm.ReportFilter{Segment: repSegment(t, e, "company", "", b.companies["acme"])},
			map[string][2]int64{"Proposal": {1, 1000}}},
		{"dynamic company segment", crm.ReportFilter{Segment: retail}, map[string][2]int64{"Proposal": {2, 3000}}},
		// A contact segment selects the deals that list a member among
		// their contacts: d1 for quinn, not d4 of quinn's company.
		{"contact segment", crm.ReportFilter{Segment: repSegment(t, e, "contact", "", b.contacts["quinn"])},
			map[string][2]int64{"Proposal": {1, 1000}}},
		{"contact segment without deals", crm.ReportFilter{Segment: repSegment(t, e, "contact", `first_name = "nobody"`)},
			map[string][2]int64{}},
		{"where on deals", crm.ReportFilter{Where: `name = "d2"`}, map[string][2]int64{"Proposal": {1, 2000}}},
		{"where on companies", crm.ReportFilter{Where: `industry = "software"`, WhereObject: "company"},
			map[string][2]int64{"Qualification": {1, 100}}},
		{"segment and where", crm.ReportFilter{Segment: retail, Where: `name != "d1"`}, map[string][2]int64{"Proposal": {1, 2000}}},
		{"segment and owner", crm.ReportFilter{Segment: retail, OwnerIDs: []string{"nobody"}}, map[string][2]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := e.ws.Pipeline(e.ctx, tt.filter)
			require.NoError(t, err)
			assert.Equal(t, tt.want, stageCounts(rep))
			assert.Equal(t, tt.filter.Segment, rep.Filter.Segment, "the report says what it covers")
		})
	}

	// Membership is read when the report runs: gamma turns retail.
	_, err := e.ws.Companies().Update(e.ctx, b.companies["gamma"], func(c *crm.Company) error { c.Industry = "retail"; return nil })
	require.NoError(t, err)
	rep, err := e.ws.Pipeline(e.ctx, crm.ReportFilter{Segment: retail})
	require.NoError(t, err)
	assert.Equal(t, map[string][2]int64{"Proposal": {2, 3000}, "Qualification": {1, 100}}, stageCounts(rep))

	// A static segment holds live records only: with acme deleted, its
	// deal d1 drops out.
	acme := repSegment(t, e, "company", "", b.companies["acme"], b.companies["zeta"])
	require.NoError(t, e.ws.Companies().Delete(e.ctx, b.companies["acme"]))
	rep, err = e.ws.Pipeline(e.ctx, crm.ReportFilter{Segment: acme})
	require.NoError(t, err)
	assert.Empty(t, rep.Rows)

	// The forecast takes the same selection.
	year := crm.ForecastOptions{ReportFilter: crm.ReportFilter{Segment: retail, From: e.clock.Now(), To: e.clock.Now().AddDate(1, 0, 0)}}
	fc, err := e.ws.Forecast(e.ctx, year)
	require.NoError(t, err)
	assert.Empty(t, fc.Rows, "no deal of the segment has an expected close date")

	// A snapshot keeps its segment, and its accuracy report needs it.
	sn, err := e.ws.TakeSnapshot(e.ctx, year)
	require.NoError(t, err)
	got, err := e.ws.Snapshot(e.ctx, sn.ID)
	require.NoError(t, err)
	assert.Equal(t, retail, got.Report.Options.Segment)
	require.NoError(t, e.ws.Segments().Delete(e.ctx, retail))
	_, err = e.ws.ForecastAccuracy(e.ctx, sn.ID)
	assert.ErrorIs(t, err, crm.ErrNotFound)
}

func TestConversionBySegment(t *testing.T) {
	e := setup(t)
	b := purchaseFixture(t, e)
	d := segmentDeals(t, e, b)
	e.clock.Advance(4 * day)
	_, err := e.ws.Deals().Win(e.ctx, d["d1"])
	require.NoError(t, err)
	_, err = e.ws.Deals().Lose(e.ctx, d["d2"], "price")
	require.NoError(t, err)
	_, err = e.ws.Deals().Win(e.ctx, d["d3"])
	require.NoError(t, err)

	all, err := e.ws.Conversion(e.ctx, crm.ConversionOptions{})
	require.NoError(t, err)
	require.Len(t, all.Groups, 1)
	assert.Equal(t, []int64{4, 1, 2, 1}, []int64{all.Groups[0].Deals, all.Groups[0].Open, all.Groups[0].Won, all.Groups[0].Lost})

	// The retail companies' deals: d1 won, d2 lost.
	rep, err := e.ws.Conversion(e.ctx, crm.ConversionOptions{ReportFilter: crm.ReportFilter{Segment: repSegment(t, e, "company", `industry = "retail"`)}})
	require.NoError(t, err)
	require.Len(t, rep.Groups, 1)
	g := rep.Groups[0]
	assert.Equal(t, []int64{2, 0, 1, 1}, []int64{g.Deals, g.Open, g.Won, g.Lost})
	assert.Equal(t, 0.5, g.WinRate)
	assert.Equal(t, []crm.CurrencyAmount{{Currency: "EUR", Count: 1, Amount: 1000}}, g.WonAmounts)
	assert.InDelta(t, 4.0, g.AvgCycleDays, 1e-9)
	var stays int64
	for _, s := range rep.StageTimes {
		stays += s.Stays
	}
	assert.Equal(t, int64(2), stays, "stage times cover the segment's deals only: d1's and d2's Proposal stays")

	// pat's deal, by a contact segment.
	rep, err = e.ws.Conversion(e.ctx, crm.ConversionOptions{ReportFilter: crm.ReportFilter{Segment: repSegment(t, e, "contact", "", b.contacts["pat"])}})
	require.NoError(t, err)
	require.Len(t, rep.Groups, 1)
	assert.Equal(t, []crm.CurrencyAmount{{Currency: "EUR", Count: 1, Amount: 400}}, rep.Groups[0].WonAmounts)
}

func TestRevenueBySegment(t *testing.T) {
	e := setup(t)
	b := purchaseFixture(t, e)
	acmeZeta := repSegment(t, e, "company", "", b.companies["acme"], b.companies["zeta"])
	tests := []struct {
		name   string
		filter crm.ReportFilter
		want   []crm.RevenueRow
	}{
		{"static company segment", crm.ReportFilter{Segment: acmeZeta},
			[]crm.RevenueRow{{Currency: "EUR", Revenue: 1800, Purchases: 3, Customers: 2, LifetimeValue: 900}}},
		// quinn's purchase names no company, so it is in no company
		// segment, though quinn works for gamma.
		{"dynamic company segment", crm.ReportFilter{Segment: repSegment(t, e, "company", `industry = "software"`)},
			[]crm.RevenueRow{{Currency: "EUR", Revenue: 500, Purchases: 1, Customers: 1, LifetimeValue: 500}}},
		{"contact segment", crm.ReportFilter{Segment: repSegment(t, e, "contact", "", b.contacts["quinn"])},
			[]crm.RevenueRow{{Currency: "EUR", Revenue: 2000, Purchases: 1, Customers: 1, LifetimeValue: 2000}}},
		{"where on companies, by industry", crm.ReportFilter{Where: `industry = "retail"`, WhereObject: "company", GroupBy: crm.GroupIndustry},
			[]crm.RevenueRow{
				{Group: "retail", Currency: "EUR", Revenue: 1800, Purchases: 4, Customers: 3, LifetimeValue: 600},
				{Group: "retail", Currency: "USD", Revenue: 600, Purchases: 1, Customers: 1, LifetimeValue: 600},
			}},
		{"segment and where", crm.ReportFilter{Segment: acmeZeta, Where: `industry = "retail"`, WhereObject: "company"},
			[]crm.RevenueRow{{Currency: "EUR", Revenue: 1300, Purchases: 2, Customers: 1, LifetimeValue: 1300}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := e.ws.Revenue(e.ctx, tt.filter)
			require.NoError(t, err)
			assert.Equal(t, tt.want, rep.Rows)
		})
	}

	// Cross-sell among the retail companies only: quinn is no customer.
	cs, err := e.ws.CrossSell(e.ctx, crm.CrossSellOptions{Product: "widget", Where: `industry = "retail"`, WhereObject: "company"})
	require.NoError(t, err)
	assert.Equal(t, []crm.CrossSellGroup{{Group: "retail", Customers: 3, Buyers: 2, Share: 2.0 / 3}}, cs.Groups)
	require.Len(t, cs.Candidates, 1)
	assert.Equal(t, b.companies["delta"], cs.Candidates[0].ID)
}

func TestLifecycleAndOperationsBySegment(t *testing.T) {
	e := setup(t)
	leadFixture(t, e)
	// a and e are customers now: both were leads and converted.
	rep, err := e.ws.LeadConversion(e.ctx, crm.LifecycleOptions{ReportFilter: crm.ReportFilter{Segment: repSegment(t, e, "contact", `lifecycle = "customer"`)}})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 1)
	assert.Equal(t, []int64{2, 2}, []int64{rep.Rows[0].Leads, rep.Rows[0].Converted})
	rep, err = e.ws.LeadConversion(e.ctx, crm.LifecycleOptions{ReportFilter: crm.ReportFilter{Where: `lead_source = "event"`}})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 1)
	assert.Equal(t, []int64{2, 0}, []int64{rep.Rows[0].Leads, rep.Rows[0].Converted}, "h and g")

	// Operations: the activities linked to a member, and the changes
	// made to one.
	x, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "x"})
	require.NoError(t, err)
	y, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "y"})
	require.NoError(t, err)
	for _, id := range []string{x.ID, y.ID, y.ID} {
		_, err := e.ws.Activities().Log(e.ctx, crm.Activity{Type: crm.ActivityCall, OwnerID: "ann", ContactIDs: []string{id}})
		require.NoError(t, err)
	}
	_, err = e.ws.Contacts().Update(e.ctx, x.ID, func(c *crm.Contact) error { c.Title = "CTO"; return nil })
	require.NoError(t, err)
	ops, err := e.ws.Operations(e.ctx, crm.ReportFilter{Segment: repSegment(t, e, "contact", "", x.ID)})
	require.NoError(t, err)
	assert.Equal(t, []crm.ActivityVolume{{Group: "ann", Type: crm.ActivityCall, Count: 1}}, ops.Activities)
	assert.Equal(t, []crm.Adoption{{Period: "2026-04", ActiveUsers: 1, Updates: 2, PerUser: 2}}, ops.Adoption, "x's creation and update")
}

func TestReportSegmentErrors(t *testing.T) {
	e := setup(t)
	deals := repSegment(t, e, "deal", "")
	companies := repSegment(t, e, "company", "")

	_, err := e.ws.Pipeline(e.ctx, crm.ReportFilter{Segment: "seg_nope"})
	assert.Equal(t, []string{"segment"}, fieldErrors(t, err))
	assert.ErrorIs(t, err, crm.ErrNotFound, "an unknown segment is not found")
	assert.ErrorIs(t, err, crm.ErrInvalid)
	assert.Contains(t, err.Error(), "seg_nope")

	tests := []struct {
		name  string
		run   func() error
		field string
	}{
		{"revenue takes no deal segment", func() error {
			_, err := e.ws.Revenue(e.ctx, crm.ReportFilter{Segment: deals})
			return err
		}, "segment"},
		{"lead conversion takes no company segment", func() error {
			_, err := e.ws.LeadConversion(e.ctx, crm.LifecycleOptions{ReportFilter: crm.ReportFilter{Segment: companies}})
			return err
		}, "segment"},
		{"cross-sell takes no deal segment", func() error {
			_, err := e.ws.CrossSell(e.ctx, crm.CrossSellOptions{Product: "widget", Segment: deals})
			return err
		}, "segment"},
		{"revenue's where needs an object", func() error {
			_, err := e.ws.Revenue(e.ctx, crm.ReportFilter{Where: `industry = "retail"`})
			return err
		}, "where_object"},
		{"lead conversion's where selects contacts", func() error {
			_, err := e.ws.LeadConversion(e.ctx, crm.LifecycleOptions{ReportFilter: crm.ReportFilter{Where: `industry = "retail"`, WhereObject: "company"}})
			return err
		}, "where_object"},
		{"where_object alone", func() error {
			_, err := e.ws.Pipeline(e.ctx, crm.ReportFilter{WhereObject: "deal"})
			return err
		}, "where_object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			assert.Equal(t, []string{tt.field}, fieldErrors(t, err))
			assert.NotErrorIs(t, err, crm.ErrNotFound)
		})
	}

	_, err = e.ws.Pipeline(e.ctx, crm.ReportFilter{Where: `name = `})
	assert.Equal(t, []string{"where"}, fieldErrors(t, err))
	assert.ErrorIs(t, err, filter.ErrSyntax)
	_, err = e.ws.Pipeline(e.ctx, crm.ReportFilter{Where: `colour = "red"`})
	assert.Equal(t, []string{"where"}, fieldErrors(t, err))
	assert.ErrorIs(t, err, filter.ErrInvalid)
	_, err = e.ws.Forecast(e.ctx, crm.ForecastOptions{ReportFilter: crm.ReportFilter{Segment: "seg_nope", From: e.clock.Now(), To: e.clock.Now().Add(day)}})
	assert.ErrorIs(t, err, crm.ErrNotFound)
}
