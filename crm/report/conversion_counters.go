package report

import (
	"math"
	"slices"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// The conversion report reads the conversion aggregate instead of every
// deal when the aggregate can answer it. The aggregate counts deals per
// pipeline, stage, currency, owner and cohort month (the UTC month of a
// deal's first stage entry), so it answers a Filter with
//
//   - PipelineID, OwnerIDs and Currency, whatever they are;
//   - From and To zero or on the first instant of a month in UTC;
//   - GroupBy none, owner or stage, or month or quarter when the report's
//     time zone is UTC.
//
// Anything else streams the deals: a Segment, a Where (and WhereObject),
// a grouping by source, industry, region, product, week or a custom
// field, a month or quarter grouping in another time zone, or a bound
// within a month.

// conversionCountersAnswer reports whether the conversion aggregate
// (crm.ReadTx.ConversionCounters) can answer a conversion report with
// filter f in time zone loc.
func conversionCountersAnswer(f *Filter, loc *time.Location) bool {
	if f.Segment != "" || f.Where != "" || !f.WhereObject.IsZero() {
		return false
	}
	utc := loc == time.UTC || loc.String() == "UTC" || loc.String() == "Etc/UTC"
	switch f.GroupBy {
	case GroupNone, GroupOwner, GroupStage:
	case GroupMonth, GroupQuarter:
		if !utc {
			return false
		}
	default:
		return false
	}
	monthStart := func(t time.Time) bool {
		if t.IsZero() {
			return true
		}
		u := t.UTC()
		return u.Day() == 1 && u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0
	}
	return monthStart(f.From) && monthStart(f.To)
}

// fromCounters computes the report from the conversion aggregate, then
// counts the stalled deals from the counters of open deals by the month
// they entered their stage and reads those it lists from the index of
// open deals by the time they entered it. done is false when the
// aggregate cannot answer (see crm.ReadTx.ConversionCounters): stream the
// deals then.
func (c *conversion) fromCounters(s *reportScan, stalled *stalledList) (done bool, err error) {
	counts, ok, err := s.rt.ConversionCounters()
	if err != nil || !ok {
		return false, err
	}
	// Amounts are never negative: a negative sum is a counter that
	// wrapped, and the deals are summed with checks instead.
	if slices.ContainsFunc(counts.Cohorts, func(dc crm.DealCohort) bool { return dc.Amount < 0 }) {
		return false, nil
	}
	f := &c.f
	// selects reports whether the deals of a group of counters are in the
	// report's cohort.
	selects := func(pipelineID, ownerID, currency string, month time.Time) bool {
		return (f.PipelineID == "" || pipelineID == f.PipelineID) && f.owner(ownerID) &&
			f.currency(crm.Money{Currency: currency}) && f.in(month)
	}
	groupOf := func(pipelineID, stageID, ownerID string, month time.Time) (string, error) {
		d := crm.Deal{PipelineID: pipelineID, StageID: stageID, OwnerID: ownerID}
		return s.dealGroup(f.GroupBy, &d, month)
	}
	for _, dc := range counts.Cohorts {
		if !selects(dc.PipelineID, dc.OwnerID, dc.Currency, dc.Month) {
			continue
		}
		g, err := groupOf(dc.PipelineID, dc.StageID, dc.OwnerID, dc.Month)
		if err != nil {
			return false, err
		}
		pl, err := s.pipeline(dc.PipelineID)
		if err != nil {
			return false, err
		}
		entered := func(stageID string) bool { return slices.Contains(dc.Entered, stageID) }
		c.cohort(g, pl, dc.Status, dc.Currency, !dc.NoAmount, entered, dc.Count, dc.Amount)
		if dc.Current {
			c.stay(pl, dc.StageID, -1, dc.Count, 0)
		}
	}
	for _, dd := range counts.Cycles {
		if !selects(dd.PipelineID, dd.OwnerID, dd.Currency, dd.Month) {
			continue
		}
		g, err := groupOf(dd.PipelineID, dd.StageID, dd.OwnerID, dd.Month)
		if err != nil {
			return false, err
		}
		c.group(g).cycles.addCount(dd.Bucket, dd.Count, dd.Millis)
	}
	for _, dd := range counts.Stays {
		if !selects(dd.PipelineID, dd.OwnerID, dd.Currency, dd.Month) {
			continue
		}
		pl, err := s.pipeline(dd.PipelineID)
		if err != nil {
			return false, err
		}
		c.stay(pl, dd.StageID, dd.Bucket, dd.Count, dd.Millis)
	}

	// Stalled deals: per stage with a median, the open deals that entered
	// it before now - the factor × the median (a nanosecond of margin for
	// the rounding; each is then judged as the stream judges it). Those
	// that entered it in a month that ended a second or more before that
	// time are counted from the counters and only the longest stalled of
	// them are read, from the index of open deals by stage entry; those of
	// the month after are all read from it. The stages are those of the
	// cohort's deals' pipelines, so PipelineID is already applied.
	medians := c.medians()
	now := s.rt.Now()
	for k, m := range medians {
		limit := c.factor * float64(m)
		if m <= 0 || limit >= math.MaxInt64 {
			continue
		}
		before := now.Add(-time.Duration(limit)).Add(time.Nanosecond)
		cut := utcMonth(before.Add(-time.Second))
		opens, ok, err := s.rt.OpenStayCounts(k.pipeline, k.stage)
		if err != nil {
			return false, err
		}
		if !ok {
			cut = time.Time{}
		}
		for _, oc := range opens {
			if oc.Month.Before(cut) && f.owner(oc.OwnerID) && f.currency(crm.Money{Currency: oc.Currency}) && f.in(oc.CohortMonth) {
				stalled.count += oc.Count
			}
		}
		// judge hands keep the stalled deals of the cohort that entered
		// the stage in [from, before), longest stalled first, until keep
		// returns false.
		judge := func(from, before time.Time, keep func(sd stalledDeal, entered time.Time) bool) error {
			for os, err := range s.rt.OpenStays(k.pipeline, k.stage, from, before) {
				if err != nil {
					return err
				}
				if !f.owner(os.OwnerID) || !f.currency(crm.Money{Currency: os.Currency}) {
					continue
				}
				sd, ok, err := c.stalled(s, os, medians)
				if err != nil {
					return err
				}
				if ok && !keep(sd, os.EnteredAt) {
					return nil
				}
			}
			return nil
		}
		// The longest stalled of the counted ones, up to the limit and
		// any more that entered the stage at the same time as the last.
		if !cut.IsZero() {
			var kept int
			var last time.Time
			err := judge(time.Time{}, cut, func(sd stalledDeal, entered time.Time) bool {
				if stalled.limit >= 0 && kept >= stalled.limit && !entered.Equal(last) {
					return false
				}
				stalled.keep(sd)
				kept, last = kept+1, entered
				return true
			})
			if err != nil {
				return false, err
			}
		}
		err = judge(cut, before, func(sd stalledDeal, _ time.Time) bool {
			stalled.add(sd)
			return true
		})
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// utcMonth is the first instant (UTC) of t's UTC month.
func utcMonth(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
}
