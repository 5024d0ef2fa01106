package crm

import (
	"fmt"
	"time"

	"github.com/crmkit/crmkit/store/tuple"
)

// OpenDealTotal is one group of the open-deal aggregate the write path
// keeps (see openDealEntry): how many live open deals one pipeline, stage,
// currency, owner and expected close month hold, and their amounts' sum.
type OpenDealTotal struct {
	PipelineID string
	StageID    string
	Currency   string
	OwnerID    string
	// CloseMonth is the first instant (UTC) of the deals' expected close
	// month; zero for deals without an expected close date.
	CloseMonth time.Time
	Count      int64
	Amount     int64
}

// OpenDealTotals returns the open-deal aggregate, a few counters in place
// of every open deal. ok is false, with no totals, when the aggregate
// does not account for every open deal of the workspace (a store written
// before it existed, until Check with Repair rebuilds it): read the deals
// instead then.
func (rt *ReadTx) OpenDealTotals() (totals []OpenDealTotal, ok bool, err error) {
	w := rt.w
	sums := map[string]int64{}
	sumPrefix := w.countKey('d', pipeSumIndex)
	all, err := scanCounts(rt.tx, w, sumPrefix)
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
	prefix := w.countKey('d', pipeAggIndex)
	if all, err = scanCounts(rt.tx, w, prefix); err != nil {
		return nil, false, err
	}
	for _, c := range all {
		if c.bad != nil {
			return nil, false, fmt.Errorf("crm: corrupt counter %q", c.key)
		}
		tup := c.key[len(prefix):]
		r := tuple.NewReader(tup)
		g := OpenDealTotal{PipelineID: r.Str(), StageID: r.Str(), Currency: r.Str(), OwnerID: r.Str(), Count: c.n, Amount: sums[string(tup)]}
		month := r.Str()
		if r.Err() != nil {
			return nil, false, r.Err()
		}
		if month != "" {
			if g.CloseMonth, err = time.Parse("2006-01", month); err != nil {
				return nil, false, err
			}
		}
		total += c.n
		totals = append(totals, g)
	}
	open, err := readCount(rt.tx, w, append(w.countKey('d', "f.status"), encodeText(string(StatusOpen))...))
	if err != nil || open != total {
		return nil, false, err
	}
	return rt.g.dealTotals(totals)
}

// dealTotals keeps the totals of the owners g's principal may read deals
// of, with the amounts left out when they are hidden from it.
func (g *guard) dealTotals(totals []OpenDealTotal) ([]OpenDealTotal, bool, error) {
	if g == nil {
		return totals, true, nil
	}
	if err := g.check("deal", g.read); err != nil {
		return nil, false, err
	}
	hideAmount := g.checkField("deal", "amount") != nil
	kept := totals[:0]
	for _, t := range totals {
		if !g.allows("deal", g.read, t.OwnerID) {
			continue
		}
		if hideAmount {
			t.Amount = 0
		}
		kept = append(kept, t)
	}
	return kept, true, nil
}
