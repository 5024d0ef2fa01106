package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyDataset writes a dataset of four opportunities in the Maven CRM
// layout: one won, one lost, one engaging, one prospecting.
func tinyDataset(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{
		"products.csv":    "product,series,sales_price\nGTX Pro,GTX,4821\nMG Special,MG,55\n",
		"sales_teams.csv": "sales_agent,manager,regional_office\nAnn Agent,Mia Manager,Central\nBob Agent,Max Manager,East\n",
		"sales_pipeline.csv": "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n" +
			"A1,Ann Agent,GTXPro,Cancity,Won,2017-01-02,2017-01-12,1000\n" +
			"A2,Ann Agent,GTX Pro,Isdom,Lost,2017-01-05,2017-01-20,0\n" +
			"A3,Bob Agent,MG Special,Betasoloin,Engaging,2017-02-01,,\n" +
			"A4,Bob Agent,MG Special,,Prospecting,,,\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	return dir
}

// funnelSteps returns the titles of the funnel chart's steps.
func funnelSteps(t *testing.T, path string) []string {
	t.Helper()
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
	return steps
}

// TestCLIWritesTheChartOnlyWhereAsked: without -svg the example writes
// no file and says how to get one; with -svg it writes the chart there
// and prints the absolute path.
func TestCLIWritesTheChartOnlyWhereAsked(t *testing.T) {
	data := tinyDataset(t)
	cwd := t.TempDir()
	t.Chdir(cwd)
	wd, err := os.Getwd()
	require.NoError(t, err)
	ctx := context.Background()

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, cli(ctx, []string{"-data", data}, &stdout, &stderr), stderr.String())
	entries, err := os.ReadDir(cwd)
	require.NoError(t, err)
	assert.Empty(t, entries, "no file without -svg")
	assert.Contains(t, stdout.String(), "\nOverall\n", "the report is printed")
	assert.True(t, strings.HasSuffix(stdout.String(), "\nno funnel chart written: run with -svg FILE to write one\n"), stdout.String())
	assert.Empty(t, stderr.String())

	stdout.Reset()
	require.NoError(t, os.Mkdir("charts", 0o755))
	require.Equal(t, 0, cli(ctx, []string{"-data", data, "-svg", filepath.Join("charts", "funnel.svg")}, &stdout, &stderr), stderr.String())
	want := filepath.Join(wd, "charts", "funnel.svg")
	assert.True(t, strings.HasSuffix(stdout.String(), "\nfunnel chart written to "+want+"\n"), stdout.String())
	assert.Equal(t, []string{"Prospecting: 4", "Engaging: 3", "Won: 1"}, funnelSteps(t, want))
	entries, err = os.ReadDir(cwd)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the directory made for the chart")
	assert.Equal(t, "charts", entries[0].Name())

	// A chart that cannot be written is an error, and nothing is left.
	stdout.Reset()
	stderr.Reset()
	assert.Equal(t, 1, cli(ctx, []string{"-data", data, "-svg", filepath.Join("missing", "funnel.svg")}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "reports:")
	assert.Empty(t, stdout.String(), "nothing printed after a failure")

	// A usage error writes nothing either.
	stderr.Reset()
	assert.Equal(t, 2, cli(ctx, []string{"-data", data, "funnel.svg"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), `unexpected argument "funnel.svg"`)
	_, err = os.Stat(filepath.Join(cwd, "funnel.svg"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
