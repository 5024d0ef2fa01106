package crm

import (
	"fmt"
	"time"
)

// The pipeline report reads the pipeline aggregate (see openDealEntry)
// instead of every deal when the aggregate can answer it: no segment or
// ad-hoc filter, a grouping by owner, stage, month or quarter (or none),
// and date bounds, if any, on the first instant of a UTC month. Anything
// else (grouping by company facts, source, product or week, a bound in
// the middle of a month) streams the deals.

// openGroup is one counter pair of the pipeline aggregate: the open deals
// of one pipeline, stage, currency, owner and expected close month.
type openGroup struct {
	pipelineID, stageID, currency, ownerID string
	month                                  time.Time // zero: no expected close date
	count, amount                          int64
}

// aggregatesAnswer reports whether the pipeline aggregate can answer a
// pipeline report with filter f.
func aggregatesAnswer(f *ReportFilter) bool {
	if f.Segment != "" || f.Where != "" || f.WhereObject != "" {
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
		u := t.UTC()
		return u.Day() == 1 && u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0
	}
	return monthStart(f.From) && monthStart(f.To)
}

// openGroups reads the pipeline aggregate. It returns ok false, and
// nothing, when the aggregate does not account for every open deal of
// the workspace (a store written before it existed, until a repairing
// Check rebuilds it), so the caller must stream the deals instead.
func (s *reportScan) openGroups() (groups []openGroup, ok bool, err error) {
	sums := map[string]int64{}
	sumPrefix := s.w.countKey('d', pipeSumIndex)
	all, err := scanCounts(s.tx, s.w, sumPrefix)
	if err != nil {
		return nil, false, err
	}
	for _, c := range all {
		if c.bad != nil {
			return nil, false, fmt.Errorf("crm: corrupt counter %q", c.key)
		}
		sums[string(c.key[len(sumPrefix):])] = c.n
	}
	var total int64
	prefix := s.w.countKey('d', pipeAggIndex)
	if all, err = scanCounts(s.tx, s.w, prefix); err != nil {
		return nil, false, err
	}
	for _, c := range all {
		if c.bad != nil {
			return nil, false, fmt.Errorf("crm: corrupt counter %q", c.key)
		}
		n := c.n
		tuple := c.key[len(prefix):]
		r := keyReader{b: tuple}
		g := openGroup{pipelineID: r.str(), stageID: r.str(), currency: r.str(), ownerID: r.str(), count: n, amount: sums[string(tuple)]}
		month := r.str()
		if r.err != nil {
			return nil, false, r.err
		}
		if month != "" {
			if g.month, err = time.Parse("2006-01", month); err != nil {
				return nil, false, err
			}
		}
		total += n
		groups = append(groups, g)
	}
	open, err := readCount(s.tx, s.w, append(s.w.countKey('d', "f.status"), encodeText(string(DealOpen))...))
	if err != nil || open != total {
		return nil, false, err
	}
	return groups, true, nil
}
