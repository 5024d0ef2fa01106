package report

import (
	"cmp"
	"context"
	"io"
	"slices"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// OperationsReport is how the team uses the CRM: activity volume, ticket
// resolution, overdue tasks and adoption. OwnerIDs selects activities by
// owner (tasks by assignee, falling back to the owner) and changes by
// actor. GroupBy may be GroupOwner (the default) or a period; it groups
// activity volume and ticket resolution, while adoption is always per
// period (GroupMonth unless GroupBy names another period). A Segment of
// any kind (or Where, with WhereObject) keeps the activities linked to a
// member (through ContactIDs, CompanyIDs or DealIDs, by the segment's
// kind) and, for adoption, the changes made to a member.
type OperationsReport struct {
	Filter     Filter           `json:"filter"`
	Activities []ActivityVolume `json:"activities"`
	Tickets    []TicketTimes    `json:"tickets"`
	Overdue    []OverdueTasks   `json:"overdue"`
	Adoption   []Adoption       `json:"adoption"`
}

// ActivityVolume counts the live activities of one type in one group that
// happened (OccurredAt) in [From, To).
type ActivityVolume struct {
	Group string           `json:"group"`
	Type  crm.ActivityType `json:"type"`
	Count int64            `json:"count"`
}

// TicketTimes is one group's tickets resolved (ResolvedAt) in [From, To):
// how many, and the mean and median hours from opening to resolution. A
// reopened ticket is measured from its reopening. Open counts the group's
// live tickets still unresolved now, whatever their dates.
type TicketTimes struct {
	Group       string  `json:"group"`
	Resolved    int64   `json:"resolved"`
	AvgHours    float64 `json:"avg_hours"`
	MedianHours float64 `json:"median_hours"`
	Open        int64   `json:"open"`
	hours       durationStats
}

// OverdueTasks is one assignee's open tasks due before now (the CRM's
// clock): how many, and the earliest due date among them.
type OverdueTasks struct {
	Assignee    string    `json:"assignee"`
	Count       int64     `json:"count"`
	OldestDueAt time.Time `json:"oldest_due_at"`
}

// Adoption is one period's use of the CRM, from the history of changes
// made in [From, To): ActiveUsers counts the distinct actors that made at
// least one change (changes without an actor are left out), Updates
// counts their changes, PerUser is Updates ÷ ActiveUsers.
type Adoption struct {
	Period      string  `json:"period"`
	ActiveUsers int64   `json:"active_users"`
	Updates     int64   `json:"updates"`
	PerUser     float64 `json:"per_user"`
	actors      map[string]bool
}

// Operations reports activity volume, ticket resolution, overdue tasks and
// adoption (see OperationsReport).
func Operations(ctx context.Context, ws *crm.Workspace, f Filter) (*OperationsReport, error) {
	if f.GroupBy == GroupNone {
		f.GroupBy = GroupOwner
	}
	loc, err := f.check("operations report", GroupOwner, GroupWeek, GroupMonth, GroupQuarter)
	if err != nil {
		return nil, err
	}
	period := GroupMonth
	if isPeriod(f.GroupBy) {
		period = f.GroupBy
	}
	type volKey struct {
		group string
		typ   crm.ActivityType
	}
	vol := map[volKey]*ActivityVolume{}
	tickets := map[string]*TicketTimes{}
	overdue := map[string]*OverdueTasks{}
	adoption := map[string]*Adoption{}
	group := func(s *reportScan, owner string, at time.Time) string {
		if f.GroupBy == GroupOwner {
			return owner
		}
		return PeriodLabel(f.GroupBy, at.In(s.loc))
	}
	err = read(ctx, ws, loc, f.selection("operations report", crm.Kind{}, dealSegmentObjects...), func(s *reportScan) error {
		err := each(s.rt.Activities(), func(a *crm.Activity) error {
			if !s.activityIn(a) {
				return nil
			}
			if a.Type == crm.ActivityTask && !a.Done && !a.DueAt.IsZero() && a.DueAt.Before(s.rt.Now()) {
				who := cmp.Or(a.AssigneeID, a.OwnerID)
				if f.owner(who) {
					o := overdue[who]
					if o == nil {
						o = &OverdueTasks{Assignee: who, OldestDueAt: a.DueAt}
						overdue[who] = o
					}
					o.Count++
					if a.DueAt.Before(o.OldestDueAt) {
						o.OldestDueAt = a.DueAt
					}
				}
			}
			if !f.owner(a.OwnerID) {
				return nil
			}
			if f.in(a.OccurredAt) {
				k := volKey{group(s, a.OwnerID, a.OccurredAt), a.Type}
				v := vol[k]
				if v == nil {
					v = &ActivityVolume{Group: k.group, Type: a.Type}
					vol[k] = v
				}
				v.Count++
			}
			if a.Type != crm.ActivityTicket {
				return nil
			}
			resolved := !a.ResolvedAt.IsZero()
			if resolved && !f.in(a.ResolvedAt) {
				return nil
			}
			at := a.ResolvedAt
			if !resolved {
				at = a.OpenedAt
			}
			g := group(s, a.OwnerID, at)
			t := tickets[g]
			if t == nil {
				t = &TicketTimes{Group: g}
				tickets[g] = t
			}
			if resolved {
				t.Resolved++
				t.hours.add(a.ResolvedAt.Sub(a.OpenedAt))
			} else {
				t.Open++
			}
			return nil
		})
		if err != nil {
			return err
		}
		for ch, err := range s.rt.AllHistory() {
			if err != nil {
				return err
			}
			if ch.Actor == "" || !f.in(ch.At) || !f.owner(ch.Actor) || !s.changeIn(&ch) {
				continue
			}
			p := PeriodLabel(period, ch.At.In(s.loc))
			a := adoption[p]
			if a == nil {
				a = &Adoption{Period: p, actors: map[string]bool{}}
				adoption[p] = a
			}
			a.Updates++
			a.actors[ch.Actor] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep := &OperationsReport{Filter: f, Activities: []ActivityVolume{}, Tickets: []TicketTimes{}, Overdue: []OverdueTasks{}, Adoption: []Adoption{}}
	for _, v := range vol {
		rep.Activities = append(rep.Activities, *v)
	}
	slices.SortFunc(rep.Activities, func(a, b ActivityVolume) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Type, b.Type))
	})
	for _, g := range sortedKeys(tickets) {
		t := tickets[g]
		t.AvgHours, t.MedianHours = t.hours.mean().Hours(), t.hours.median().Hours()
		t.hours = durationStats{}
		rep.Tickets = append(rep.Tickets, *t)
	}
	for _, g := range sortedKeys(overdue) {
		rep.Overdue = append(rep.Overdue, *overdue[g])
	}
	for _, p := range sortedKeys(adoption) {
		a := adoption[p]
		a.ActiveUsers = int64(len(a.actors))
		a.PerUser = ratio(a.Updates, a.ActiveUsers)
		a.actors = nil
		rep.Adoption = append(rep.Adoption, *a)
	}
	return rep, nil
}

// WriteCSV writes the activity volume as CSV; the other sections have
// their own writers.
func (r *OperationsReport) WriteCSV(w io.Writer) error {
	rows := make([][]string, len(r.Activities))
	for i, x := range r.Activities {
		rows[i] = []string{x.Group, string(x.Type), itoa(x.Count)}
	}
	return writeCSV(w, []string{"group", "type", "count"}, rows)
}

// WriteAdoptionCSV writes the adoption section as CSV.
func (r *OperationsReport) WriteAdoptionCSV(w io.Writer) error {
	rows := make([][]string, len(r.Adoption))
	for i, x := range r.Adoption {
		rows[i] = []string{x.Period, itoa(x.ActiveUsers), itoa(x.Updates), ftoa(x.PerUser)}
	}
	return writeCSV(w, []string{"period", "active_users", "updates", "per_user"}, rows)
}
