package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// How the conversion report counts: one deal at a time when it streams the
// deals, a group of deals at a time when it reads the conversion
// aggregate; both add to the same conversion through cohort, stay and the
// groups' cycles.

// conversion is one conversion report being computed.
type conversion struct {
	f      Filter
	factor float64
	groups map[string]*ConversionGroup
	times  map[stageKey]*StageTime
	sum    sums
}

type stageKey struct{ pipeline, stage string }

// fromDeals streams the deals of the cohort into the report, then again
// for the stalled ones.
func (c *conversion) fromDeals(s *reportScan, stalled *stalledList) error {
	f := &c.f
	err := s.deals(f, func(d *crm.Deal) error {
		start := crm.CohortStart(d)
		if !f.in(start) {
			return nil
		}
		g, err := s.dealGroup(f.GroupBy, d, start)
		if err != nil {
			return err
		}
		pl, err := s.pipeline(d.PipelineID)
		if err != nil {
			return err
		}
		entered := func(stageID string) bool {
			return slices.ContainsFunc(d.StageHistory, func(e crm.StageEntry) bool { return e.PipelineID == pl.ID && e.StageID == stageID })
		}
		c.cohort(g, pl, d.Status, d.Amount.Currency, !d.Amount.IsZero(), entered, 1, d.Amount.Amount)
		if d.Status == crm.StatusWon {
			dur := d.ClosedAt.Sub(start)
			c.group(g).cycles.addCount(crm.DurationBucket(dur), 1, dur.Milliseconds())
		}
		for _, e := range d.StageHistory {
			if e.PipelineID != pl.ID {
				continue
			}
			if e.LeftAt.IsZero() {
				c.stay(pl, e.StageID, -1, 1, 0)
			} else {
				dur := e.LeftAt.Sub(e.EnteredAt)
				c.stay(pl, e.StageID, crm.DurationBucket(dur), 1, dur.Milliseconds())
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	medians := c.medians()
	// Second pass: the open deals that stay longer than the factor ×
	// their stage's median.
	return s.deals(f, func(d *crm.Deal) error {
		if d.Status != crm.StatusOpen || len(d.StageHistory) == 0 {
			return nil
		}
		cur := d.StageHistory[len(d.StageHistory)-1]
		os := crm.OpenStay{DealID: d.ID, Name: d.Name, OwnerID: d.OwnerID, PipelineID: cur.PipelineID, StageID: cur.StageID,
			CohortStart: crm.CohortStart(d), EnteredAt: cur.EnteredAt}
		sd, ok, err := c.stalled(s, os, medians)
		if ok {
			stalled.add(sd)
		}
		return err
	})
}

// medians returns the median completed stay of every stage.
func (c *conversion) medians() map[stageKey]time.Duration {
	medians := map[stageKey]time.Duration{}
	for k, st := range c.times {
		medians[k] = st.durations.median()
	}
	return medians
}

// stalled returns the open deal of stay os as a stalled deal, if it is in
// the cohort and has been in its stage longer than the factor × the
// stage's median.
func (c *conversion) stalled(s *reportScan, os crm.OpenStay, medians map[stageKey]time.Duration) (stalledDeal, bool, error) {
	if !c.f.in(os.CohortStart) {
		return stalledDeal{}, false, nil
	}
	now := s.rt.Now()
	m, ok := medians[stageKey{os.PipelineID, os.StageID}]
	since := now.Sub(os.EnteredAt)
	if !ok || m <= 0 || float64(since) <= c.factor*float64(m) {
		return stalledDeal{}, false, nil
	}
	pl, err := s.pipeline(os.PipelineID)
	if err != nil {
		return stalledDeal{}, false, err
	}
	st, _ := pl.Stage(os.StageID)
	return stalledDeal{StalledDeal: StalledDeal{DealID: os.DealID, Name: os.Name, OwnerID: os.OwnerID, StageID: st.ID, Stage: st.Name,
		Days: Days(since), MedianDays: Days(m)}, since: since}, true, nil
}

// stalledList collects a report's stalled deals: it counts every one it
// is given and keeps those it will list.
type stalledList struct {
	limit int // < 0: no limit
	count int64
	deals []stalledDeal
}

// stalledDeal is a stalled deal and how long it has been in its stage,
// which orders the list exactly (Days is rounded).
type stalledDeal struct {
	StalledDeal
	since time.Duration
}

// add counts d and keeps it (see keep).
func (l *stalledList) add(d stalledDeal) {
	l.count++
	l.keep(d)
}

// keep keeps d among the deals to list, without counting it: the list
// holds at most twice its limit and 64 more.
func (l *stalledList) keep(d stalledDeal) {
	l.deals = append(l.deals, d)
	if l.limit >= 0 && len(l.deals) > 2*l.limit+64 {
		l.cut()
	}
}

// cut orders the deals, those stalled longest first, then by ID, and
// drops those past the limit.
func (l *stalledList) cut() {
	slices.SortFunc(l.deals, func(a, b stalledDeal) int {
		return cmp.Or(cmp.Compare(b.since, a.since), cmp.Compare(a.DealID, b.DealID))
	})
	if l.limit >= 0 && len(l.deals) > l.limit {
		l.deals = l.deals[:l.limit]
	}
}

// finish returns the deals to list: the limit stalled longest, by how
// long, then by ID.
func (l *stalledList) finish() []StalledDeal {
	l.cut()
	out := make([]StalledDeal, len(l.deals))
	for i, d := range l.deals {
		out[i] = d.StalledDeal
	}
	return out
}

// group returns group g of the report, made on first use.
func (c *conversion) group(g string) *ConversionGroup {
	cg := c.groups[g]
	if cg == nil {
		cg = &ConversionGroup{Group: g, won: map[string]*CurrencyAmount{}, open: map[string]int64{}, funnel: map[string][]FunnelStep{}}
		c.groups[g] = cg
	}
	return cg
}

// cohort adds n deals of group g in pipeline pl, of one status and
// currency (hasAmount unless their amounts are zero Money), worth amount
// together, that entered the stages entered says.
func (c *conversion) cohort(g string, pl *crm.Pipeline, status crm.DealStatus, currency string, hasAmount bool, entered func(stageID string) bool, n, amount int64) {
	cg := c.group(g)
	cg.Deals += n
	switch status {
	case crm.StatusOpen:
		cg.Open += n
		if hasAmount {
			cg.open[currency] += n
		}
	case crm.StatusWon:
		cg.Won += n
		ca := cg.won[currency]
		if ca == nil {
			ca = &CurrencyAmount{Currency: currency}
			cg.won[currency] = ca
		}
		ca.Count += n
		c.sum.add(&ca.Amount, amount)
	case crm.StatusLost:
		cg.Lost += n
	}
	countFunnel(cg, pl, entered, n)
}

// stay adds n stays in stage stageID of pipeline pl, in a duration bucket
// (-1: stays in progress), lasting ms milliseconds together.
func (c *conversion) stay(pl *crm.Pipeline, stageID string, bucket, n, ms int64) {
	k := stageKey{pl.ID, stageID}
	st := c.times[k]
	if st == nil {
		s, _ := pl.Stage(stageID)
		st = &StageTime{PipelineID: pl.ID, StageID: stageID, Stage: s.Name, order: slices.IndexFunc(pl.Stages, func(x crm.Stage) bool { return x.ID == stageID })}
		c.times[k] = st
	}
	if bucket < 0 {
		st.Current += n
		return
	}
	st.Stays += n
	st.durations.addCount(bucket, n, ms)
}

// countFunnel adds n deals that entered the stages entered says to their
// group's funnel.
func countFunnel(cg *ConversionGroup, pl *crm.Pipeline, entered func(stageID string) bool, n int64) {
	steps := cg.funnel[pl.ID]
	if steps == nil {
		for _, st := range pl.Stages {
			if st.Kind != crm.StageLost {
				steps = append(steps, FunnelStep{PipelineID: pl.ID, StageID: st.ID, Stage: st.Name})
			}
		}
		cg.funnel[pl.ID] = steps
	}
	furthest := -1
	for i := range steps {
		if entered(steps[i].StageID) {
			steps[i].Entered += n
			furthest = i
		}
	}
	for i := 0; i <= furthest; i++ {
		steps[i].Reached += n
	}
}

// bucketStats is the count, mean and median of a set of durations, kept
// as a histogram of crm.DurationBucket buckets and a sum of milliseconds,
// as the conversion aggregate keeps them: the mean is exact to the
// millisecond, the median is that of the durations each counted as the
// start of its bucket (crm.DurationBucketStart), and the median of an
// even count is the mean of the middle two.
type bucketStats struct {
	n, ms   int64
	buckets map[int64]int64
}

// addCount adds n durations in bucket b, lasting ms milliseconds
// together.
func (d *bucketStats) addCount(b, n, ms int64) {
	if d.buckets == nil {
		d.buckets = map[int64]int64{}
	}
	d.buckets[b] += n
	d.n += n
	d.ms += ms
}

func (d *bucketStats) mean() time.Duration {
	if d.n == 0 {
		return 0
	}
	return time.Duration(float64(d.ms) / float64(d.n) * float64(time.Millisecond))
}

func (d *bucketStats) median() time.Duration {
	if d.n == 0 {
		return 0
	}
	keys := make([]int64, 0, len(d.buckets))
	for b := range d.buckets {
		keys = append(keys, b)
	}
	slices.Sort(keys)
	// at returns the bucket start of the i-th smallest duration.
	at := func(i int64) time.Duration {
		for _, b := range keys {
			if i < d.buckets[b] {
				return crm.DurationBucketStart(b)
			}
			i -= d.buckets[b]
		}
		return 0
	}
	if d.n%2 == 1 {
		return at(d.n / 2)
	}
	return (at(d.n/2-1) + at(d.n/2)) / 2
}
