package report

import (
	"cmp"
	"context"
	"io"
	"math"
	"slices"

	"github.com/crmkit/crmkit/crm"
)

// ConversionOptions selects a conversion report.
type ConversionOptions struct {
	Filter
	// StallFactor marks an open deal as stalled when it has been in its
	// current stage longer than StallFactor × the median completed stay in
	// that stage. Zero means 2.
	StallFactor float64 `json:"stall_factor,omitempty"`
	// StalledLimit is how many stalled deals the report lists, those
	// stalled longest first; all are counted (StalledCount). Zero means
	// DefaultStalledLimit; a negative limit lists them all.
	StalledLimit int `json:"stalled_limit,omitempty"`
}

// DefaultStalledLimit is how many stalled deals a conversion report lists
// when ConversionOptions.StalledLimit is zero.
const DefaultStalledLimit = 100

// ConversionReport is how deals move through their pipelines: a funnel,
// win rate, cycle lengths and pipeline velocity per group, then time in
// each stage and the deals that stall.
//
// The report covers a cohort: the live deals whose first recorded stage
// entry (when they entered their first stage, normally at creation) lies
// in [From, To); period groups use that date too. A Segment or Where
// narrows the cohort to the deals it selects (by the deal, its company or
// any of its contacts, as Filter.Segment says), and so narrows the
// stage times and stage medians too. Only a deal's stage entries in its
// current pipeline count.
//
// Durations (cycles, stays) are measured to the millisecond for means.
// Medians are read from buckets, the same whether the report streams the
// deals or reads the conversion aggregate: a duration counts as the
// start of its bucket (crm.DurationBucket), which is the duration rounded
// down to the hour below one day, to the day below 366 days, and to 30
// days beyond. A median of 3.4 days reads 3, one of 5 hours reads 5/24.
type ConversionReport struct {
	Filter      Filter            `json:"filter"`
	StallFactor float64           `json:"stall_factor"`
	Groups      []ConversionGroup `json:"groups"`
	StageTimes  []StageTime       `json:"stage_times"`
	// Stalled lists the deals stalled longest (by how long they have been
	// in their stage, then by ID), up to ConversionOptions.StalledLimit;
	// StalledCount counts them all.
	Stalled      []StalledDeal `json:"stalled"`
	StalledCount int64         `json:"stalled_count"`
}

// ConversionGroup is the conversion figures of one group of the cohort.
//
//   - Deals counts the cohort's deals; Open, Won and Lost split them by
//     where they stand now. A deal lost and then reopened counts by its
//     current stage: open, or won or lost again.
//   - WinRate is Won ÷ (Won + Lost): open deals are left out; 0 when
//     none has closed.
//   - WonAmounts is the won deals' amounts per currency.
//   - AvgCycleDays and MedianCycleDays measure won deals from their first
//     stage entry to the time they last entered a won stage, in days of 24
//     hours; the median, of the durations rounded down to their bucket
//     (see ConversionReport), of an even count is the mean of the middle
//     two.
//   - Funnel lists the open and won stages of each pipeline in order;
//     see FunnelStep.
//   - Velocity is per currency: see Velocity.
type ConversionGroup struct {
	Group           string           `json:"group"`
	Deals           int64            `json:"deals"`
	Open            int64            `json:"open"`
	Won             int64            `json:"won"`
	Lost            int64            `json:"lost"`
	WinRate         float64          `json:"win_rate"`
	WonAmounts      []CurrencyAmount `json:"won_amounts"`
	AvgCycleDays    float64          `json:"avg_cycle_days"`
	MedianCycleDays float64          `json:"median_cycle_days"`
	Funnel          []FunnelStep     `json:"funnel"`
	Velocity        []Velocity       `json:"velocity"`
	cycles          bucketStats
	won             map[string]*CurrencyAmount
	open            map[string]int64
	funnel          map[string][]FunnelStep // pipeline ID -> steps
}

// CurrencyAmount is a count of deals and the sum of their amounts in one
// currency.
type CurrencyAmount struct {
	Currency string `json:"currency"`
	Count    int64  `json:"count"`
	Amount   int64  `json:"amount"`
}

