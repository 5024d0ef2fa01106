package crm

import (
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// DealCohort is one group of the conversion aggregate's cohort counters
// (see ConversionCounters): how many live deals share a pipeline,
// current stage, status, currency, owner, cohort month and set of
// entered stages, and their amounts' sum.
type DealCohort struct {
	PipelineID string
	StageID    string
	Status     DealStatus
	// Currency is the deals' amount's currency; NoAmount is set for deals
	// without an amount (Money.IsZero).
	Currency string
	NoAmount bool
	OwnerID  string
	// Month is the first instant (UTC) of the UTC month of the deals'
	// CohortStart.
	Month time.Time
	// Current is set when the deals' stay in StageID is in progress (the
	// last entry of their StageHistory, not left yet): those stays are
	// counted here, not in ConversionCounts.Stays.
	Current bool
	// Entered is the stages of the pipeline the deals have a recorded
	// entry in (StageHistory), sorted by ID.
	Entered []string
	Count   int64
	// Amount is the sum of the amounts of won deals (0 for others).
	Amount int64
}

// DealDurations is one bucket of one of the conversion aggregate's
// duration histograms: how many durations of deals of a pipeline, stage,
// currency, owner and cohort month fall in a bucket (DurationBucket), and
// their sum in milliseconds (each duration truncated to the
// millisecond).
type DealDurations struct {
	PipelineID string
	StageID    string
	Currency   string
	OwnerID    string
	Month      time.Time
	// Bucket is the durations' bucket; -1 counts stays still in
	// progress (Millis is 0 then).
	Bucket int64
	Count  int64
	Millis int64
}

// ConversionCounts is the conversion aggregate the write path keeps for
// every live deal (see ReadTx.ConversionCounters).
type ConversionCounts struct {
	// Cohorts counts the deals.
	Cohorts []DealCohort
	// Stays is the histogram of the stays in stages of the deals'
	// current pipelines: each entry of a deal's StageHistory in its
	// pipeline is one stay, from EnteredAt to LeftAt, bucketed; stays in
	// progress are in bucket -1, except the usual one (see
	// DealCohort.Current). StageID is the stay's stage.
	Stays []DealDurations
	// Cycles is the histogram of the won deals' cycles, from CohortStart
	// to ClosedAt. StageID is the deals' current (won) stage.
	Cycles []DealDurations
}

// ConversionCounters returns the conversion aggregate: per cohort, stage
// and owner, counters of deals, of their stays in stages and of their
// sales cycles, kept by the write path so a conversion report need not
// read every deal. ok is false, with no counters, when the aggregate
// does not account for every live deal of the workspace (a store the
// workspace format upgrade has not reached, or one damaged until Check
// with Repair rebuilds it), when a deal entered more stages than its key
// holds, or when the transaction's principal may not see every field the
// aggregate is made of (amount, owner, stage, status or history): read
// the deals instead then. Only the groups of owners the principal may
// read deals of are returned.
func (rt *ReadTx) ConversionCounters() (c ConversionCounts, ok bool, err error) {
	g := rt.g
	if g != nil {
		if err := g.check("deal", g.read); err != nil {
			return ConversionCounts{}, false, err
		}
		for _, f := range []string{"amount", "owner_id", "pipeline_id", "stage_id", "status", "stage_history", "closed_at", "created_at"} {
			if g.checkField("deal", f) != nil {
				return ConversionCounts{}, false, nil
			}
		}
	}
	w := rt.w
	allowed := func(owner string) bool { return g == nil || g.allows("deal", g.read, owner) }

	sums, err := counterMap(rt.tx, w, convSumIndex)
	if err != nil {
		return ConversionCounts{}, false, err
	}
	var total int64
	overflow := false
	err = eachCounter(rt.tx, w, convIndex, nil, func(tup []byte, n int64) error {
		r := tuple.NewReader(tup)
		dc := DealCohort{PipelineID: r.Str(), StageID: r.Str(), Status: DealStatus(r.Str()), Currency: r.Str(), NoAmount: r.Byte() == 1,
			OwnerID: r.Str(), Count: n, Amount: sums[string(tup)]}
		month := r.Str()
		dc.Current = r.Byte() == 1
		entered := r.Int()
		for range max(entered, 0) {
			dc.Entered = append(dc.Entered, r.Str())
		}
		if r.Err() != nil || len(r.Rest()) != 0 {
			return fmt.Errorf("crm: corrupt counter %q", tup)
		}
		overflow = overflow || entered < 0
		if dc.Month, err = time.Parse("2006-01", month); err != nil {
			return fmt.Errorf("crm: corrupt counter %q: %w", tup, err)
		}
		total += n
		if allowed(dc.OwnerID) {
			c.Cohorts = append(c.Cohorts, dc)
		}
		return nil
	})
	if err != nil {
		return ConversionCounts{}, false, err
	}
	live, err := readCount(rt.tx, w, w.liveCountKey(kindDeal.code))
	if err != nil || live != total || overflow {
		return ConversionCounts{}, false, err
	}
	for _, h := range []struct {
		index, sum string
		out        *[]DealDurations
	}{{convStayIndex, convStayMillis, &c.Stays}, {convCycleIndex, convCycleMilli, &c.Cycles}} {
		ms, err := counterMap(rt.tx, w, h.sum)
		if err != nil {
			return ConversionCounts{}, false, err
		}
		err = eachCounter(rt.tx, w, h.index, nil, func(tup []byte, n int64) error {
			r := tuple.NewReader(tup)
			dd := DealDurations{PipelineID: r.Str(), StageID: r.Str(), Currency: r.Str(), OwnerID: r.Str(), Count: n, Millis: ms[string(tup)]}
			month := r.Str()
			dd.Bucket = r.Int()
			if r.Err() != nil || len(r.Rest()) != 0 {
				return fmt.Errorf("crm: corrupt counter %q", tup)
			}
			if dd.Month, err = time.Parse("2006-01", month); err != nil {
				return fmt.Errorf("crm: corrupt counter %q: %w", tup, err)
			}
			if allowed(dd.OwnerID) {
				*h.out = append(*h.out, dd)
			}
			return nil
		})
		if err != nil {
			return ConversionCounts{}, false, err
		}
	}
	return c, true, nil
}

// eachCounter hands fn the tuple (the key after the index's prefix) and
// value of every counter of deal index name whose tuple starts with
// under.
func eachCounter(tx store.Reader, w *Workspace, name string, under key, fn func(tup []byte, n int64) error) error {
	prefix := w.countKey(kindDeal.code, name)
	all, err := scanCounts(tx, w, append(prefix[:len(prefix):len(prefix)], under...))
	if err != nil {
		return err
	}
	for _, c := range all {
		if c.bad != nil {
			return fmt.Errorf("crm: corrupt counter %q", c.key)
		}
		if err := fn(c.key[len(prefix):], c.n); err != nil {
			return err
		}
	}
	return nil
}

// counterMap returns the counters of deal index name by their tuples.
func counterMap(tx store.Reader, w *Workspace, name string) (map[string]int64, error) {
	out := map[string]int64{}
	err := eachCounter(tx, w, name, nil, func(tup []byte, n int64) error {
		out[string(tup)] = n
		return nil
	})
	return out, err
}

// OpenStay is an open deal's stay in its current stage, as the index of
// open deals by stage entry holds it (see ReadTx.OpenStays).
type OpenStay struct {
	DealID     string
	Name       string
	OwnerID    string
	PipelineID string
	StageID    string
	// Currency is the deal's amount's currency; NoAmount is set for a
	// deal without an amount (Money.IsZero).
	Currency    string
	NoAmount    bool
	CohortStart time.Time
	EnteredAt   time.Time
}

// OpenStays streams the stays of the live open deals whose current stage
// is stageID of pipelineID and that entered it at or after from (any time
// if from is zero) and before before, those in it longest first: the
// deals that have been in a stage for longer than some time, read from
// an index rather than from the deals. Only the deals the transaction's
// principal may read are streamed, without the fields hidden from it.
func (rt *ReadTx) OpenStays(pipelineID, stageID string, from, before time.Time) iter.Seq2[OpenStay, error] {
	return func(yield func(OpenStay, error) bool) {
		g := rt.g
		var hideName, hideOwner, hideAmount bool
		if g != nil {
			if err := g.check("deal", g.read); err != nil {
				yield(OpenStay{}, err)
				return
			}
			hideName, hideOwner = g.checkField("deal", "name") != nil, g.checkField("deal", "owner_id") != nil
			hideAmount = g.checkField("deal", "amount") != nil
		}
		prefix := rt.w.indexKey(kindDeal.code, convOpenIndex).str(pipelineID).str(stageID)
		rng := store.Range{Prefix: prefix, End: slices.Clone(prefix).time(before), KeysOnly: true}
		if !from.IsZero() {
			rng.Start = slices.Clone(prefix).time(from)
		}
		for e, err := range rt.tx.Scan(rng) {
			if err != nil {
				yield(OpenStay{}, err)
				return
			}
			r := tuple.NewReader(e.Key[len(prefix):])
			os := OpenStay{PipelineID: pipelineID, StageID: stageID, EnteredAt: r.Time(), OwnerID: r.Str(), Currency: r.Str(), NoAmount: r.Byte() == 1,
				CohortStart: r.Time(), Name: r.Str(), DealID: r.Str()}
			if r.Err() != nil || len(r.Rest()) != 0 {
				yield(OpenStay{}, fmt.Errorf("%w: %s", errBadKey, KeyString(e.Key)))
				return
			}
			if g != nil {
				if !g.allows("deal", g.read, os.OwnerID) {
					continue
				}
				if hideName {
					os.Name = ""
				}
				if hideOwner {
					os.OwnerID = ""
				}
				if hideAmount {
					os.Currency, os.NoAmount = "", true
				}
			}
			if !yield(os, nil) {
				return
			}
		}
	}
}

// OpenStayCount is one counter of the index of open deals by stage entry
// (see ReadTx.OpenStayCounts): how many live open deals of an owner, in
// a currency (or without an amount) and of a cohort month, entered their
// current stage in a month.
type OpenStayCount struct {
	PipelineID string
	StageID    string
	// Month is the first instant (UTC) of the UTC month the deals entered
	// their current stage in.
	Month    time.Time
	OwnerID  string
	Currency string
	NoAmount bool
	// CohortMonth is the first instant (UTC) of the UTC month of the
	// deals' CohortStart.
	CohortMonth time.Time
	Count       int64
}

// OpenStayCounts returns how many live open deals are in stage stageID of
// pipelineID, per month they entered it, owner, currency, whether they
// have an amount and cohort month: with OpenStays over the last month, how many have been in it
// for longer than some time, without reading each. Like
// ConversionCounters it answers only a principal that may see every field
// the counters are made of, and only the groups of owners it may read
// deals of; ok is false otherwise.
func (rt *ReadTx) OpenStayCounts(pipelineID, stageID string) (out []OpenStayCount, ok bool, err error) {
	g := rt.g
	if g != nil {
		if err := g.check("deal", g.read); err != nil {
			return nil, false, err
		}
		for _, f := range []string{"amount", "owner_id", "pipeline_id", "stage_id", "status", "stage_history", "created_at"} {
			if g.checkField("deal", f) != nil {
				return nil, false, nil
			}
		}
	}
	err = eachCounter(rt.tx, rt.w, convOpenIndex, key{}.str(pipelineID).str(stageID), func(tup []byte, n int64) error {
		r := tuple.NewReader(tup)
		oc := OpenStayCount{PipelineID: r.Str(), StageID: r.Str(), Count: n}
		month := r.Str()
		oc.OwnerID, oc.Currency, oc.NoAmount = r.Str(), r.Str(), r.Byte() == 1
		cohort := r.Str()
		if r.Err() != nil || len(r.Rest()) != 0 {
			return fmt.Errorf("crm: corrupt counter %q", tup)
		}
		var err error
		if oc.Month, err = time.Parse("2006-01", month); err != nil {
			return fmt.Errorf("crm: corrupt counter %q: %w", tup, err)
		}
		if oc.CohortMonth, err = time.Parse("2006-01", cohort); err != nil {
			return fmt.Errorf("crm: corrupt counter %q: %w", tup, err)
		}
		if g == nil || g.allows("deal", g.read, oc.OwnerID) {
			out = append(out, oc)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}
