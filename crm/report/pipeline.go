package report

import (
	"cmp"
	"context"
	"io"
	"slices"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// PipelineReport is the open pipeline: per group, stage and currency, how
// many open deals there are and what they are worth, plain and weighted.
type PipelineReport struct {
	Filter Filter        `json:"filter"`
	Rows   []PipelineRow `json:"rows"`
}

// PipelineRow is the open deals of one group in one stage, in one
// currency.
//
// Count is the number of live open deals (deals in an open stage);
// Amount the sum of their amounts in minor units; Weighted the sum of
// amount × the stage's probability ÷ 100, summed exactly and rounded half
// away from zero once, at the end. Deals without an amount are counted in
// the row with an empty Currency. Share is the row's Count as a fraction of
// the open deals of its group (all currencies): the stage distribution.
type PipelineRow struct {
	Group       string  `json:"group"`
	PipelineID  string  `json:"pipeline_id"`
	StageID     string  `json:"stage_id"`
	Stage       string  `json:"stage"`
	Probability int     `json:"probability"`
	Currency    string  `json:"currency"`
	Count       int64   `json:"count"`
	Amount      int64   `json:"amount"`
	Weighted    int64   `json:"weighted"`
	Share       float64 `json:"share"`
	stageOrder  int
	weighted100 int64 // amount × probability, not yet divided by 100
}

// Pipeline reports the open pipeline. From and To apply to the deals'
// expected close date (deals without one are included only when both
// bounds are zero); GroupPeriod groups by the expected close date, so
// GroupMonth gives the pipeline by expected close month. Won and lost
// deals are not in the pipeline. A Segment or Where selects deals: by
// the deal, its company or any of its contacts, as Filter.Segment
// says. Rows come in group order, then pipeline, stage order and
// currency.
//
// The report reads counters the write path keeps when it can (see
// aggregatesAnswer) and streams the deals otherwise; both give the same
// rows. A store written by an earlier version, without the counters, is
// detected (they do not add up to the open deals) and streamed until
// Check with Repair has rebuilt them. Processes of an earlier version
// writing to a shared store meanwhile (a rolling upgrade) can leave the
// counters wrong without that showing: run Check with Repair once the
// last of them has stopped.
func Pipeline(ctx context.Context, ws *crm.Workspace, f Filter) (*PipelineReport, error) {
	return pipelineReport(ctx, ws, f, true)
}

// pipelineReport is Pipeline, reading the open-deal aggregate only if
// aggregates is true.
func pipelineReport(ctx context.Context, ws *crm.Workspace, f Filter, aggregates bool) (*PipelineReport, error) {
	loc, err := f.check("pipeline report", dealGroups...)
	if err != nil {
		return nil, err
	}
	type rowKey struct{ group, pipeline, stage, currency string }
	rows := map[rowKey]*PipelineRow{}
	perGroup := map[string]int64{}
	bounded := !f.From.IsZero() || !f.To.IsZero()
	var sum sums
	// add counts count open deals worth amount in one group, pipeline,
	// stage and currency.
	add := func(s *reportScan, g, pipelineID, stageID, currency string, count, amount int64) error {
		k := rowKey{g, pipelineID, stageID, currency}
		r := rows[k]
		if r == nil {
			pl, err := s.pipeline(pipelineID)
			if err != nil {
				return err
			}
			st, _ := pl.Stage(stageID)
			r = &PipelineRow{Group: g, PipelineID: pipelineID, StageID: st.ID, Stage: st.Name, Probability: st.Probability,
				Currency: currency, stageOrder: slices.IndexFunc(pl.Stages, func(x crm.Stage) bool { return x.ID == st.ID })}
			rows[k] = r
		}
		r.Count += count
		sum.add(&r.Amount, amount)
		sum.add(&r.weighted100, sum.mul(amount, int64(r.Probability)))
		perGroup[g] += count
		return nil
	}
	err = read(ctx, ws, loc, f.selection("pipeline report", crm.KindDeal, dealSegmentObjects...), func(s *reportScan) error {
		if aggregates && aggregatesAnswer(&f, s.loc) {
			totals, ok, err := s.rt.OpenDealTotals()
			if err != nil {
				return err
			}
			// Amounts are never negative: a negative sum is a counter
			// that wrapped, and the deals are summed with checks instead.
			ok = ok && !slices.ContainsFunc(totals, func(t crm.OpenDealTotal) bool { return t.Amount < 0 })
			if ok {
				for _, t := range totals {
					var month time.Time
					if !t.CloseMonth.IsZero() {
						month = time.Date(t.CloseMonth.Year(), t.CloseMonth.Month(), 1, 0, 0, 0, 0, s.loc)
					}
					if (f.PipelineID != "" && t.PipelineID != f.PipelineID) || !f.owner(t.OwnerID) || !f.currency(crm.Money{Currency: t.Currency}) ||
						(bounded && (month.IsZero() || !f.in(month))) {
						continue
					}
					d := crm.Deal{PipelineID: t.PipelineID, StageID: t.StageID, OwnerID: t.OwnerID}
					g, err := s.dealGroup(f.GroupBy, &d, month)
					if err != nil {
						return err
					}
					if err := add(s, g, t.PipelineID, t.StageID, t.Currency, t.Count, t.Amount); err != nil {
						return err
					}
				}
				return nil
			}
		}
		return s.deals(&f, func(d *crm.Deal) error {
			if d.Status != crm.StatusOpen {
				return nil
			}
			var at time.Time
			if !d.CloseDate.IsZero() {
				at = s.day(d.CloseDate)
			}
			if bounded && (at.IsZero() || !f.in(at)) {
				return nil
			}
			g, err := s.dealGroup(f.GroupBy, d, at)
			if err != nil {
				return err
			}
			return add(s, g, d.PipelineID, d.StageID, d.Amount.Currency, 1, d.Amount.Amount)
		})
	})
	if err != nil {
		return nil, err
	}
	if err := sum.err(); err != nil {
		return nil, err
	}
	out := &PipelineReport{Filter: f, Rows: make([]PipelineRow, 0, len(rows))}
	for _, r := range rows {
		r.Weighted = divRound(r.weighted100, 100)
		r.Share = ratio(r.Count, perGroup[r.Group])
		out.Rows = append(out.Rows, *r)
	}
	slices.SortFunc(out.Rows, func(a, b PipelineRow) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.PipelineID, b.PipelineID),
			cmp.Compare(a.stageOrder, b.stageOrder), cmp.Compare(a.Currency, b.Currency))
	})
	for i := range out.Rows {
		out.Rows[i].stageOrder, out.Rows[i].weighted100 = 0, 0
	}
	return out, nil
}

