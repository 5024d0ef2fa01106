package report

import (
	"cmp"
	"context"
	"io"
	"slices"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// lifecycleStep is a contact's lifecycle stage from a time on.
type lifecycleStep struct {
	at    time.Time
	stage string
}

// lifecycleSteps rebuilds a contact's lifecycle stages from its history:
// the stage it was created with (the old value of its first lifecycle
// change, or its current stage if it never changed), then every change.
func (s *reportScan) lifecycleSteps(c *crm.Contact, out []lifecycleStep) ([]lifecycleStep, error) {
	out = out[:0]
	first := true
	// History comes newest first: gather it, then walk it oldest first.
	s.changes = s.changes[:0]
	for ch, err := range s.rt.History(crm.Ref{Kind: crm.KindContact, ID: c.ID}) {
		if err != nil {
			return nil, err
		}
		s.changes = append(s.changes, ch)
	}
	for i := len(s.changes) - 1; i >= 0; i-- {
		ch := &s.changes[i]
		for _, fc := range ch.Fields {
			if fc.Field != "lifecycle" {
				continue
			}
			if first {
				old, _ := fc.Old.(string)
				out = append(out, lifecycleStep{c.CreatedAt, old})
				first = false
			}
			nv, _ := fc.New.(string)
			out = append(out, lifecycleStep{ch.At, nv})
		}
	}
	if first {
		out = append(out, lifecycleStep{c.CreatedAt, c.Lifecycle})
	}
	return out, nil
}

// stageAt returns the stage a contact was in at t ("" before it existed).
func stageAt(steps []lifecycleStep, t time.Time) string {
	st := ""
	for _, s := range steps {
		if s.at.After(t) {
			break
		}
		st = s.stage
	}
	return st
}

// firstAtOrAfter returns when the contact first had a stage at or after
// index min in order (and not in except), or false.
func firstAtOrAfter(steps []lifecycleStep, order []string, min int, except string) (time.Time, bool) {
	for _, s := range steps {
		if i := slices.Index(order, s.stage); i >= min && min >= 0 && s.stage != except {
			return s.at, true
		}
	}
	return time.Time{}, false
}

// LifecycleOptions selects a lead conversion or churn report. OwnerIDs
// selects contacts by owner; Segment takes a segment of contacts and
// counts only its members, and Where does the same with an ad-hoc filter
// of contacts (WhereObject empty or "contact"); GroupBy may be
// GroupOwner, GroupSource (the lead source) or a period.
// Membership is evaluated when the report runs, so a segment on the
// lifecycle stage selects by the stage contacts have now.
type LifecycleOptions struct {
	Filter
	// Lead, Opportunity, Customer and Churned name the lifecycle stages the
	// reports use; empty means "lead", "opportunity", "customer" and
	// "churned".
	Lead        string `json:"lead,omitempty"`
	Opportunity string `json:"opportunity,omitempty"`
	Customer    string `json:"customer,omitempty"`
	Churned     string `json:"churned,omitempty"`
}

func (o *LifecycleOptions) defaults() {
	o.Lead = cmp.Or(o.Lead, "lead")
	o.Opportunity = cmp.Or(o.Opportunity, "opportunity")
	o.Customer = cmp.Or(o.Customer, "customer")
	o.Churned = cmp.Or(o.Churned, "churned")
}

var lifecycleGroups = []Group{GroupOwner, GroupSource, GroupWeek, GroupMonth, GroupQuarter}

func (s *reportScan) contactGroup(g Group, c *crm.Contact, at time.Time) string {
	switch g {
	case GroupOwner:
		return c.OwnerID
	case GroupSource:
		return c.LeadSource
	}
	if isPeriod(g) {
		return PeriodLabel(g, at.In(s.loc))
	}
	return ""
}

// LeadConversionReport is lead-to-opportunity conversion from lifecycle
// changes, per group.
type LeadConversionReport struct {
	Options LifecycleOptions    `json:"options"`
	Rows    []LeadConversionRow `json:"rows"`
}

// LeadConversionRow is one group's lead conversion. Leads counts the live
// contacts that first reached the lead stage or a later one (in the
// workspace's lifecycle order, not counting the churned stage) in [From,
// To); period groups use that date. Converted counts those of them that
// have since reached the opportunity stage or a later one (skipping
// stages counts; so does starting past it). Rate is Converted ÷ Leads;
// AvgDays and MedianDays measure lead to opportunity for converted leads.
type LeadConversionRow struct {
	Group      string  `json:"group"`
	Leads      int64   `json:"leads"`
	Converted  int64   `json:"converted"`
	Rate       float64 `json:"rate"`
	AvgDays    float64 `json:"avg_days"`
	MedianDays float64 `json:"median_days"`
	days       durationStats
}

// LeadConversion reports lead-to-opportunity conversion (see
// LeadConversionRow).
func LeadConversion(ctx context.Context, ws *crm.Workspace, o LifecycleOptions) (*LeadConversionReport, error) {
	o.defaults()
	loc, err := o.check("lead conversion report", lifecycleGroups...)
	if err != nil {
		return nil, err
	}
	order := ws.Info().LifecycleStages
	rows := map[string]*LeadConversionRow{}
	err = read(ctx, ws, loc, o.selection("lead conversion report", crm.KindContact, contactSegmentObjects...), func(s *reportScan) error {
		var steps []lifecycleStep
		return each(s.rt.Contacts(), func(c *crm.Contact) error {
			if !o.owner(c.OwnerID) || !s.contactIn(c) {
				return nil
			}
			var err error
			if steps, err = s.lifecycleSteps(c, steps); err != nil {
				return err
			}
			lead, ok := firstAtOrAfter(steps, order, slices.Index(order, o.Lead), o.Churned)
			if !ok || !o.in(lead) {
				return nil
			}
			g := s.contactGroup(o.GroupBy, c, lead)
			r := rows[g]
			if r == nil {
				r = &LeadConversionRow{Group: g}
				rows[g] = r
			}
			r.Leads++
			if opp, ok := firstAtOrAfter(steps, order, slices.Index(order, o.Opportunity), o.Churned); ok {
				r.Converted++
				r.days.add(opp.Sub(lead))
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	rep := &LeadConversionReport{Options: o, Rows: []LeadConversionRow{}}
	for _, g := range sortedKeys(rows) {
		r := rows[g]
		r.Rate = ratio(r.Converted, r.Leads)
		r.AvgDays, r.MedianDays = Days(r.days.mean()), Days(r.days.median())
		r.days = durationStats{}
		rep.Rows = append(rep.Rows, *r)
	}
	return rep, nil
}

// WriteCSV writes the report as CSV.
func (r *LeadConversionReport) WriteCSV(w io.Writer) error {
	rows := make([][]string, len(r.Rows))
	for i, x := range r.Rows {
		rows[i] = []string{x.Group, itoa(x.Leads), itoa(x.Converted), ftoa(x.Rate), ftoa(x.AvgDays), ftoa(x.MedianDays)}
	}
	return writeCSV(w, []string{"group", "leads", "converted", "rate", "avg_days", "median_days"}, rows)
}

// ChurnReport is customer churn and retention over a period, per group.
type ChurnReport struct {
	Options LifecycleOptions `json:"options"`
	Rows    []ChurnRow       `json:"rows"`
}

// ChurnRow is one group's churn over [From, To). A contact is a customer
// at a time when its lifecycle stage then is the customer stage or a later
// one other than the churned stage. AtStart counts the live contacts that
// were customers at From; Churned those of them that entered the churned
// stage before To (and whether they came back later does not matter);
// New the contacts that were not customers at From and became customers
// in [From, To); AtEnd the customers at To. ChurnRate is Churned ÷ AtStart and
// Retention 1 - ChurnRate (both 0 with no customer at the start).
type ChurnRow struct {
	Group     string  `json:"group"`
	AtStart   int64   `json:"at_start"`
	New       int64   `json:"new"`
	Churned   int64   `json:"churned"`
	AtEnd     int64   `json:"at_end"`
	ChurnRate float64 `json:"churn_rate"`
	Retention float64 `json:"retention"`
}

// Churn reports churn and retention over a period (From and To are
// required; see ChurnRow). Period groups are not allowed.
func Churn(ctx context.Context, ws *crm.Workspace, o LifecycleOptions) (*ChurnReport, error) {
	o.defaults()
	loc, err := o.check("churn report", GroupOwner, GroupSource)
	if err != nil {
		return nil, err
	}
	if o.From.IsZero() || o.To.IsZero() {
		p := &crm.ValidationError{Kind: "churn report"}
		p.Add("from", "churn needs a period: set from and to")
		return nil, p.Err()
	}
	order := ws.Info().LifecycleStages
	cust := slices.Index(order, o.Customer)
	isCustomer := func(st string) bool {
		i := slices.Index(order, st)
		return cust >= 0 && i >= cust && st != o.Churned
	}
	rows := map[string]*ChurnRow{}
	err = read(ctx, ws, loc, o.selection("churn report", crm.KindContact, contactSegmentObjects...), func(s *reportScan) error {
		var steps []lifecycleStep
		return each(s.rt.Contacts(), func(c *crm.Contact) error {
			if !o.owner(c.OwnerID) || !s.contactIn(c) {
				return nil
			}
			var err error
			if steps, err = s.lifecycleSteps(c, steps); err != nil {
				return err
			}
			start := isCustomer(stageAt(steps, o.From)) && !c.CreatedAt.After(o.From)
			var churned, became bool
			for _, st := range steps {
				if !o.in(st.at) {
					continue
				}
				churned = churned || (start && st.stage == o.Churned)
				became = became || (!start && isCustomer(st.stage))
			}
			end := isCustomer(stageAt(steps, o.To.Add(-time.Nanosecond)))
			if !start && !became && !end {
				return nil
			}
			g := s.contactGroup(o.GroupBy, c, time.Time{})
			r := rows[g]
			if r == nil {
				r = &ChurnRow{Group: g}
				rows[g] = r
			}
			r.AtStart += b2i(start)
			r.Churned += b2i(churned)
			r.New += b2i(became)
			r.AtEnd += b2i(end)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	rep := &ChurnReport{Options: o, Rows: []ChurnRow{}}
	for _, g := range sortedKeys(rows) {
		r := rows[g]
		r.ChurnRate = ratio(r.Churned, r.AtStart)
		if r.AtStart > 0 {
			r.Retention = 1 - r.ChurnRate
		}
		rep.Rows = append(rep.Rows, *r)
	}
	return rep, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// WriteCSV writes the report as CSV.
func (r *ChurnReport) WriteCSV(w io.Writer) error {
	rows := make([][]string, len(r.Rows))
	for i, x := range r.Rows {
		rows[i] = []string{x.Group, itoa(x.AtStart), itoa(x.New), itoa(x.Churned), itoa(x.AtEnd), ftoa(x.ChurnRate), ftoa(x.Retention)}
	}
	return writeCSV(w, []string{"group", "at_start", "new", "churned", "at_end", "churn_rate", "retention"}, rows)
}
