package dealguardnode

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/examples/plugins/internal/plugintest"
	"github.com/crmkit/crmkit/plugins"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNodeDealGuard(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: skipping the Node.js plugin")
	}
	if out, err := exec.Command("npm", "ci", "--no-audit", "--no-fund").CombinedOutput(); err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	ctx := context.Background()
	script, err := filepath.Abs("plugin.js")
	require.NoError(t, err)
	spec := plugintest.Spec(t, script, "dealguard-node")
	_, ws, host := plugintest.Open(t, spec)
	info := host.Plugins()[0]
	assert.Equal(t, 2, info.Protocol)
	assert.False(t, info.Channel, "a version 2 plugin is called through gRPC")
	assert.Equal(t, "dealguard-node", info.Manifest.Name)

	_, err = ws.Deals().Create(ctx, crm.Deal{Name: "Huge", Amount: crm.Money{Amount: 250_000_00}})
	require.ErrorIs(t, err, crm.ErrVetoed)
	var veto *plugins.VetoError
	require.ErrorAs(t, err, &veto)
	assert.Equal(t, "deals over 10000.00 need a company", veto.Reason)

	co, err := ws.Companies().Create(ctx, crm.Company{Name: "Initech"})
	require.NoError(t, err)
	d, err := ws.Deals().Create(ctx, crm.Deal{Name: "initech   platform  deal", CompanyID: co.ID, Amount: crm.Money{Amount: 250_000_00}})
	require.NoError(t, err)
	assert.Equal(t, "Initech platform deal", d.Name)

	pid := info.PID
	start := time.Now()
	require.NoError(t, host.Close())
	assert.Less(t, time.Since(start), 2*time.Second, "the plugin honours go-plugin's shutdown")
	_, err = exec.Command("kill", "-0", itoa(pid)).CombinedOutput()
	assert.Error(t, err, "the Node.js process is gone")
}

func itoa(n int) string { return strconv.Itoa(n) }
