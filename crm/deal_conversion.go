package crm

import (
	"slices"
	"time"
)

// The conversion aggregate: counters the write path keeps, in the
// transaction of every deal write, so the conversion report (funnel, win
// rate, cycle lengths, time in stage) reads a few thousand counters
// instead of every deal and its stage history. Like the pipeline
// aggregate (openDealEntry), every counter is fed by index entries of the
// deal, whose keys hold everything the counters sum: an entry appears and
// goes with what it counts, and the counters follow by deltas, so writers
// of one workspace never contend for a key.
//
// Every live deal has
//
//   - one cohort entry, "conv": per pipeline, current stage, status,
//     currency, owner, cohort month (the UTC month of its first stage
//     entry), whether its stay in the current stage is in progress and
//     the set of the pipeline's stages it entered, a count, and for won
//     deals a sum of the amounts;
//   - one stay entry per other stage entry of its current pipeline,
//     "conv.stay": per pipeline, stage, currency, owner, cohort month and
//     the duration's bucket (DurationBucket; -1 for a stay in progress
//     that is not the current one, which only an imported history can
//     have), a count and a sum of the durations in milliseconds;
//   - if won, one cycle entry, "conv.cycle": per pipeline, stage,
//     currency, owner, cohort month and bucket of the time from its first
//     stage entry to its close, a count and a sum of milliseconds;
//   - if open, one entry in the "conv.since" index: its pipeline, stage
//     and when it entered it, then its owner, currency, cohort start and
//     name, so the deals in a stage for longer than some time are a range
//     that holds what a report lists of them (ReadTx.OpenStays); and its
//     counter, per pipeline, stage, UTC month of that entry, owner,
//     currency, whether it has no amount and cohort month, so how many there are is a sum of a few
//     counters and a scan of one month at most (ReadTx.OpenStayCounts).
//     Workspace format 5 moved these entries from "conv.open", which had
//     no counter.

// The names of the conversion aggregate's indexes and counters.
const (
	convIndex      = "conv"
	convSumIndex   = "conv.sum"
	convStayIndex  = "conv.stay"
	convStayMillis = "conv.stay.ms"
	convCycleIndex = "conv.cycle"
	convCycleMilli = "conv.cycle.ms"
	convOpenIndex  = "conv.since"
	// convOpenIndexV3 is the uncounted index of open deals by stage entry
	// of formats 3 and 4.
	convOpenIndexV3 = "conv.open"
)

// maxEnteredKey bounds the encoded set of entered stages in a cohort key
// (a store key is at most 2 KiB). A deal that entered more stages than
// fit is counted under an empty set with overflow, and the aggregate does
// not answer (see ReadTx.ConversionCounters).
const maxEnteredKey = 1200

// Duration buckets. The conversion aggregate counts durations (stays in a
// stage, sales cycles) in buckets: by the hour below one day (buckets 0
// to 23), by the day below 366 days (bucket 23+d for d whole days), and
// by 30 days beyond. A median read from the buckets is exact to the
// bucket's width: DurationBucketStart of the bucket the median falls in.
const (
	hourBuckets = 24
	dayBuckets  = 366
	longBucket  = 30 // days
)

// DurationBucket returns the bucket of the conversion aggregate's
// histograms that d falls in (0 for negative durations).
func DurationBucket(d time.Duration) int64 {
	if d < 0 {
		return 0
	}
	if h := int64(d / time.Hour); h < hourBuckets {
		return h
	}
	days := int64(d / (24 * time.Hour))
	if days < dayBuckets {
		return hourBuckets - 1 + days
	}
	return hourBuckets - 1 + dayBuckets + (days-dayBuckets)/longBucket
}

// DurationBucketStart returns the shortest duration in bucket b: what a
// duration of the bucket counts as.
func DurationBucketStart(b int64) time.Duration {
	const day = 24 * time.Hour
	switch {
	case b < 0:
		return 0
	case b < hourBuckets:
		return time.Duration(b) * time.Hour
	case b < hourBuckets-1+dayBuckets:
		return time.Duration(b-hourBuckets+1) * day
	}
	return time.Duration(dayBuckets+(b-hourBuckets+1-dayBuckets)*longBucket) * day
}

// CohortStart is when a deal entered its first stage: the start of its
// sales cycle and what places it in a cohort (its creation time for a
// deal without a recorded stage entry).
func CohortStart(d *Deal) time.Time {
	if len(d.StageHistory) > 0 {
		return d.StageHistory[0].EnteredAt
	}
	return d.CreatedAt
}

// cohortMonth is the UTC month of t as "2026-05".
func cohortMonth(t time.Time) string { return t.UTC().Format("2006-01") }

