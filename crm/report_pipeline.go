package crm

import (
	"cmp"
	"context"
	"io"
	"slices"
	"time"
)

// PipelineReport is the open pipeline: per group, stage and currency, how
// many open deals there are and what they are worth, plain and weighted.
type PipelineReport struct {
	Filter ReportFilter  `json:"filter"`
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
// the deal, its company or any of its contacts, as ReportFilter.Segment
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
func (w *Workspace) Pipeline(ctx context.Context, f ReportFilter) (*PipelineReport, error) {
	return w.pipelineReport(ctx, f, true)
}

// pipelineReport is Pipeline, reading the pipeline aggregate only if
// aggregates is true.
func (w *Workspace) pipelineReport(ctx context.Context, f ReportFilter, aggregates bool) (*PipelineReport, error) {
	if err := f.check("pipeline report", dealGroups...); err != nil {
		return nil, err
	}
	type rowKey struct{ group, pipeline, stage, currency string }
	rows := map[rowKey]*PipelineRow{}
	perGroup := map[string]int64{}
	bounded := !f.From.IsZero() || !f.To.IsZero()
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
				Currency: currency, stageOrder: slices.IndexFunc(pl.Stages, func(x Stage) bool { return x.ID == st.ID })}
			rows[k] = r
		}
		r.Count += count
		r.Amount += amount
		r.weighted100 += amount * int64(r.Probability)
		perGroup[g] += count
		return nil
	}
	err := w.selectRead(ctx, f.selection("pipeline report", "deal", dealSegmentObjects...), func(s *reportScan) error {
		if aggregates && aggregatesAnswer(&f) {
			groups, ok, err := s.openGroups()
			if err != nil {
				return err
			}
			if ok {
				for _, og := range groups {
					if (f.PipelineID != "" && og.pipelineID != f.PipelineID) || !f.owner(og.ownerID) ||
						(bounded && (og.month.IsZero() || !f.in(og.month))) {
						continue
					}
					d := Deal{PipelineID: og.pipelineID, StageID: og.stageID, OwnerID: og.ownerID}
					g, err := s.dealGroup(f.GroupBy, &d, og.month)
					if err != nil {
						return err
					}
					if err := add(s, g, og.pipelineID, og.stageID, og.currency, og.count, og.amount); err != nil {
						return err
					}
				}
				return nil
			}
		}
		return s.deals(&f, func(d *Deal) error {
			if d.Status != DealOpen {
				return nil
			}
			if bounded && (d.CloseDate.IsZero() || !f.in(d.CloseDate.Time())) {
				return nil
			}
			var at time.Time
			if !d.CloseDate.IsZero() {
				at = d.CloseDate.Time()
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
