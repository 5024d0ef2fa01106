package automation

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// Rep is a member of a workspace's team: a user of the host application
// who can own records, with what lead routing needs to know.
type Rep struct {
	// ID is the user's ID, as records' OwnerID holds it.
	ID   string `msgpack:"id" json:"id"`
	Name string `msgpack:"name,omitempty" json:"name,omitempty"`
	// Manager is the rep's manager (a user ID), for escalations
	// (Action.Assignee "manager").
	Manager string `msgpack:"manager,omitempty" json:"manager,omitempty"`
	// Away reps get nothing routed to them.
	Away bool `msgpack:"away,omitempty" json:"away,omitempty"`
	// Capacity caps how many records of the routed kind (open deals, for
	// deals) the rep may own; 0 is no cap.
	Capacity int `msgpack:"capacity,omitempty" json:"capacity,omitempty"`
	// Weight is the rep's share under weighted routing (default 1).
	Weight    int       `msgpack:"weight,omitempty" json:"weight,omitempty"`
	Territory Territory `msgpack:"territory,omitempty" json:"territory,omitzero"`
}

// Territory is what a rep covers under territory routing: a record
// matches when every criterion that is set matches. Country and region
// come from the record's address (or its company's), industry and size
// from its company.
type Territory struct {
	Countries  []string `msgpack:"countries,omitempty" json:"countries,omitempty"`
	Regions    []string `msgpack:"regions,omitempty" json:"regions,omitempty"`
	Industries []string `msgpack:"industries,omitempty" json:"industries,omitempty"`
	// MinEmployees and MaxEmployees bound the company's head count; 0 is
	// no bound.
	MinEmployees int64 `msgpack:"min_employees,omitempty" json:"min_employees,omitempty"`
	MaxEmployees int64 `msgpack:"max_employees,omitempty" json:"max_employees,omitempty"`
}

func (t *Territory) empty() bool {
	return len(t.Countries)+len(t.Regions)+len(t.Industries) == 0 && t.MinEmployees == 0 && t.MaxEmployees == 0
}

// RouteStrategy is how a route picks a rep.
type RouteStrategy string

// Routing strategies.
const (
	// RoundRobin takes the reps in team order, one after the other.
	RoundRobin RouteStrategy = "round_robin"
	// Weighted shares records in proportion to the reps' weights, spread
	// evenly (smooth weighted round robin).
	Weighted RouteStrategy = "weighted"
	// ByTerritory picks among the reps whose territory matches the
	// record (those without a territory when none does), round robin.
	ByTerritory RouteStrategy = "territory"
	// ByLoad picks the rep who owns the fewest records of the kind.
	ByLoad RouteStrategy = "load"
)

// Route picks an owner for a record from the workspace's team. Reps who
// are away or at capacity are skipped. Its state (whose turn it is) is
// kept in the store and changed in the transaction of the assignment, so
// concurrent assignments take turns exactly.
type Route struct {
	Strategy RouteStrategy `msgpack:"strategy" json:"strategy"`
	// Reps limits the route to these team members; empty is the team.
	Reps []string `msgpack:"reps,omitempty" json:"reps,omitempty"`
	// Name keys the route's state, so routes of several rules can share
	// turns; empty gives each rule action its own.
	Name string `msgpack:"name,omitempty" json:"name,omitempty"`
}

func (r *Route) check(p *crm.ValidationError, at string) {
	switch r.Strategy {
	case RoundRobin, Weighted, ByTerritory, ByLoad:
	default:
		p.Add(at+".strategy", "%q is not round_robin, weighted, territory or load", r.Strategy)
	}
}

// ErrNoRep means a route found no rep to take a record: all away, at
// capacity, or none in the team.
var ErrNoRep = errors.New("automation: no rep available")

// Team manages a workspace's team of reps.
type Team struct{ w *crm.Workspace }

// TeamOf returns the team service of a workspace.
func TeamOf(w *crm.Workspace) *Team { return &Team{w} }

