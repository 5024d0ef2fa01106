package main

import (
	"context"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/examples/plugins/internal/plugintest"
	"github.com/crmkit/crmkit/plugins"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDealGuard(t *testing.T) {
	ctx := context.Background()
	_, ws, _ := plugintest.Open(t, plugintest.Build(t, ".", "dealguard"))

	_, err := ws.Deals().Create(ctx, crm.Deal{Name: "Huge", Amount: crm.Money{Amount: 250_000_00}})
	require.ErrorIs(t, err, crm.ErrVetoed)
	var veto *plugins.VetoError
	require.ErrorAs(t, err, &veto)
	assert.Equal(t, "deals over 10000.00 need a company", veto.Reason)

	co, err := ws.Companies().Create(ctx, crm.Company{Name: "Initech"})
	require.NoError(t, err)
	d, err := ws.Deals().Create(ctx, crm.Deal{Name: "initech   platform  deal", CompanyID: co.ID, Amount: crm.Money{Amount: 250_000_00}})
	require.NoError(t, err)
	assert.Equal(t, "Initech platform deal", d.Name)

	// Updates are guarded too: dropping the company of a large deal.
	_, err = ws.Deals().Update(ctx, d.ID, func(d *crm.Deal) error { d.CompanyID = ""; return nil })
	assert.ErrorIs(t, err, crm.ErrVetoed)
	small, err := ws.Deals().Create(ctx, crm.Deal{Name: "stapler", Amount: crm.Money{Amount: 49_90}})
	require.NoError(t, err)
	assert.Equal(t, "Stapler", small.Name)
}