// The pipeline report reads the open-deal aggregate instead of every deal
// when the aggregate can answer it: no segment or ad-hoc filter, a
// grouping by owner, stage, month or quarter (or none), and date bounds,
// if any, on the first instant of a month in the report's time zone.
// Anything else (grouping by company facts, source, product or week, a
// bound in the middle of a month) streams the deals.

// aggregatesAnswer reports whether the open-deal aggregate
// (crm.ReadTx.OpenDealTotals) can answer a pipeline report with filter f
// in time zone loc.
func aggregatesAnswer(f *Filter, loc *time.Location) bool {
	if f.Segment != "" || f.Where != "" || !f.WhereObject.IsZero() {
		return false
	}
	switch f.GroupBy {
	case GroupNone, GroupOwner, GroupStage, GroupMonth, GroupQuarter:
	default:
		return false
	}
	monthStart := func(t time.Time) bool {
		if t.IsZero() {
			return true
		}
		u := t.In(loc)
		return u.Day() == 1 && u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0
	}
	return monthStart(f.From) && monthStart(f.To)
}

// divRound divides a by b (b > 0), rounding half away from zero.
func divRound(a, b int64) int64 {
	if a < 0 {
		return -((-a + b/2) / b)
	}
	return (a + b/2) / b
}

// WriteCSV writes the report as CSV, one line per row.
func (r *PipelineReport) WriteCSV(w io.Writer) error {
	rows := make([][]string, len(r.Rows))
	for i, x := range r.Rows {
		rows[i] = []string{x.Group, x.PipelineID, x.StageID, x.Stage, itoa(int64(x.Probability)), x.Currency,
			itoa(x.Count), itoa(x.Amount), itoa(x.Weighted), ftoa(x.Share)}
	}
	return writeCSV(w, []string{"group", "pipeline_id", "stage_id", "stage", "probability", "currency", "count", "amount", "weighted", "share"}, rows)
}
