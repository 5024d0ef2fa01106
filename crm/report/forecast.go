package report

import (
	"cmp"
	"context"
	"io"
	"slices"

	"github.com/crmkit/crmkit/crm"
)

// ForecastOptions selects a forecast. From and To (both required) bound
// the forecast period [From, To).
type ForecastOptions struct {
	Filter
	// CommitProbability is the lowest stage probability (percent) whose
	// open deals count as commit. Zero means 70.
	CommitProbability int `msgpack:"commit_probability" json:"commit_probability"`
}

// ForecastReport is what each owner (and each team with a quota) is
// expected to close in a period, per currency.
type ForecastReport struct {
	Options ForecastOptions `json:"options"`
	Rows    []ForecastRow   `json:"rows"`
}

// ForecastRow is one owner's (or team's) forecast in one currency.
//
//   - ClosedWon sums the amounts of deals won in the period: their last
//     entry into a won stage lies in [From, To). A deal won, reopened and
//     won again counts once, at its last win.
//   - Pipeline sums the amounts of open deals whose expected close date
//     lies in the period; Weighted sums amount × stage probability ÷ 100
//     over them (summed exactly, rounded half away from zero once).
//   - Commit is ClosedWon plus the open deals in stages whose probability
//     is at least the commit probability; BestCase is ClosedWon plus every
//     open deal expected in the period; Forecast is ClosedWon + Weighted.
//   - Quota is the quota set for exactly this period, owner or team and
//     currency (0 with HasQuota false when none is set); Attainment is
//     ClosedWon ÷ Quota.
//
// Team rows (Team true, Group the team's name) add up their members' rows
// and exist for teams with a quota in the period.
type ForecastRow struct {
	Group      string  `msgpack:"group" json:"group"`
	Team       bool    `msgpack:"team,omitempty" json:"team,omitempty"`
	Currency   string  `msgpack:"currency" json:"currency"`
	ClosedWon  int64   `msgpack:"closed_won" json:"closed_won"`
	Pipeline   int64   `msgpack:"pipeline" json:"pipeline"`
	Weighted   int64   `msgpack:"weighted" json:"weighted"`
	Commit     int64   `msgpack:"commit" json:"commit"`
	BestCase   int64   `msgpack:"best_case" json:"best_case"`
	Forecast   int64   `msgpack:"forecast" json:"forecast"`
	Quota      int64   `msgpack:"quota" json:"quota"`
	HasQuota   bool    `msgpack:"has_quota" json:"has_quota"`
	Attainment float64 `msgpack:"attainment" json:"attainment"`
	weighted   int64
}

func (r *ForecastRow) add(s *sums, o *ForecastRow) {
	s.add(&r.ClosedWon, o.ClosedWon)
	s.add(&r.Pipeline, o.Pipeline)
	s.add(&r.weighted, o.weighted)
	s.add(&r.Commit, o.Commit)
	s.add(&r.BestCase, o.BestCase)
}