// FunnelStep is one stage of a funnel, computed from recorded stage
// entries. Entered counts the deals with a recorded entry in the stage
// (once per deal, however often it came back). Reached counts the deals
// that got at least this far: they entered this stage or a later one in
// the pipeline's order, so a deal that skipped the stage still passed it.
// Lost stages are not steps: a lost deal reached the furthest stage it
// entered before. Conversion is the next step's Reached ÷ this step's
// Reached (0 for the last step or when none reached this one).
type FunnelStep struct {
	PipelineID string  `json:"pipeline_id"`
	StageID    string  `json:"stage_id"`
	Stage      string  `json:"stage"`
	Entered    int64   `json:"entered"`
	Reached    int64   `json:"reached"`
	Conversion float64 `json:"conversion"`
}

// Velocity is pipeline velocity in one currency: the value the pipeline
// is expected to close per day, OpenDeals × AvgWonAmount × WinRate ÷
// AvgCycleDays, where OpenDeals counts the group's open deals with an
// amount in the currency, AvgWonAmount is the mean amount of its won deals
// in the currency (minor units), and WinRate and AvgCycleDays are the
// group's. PerDay is 0 when no deal has been won.
type Velocity struct {
	Currency     string  `json:"currency"`
	OpenDeals    int64   `json:"open_deals"`
	AvgWonAmount float64 `json:"avg_won_amount"`
	PerDay       float64 `json:"per_day"`
}

// StageTime is how long deals of the cohort stay in a stage. Stays counts
// the completed stays (the deal entered and later left the stage; a deal
// that came back has several), AvgDays and MedianDays measure them (the
// median in buckets, see ConversionReport), and Current counts the deals
// in the stage now.
type StageTime struct {
	PipelineID string  `json:"pipeline_id"`
	StageID    string  `json:"stage_id"`
	Stage      string  `json:"stage"`
	Stays      int64   `json:"stays"`
	AvgDays    float64 `json:"avg_days"`
	MedianDays float64 `json:"median_days"`
	Current    int64   `json:"current"`
	durations  bucketStats
	order      int
}

// StalledDeal is an open deal that has been in its stage longer than the
// stall factor × the stage's median completed stay (stages without a
// completed stay have no median, and no deal stalls there).
type StalledDeal struct {
	DealID     string  `json:"deal_id"`
	Name       string  `json:"name"`
	OwnerID    string  `json:"owner_id"`
	StageID    string  `json:"stage_id"`
	Stage      string  `json:"stage"`
	Days       float64 `json:"days"`
	MedianDays float64 `json:"median_days"`
}

// Conversion reports the funnel, win rate, cycle lengths, velocity, time
// in stage and stalled deals of a cohort of deals (see ConversionReport).
//
// The report reads the conversion aggregate the write path keeps
// (crm.ReadTx.ConversionCounters) when it can answer the filter (see
// conversionCountersAnswer) and streams every deal otherwise; both give
// the same report. Stalled deals are then counted from the counters of
// the open deals by the month they entered their stage
// (crm.ReadTx.OpenStayCounts) and, for the last month, read from the
// index of those deals by the time they entered it (crm.ReadTx.OpenStays),
// as are the ones listed, without reading a deal (streaming reads every
// open deal for them). A store the
// aggregate does not account for (its cohorts do not add up to the live
// deals) is streamed until the workspace format upgrade or Check with
// Repair has built it; processes of an earlier version writing to a
// shared store meanwhile can leave it wrong without that showing, as
// Pipeline says.
func Conversion(ctx context.Context, ws *crm.Workspace, o ConversionOptions) (*ConversionReport, error) {
	return conversionReport(ctx, ws, o, true)
}

