package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSearch(t *testing.T) {
	f := seed(t)
	out := okCLI(t, "--dir", f.dir, "search", "--workspace", "acme", "ada", "lov")
	assert.Contains(t, out, "KIND")
	assert.Contains(t, out, f.ada)
	assert.NotContains(t, out, f.adaDup, "Ada King's address starts adalovelace, not lov")

	for _, kind := range []string{"company", "companies"} { // a kind's plural names it too
		out = okCLI(t, "--dir", f.dir, "search", "--workspace", "acme", "--object", kind, "acme")
		assert.Contains(t, out, f.acme)
		assert.Contains(t, out, f.acmeEU)
		assert.NotContains(t, out, f.globex)
	}

	out = okCLI(t, "--dir", f.dir, "search", "--workspace", "acme", "--json", "bob")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1, out)
	var hit struct{ Kind, ID string }
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &hit))
	assert.Equal(t, "contact", hit.Kind)
	assert.Equal(t, f.bob, hit.ID)

	// As a principal under a policy, a rep finds its own only.
	okCLI(t, "--dir", f.dir, "policy", "set", "--workspace", "acme", "testdata/policy/sales.json")
	out = okCLI(t, "--dir", f.dir, "--as", "bob", "--roles", "rep", "search", "--workspace", "acme", "small")
	assert.Contains(t, out, f.small)
	out = okCLI(t, "--dir", f.dir, "--as", "bob", "--roles", "rep", "search", "--workspace", "acme", "big")
	assert.Contains(t, out, "no records match")

	assert.Equal(t, "no records match\n", okCLI(t, "--dir", f.dir, "search", "--workspace", "acme", "zzz"))
	r := runCLI(t, "--dir", f.dir, "search", "--workspace", "acme")
	assert.Equal(t, 2, r.code)
	r = runCLI(t, "--dir", f.dir, "search", "--workspace", "acme", "--object", "activity", "x")
	assert.Equal(t, 2, r.code)
}
