package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonLines decodes JSON Lines into values of T.
func jsonLines[T any](t *testing.T, s string) []T {
	t.Helper()
	var out []T
	for line := range strings.Lines(s) {
		var v T
		require.NoError(t, json.Unmarshal([]byte(line), &v), line)
		out = append(out, v)
	}
	return out
}

func TestDuplicates(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir, "duplicates", "--workspace", "acme"}

	r := runCLI(t, append(d, "--object", "contact")...)
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2, r.stdout)
	assert.Regexp(t, `^A\s+B\s+SCORE\s+REASONS$`, lines[0])
	assert.Regexp(t, `^`+f.ada+`\s+`+f.adaDup+`\s+0\.950\s+email: "ada.lovelace@gmail.com" and "adalovelace\+crm@gmail.com" are one Gmail mailbox`, lines[1])
	assert.Equal(t, "1 likely duplicate contact pair\n", r.stderr)

	pairs := jsonLines[crm.Duplicate](t, okCLI(t, append(d, "--object", "contact", "--format", "json")...))
	require.Len(t, pairs, 1)
	assert.Equal(t, f.ada, pairs[0].A)
	assert.Equal(t, f.adaDup, pairs[0].B)
	require.NotEmpty(t, pairs[0].Reasons)
	assert.Equal(t, "email", pairs[0].Reasons[0].Rule)

	// Above the pair's score nothing is reported.
	out := okCLI(t, append(d, "--object", "contact", "--min-score", "0.99")...)
	assert.Equal(t, 1, strings.Count(out, "\n"), "header only:\n%s", out)

	companies := jsonLines[crm.Duplicate](t, okCLI(t, append(d, "--object", "company", "--format", "json")...))
	require.Len(t, companies, 1, "Globex is no one's duplicate")
	assert.Equal(t, []string{f.acme, f.acmeEU}, []string{companies[0].A, companies[0].B})
	var rules []string
	for _, r := range companies[0].Reasons {
		rules = append(rules, r.Rule)
	}
	assert.ElementsMatch(t, []string{"domain", "name"}, rules)
	assert.Greater(t, companies[0].Score, 0.95, "two reasons of 0.85 combine")
}

func TestMerge(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	r := runCLI(t, append(d, "merge", "--workspace", "acme", "--object", "contact", "--keep", f.ada, "--drop", f.adaDup, "--prefer-drop", "last_name")...)
	require.Equal(t, 0, r.code, r.stderr)
	var survivor crm.Contact
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &survivor))
	assert.Equal(t, f.ada, survivor.ID)
	assert.Equal(t, "King", survivor.LastName, "--prefer-drop takes the dropped record's value")
	assert.Equal(t, "Countess", survivor.Title, "an empty field takes the dropped record's value")
	assert.Equal(t, []string{"ada.lovelace@gmail.com", "adalovelace+crm@gmail.com"}, survivor.Emails, "lists are combined")
	assert.Contains(t, r.stderr, "merged contact "+f.adaDup+" into "+f.ada)

	// The dropped contact's deal now names the survivor.
	var big crm.Deal
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(d, "get", "--workspace", "acme", "--id", f.big)...)), &big))
	require.Len(t, big.Contacts, 1)
	assert.Equal(t, f.ada, big.Contacts[0].ContactID)

	r = runCLI(t, append(d, "get", "--workspace", "acme", "--id", f.adaDup)...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "not found")
	r = runCLI(t, append(d, "merge", "--workspace", "acme", "--keep", f.ada, "--drop", f.adaDup)...)
	assert.Equal(t, exitFailure, r.code, "already merged")
	assert.Contains(t, r.stderr, "was merged into "+f.ada)
	out := okCLI(t, append(d, "duplicates", "--workspace", "acme", "--object", "contact")...)
	assert.Equal(t, 1, strings.Count(out, "\n"), "no duplicates left:\n%s", out)

	// The kind comes from the IDs when --object is left out.
	var co crm.Company
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(d, "merge", "--workspace", "acme", "--keep", f.acme, "--drop", f.acmeEU)...)), &co))
	assert.Equal(t, f.acme, co.ID)
	assert.Equal(t, "acme.com", co.Domain)

	r = runCLI(t, append(d, "merge", "--workspace", "acme", "--keep", f.bob, "--drop", f.cy, "--prefer-drop", "nickname")...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "fields.nickname: no such field")
}

func TestPrivacy(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	var doc crm.ContactExport
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(d, "privacy", "export", "--workspace", "acme", "--id", f.bob)...)), &doc))
	assert.Equal(t, "acme", doc.Workspace)
	assert.Equal(t, f.bob, doc.Contact.ID)
	require.Len(t, doc.Deals, 1)
	assert.Equal(t, f.small, doc.Deals[0].ID)
	assert.NotEmpty(t, doc.History)

	file := filepath.Join(t.TempDir(), "bob.json")
	r := runCLI(t, append(d, "privacy", "export", "--workspace", "acme", "--id", f.bob, "--out", file)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "exported contact "+f.bob+" to "+file+": 1 deal, 0 activities, 0 purchases, ")
	fi, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "personal data is readable by its owner only")
	var fromFile crm.ContactExport
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &fromFile))
	assert.Equal(t, doc.Contact, fromFile.Contact)

	r = runCLI(t, append(d, "privacy", "erase", "--workspace", "acme", "--id", f.bob)...)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "give --yes")
	okCLI(t, append(d, "get", "--workspace", "acme", "--id", f.bob)...)

	assert.Equal(t, "erased contact "+f.bob+"\n", okCLI(t, append(d, "privacy", "erase", "--workspace", "acme", "--id", f.bob, "--yes")...))
	r = runCLI(t, append(d, "get", "--workspace", "acme", "--id", f.bob)...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "not found")
	r = runCLI(t, append(d, "get", "--workspace", "acme", "--email", "bob@example.com")...)
	assert.Equal(t, exitFailure, r.code, "the address is gone with the contact")
	var small crm.Deal
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(d, "get", "--workspace", "acme", "--id", f.small)...)), &small))
	assert.Empty(t, small.Contacts, "the deal no longer names the contact")
	r = runCLI(t, append(d, "privacy", "export", "--workspace", "acme", "--id", f.bob)...)
	assert.Equal(t, exitFailure, r.code)

	// A merged contact is erased through its survivor.
	okCLI(t, append(d, "merge", "--workspace", "acme", "--keep", f.ada, "--drop", f.adaDup)...)
	r = runCLI(t, append(d, "privacy", "erase", "--workspace", "acme", "--id", f.adaDup, "--yes")...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "erase "+f.ada+", which holds its data")
}