// conversionReport is Conversion, reading the conversion aggregate only
// if aggregates is true.
func conversionReport(ctx context.Context, ws *crm.Workspace, o ConversionOptions, aggregates bool) (*ConversionReport, error) {
	f := o.Filter
	loc, err := f.check("conversion report", dealGroups...)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(o.StallFactor) || math.IsInf(o.StallFactor, 0) {
		return nil, &crm.ValidationError{Kind: "conversion report", Fields: []crm.FieldError{{Field: "stall_factor", Reason: "must be a finite number"}}}
	}
	if o.StallFactor <= 0 {
		o.StallFactor = 2
	}
	if o.StalledLimit == 0 {
		o.StalledLimit = DefaultStalledLimit
	}
	c := &conversion{f: f, factor: o.StallFactor, groups: map[string]*ConversionGroup{}, times: map[stageKey]*StageTime{}}
	stalled := &stalledList{limit: o.StalledLimit}
	err = read(ctx, ws, loc, f.selection("conversion report", crm.KindDeal, dealSegmentObjects...), func(s *reportScan) error {
		if aggregates && conversionCountersAnswer(&f, s.loc) {
			done, err := c.fromCounters(s, stalled)
			if done || err != nil {
				return err
			}
			*stalled = stalledList{limit: o.StalledLimit}
		}
		return c.fromDeals(s, stalled)
	})
	if err != nil {
		return nil, err
	}
	if err := c.sum.err(); err != nil {
		return nil, err
	}
	rep := &ConversionReport{Filter: f, StallFactor: o.StallFactor, Stalled: stalled.finish(), StalledCount: stalled.count}
	for _, g := range sortedKeys(c.groups) {
		rep.Groups = append(rep.Groups, c.groups[g].finish())
	}
	for _, st := range c.times {
		st.AvgDays, st.MedianDays = Days(st.durations.mean()), Days(st.durations.median())
		rep.StageTimes = append(rep.StageTimes, *st)
	}
	slices.SortFunc(rep.StageTimes, func(a, b StageTime) int {
		// Stages removed from their pipeline (order -1) come first, by ID.
		return cmp.Or(cmp.Compare(a.PipelineID, b.PipelineID), cmp.Compare(a.order, b.order), cmp.Compare(a.StageID, b.StageID))
	})
	for i := range rep.StageTimes {
		rep.StageTimes[i].durations, rep.StageTimes[i].order = bucketStats{}, 0
	}
	return rep, nil
}

func (cg *ConversionGroup) finish() ConversionGroup {
	cg.WinRate = ratio(cg.Won, cg.Won+cg.Lost)
	cg.AvgCycleDays, cg.MedianCycleDays = Days(cg.cycles.mean()), Days(cg.cycles.median())
	cg.WonAmounts = []CurrencyAmount{}
	for _, c := range sortedKeys(cg.won) {
		cg.WonAmounts = append(cg.WonAmounts, *cg.won[c])
	}
	cg.Funnel = []FunnelStep{}
	for _, id := range sortedKeys(cg.funnel) {
		steps := cg.funnel[id]
		for i := range steps {
			if i+1 < len(steps) {
				steps[i].Conversion = ratio(steps[i+1].Reached, steps[i].Reached)
			}
		}
		cg.Funnel = append(cg.Funnel, steps...)
	}
	cg.Velocity = []Velocity{}
	currencies := map[string]bool{}
	for c := range cg.won {
		currencies[c] = true
	}
	for c := range cg.open {
		currencies[c] = true
	}
	for _, c := range sortedKeys(currencies) {
		v := Velocity{Currency: c, OpenDeals: cg.open[c]}
		if won := cg.won[c]; won != nil && won.Count > 0 {
			v.AvgWonAmount = float64(won.Amount) / float64(won.Count)
		}
		if cg.AvgCycleDays > 0 {
			v.PerDay = float64(v.OpenDeals) * v.AvgWonAmount * cg.WinRate / cg.AvgCycleDays
		}
		cg.Velocity = append(cg.Velocity, v)
	}
	// The working state stays behind: rows hold only what they show.
	out := *cg
	out.cycles, out.won, out.open, out.funnel = bucketStats{}, nil, nil, nil
	return out
}

// WriteCSV writes the report's groups as CSV, one line per group and
// currency of won deals (a group without won deals has one line with an
// empty currency).
func (r *ConversionReport) WriteCSV(w io.Writer) error {
	var rows [][]string
	for _, g := range r.Groups {
		amounts := g.WonAmounts
		if len(amounts) == 0 {
			amounts = []CurrencyAmount{{}}
		}
		for _, a := range amounts {
			rows = append(rows, []string{g.Group, itoa(g.Deals), itoa(g.Open), itoa(g.Won), itoa(g.Lost), ftoa(g.WinRate),
				a.Currency, itoa(a.Amount), ftoa(g.AvgCycleDays), ftoa(g.MedianCycleDays)})
		}
	}
	return writeCSV(w, []string{"group", "deals", "open", "won", "lost", "win_rate", "currency", "won_amount", "avg_cycle_days", "median_cycle_days"}, rows)
}

// WriteFunnelCSV writes every group's funnel as CSV.
func (r *ConversionReport) WriteFunnelCSV(w io.Writer) error {
	var rows [][]string
	for _, g := range r.Groups {
		for _, s := range g.Funnel {
			rows = append(rows, []string{g.Group, s.PipelineID, s.StageID, s.Stage, itoa(s.Entered), itoa(s.Reached), ftoa(s.Conversion)})
		}
	}
	return writeCSV(w, []string{"group", "pipeline_id", "stage_id", "stage", "entered", "reached", "conversion"}, rows)
}