// conversionEntries appends a live deal's entries in the conversion
// aggregate.
func conversionEntries(w *Workspace, d *Deal, ix []indexEntry) []indexEntry {
	start := CohortStart(d)
	month := cohortMonth(start)
	zero := byte(0)
	if d.Amount.IsZero() {
		zero = 1
	}
	var entered []string
	for _, e := range d.StageHistory {
		if e.PipelineID == d.PipelineID && !slices.Contains(entered, e.StageID) {
			entered = append(entered, e.StageID)
		}
	}
	slices.Sort(entered)
	set := key{}.int(int64(len(entered)))
	for _, s := range entered {
		set = set.str(s)
	}
	if len(set) > maxEnteredKey {
		set = key{}.int(-1)
	}
	// The usual stay in progress, the last of the history in the deal's
	// stage, is counted with the cohort (one entry fewer for every move);
	// any other (a history imported so) has a stay entry in bucket -1.
	h := d.StageHistory
	current := byte(0)
	if n := len(h); n > 0 && h[n-1].PipelineID == d.PipelineID && h[n-1].StageID == d.StageID && h[n-1].LeftAt.IsZero() {
		current = 1
	}
	cohort := key{}.str(d.PipelineID).str(d.StageID).str(string(d.Status)).str(d.Amount.Currency).byte(zero).str(d.OwnerID).str(month).byte(current)
	cohort = append(cohort, set...)
	if d.Status == StatusWon {
		ix = append(ix, countedEntry(w, "stage_history", convIndex, convSumIndex, cohort, key{}.int(d.Amount.Amount), d.ID, d.Amount.Amount))
	} else {
		ix = append(ix, countedEntry(w, "stage_history", convIndex, "", cohort, nil, d.ID, 0))
	}

	dims := key{}.str(d.PipelineID)
	rest := key{}.str(d.Amount.Currency).str(d.OwnerID).str(month)
	for i, e := range h {
		if e.PipelineID != d.PipelineID || current == 1 && i == len(h)-1 {
			continue
		}
		at := append(slices.Clone(dims).str(e.StageID), rest...)
		if e.LeftAt.IsZero() {
			ix = append(ix, countedEntry(w, "stage_history", convStayIndex, "", at.int(-1), key{}.int(int64(i)), d.ID, 0))
			continue
		}
		dur := e.LeftAt.Sub(e.EnteredAt)
		ms := dur.Milliseconds()
		ix = append(ix, countedEntry(w, "stage_history", convStayIndex, convStayMillis, at.int(DurationBucket(dur)), key{}.int(int64(i)).int(ms), d.ID, ms))
	}
	switch d.Status {
	case StatusWon:
		dur := d.ClosedAt.Sub(start)
		ms := dur.Milliseconds()
		at := append(slices.Clone(dims).str(d.StageID), rest...).int(DurationBucket(dur))
		ix = append(ix, countedEntry(w, "closed_at", convCycleIndex, convCycleMilli, at, key{}.int(ms), d.ID, ms))
	case StatusOpen:
		if e, ok := openStayEntry(w, convOpenIndex, d); ok {
			ix = append(ix, e)
		}
	}
	return ix
}

// openStayEntry returns the entry of open deal d in index (convOpenIndex,
// or convOpenIndexV3 for the key format 4 wrote), if it has a stage
// entry: its key is the pipeline, stage and time of the last one, the
// owner, currency, whether it has no amount, its cohort start and name;
// its counter (convOpenIndex only) holds the pipeline, stage and the
// month of that time, the owner, currency, no-amount flag and cohort
// month.
func openStayEntry(w *Workspace, index string, d *Deal) (indexEntry, bool) {
	n := len(d.StageHistory)
	if n == 0 {
		return indexEntry{}, false
	}
	cur, start := d.StageHistory[n-1], CohortStart(d)
	zero := byte(0)
	if d.Amount.IsZero() {
		zero = 1
	}
	k := w.indexKey('d', index).str(cur.PipelineID).str(cur.StageID).time(cur.EnteredAt).
		str(d.OwnerID).str(d.Amount.Currency).byte(zero).time(start).str(d.Name)
	e := plainEntry("stage_history", k, d.ID)
	if index == convOpenIndex {
		e.count = w.countKey('d', index).str(cur.PipelineID).str(cur.StageID).str(cohortMonth(cur.EnteredAt)).
			str(d.OwnerID).str(d.Amount.Currency).byte(zero).str(cohortMonth(start))
	}
	return e, true
}

// countedEntry is an index entry of deal id that adds one to the counter
// index+tuple and, if sumIndex is set, amount to the counter
// sumIndex+tuple; its key is index+tuple+suffix+id, so suffix must hold
// amount (a changed amount then replaces the entry).
func countedEntry(w *Workspace, field, index, sumIndex string, tuple, suffix key, id string, amount int64) indexEntry {
	k := append(append(w.indexKey('d', index), tuple...), suffix...)
	e := plainEntry(field, k, id)
	e.count = append(w.countKey('d', index), tuple...)
	if sumIndex != "" {
		e.sum = append(w.countKey('d', sumIndex), tuple...)
		e.amount = amount
	}
	return e
}