func loadTeam(rt *crm.ReadTx) ([]Rep, error) {
	b, err := rt.Space(spaceName).Get(ak('u'))
	if errors.Is(err, crm.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var reps []Rep
	return reps, crm.Unmarshal(b, &reps)
}

// Set replaces the team. Order matters: round robin follows it.
func (s *Team) Set(ctx context.Context, reps []Rep) error {
	p := crm.ValidationError{Kind: "team"}
	seen := map[string]bool{}
	for i := range reps {
		r := &reps[i]
		at := fmt.Sprintf("reps[%d]", i)
		r.ID = crm.CheckText(&p, at+".id", r.ID)
		if r.ID == "" {
			p.Add(at+".id", "is required")
		} else if seen[r.ID] {
			p.Add(at+".id", "%s is listed twice", r.ID)
		}
		seen[r.ID] = true
		if r.Weight < 0 || r.Capacity < 0 {
			p.Add(at+".weight", "weight and capacity must not be negative")
		}
		if r.Weight == 0 {
			r.Weight = 1
		}
		for j, c := range r.Territory.Countries {
			r.Territory.Countries[j] = strings.ToUpper(strings.TrimSpace(c))
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	b, err := crm.Marshal(&reps)
	if err != nil {
		return err
	}
	return s.w.Update(ctx, func(t *crm.Tx) error { return t.Space(spaceName).Set(ak('u'), b) })
}

// List streams the team's reps in order.
func (s *Team) List(ctx context.Context) iter.Seq2[Rep, error] {
	return func(yield func(Rep, error) bool) {
		var reps []Rep
		err := s.w.View(ctx, func(rt *crm.ReadTx) error {
			var err error
			reps, err = loadTeam(rt)
			return err
		})
		if err != nil {
			yield(Rep{}, err)
			return
		}
		for _, r := range reps {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// Assign routes a contact, company or deal to a rep now and makes the rep
// its owner, returning the rep's ID. The write is attributed like any
// other (WithActor).
func (s *Team) Assign(ctx context.Context, route Route, ref crm.Ref) (string, error) {
	p := crm.ValidationError{Kind: "route"}
	route.check(&p, "route")
	if _, ok := ownedKinds[ref.Kind]; !ok {
		p.Add("kind", "%q is not contact, company or deal", ref.Kind)
	}
	if err := p.Err(); err != nil {
		return "", err
	}
	name := route.Name
	if name == "" {
		name = "assign/" + string(route.Strategy)
	}
	var owner string
	err := s.w.Update(ctx, func(t *crm.Tx) error {
		rec, err := loadRecord(&t.ReadTx, ref.Kind, ref.ID)
		if err != nil {
			return err
		}
		if rec == nil {
			return notFound(ref.Kind.String(), ref.ID)
		}
		if owner, err = pickRep(t, route, name, ref.Kind, rec); err != nil {
			return err
		}
		_, err = updateAny(t, ref.Kind, ref.ID, func(r any) error { return setOwner(r, owner) })
		return err
	})
	return owner, err
}

// routeState is a route's turn: the last rep picked and, for weighted
// routing, each rep's current weight.
type routeState struct {
	Last    string         `msgpack:"last,omitempty"`
	Current map[string]int `msgpack:"current,omitempty"`
}

// pickRep picks a rep for rec by route inside t and advances the route's
// state.
func pickRep(t *crm.Tx, route Route, name string, object crm.Kind, rec any) (string, error) {
	team, err := loadTeam(&t.ReadTx)
	if err != nil {
		return "", err
	}
	var cands []Rep
	for _, r := range team {
		if !r.Away && (len(route.Reps) == 0 || slices.Contains(route.Reps, r.ID)) {
			cands = append(cands, r)
		}
	}
	loads := map[string]int{}
	needLoad := route.Strategy == ByLoad
	for _, r := range cands {
		needLoad = needLoad || r.Capacity > 0
	}
	if needLoad {
		kept := cands[:0]
		for _, r := range cands {
			n, err := ownedCount(t, object, r.ID)
			if err != nil {
				return "", err
			}
			loads[r.ID] = n
			if r.Capacity == 0 || n < r.Capacity {
				kept = append(kept, r)
			}
		}
		cands = kept
	}
	if route.Strategy == ByTerritory && len(cands) > 0 {
		geo, err := geoOf(t, rec)
		if err != nil {
			return "", err
		}
		var match, general []Rep
		for _, r := range cands {
			switch {
			case r.Territory.empty():
				general = append(general, r)
			case geo.in(&r.Territory):
				match = append(match, r)
			}
		}
		if cands = match; len(match) == 0 {
			cands = general
		}
	}
	if len(cands) == 0 {
		return "", fmt.Errorf("crm: route %s: %w", name, ErrNoRep)
	}
	sp := t.Space(spaceName)
	k := ak('c').Str(name)
	var st routeState
	if b, err := sp.Get(k); err == nil {
		if err := crm.Unmarshal(b, &st); err != nil {
			return "", err
		}
	} else if !errors.Is(err, crm.ErrNotFound) {
		return "", err
	}
	var pick string
	switch route.Strategy {
	case ByLoad:
		pick = cands[0].ID
		for _, r := range cands[1:] {
			if loads[r.ID] < loads[pick] {
				pick = r.ID
			}
		}
	case Weighted:
		if st.Current == nil {
			st.Current = map[string]int{}
		}
		total, best := 0, -1
		for i, r := range cands {
			st.Current[r.ID] += r.Weight
			total += r.Weight
			if best < 0 || st.Current[r.ID] > st.Current[cands[best].ID] {
				best = i
			}
		}
		pick = cands[best].ID
		st.Current[pick] -= total
	default:
		// The first candidate after the last pick in team order.
		last := slices.IndexFunc(team, func(r Rep) bool { return r.ID == st.Last })
		pick = cands[0].ID
		for _, r := range cands {
			if slices.IndexFunc(team, func(x Rep) bool { return x.ID == r.ID }) > last {
				pick = r.ID
				break
			}
		}
	}
	st.Last = pick
	b, err := crm.Marshal(&st)
	if err != nil {
		return "", err
	}
	return pick, sp.Set(k, b)
}

// ownedKinds are the kinds of records that have owners.
var ownedKinds = map[crm.Kind]bool{crm.KindContact: true, crm.KindCompany: true, crm.KindDeal: true}

// ownedCount is how many live records of a kind a rep owns (open deals,
// for deals).
func ownedCount(t *crm.Tx, object crm.Kind, rep string) (int, error) {
	n := 0
	var err error
	switch object {
	case crm.KindContact:
		n, err = count(t.Contacts().By("owner_id", rep), func(crm.Contact) bool { return true })
	case crm.KindCompany:
		n, err = count(t.Companies().By("owner_id", rep), func(crm.Company) bool { return true })
	case crm.KindDeal:
		n, err = count(t.Deals().By("owner_id", rep), func(d crm.Deal) bool { return d.Status == crm.StatusOpen })
	}
	return n, err
}

// count returns how many records of seq keep accepts.
func count[T any](seq iter.Seq2[T, error], keep func(T) bool) (int, error) {
	n := 0
	for r, err := range seq {
		if err != nil {
			return 0, err
		}
		if keep(r) {
			n++
		}
	}
	return n, nil
}

// geo is what territories match on.
type geo struct {
	country, region, industry string
	employees                 int64
}

func (g geo) in(tr *Territory) bool {
	fold := func(list []string, v string) bool {
		return len(list) == 0 || slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, v) })
	}
	return fold(tr.Countries, g.country) && fold(tr.Regions, g.region) && fold(tr.Industries, g.industry) &&
		(tr.MinEmployees == 0 || g.employees >= tr.MinEmployees) &&
		(tr.MaxEmployees == 0 || g.employees <= tr.MaxEmployees)
}

func geoOf(t *crm.Tx, rec any) (geo, error) {
	var g geo
	if c, ok := rec.(*crm.Contact); ok {
		g.country, g.region = c.Address.Country, c.Address.Region
	}
	id := companyOf(rec)
	if id == "" {
		return g, nil
	}
	co, err := t.Companies().Get(id)
	if errors.Is(err, crm.ErrNotFound) {
		return g, nil
	}
	if err != nil {
		return g, err
	}
	if g.country == "" {
		g.country, g.region = co.Address.Country, co.Address.Region
	}
	g.industry, g.employees = co.Industry, co.Employees
	return g, nil
}