// Forecast reports the forecast of a period (see ForecastRow), grouped by
// owner unless GroupBy says otherwise (team rows need owner grouping). A
// Segment or Where selects deals as in the pipeline report; quotas are not
// restricted, so attainment compares the segment's deals with the whole
// quota.
func Forecast(ctx context.Context, ws *crm.Workspace, o ForecastOptions) (*ForecastReport, error) {
	if o.GroupBy == GroupNone {
		o.GroupBy = GroupOwner
	}
	loc, err := o.check("forecast", dealGroups...)
	if err != nil {
		return nil, err
	}
	if o.From.IsZero() || o.To.IsZero() {
		ve := &crm.ValidationError{Kind: "forecast"}
		ve.Add("from", "a forecast needs a period: set from and to")
		return nil, ve
	}
	if o.CommitProbability <= 0 {
		o.CommitProbability = 70
	}
	type rowKey struct{ group, currency string }
	rows := map[rowKey]*ForecastRow{}
	row := func(g, c string) *ForecastRow {
		r := rows[rowKey{g, c}]
		if r == nil {
			r = &ForecastRow{Group: g, Currency: c}
			rows[rowKey{g, c}] = r
		}
		return r
	}
	var quotas []Quota
	var sum sums
	err = read(ctx, ws, loc, o.selection("forecast", crm.KindDeal, dealSegmentObjects...), func(s *reportScan) error {
		var err error
		if quotas, err = loadQuotas(s.rt.Space(spaceName)); err != nil {
			return err
		}
		return s.deals(&o.Filter, func(d *crm.Deal) error {
			switch d.Status {
			case crm.StatusWon:
				if !o.in(d.ClosedAt) {
					return nil
				}
				g, err := s.dealGroup(o.GroupBy, d, d.ClosedAt)
				if err != nil {
					return err
				}
				r := row(g, d.Amount.Currency)
				sum.add(&r.ClosedWon, d.Amount.Amount)
				sum.add(&r.Commit, d.Amount.Amount)
				sum.add(&r.BestCase, d.Amount.Amount)
			case crm.StatusOpen:
				if d.CloseDate.IsZero() || !o.in(s.day(d.CloseDate)) {
					return nil
				}
				g, err := s.dealGroup(o.GroupBy, d, s.day(d.CloseDate))
				if err != nil {
					return err
				}
				pl, err := s.pipeline(d.PipelineID)
				if err != nil {
					return err
				}
				st, _ := pl.Stage(d.StageID)
				r := row(g, d.Amount.Currency)
				sum.add(&r.Pipeline, d.Amount.Amount)
				sum.add(&r.weighted, sum.mul(d.Amount.Amount, int64(st.Probability)))
				sum.add(&r.BestCase, d.Amount.Amount)
				if st.Probability >= o.CommitProbability {
					sum.add(&r.Commit, d.Amount.Amount)
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	inPeriod := func(q Quota) bool { return q.From.Equal(o.From.UTC()) && q.To.Equal(o.To.UTC()) }
	if o.GroupBy == GroupOwner {
		for _, q := range quotas {
			if !inPeriod(q) || !o.currency(q.Amount) {
				continue
			}
			if q.OwnerID != "" {
				if o.owner(q.OwnerID) {
					row(q.OwnerID, q.Amount.Currency)
				}
				continue
			}
			team := &ForecastRow{Group: q.Team, Team: true, Currency: q.Amount.Currency}
			for _, m := range q.Members {
				if r := rows[rowKey{m, q.Amount.Currency}]; r != nil {
					team.add(&sum, r)
				}
			}
			rows[rowKey{"team:" + q.Team, q.Amount.Currency}] = team
		}
	}
	rep := &ForecastReport{Options: o, Rows: make([]ForecastRow, 0, len(rows))}
	for _, r := range rows {
		r.Weighted = divRound(r.weighted, 100)
		r.Forecast = r.ClosedWon
		sum.add(&r.Forecast, r.Weighted)
		r.weighted = 0
		for _, q := range quotas {
			if inPeriod(q) && q.Amount.Currency == r.Currency && ((r.Team && q.Team == r.Group) || (!r.Team && q.OwnerID != "" && q.OwnerID == r.Group && o.GroupBy == GroupOwner)) {
				r.Quota, r.HasQuota = q.Amount.Amount, true
				r.Attainment = ratio(r.ClosedWon, r.Quota)
			}
		}
		rep.Rows = append(rep.Rows, *r)
	}
	if err := sum.err(); err != nil {
		return nil, err
	}
	slices.SortFunc(rep.Rows, func(a, b ForecastRow) int {
		return cmp.Or(cmpBool(a.Team, b.Team), cmp.Compare(a.Group, b.Group), cmp.Compare(a.Currency, b.Currency))
	})
	return rep, nil
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// WriteCSV writes the forecast as CSV, one line per row.
func (r *ForecastReport) WriteCSV(w io.Writer) error {
	rows := make([][]string, len(r.Rows))
	for i, x := range r.Rows {
		team := "false"
		if x.Team {
			team = "true"
		}
		rows[i] = []string{x.Group, team, x.Currency, itoa(x.ClosedWon), itoa(x.Pipeline), itoa(x.Weighted), itoa(x.Commit),
			itoa(x.BestCase), itoa(x.Forecast), itoa(x.Quota), ftoa(x.Attainment)}
	}
	return writeCSV(w, []string{"group", "team", "currency", "closed_won", "pipeline", "weighted", "commit", "best_case", "forecast", "quota", "attainment"}, rows)
}
