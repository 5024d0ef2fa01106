package main

import (
	"context"
	"encoding/csv"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/examples/internal/mavencrm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var dataDir = mavencrm.Dir()

// figures are one group's numbers, computed from the raw CSV files.
type figures struct {
	won, lost int
	revenue   float64 // dollars
	cycleDays float64 // sum over won deals, then the mean
}

// readCSV reads a whole CSV file into maps by header, with plain Go.
func readCSV(t *testing.T, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, name))
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func TestReportsMatchRawCSV(t *testing.T) {
	if _, err := os.Stat(dataDir); err != nil {
		t.Skipf("dataset not found at %s", dataDir)
	}
	// The expected figures, from the CSV files alone.
	teams := map[string][2]string{}
	for _, r := range readCSV(t, "sales_teams.csv") {
		teams[r["sales_agent"]] = [2]string{r["manager"], r["regional_office"]}
	}
	products := map[string]string{}
	for _, r := range readCSV(t, "products.csv") {
		products[strings.ReplaceAll(strings.ToLower(r["product"]), " ", "")] = r["product"]
	}
	want := map[string]map[string]*figures{}
	add := func(title, group string, r map[string]string) {
		if want[title] == nil {
			want[title] = map[string]*figures{}
		}
		f := want[title][group]
		if f == nil {
			f = &figures{}
			want[title][group] = f
		}
		switch r["deal_stage"] {
		case "Won":
			f.won++
			v, err := strconv.ParseFloat(r["close_value"], 64)
			require.NoError(t, err)
			f.revenue += v
			e, err := time.Parse("2006-01-02", r["engage_date"])
			require.NoError(t, err)
			c, err := time.Parse("2006-01-02", r["close_date"])
			require.NoError(t, err)
			f.cycleDays += c.Sub(e).Hours() / 24
		case "Lost":
			f.lost++
		}
	}
	for _, r := range readCSV(t, "sales_pipeline.csv") {
		add("Overall", "", r)
		add("Sales agent", r["sales_agent"], r)
		add("Manager", teams[r["sales_agent"]][0], r)
		add("Regional office", teams[r["sales_agent"]][1], r)
		add("Product", products[strings.ReplaceAll(strings.ToLower(r["product"]), " ", "")], r)
	}
	require.Equal(t, 4238, want["Overall"][""].won, "the dataset is the one the example describes")

	res, err := run(context.Background(), dataDir)
	require.NoError(t, err)
	for _, b := range Breakdowns {
		rep := res.Reports[b.Title]
		require.NotNil(t, rep, b.Title)
		assert.Len(t, rep.Groups, len(want[b.Title]), b.Title)
		for _, g := range rep.Groups {
			w := want[b.Title][g.Group]
			require.NotNil(t, w, "%s: unexpected group %q", b.Title, g.Group)
			name := b.Title + "/" + g.Group
			assert.InDelta(t, w.revenue, wonUSD(g), 0.001, name)
			if b.Title == "Product" {
				continue
			}
			assert.Equal(t, int64(w.won), g.Won, name)
			assert.Equal(t, int64(w.lost), g.Lost, name)
			assert.InDelta(t, float64(w.won)/float64(w.won+w.lost), g.WinRate, 1e-12, name)
			assert.InDelta(t, w.cycleDays/float64(w.won), g.AvgCycleDays, 1e-9, name)
		}
	}

	// The funnel: every deal reached Prospecting or later; 8,300 were
	// engaged; 4,238 won.
	path := filepath.Join(t.TempDir(), "funnel.svg")
	require.NoError(t, writeFunnel(res, path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc struct {
		Rects []struct {
			Class string `xml:"class,attr"`
			Title string `xml:"title"`
		} `xml:"rect"`
	}
	require.NoError(t, xml.Unmarshal(b, &doc))
	var steps []string
	for _, r := range doc.Rects {
		if r.Class == "step" {
			steps = append(steps, r.Title)
		}
	}
	assert.Equal(t, []string{"Prospecting: 8800", "Engaging: 8300", "Won: 4238"}, steps)
}
