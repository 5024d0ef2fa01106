package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/crmkit/crmkit/internal/crmtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const day = crmtest.Day

func TestPipelineReportMixedCurrenciesAndPeriods(t *testing.T) {
	e := crmtest.Setup(t)
	_, st := crmtest.Sales(t, e)
	mk := func(name, stage string, amount int64, cur string, close crm.Date, owner string) {
		_, err := e.WS.Deals().Create(e.Ctx, crm.Deal{Name: name, StageID: st[stage], Amount: crm.Money{Amount: amount, Currency: cur},
			CloseDate: close, OwnerID: owner})
		require.NoError(t, err)
	}
	apr := crm.Date{Year: 2026, Month: 4, Day: 10}
	may := crm.Date{Year: 2026, Month: 5, Day: 3}
	mk("a", "Proposal", 1001, "EUR", apr, "ann")   // weighted 500.5
	mk("b", "Proposal", 1001, "EUR", may, "bob")   // weighted 500.5
	mk("c", "Proposal", 2000, "USD", apr, "ann")   // other currency: own row
	mk("d", "Negotiation", 400, "EUR", apr, "ann") // 300
	won, err := e.WS.Deals().Create(e.Ctx, crm.Deal{Name: "won", StageID: st["Proposal"], Amount: crm.Money{Amount: 9999}, CloseDate: apr})
	require.NoError(t, err)
	_, err = e.WS.Deals().Win(e.Ctx, won.ID)
	require.NoError(t, err)

	rep, err := report.Pipeline(e.Ctx, e.WS, report.Filter{})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 3, "won deals are not in the pipeline; currencies are separate rows")
	assert.Equal(t, "Proposal", rep.Rows[0].Stage)
	assert.Equal(t, report.PipelineRow{Group: "", PipelineID: rep.Rows[0].PipelineID, StageID: st["Proposal"], Stage: "Proposal", Probability: 50,
		Currency: "EUR", Count: 2, Amount: 2002, Weighted: 1001, Share: 0.5}, rep.Rows[0])
	assert.Equal(t, "USD", rep.Rows[1].Currency)
	assert.Equal(t, int64(1000), rep.Rows[1].Weighted)
	assert.Equal(t, "Negotiation", rep.Rows[2].Stage)
	assert.Equal(t, int64(300), rep.Rows[2].Weighted)

	// By expected close month, April only.
	rep, err = report.Pipeline(e.Ctx, e.WS, report.Filter{GroupBy: report.GroupMonth,
		From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 3)
	for _, r := range rep.Rows {
		assert.Equal(t, "2026-04", r.Group)
	}
	assert.Equal(t, int64(1001), rep.Rows[0].Amount, "one EUR proposal closes in April")

	// An empty period has no rows, not an error.
	rep, err = report.Pipeline(e.Ctx, e.WS, report.Filter{From: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.Empty(t, rep.Rows)

	// By owner, restricted to one owner.
	rep, err = report.Pipeline(e.Ctx, e.WS, report.Filter{GroupBy: report.GroupOwner, OwnerIDs: []string{"bob"}})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 1)
	assert.Equal(t, "bob", rep.Rows[0].Group)
	assert.Equal(t, 1.0, rep.Rows[0].Share)

	var buf bytes.Buffer
	require.NoError(t, rep.WriteCSV(&buf))
	recs, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, []string{"bob", rep.Rows[0].PipelineID, st["Proposal"], "Proposal", "50", "EUR", "1", "1001", "501", "1.0000"}, recs[1])
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"weighted":501`)
}

func TestReportFilterErrors(t *testing.T) {
	e := crmtest.Setup(t)
	from := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	_, err := report.Pipeline(e.Ctx, e.WS, report.Filter{From: from, To: from})
	assert.Equal(t, []string{"to"}, crmtest.FieldErrors(t, err))
	_, err = report.Pipeline(e.Ctx, e.WS, report.Filter{GroupBy: "colour"})
	assert.Equal(t, []string{"group_by"}, crmtest.FieldErrors(t, err))
	_, err = report.Forecast(e.Ctx, e.WS, report.ForecastOptions{})
	assert.Equal(t, []string{"from"}, crmtest.FieldErrors(t, err))
	_, err = report.CrossSell(e.Ctx, e.WS, report.CrossSellOptions{Filter: report.Filter{GroupBy: report.GroupOwner}})
	assert.ElementsMatch(t, []string{"product", "group_by"}, crmtest.FieldErrors(t, err))
	_, err = report.Operations(e.Ctx, e.WS, report.Filter{GroupBy: report.GroupIndustry})
	assert.ErrorIs(t, err, crm.ErrInvalid)
}

func TestConversionReopenedAndSkippedStages(t *testing.T) {
	e := crmtest.Setup(t)
	_, st := crmtest.Sales(t, e)
	deals := e.WS.Deals()
	create := func(name string, amount int64, cur string) crm.Deal {
		d, err := deals.Create(e.Ctx, crm.Deal{Name: name, Amount: crm.Money{Amount: amount, Currency: cur}, OwnerID: "ann"})
		require.NoError(t, err)
		return d
	}
	move := func(id, stage string, after time.Duration) {
		e.Clock.Advance(after)
		_, err := deals.Move(e.Ctx, id, st[stage])
		require.NoError(t, err)
	}
	// a: every stage, won after 10 days.
	a := create("a", 1000, "EUR")
	// b: skips from Qualification to Proposal, lost, reopened into
	// Negotiation, then won: a win, cycle from creation.
	b := create("b", 3000, "EUR")
	// c: lost in Qualification.
	c := create("c", 500, "USD")
	// d: stays open in Qualification.
	create("d", 700, "USD")
	move(a.ID, "Needs analysis", day)
	move(b.ID, "Proposal", 0)
	move(c.ID, "Closed lost", 0)
	move(a.ID, "Proposal", day)
	move(b.ID, "Closed lost", 0)
	move(a.ID, "Negotiation", day)
	move(b.ID, "Negotiation", day) // reopened
	move(a.ID, "Closed won", 7*day)
	move(b.ID, "Closed won", 3*day)

	rep, err := report.Conversion(e.Ctx, e.WS, report.ConversionOptions{})
	require.NoError(t, err)
	require.Len(t, rep.Groups, 1)
	g := rep.Groups[0]
	assert.Equal(t, int64(4), g.Deals)
	assert.Equal(t, []int64{1, 2, 1}, []int64{g.Open, g.Won, g.Lost}, "the reopened deal counts once, as won")
	assert.InDelta(t, 2.0/3, g.WinRate, 1e-9)
	assert.Equal(t, []report.CurrencyAmount{{Currency: "EUR", Count: 2, Amount: 4000}}, g.WonAmounts)
	// Cycles: a 11 days, b 14 days.
	assert.InDelta(t, 12.5, g.AvgCycleDays, 1e-9)
	assert.InDelta(t, 12.5, g.MedianCycleDays, 1e-9)

	require.Len(t, g.Funnel, 5, "four open stages and the won stage; lost is not a step")
	var entered, reached []int64
	for _, s := range g.Funnel {
		entered = append(entered, s.Entered)
		reached = append(reached, s.Reached)
	}
	assert.Equal(t, []int64{4, 1, 2, 2, 2}, entered, "b skipped Needs analysis")
	assert.Equal(t, []int64{4, 2, 2, 2, 2}, reached, "a skipped stage counts as passed")
	assert.InDelta(t, 0.5, g.Funnel[0].Conversion, 1e-9)
	assert.InDelta(t, 1.0, g.Funnel[1].Conversion, 1e-9)

	// Velocity per currency: EUR has no open deal, USD no won deal.
	require.Len(t, g.Velocity, 2)
	assert.Equal(t, report.Velocity{Currency: "EUR", AvgWonAmount: 2000}, g.Velocity[0])
	assert.Equal(t, report.Velocity{Currency: "USD", OpenDeals: 1}, g.Velocity[1])

	// Time in stage: Qualification stays of a (1 day), b (1 day), c (1 day).
	require.NotEmpty(t, rep.StageTimes)
	q := rep.StageTimes[0]
	assert.Equal(t, "Qualification", q.Stage)
	assert.Equal(t, int64(3), q.Stays)
	assert.Equal(t, int64(1), q.Current)
	assert.InDelta(t, 1.0, q.MedianDays, 1e-9)
	// d has been in Qualification 14 days, more than 2 × the 1-day median.
	require.Len(t, rep.Stalled, 1)
	assert.Equal(t, "d", rep.Stalled[0].Name)
	assert.InDelta(t, 14.0, rep.Stalled[0].Days, 1e-9)

	// An empty cohort gives no groups.
	rep, err = report.Conversion(e.Ctx, e.WS, report.ConversionOptions{Filter: report.Filter{From: e.Clock.Now().Add(day)}})
	require.NoError(t, err)
	assert.Empty(t, rep.Groups)
	assert.Empty(t, rep.Stalled)
}

func TestForecastQuotasAndAccuracy(t *testing.T) {
	e := crmtest.Setup(t)
	_, st := crmtest.Sales(t, e)
	from := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	q2 := crm.Date{Year: 2026, Month: 5, Day: 15}
	mk := func(owner, stage string, amount int64, cur string) crm.Deal {
		d, err := e.WS.Deals().Create(e.Ctx, crm.Deal{Name: owner + stage, OwnerID: owner, StageID: st[stage], CloseDate: q2,
			Amount: crm.Money{Amount: amount, Currency: cur}})
		require.NoError(t, err)
		return d
	}
	require.NoError(t, report.SetQuota(e.Ctx, e.WS, report.Quota{OwnerID: "ann", From: from, To: to, Amount: crm.Money{Amount: 10000, Currency: "EUR"}}))
	require.NoError(t, report.SetQuota(e.Ctx, e.WS, report.Quota{Team: "west", Members: []string{"ann", "bob"}, From: from, To: to, Amount: crm.Money{Amount: 20000, Currency: "EUR"}}))
	err := report.SetQuota(e.Ctx, e.WS, report.Quota{OwnerID: "ann", Team: "west", From: to, To: from})
	assert.ElementsMatch(t, []string{"owner_id", "members", "to"}, crmtest.FieldErrors(t, err))

	e.Clock.Set(from.Add(10 * day))
	annNeg := mk("ann", "Negotiation", 4000, "EUR") // commit
	mk("ann", "Qualification", 1000, "EUR")         // best case only
	mk("bob", "Proposal", 2000, "EUR")
	mk("bob", "Proposal", 3000, "USD")
	sn, err := report.TakeSnapshot(e.Ctx, e.WS, report.ForecastOptions{Filter: report.Filter{From: from, To: to}})
	require.NoError(t, err)
	rows := map[string]report.ForecastRow{}
	for _, r := range sn.Report.Rows {
		rows[r.Group+"/"+r.Currency] = r
	}
	assert.Equal(t, report.ForecastRow{Group: "ann", Currency: "EUR", Pipeline: 5000, Weighted: 3100, Commit: 4000, BestCase: 5000,
		Forecast: 3100, Quota: 10000, HasQuota: true}, rows["ann/EUR"])
	assert.Equal(t, int64(1500), rows["bob/USD"].Weighted)
	assert.False(t, rows["bob/USD"].HasQuota)
	west := rows["west/EUR"]
	assert.True(t, west.Team)
	assert.Equal(t, int64(4100), west.Forecast, "the team adds its members' EUR rows only")
	assert.Equal(t, int64(20000), west.Quota)

	// Ann wins her negotiation; the accuracy report compares.
	_, err = e.WS.Deals().Win(e.Ctx, annNeg.ID)
	require.NoError(t, err)
	acc, err := report.ForecastAccuracy(e.Ctx, e.WS, sn.ID)
	require.NoError(t, err)
	var ann report.AccuracyRow
	for _, r := range acc.Rows {
		if r.Group == "ann" {
			ann = r
		}
	}
	assert.Equal(t, report.AccuracyRow{Group: "ann", Currency: "EUR", Forecast: 3100, Commit: 4000, Actual: 4000, Error: 900, AbsPctError: 900.0 / 4000}, ann)
	b, err := json.Marshal(acc)
	require.NoError(t, err, "no infinities in JSON")
	assert.Contains(t, string(b), `"actual":4000`)

	var n int
	for s, err := range report.Snapshots(e.Ctx, e.WS) {
		require.NoError(t, err)
		assert.Equal(t, sn.ID, s.ID)
		n++
	}
	assert.Equal(t, 1, n)
	require.NoError(t, report.DeleteSnapshot(e.Ctx, e.WS, sn.ID))
	_, err = report.GetSnapshot(e.Ctx, e.WS, sn.ID)
	assert.ErrorIs(t, err, crm.ErrNotFound)
}

// TestStateLivesInReportSpace pins where quotas and snapshots are kept:
// crm moves the state of older stores to these keys of the Space
// "report" when it opens them.
func TestStateLivesInReportSpace(t *testing.T) {
	e := crmtest.Setup(t)
	from := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	q := report.Quota{OwnerID: "ann", From: from, To: from.AddDate(0, 3, 0), Amount: crm.Money{Amount: 100}}
	require.NoError(t, report.SetQuota(e.Ctx, e.WS, q))
	sn, err := report.TakeSnapshot(e.Ctx, e.WS, report.ForecastOptions{Filter: report.Filter{From: q.From, To: q.To}})
	require.NoError(t, err)
	require.NoError(t, e.WS.View(e.Ctx, func(rt *crm.ReadTx) error {
		s := rt.Space("report")
		b, err := s.Get([]byte("quotas"))
		require.NoError(t, err)
		var qs []report.Quota
		require.NoError(t, crm.Unmarshal(b, &qs))
		assert.Equal(t, []report.Quota{{OwnerID: "ann", From: q.From, To: q.To, Amount: crm.Money{Amount: 100, Currency: "EUR"}}}, qs)
		_, err = s.Get([]byte("snapshot/" + sn.ID))
		return err
	}))
	var got []report.Quota
	for q, err := range report.Quotas(e.Ctx, e.WS) {
		require.NoError(t, err)
		got = append(got, q)
	}
	assert.Len(t, got, 1)
}

func TestNonFiniteOptionsAreRefused(t *testing.T) {
	e := crmtest.Setup(t)
	_, err := report.Conversion(e.Ctx, e.WS, report.ConversionOptions{StallFactor: math.NaN()})
	assert.Equal(t, []string{"stall_factor"}, crmtest.FieldErrors(t, err))
	_, err = report.Conversion(e.Ctx, e.WS, report.ConversionOptions{StallFactor: math.Inf(1)})
	assert.Equal(t, []string{"stall_factor"}, crmtest.FieldErrors(t, err))
	_, err = report.CrossSell(e.Ctx, e.WS, report.CrossSellOptions{Product: "widget", MinShare: math.NaN()})
	assert.Equal(t, []string{"min_share"}, crmtest.FieldErrors(t, err))
}
