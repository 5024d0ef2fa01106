package crmio_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExportUnderPolicy: an export holds what the principal's export
// scope reaches, never a hidden field, and a role without export is
// refused.
func TestExportUnderPolicy(t *testing.T) {
	ws := newWorkspace(t, selected.open(t))
	ctx := context.Background()
	sys := crm.As(ctx, crm.System())
	_, err := ws.SetPolicy(sys, crm.Policy{
		Roles: []crm.Role{{
			Name:   "auditor",
			Grants: []crm.Grant{{Kind: crm.KindDeal, Actions: []crm.Action{crm.ActionRead, crm.ActionExport}, Scope: crm.ScopeAll}},
			Fields: []crm.FieldRule{{Field: "deal.amount", Access: crm.FieldHidden}},
		}},
		Teams: []crm.TeamDef{{Name: "east", Members: []string{"ann", "bob"}}, {Name: "west", Members: []string{"carl"}}},
	})
	require.NoError(t, err)
	for _, owner := range []string{"ann", "bob", "carl"} {
		_, err := ws.Deals().Create(sys, crm.Deal{Name: owner + " deal", OwnerID: owner, Amount: crm.Money{Amount: 777_00}})
		require.NoError(t, err)
	}
	export := func(p crm.Principal) (string, error) {
		var b bytes.Buffer
		_, err := crmio.Export(crm.As(ctx, p), ws, &b, crmio.ExportOptions{Object: crmio.ObjectDeal, Format: crmio.JSONL})
		return b.String(), err
	}

	out, err := export(crm.Principal{ID: "ann", Roles: []string{"manager"}})
	require.NoError(t, err)
	assert.Contains(t, out, "ann deal")
	assert.Contains(t, out, "bob deal")
	assert.NotContains(t, out, "carl deal", "west is not ann's team")
	assert.Equal(t, 2, strings.Count(out, "\n"))

	out, err = export(crm.Principal{ID: "audit", Roles: []string{"auditor"}})
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(out, "\n"))
	assert.NotContains(t, out, `"amount"`, "the hidden amount")
	out, err = export(crm.System())
	require.NoError(t, err)
	assert.Contains(t, out, `"amount"`, "an unrestricted export has the amounts")

	_, err = export(crm.Principal{ID: "bob", Roles: []string{"rep"}})
	require.ErrorIs(t, err, crm.ErrForbidden, "reps read but do not export")
}
