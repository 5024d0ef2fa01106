package automation_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/automation"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ownerCounts counts contacts by owner.
func ownerCounts(t testing.TB, e *env) map[string]int {
	t.Helper()
	out := map[string]int{}
	for c, err := range e.ws.Contacts().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		out[c.OwnerID]++
	}
	return out
}

func TestRoundRobinIsFairUnderConcurrency(t *testing.T) {
	e, a := autoEnv(t)
	setTeam(t, e, "ann", "bob", "cid", "dee")
	_, err := automation.RulesOf(e.ws).Save(e.ctx, automation.Rule{
		Name: "route", Object: crm.KindContact, Trigger: automation.Trigger{Event: crm.ContactCreated},
		Actions: []automation.Action{{Type: automation.ActionAssignOwner, Route: &automation.Route{Strategy: automation.RoundRobin}}},
	})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				_, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: fmt.Sprint("Lead", w, "-", i)})
				assert.NoError(t, err)
			}
		}()
	}
	// The engine runs while the leads arrive.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			_, err := a.Step(e.ctx)
			assert.NoError(t, err)
		}
	}()
	wg.Wait()
	<-done
	step(t, e, a)
	assert.Equal(t, map[string]int{"ann": 25, "bob": 25, "cid": 25, "dee": 25}, ownerCounts(t, e))
}

func TestAssignByHandTakesTurnsAcrossInstances(t *testing.T) {
	e := setup(t)
	setTeam(t, e, "ann", "bob", "cid", "dee")
	var ids []string
	for i := range 100 {
		c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: fmt.Sprint("Lead", i)})
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	// Two CRM instances over one store assign concurrently.
	var handles []*crm.Workspace
	for range 2 {
		ws, err := crm.New(e.st, crm.WithClock(e.clock.Now)).Workspace(e.ctx, "acme")
		require.NoError(t, err)
		handles = append(handles, ws)
	}
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := automation.TeamOf(handles[i%2]).Assign(e.ctx, automation.Route{Strategy: automation.RoundRobin, Name: "inbound"}, crm.Ref{Kind: crm.KindContact, ID: id})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, map[string]int{"ann": 25, "bob": 25, "cid": 25, "dee": 25}, ownerCounts(t, e))
}

func TestWeightedTerritoryCapacityAndAway(t *testing.T) {
	e := setup(t)
	de, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Big GmbH", Industry: "manufacturing", Employees: 5000, Address: crm.Address{Country: "DE"}})
	require.NoError(t, err)
	require.NoError(t, automation.TeamOf(e.ws).Set(e.ctx, []automation.Rep{
		{ID: "ann", Weight: 3},
		{ID: "bob", Weight: 1},
		{ID: "eve", Territory: automation.Territory{Countries: []string{"de", "at"}, MinEmployees: 1000}},
		{ID: "max", Territory: automation.Territory{Countries: []string{"DE"}, Industries: []string{"retail"}}},
		{ID: "zoe", Away: true},
	}))
	assign := func(route automation.Route, c crm.Contact) string {
		t.Helper()
		c, err := e.ws.Contacts().Create(e.ctx, c)
		require.NoError(t, err)
		owner, err := automation.TeamOf(e.ws).Assign(e.ctx, route, crm.Ref{Kind: crm.KindContact, ID: c.ID})
		require.NoError(t, err)
		got, err := e.ws.Contacts().Get(e.ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, owner, got.OwnerID)
		return owner
	}
	var picks []string
	for i := range 8 {
		picks = append(picks, assign(automation.Route{Strategy: automation.Weighted, Reps: []string{"ann", "bob", "zoe"}}, crm.Contact{FirstName: fmt.Sprint("W", i)}))
	}
	assert.Equal(t, []string{"ann", "ann", "bob", "ann", "ann", "ann", "bob", "ann"}, picks, "3:1, spread out; zoe is away")

	terr := automation.Route{Strategy: automation.ByTerritory}
	assert.Equal(t, "eve", assign(terr, crm.Contact{FirstName: "Hans", Companies: []crm.CompanyRole{{CompanyID: de.ID}}}))
	assert.Equal(t, "ann", assign(terr, crm.Contact{FirstName: "Jean", Address: crm.Address{Country: "FR"}}), "no territory matches: the generalists")
	assert.Equal(t, "bob", assign(terr, crm.Contact{FirstName: "Pierre", Address: crm.Address{Country: "FR"}}))

	// Capacity: cid may own 2 contacts at most.
	require.NoError(t, automation.TeamOf(e.ws).Set(e.ctx, []automation.Rep{{ID: "cid", Capacity: 2}, {ID: "dee", Capacity: 1}}))
	load := automation.Route{Strategy: automation.ByLoad}
	assert.Equal(t, "cid", assign(load, crm.Contact{FirstName: "L1"}))
	assert.Equal(t, "dee", assign(load, crm.Contact{FirstName: "L2"}))
	assert.Equal(t, "cid", assign(load, crm.Contact{FirstName: "L3"}))
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "L4"})
	require.NoError(t, err)
	_, err = automation.TeamOf(e.ws).Assign(e.ctx, load, crm.Ref{Kind: crm.KindContact, ID: c.ID})
	assert.ErrorIs(t, err, automation.ErrNoRep, "everyone is at capacity")

	_, err = automation.TeamOf(e.ws).Assign(e.ctx, automation.Route{Strategy: "random"}, crm.Ref{Kind: crm.KindContact, ID: c.ID})
	assert.Equal(t, []string{"route.strategy"}, fieldErrors(t, err))
	err = automation.TeamOf(e.ws).Set(e.ctx, []automation.Rep{{ID: "a"}, {ID: "a"}})
	assert.Equal(t, []string{"reps[1].id"}, fieldErrors(t, err))
}
