package crm_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/crm/report"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The property: for random policies, principals and records, every list,
// page, count and query equals the same computation done by brute force
// over the records the policy allows, by a model of the policy written
// here from its documentation.

var rank = map[crm.Scope]int{crm.ScopeNone: 0, crm.ScopeOwn: 1, crm.ScopeTeam: 2, crm.ScopeAll: 3}

// modelScope is the scope of reading kind for p under pol.
func modelScope(pol crm.Policy, p crm.Principal, kind crm.Kind) crm.Scope {
	roles := map[string]crm.Role{}
	for _, r := range crm.BuiltinRoles() {
		roles[r.Name] = r
	}
	for _, r := range pol.Roles {
		roles[r.Name] = r
	}
	best := crm.ScopeNone
	for _, name := range p.Roles {
		r, ok := roles[name]
		if !ok {
			continue
		}
		s := crm.ScopeNone
		for _, g := range r.Grants {
			if (g.Kind == kind || g.Kind == crm.AnyKind) && (slices.Contains(g.Actions, crm.ActionRead) || slices.Contains(g.Actions, "*")) {
				s = g.Scope
			}
		}
		if rank[s] > rank[best] {
			best = s
		}
	}
	return best
}

// modelTeam is the owners a team scope reaches for p.
func modelTeam(pol crm.Policy, p crm.Principal) map[string]bool {
	in := map[string]bool{}
	for _, t := range p.Teams {
		in[t] = true
	}
	for _, t := range pol.Teams {
		if slices.Contains(t.Members, p.ID) {
			in[t.Name] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for _, t := range pol.Teams {
			if t.Parent != "" && in[t.Parent] && !in[t.Name] {
				in[t.Name], changed = true, true
			}
		}
	}
	owners := map[string]bool{p.ID: true}
	for _, t := range pol.Teams {
		if in[t.Name] {
			for _, m := range t.Members {
				owners[m] = true
			}
		}
	}
	return owners
}

func modelSees(pol crm.Policy, p crm.Principal, kind crm.Kind, owner string) bool {
	switch modelScope(pol, p, kind) {
	case crm.ScopeAll:
		return true
	case crm.ScopeOwn:
		return owner != "" && owner == p.ID
	case crm.ScopeTeam:
		return owner != "" && modelTeam(pol, p)[owner]
	}
	return false
}

func randomPolicy(r *rand.Rand, users []string) crm.Policy {
	var pol crm.Policy
	for i := range 2 + r.IntN(4) {
		t := crm.TeamDef{Name: fmt.Sprintf("t%d", i)}
		if i > 0 && r.IntN(3) > 0 {
			t.Parent = fmt.Sprintf("t%d", r.IntN(i))
		}
		for _, u := range users {
			if r.IntN(4) == 0 {
				t.Members = append(t.Members, u)
			}
		}
		pol.Teams = append(pol.Teams, t)
	}
	scopes := []crm.Scope{crm.ScopeNone, crm.ScopeOwn, crm.ScopeTeam, crm.ScopeAll}
	for i := range 1 + r.IntN(3) {
		role := crm.Role{Name: fmt.Sprintf("r%d", i)}
		for range 1 + r.IntN(3) {
			kind := []crm.Kind{crm.KindDeal, crm.KindContact, crm.AnyKind}[r.IntN(3)]
			acts := []crm.Action{crm.ActionRead}
			if r.IntN(3) == 0 {
				acts = []crm.Action{"*"}
			}
			role.Grants = append(role.Grants, crm.Grant{Kind: kind, Actions: acts, Scope: scopes[r.IntN(len(scopes))]})
		}
		pol.Roles = append(pol.Roles, role)
	}
	return pol
}

func randomPrincipal(r *rand.Rand, users []string, pol crm.Policy) crm.Principal {
	p := crm.Principal{ID: users[r.IntN(len(users))]}
	names := []string{"rep", "manager", "read_only"}
	for _, role := range pol.Roles {
		names = append(names, role.Name)
	}
	for _, n := range names {
		if r.IntN(3) == 0 {
			p.Roles = append(p.Roles, n)
		}
	}
	if r.IntN(3) == 0 {
		p.Teams = []string{pol.Teams[r.IntN(len(pol.Teams))].Name}
	}
	return p
}

func TestAccessProperty(t *testing.T) {
	seed := uint64(rand.Int64())
	if s, err := strconv.ParseUint(os.Getenv("CRMKIT_ACCESS_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	e := setup(t)
	sys := crm.As(e.ctx, crm.System())
	users := []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"}
	owner := func() string {
		if r.IntN(8) == 0 {
			return ""
		}
		return users[r.IntN(len(users))]
	}
	type rec struct {
		id, owner string
		amount    int64
	}
	var deals, contacts []rec
	for i := range 80 {
		d, err := e.ws.Deals().Create(sys, crm.Deal{Name: fmt.Sprintf("deal %d", i), OwnerID: owner(), Amount: crm.Money{Amount: r.Int64N(100) * 100, Currency: "USD"}})
		require.NoError(t, err)
		deals = append(deals, rec{d.ID, d.OwnerID, d.Amount.Amount})
	}
	for i := range 40 {
		c, err := e.ws.Contacts().Create(sys, crm.Contact{FirstName: fmt.Sprintf("c%d", i), OwnerID: owner()})
		require.NoError(t, err)
		contacts = append(contacts, rec{id: c.ID, owner: c.OwnerID})
	}

	for round := range 6 {
		pol := randomPolicy(r, users)
		_, err := e.ws.SetPolicy(sys, pol)
		require.NoError(t, err)
		for range 5 {
			p := randomPrincipal(r, users, pol)
			ctx := crm.As(e.ctx, p)
			what := fmt.Sprintf("round %d, %+v", round, p)
			visible := func(rs []rec, kind crm.Kind, keep func(rec) bool) []string {
				var out []string
				for _, x := range rs {
					if modelSees(pol, p, kind, x.owner) && keep(x) {
						out = append(out, x.id)
					}
				}
				return out
			}
			all := func(rec) bool { return true }

			// Lists, whole and paged.
			wantDeals := visible(deals, crm.KindDeal, all)
			var got []string
			var listErr error
			for d, err := range e.ws.Deals().List(ctx, crm.ListOptions{}) {
				if err != nil {
					listErr = err
					break
				}
				got = append(got, d.ID)
			}
			if modelScope(pol, p, crm.KindDeal) == crm.ScopeNone {
				require.ErrorIs(t, listErr, crm.ErrForbidden, what)
				continue
			}
			require.NoError(t, listErr, what)
			assert.Equal(t, wantDeals, got, what)
			var paged []string
			for after := ""; ; {
				pg, err := e.ws.Deals().Page(ctx, crm.ListOptions{After: after, Limit: 7})
				require.NoError(t, err, what)
				for _, d := range pg.Items {
					paged = append(paged, d.ID)
				}
				if after = pg.Next; after == "" {
					break
				}
			}
			assert.Equal(t, wantDeals, paged, what)

			// Queries: counts and members.
			min := r.Int64N(100) * 100
			q := e.ws.Query(crm.KindDeal, filter.Where("amount").Ge(float64(min))) // minor units
			want := visible(deals, crm.KindDeal, func(x rec) bool { return x.amount >= min })
			n, err := q.Count(ctx)
			require.NoError(t, err, what)
			assert.EqualValues(t, len(want), n, what)
			var members []string
			for m, err := range q.Members(ctx, "") {
				require.NoError(t, err, what)
				members = append(members, m.ID)
			}
			slices.Sort(members) // in the plan's order: by amount, maybe
			assert.Equal(t, want, members, what)

			// A report: the pipeline of the open deals the principal sees.
			rep, err := report.Pipeline(ctx, e.ws, report.Filter{})
			require.NoError(t, err, what)
			var count, sum int64
			for _, row := range rep.Rows {
				count, sum = count+row.Count, sum+row.Amount
			}
			var wantSum int64
			for _, x := range deals {
				if modelSees(pol, p, crm.KindDeal, x.owner) {
					wantSum += x.amount
				}
			}
			assert.EqualValues(t, len(wantDeals), count, what)
			assert.Equal(t, wantSum, sum, what)

			// Counts through the transaction seam, which reports use.
			require.NoError(t, e.ws.View(ctx, func(rt *crm.ReadTx) error {
				n, err := rt.Count(crm.KindDeal, nil)
				require.NoError(t, err, what)
				assert.EqualValues(t, len(wantDeals), n, what)
				return nil
			}))

			// Contacts, by their own scope.
			if modelScope(pol, p, crm.KindContact) != crm.ScopeNone {
				got = nil
				for c, err := range e.ws.Contacts().List(ctx, crm.ListOptions{Sort: crm.SortName}) {
					require.NoError(t, err, what)
					got = append(got, c.ID)
				}
				slices.Sort(got)
				assert.Equal(t, visible(contacts, crm.KindContact, all), got, what)
			}
		}
	}
}
