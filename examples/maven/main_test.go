package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/examples/internal/mavencrm"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dataDir returns the dataset's directory; the repository keeps it.
func dataDir(t testing.TB) string {
	t.Helper()
	data := mavencrm.Dir()
	_, err := os.Stat(filepath.Join(data, pipelineFile))
	require.NoError(t, err, "the Maven CRM dataset")
	return data
}

// plainCount counts the pipeline file with nothing but encoding/csv.
type plainCount struct {
	rows, won, lost, open, noAccount int
	wonCents                         int64
	engage, close                    map[string][2]string // opportunity -> dates
}

func countPipeline(t *testing.T, path string) plainCount {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	c := plainCount{engage: map[string][2]string{}}
	for _, r := range recs[1:] {
		c.rows++
		switch r[4] {
		case "Won":
			c.won++
			v, err := strconv.ParseInt(r[7], 10, 64)
			require.NoError(t, err)
			c.wonCents += v * 100
		case "Lost":
			c.lost++
		default:
			c.open++
			if r[3] == "" {
				c.noAccount++
			}
		}
		c.engage[r[0]] = [2]string{r[5], r[6]}
	}
	return c
}

func TestMavenImport(t *testing.T) {
	data := dataDir(t)
	want := countPipeline(t, filepath.Join(data, pipelineFile))
	require.Equal(t, 8800, want.rows)

	db := t.TempDir()
	sum, err := run(context.Background(), data, db)
	require.NoError(t, err)

	var out bytes.Buffer
	sum.Print(&out, false)
	t.Log("\n" + out.String())

	files := map[string]*FileReport{}
	for _, f := range sum.Files {
		files[f.Name] = f
		assert.Equal(t, f.Read, f.Imported+f.Rejected, "%s: every row is imported or rejected", f.Name)
	}
	assert.Equal(t, FileReport{Name: accountsFile, Read: 85, Imported: 85, Fixed: 13}, *files[accountsFile])
	assert.Equal(t, FileReport{Name: productsFile, Read: 7, Imported: 7}, *files[productsFile])
	assert.Equal(t, FileReport{Name: teamsFile, Read: 35, Imported: 35}, *files[teamsFile])
	assert.Equal(t, FileReport{Name: pipelineFile, Read: 8800, Imported: 8800, Fixed: 1480}, *files[pipelineFile])
	assert.Empty(t, sum.Rejects)
	assert.Equal(t, want.won, sum.Won)
	assert.Equal(t, want.lost, sum.Lost)
	assert.Equal(t, want.open, sum.Open)
	assert.Equal(t, crm.Money{Amount: want.wonCents, Currency: "USD"}, sum.WonValue)
	assert.Equal(t, int64(10_005_534_00), want.wonCents, "the dataset's won total")
	assert.Equal(t, 85, sum.Companies)
	assert.Equal(t, 15, sum.Parents)

	fixes := map[string]int{}
	for _, f := range sum.Fixes {
		fixes[f.What]++
	}
	assert.Equal(t, map[string]int{
		`sector "technolgy" -> "technology"`:                          12,
		`office_location "Philipines" -> PH (misspelled Philippines)`: 1,
		`office_location "Korea" -> KR (taken as South Korea)`:        1,
		`product "GTXPro" -> "GTX Pro"`:                               1480,
	}, fixes)
	notes := map[string]int{}
	for _, n := range sum.Notes {
		notes[n.What]++
	}
	assert.Equal(t, map[string]int{"an open deal without an account: imported without a company": want.noAccount}, notes)

	// The database holds what the summary says, with the dataset's dates.
	st, err := badger.Open(db, badger.WithSyncWrites(false))
	require.NoError(t, err)
	defer st.Close()
	ctx := context.Background()
	ws, err := crm.New(st).Workspace(ctx, "maven")
	require.NoError(t, err)
	counts := map[crm.DealStatus]int{}
	var wonCents int64
	var products = map[any]int{}
	checked := 0
	for d, err := range ws.Deals().List(ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		counts[d.Status]++
		products[d.Custom["product"]]++
		if d.Status == crm.StatusWon {
			wonCents += d.Amount.Amount
			require.Equal(t, "USD", d.Amount.Currency)
		}
		dates := want.engage[d.Custom["opportunity_id"].(string)]
		if d.Status != crm.StatusOpen {
			require.Len(t, d.StageHistory, 2, "engaging, then won or lost")
			assert.Equal(t, dates[0], d.StageHistory[0].EnteredAt.Format(time.DateOnly))
			assert.Equal(t, dates[1], d.StageHistory[1].EnteredAt.Format(time.DateOnly))
			assert.Equal(t, dates[1], d.ClosedAt.Format(time.DateOnly))
			checked++
		} else if dates[0] != "" {
			require.Len(t, d.StageHistory, 1)
			assert.Equal(t, dates[0], d.StageHistory[0].EnteredAt.Format(time.DateOnly))
		}
	}
	assert.Equal(t, map[crm.DealStatus]int{crm.StatusWon: want.won, crm.StatusLost: want.lost, crm.StatusOpen: want.open}, counts)
	assert.Equal(t, want.wonCents, wonCents)
	assert.Equal(t, want.won+want.lost, checked)
	assert.Equal(t, 1480, products["GTX Pro"], "the GTXPro deals carry the fixed name")
	assert.Zero(t, products["GTXPro"])
	assert.Len(t, products, 7, "every deal has one of the seven products")

	acme, err := ws.Companies().Page(ctx, crm.ListOptions{Sort: crm.SortName, Limit: 1})
	require.NoError(t, err)
	require.Len(t, acme.Items, 1)
	assert.Equal(t, "Acme Corporation", acme.Items[0].Name)
	assert.Equal(t, "technology", acme.Items[0].Industry)
	assert.Equal(t, crm.Money{Amount: 110_004_000_000, Currency: "USD"}, acme.Items[0].AnnualRevenue, "1100.04 millions")
	assert.Equal(t, "US", acme.Items[0].Address.Country)
	assert.Equal(t, float64(1996), acme.Items[0].Custom["year_established"])
}
