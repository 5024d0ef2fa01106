package automation_test

import (
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/automation"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRulesRunAsSystemOrTheirPrincipal: under an access policy, the
// engine acts as System, and a rule with RunAs acts as that principal,
// changing only what its role allows.
func TestRulesRunAsSystemOrTheirPrincipal(t *testing.T) {
	e, a := autoEnv(t)
	sys := crm.As(e.ctx, crm.System())
	_, err := e.ws.SetPolicy(sys, crm.Policy{})
	require.NoError(t, err)
	bob := crm.Principal{ID: "bob", Roles: []string{"rep"}}

	// Saving a rule is the workspace's business, not a rep's.
	rule := automation.Rule{
		Name: "tag leads", Object: crm.KindContact,
		Trigger: automation.Trigger{Event: crm.ContactCreated},
		Actions: []automation.Action{{Type: automation.ActionSetField, Field: "title", Value: "lead"}},
	}
	_, err = automation.RulesOf(e.ws).Save(crm.As(e.ctx, bob), rule)
	require.ErrorIs(t, err, crm.ErrForbidden)
	_, err = automation.RulesOf(e.ws).Save(sys, rule)
	require.NoError(t, err)
	asBob := rule
	asBob.Name, asBob.RunAs = "bob's rule", &bob
	asBob.Actions = []automation.Action{{Type: automation.ActionSetField, Field: "lead_source", Value: "bob"}}
	_, err = automation.RulesOf(e.ws).Save(sys, asBob)
	require.NoError(t, err)

	mine, err := e.ws.Contacts().Create(sys, crm.Contact{FirstName: "Mine", OwnerID: "bob"})
	require.NoError(t, err)
	theirs, err := e.ws.Contacts().Create(sys, crm.Contact{FirstName: "Theirs", OwnerID: "carl"})
	require.NoError(t, err)
	_, err = a.Step(e.ctx) // no principal: the engine is System's
	require.NoError(t, err)

	for _, c := range []crm.Contact{mine, theirs} {
		got, err := e.ws.Contacts().Get(sys, c.ID)
		require.NoError(t, err)
		assert.Equal(t, "lead", got.Title, "the System rule changed %s", c.FirstName)
		if c.OwnerID == "bob" {
			assert.Equal(t, "bob", got.LeadSource)
		} else {
			assert.Empty(t, got.LeadSource, "bob's rule cannot reach carl's contact")
		}
	}
}
