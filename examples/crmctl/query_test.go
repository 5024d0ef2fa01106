package main

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tableIDs returns the first column of a table's rows, without the header.
func tableIDs(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.NotEmpty(t, lines)
	var ids []string
	for _, l := range lines[1:] {
		ids = append(ids, strings.Fields(l)[0])
	}
	return ids
}

func TestSegmentQuery(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	// What the filter should select, found by reading every contact.
	var leads []string
	for _, c := range jsonLines[crm.Contact](t, okCLI(t, append(d, "list", "--workspace", "acme", "--object", "contact", "--json")...)) {
		if c.Lifecycle == "lead" {
			leads = append(leads, c.ID)
		}
	}
	require.ElementsMatch(t, []string{f.adaDup, f.bob}, leads)

	q := append(d, "segment", "query", "--workspace", "acme", "--object", "contact", "--where", `lifecycle = "lead"`)
	assert.Equal(t, strconv.Itoa(len(leads))+"\n", okCLI(t, append(q, "--count")...))
	out := okCLI(t, q...)
	assert.Regexp(t, `^ID\s+NAME\s+EMAIL\n`, out)
	assert.ElementsMatch(t, leads, tableIDs(t, out))
	assert.Regexp(t, regexp.QuoteMeta(f.bob)+`\s+Bob Baker\s+bob@example.com`, out)
	assert.Len(t, tableIDs(t, okCLI(t, append(q, "--limit", "1")...)), 1)
	for _, c := range jsonLines[crm.Contact](t, okCLI(t, append(q, "--json")...)) {
		assert.Equal(t, "lead", c.Lifecycle)
	}
	assert.NotEmpty(t, okCLI(t, append(q, "--explain")...))

	// Conditions combine; other kinds are queried alike.
	out = okCLI(t, append(d, "segment", "query", "--workspace", "acme", "--object", "contact", "--where", `lifecycle = "lead" AND tags CONTAINS "vip"`)...)
	assert.Equal(t, []string{f.bob}, tableIDs(t, out))
	out = okCLI(t, append(d, "segment", "query", "--workspace", "acme", "--object", "deal", "--where", `status = "open" AND owner_id = "ann"`)...)
	assert.Equal(t, []string{f.big}, tableIDs(t, out))
	assert.Contains(t, out, "1000.00 EUR")

	r := runCLI(t, append(d, "segment", "query", "--workspace", "acme", "--object", "contact", "--where", `lifecycle = `)...)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--where: filter: 1:13: expected a value")
}

func TestSegments(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	seg := func(args ...string) []string { return append(append(d[:2:2], "segment"), args...) }

	out := okCLI(t, seg("create", "--workspace", "acme", "--name", "Leads", "--object", "contact", "--where", `lifecycle = "lead"`)...)
	require.Regexp(t, `^created segment seg_\S+\n$`, out)
	leadsID := strings.Fields(out)[2]
	okCLI(t, seg("create", "--workspace", "acme", "--name", "VIPs", "--object", "contact", "--static", "--where", `tags CONTAINS "vip"`)...)
	okCLI(t, seg("create", "--workspace", "acme", "--name", "Big deals", "--object", "deal", "--where", `amount >= 50000`)...)
	r := runCLI(t, seg("create", "--workspace", "acme", "--name", "leads", "--object", "contact", "--where", `lifecycle = "lead"`)...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "already called")

	out = okCLI(t, seg("list", "--workspace", "acme")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4, out)
	assert.Regexp(t, `^ID\s+NAME\s+OBJECT\s+TYPE\s+FILTER$`, lines[0])
	assert.Regexp(t, `^`+leadsID+`\s+Leads\s+contact\s+dynamic\s+lifecycle = "lead"$`, lines[1])
	assert.Regexp(t, `\s+VIPs\s+contact\s+static\s+`, lines[2])
	segs := jsonLines[crm.Segment](t, okCLI(t, seg("list", "--workspace", "acme", "--object", "deal", "--json")...))
	require.Len(t, segs, 1)
	assert.Equal(t, "Big deals", segs[0].Name)

	// Members by ID or by name; a dynamic segment follows the records.
	assert.Equal(t, "2\n", okCLI(t, seg("members", "--workspace", "acme", "--segment", leadsID, "--count")...))
	out = okCLI(t, seg("members", "--workspace", "acme", "--segment", "leads")...)
	assert.ElementsMatch(t, []string{f.adaDup, f.bob}, tableIDs(t, out))
	assert.Equal(t, []string{f.bob}, tableIDs(t, okCLI(t, seg("members", "--workspace", "acme", "--segment", "VIPs")...)))
	deals := jsonLines[crm.Deal](t, okCLI(t, seg("members", "--workspace", "acme", "--segment", "Big deals", "--json")...))
	var names []string
	for _, dl := range deals {
		names = append(names, dl.Name)
	}
	slices.Sort(names)
	assert.Equal(t, []string{"Big", "Won"}, names, "amounts are in minor units")

	okCLI(t, append(d, "privacy", "erase", "--workspace", "acme", "--id", f.bob, "--yes")...)
	assert.Equal(t, "1\n", okCLI(t, seg("members", "--workspace", "acme", "--segment", "Leads", "--count")...))
	assert.Equal(t, "0\n", okCLI(t, seg("members", "--workspace", "acme", "--segment", "VIPs", "--count")...), "erasure leaves static segments")

	assert.Contains(t, okCLI(t, seg("delete", "--workspace", "acme", "--segment", "VIPs")...), "deleted segment")
	assert.NotContains(t, okCLI(t, seg("list", "--workspace", "acme")...), "VIPs")
	r = runCLI(t, seg("members", "--workspace", "acme", "--segment", "VIPs")...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "not found")
}

func TestExportSegmentAndWhere(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	okCLI(t, append(d, "segment", "create", "--workspace", "acme", "--name", "Leads", "--object", "contact", "--where", `lifecycle = "lead"`)...)
	ids := func(out string) []string {
		var got []string
		for _, c := range jsonLines[crm.Contact](t, out) {
			got = append(got, c.ID)
		}
		return got
	}
	exp := append(d, "export", "--workspace", "acme", "--object", "contact", "--format", "jsonl")
	assert.ElementsMatch(t, []string{f.adaDup, f.bob}, ids(okCLI(t, append(exp, "--segment", "Leads")...)))
	assert.Equal(t, []string{f.bob}, ids(okCLI(t, append(exp, "--where", `tags CONTAINS "vip"`)...)))
	assert.Equal(t, []string{f.bob}, ids(okCLI(t, append(exp, "--segment", "Leads", "--where", `tags CONTAINS "vip"`)...)))

	for name, args := range map[string][]string{
		"bad filter":          {"--where", `lifecycle = `},
		"unknown field":       {"--where", `shoe_size = 4`},
		"segment of deals":    {"--segment", "Leads", "--object", "deal"},
		"deleted and segment": {"--segment", "Leads", "--deleted"},
		"activities filtered": {"--where", `type = "call"`, "--object", "activity"},
	} {
		r := runCLI(t, append(exp, args...)...)
		assert.Equal(t, exitUsage, r.code, "%s: %s", name, r.stderr)
		assert.Empty(t, r.stdout, name)
	}
	r := runCLI(t, append(exp, "--segment", "Nope")...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "not found")
}
