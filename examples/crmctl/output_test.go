package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n          int
		word, want string
	}{
		{0, "activity", "0 activities"},
		{1, "activity", "1 activity"},
		{1, "deal", "1 deal"},
		{2, "deal", "2 deals"},
		{3, "entry", "3 entries"},
		{2, "key", "2 keys"},
		{1, "likely duplicate contact pair", "1 likely duplicate contact pair"},
		{2, "likely duplicate contact pair", "2 likely duplicate contact pairs"},
		{2, "bus", "2 buses"},
	} {
		assert.Equal(t, c.want, plural(c.n, c.word))
	}
	assert.Equal(t, "1 workspace", plural(int64(1), "workspace"))
}

// TestSingularCounts runs the commands that count what they did on one
// thing of each: none of them says "1 workspaces" or "1 deals".
func TestSingularCounts(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	tmp := t.TempDir()

	backup := filepath.Join(tmp, "acme.crmbk")
	assert.Regexp(t, `^backed up 1 workspace, \d+ keys, \d+ bytes to `, okCLI(t, append(d, "backup", "--out", backup)...))
	assert.Regexp(t, `, 1 workspace \(acme\), \d+ keys, \d+ bytes\n$`, okCLI(t, "verify", backup))
	assert.Regexp(t, `^restored 1 workspace, \d+ keys from `, okCLI(t, "--dir", filepath.Join(tmp, "db2"), "restore", backup))

	doc := filepath.Join(tmp, "bob.json")
	r := runCLI(t, append(d, "privacy", "export", "--workspace", "acme", "--id", f.bob, "--out", doc)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `: 1 deal, 0 activities, 0 purchases, \d+ changes?\n$`, r.stderr)

	out := filepath.Join(tmp, "globex.csv")
	r = runCLI(t, append(d, "export", "--workspace", "acme", "--object", "company", "--where", `name = "Globex"`, "--out", out, "--progress")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "exported 1 company record to "+out+"\n")
	assert.Contains(t, r.stderr, "  1 record  ", "the progress bar")
	assert.NotRegexp(t, `(^|[^,.0-9])1 records`, r.stderr)

	r = runCLI(t, append(d, "duplicates", "--workspace", "acme", "--object", "company")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "1 likely duplicate company pair\n", r.stderr)
}

// twins is a Badger store with workspace acme, company Acme Inc and two
// contacts there with one name and one phone number.
func twins(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	withBadger(t, dir, func(st store.Store) {
		ctx := context.Background()
		ws, err := crm.New(st).CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme"})
		require.NoError(t, err)
		co, err := ws.Companies().Create(ctx, crm.Company{Name: "Acme Inc", Domain: "acme.com"})
		require.NoError(t, err)
		for _, email := range []string{"ada@example.com", "ada.lovelace@acme.com"} {
			_, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", LastName: "Lovelace", Emails: []string{email},
				Phones: []crm.Phone{{Number: "+49 30 1234567"}}, Companies: []crm.CompanyRole{{CompanyID: co.ID}}})
			require.NoError(t, err)
		}
	})
	return dir
}

func TestDuplicatesSayASameValueOnce(t *testing.T) {
	r := runCLI(t, "--dir", twins(t), "duplicates", "--workspace", "acme", "--object", "contact")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 2, r.stdout)
	assert.Contains(t, lines[1], `name: same name "Ada Lovelace"`)
	assert.Equal(t, 1, strings.Count(lines[1], `"Ada Lovelace"`), "the name is quoted once: %s", lines[1])
	assert.NotContains(t, lines[1], "(1.00)", "identical names need no similarity")
	assert.Contains(t, lines[1], "phone: ")
	assert.Equal(t, 1, strings.Count(lines[1], "1234567"), "the number is quoted once: %s", lines[1])
}

func TestReasonText(t *testing.T) {
	for _, c := range []struct{ rule, detail, want string }{
		{"name", `similar names "Ada Lovelace" and "Ada Lovelace" (1.00) at company com_1`, `name: same name "Ada Lovelace" at company com_1`},
		{"name", `similar names "Ada Lovelace" and "Ada Lovelace" (1.00)`, `name: same name "Ada Lovelace"`},
		{"name", `name "Ada Lovelace" ~ "Ada Lovelace"`, `name: same name "Ada Lovelace"`},
		{"phone", `"+49 30 1234567" and "+49 30 1234567" are both +49301234567`, `phone: same number "+49 30 1234567"`},
		{"name", `"Acme" and "Acme" are both "acme" without legal form`, `name: same name "Acme"`},
		{"name", `similar names "Ada \"The Countess\"" and "Ada \"The Countess\"" (1.00)`, `name: same name "Ada \"The Countess\""`},
		// Different values are left as they are.
		{"name", `similar names "Ada Lovelace" and "Ada King" (0.91)`, `name: similar names "Ada Lovelace" and "Ada King" (0.91)`},
		{"name", `"Acme Inc" and "ACME GmbH" are both "acme" without legal form`, `name: "Acme Inc" and "ACME GmbH" are both "acme" without legal form`},
		{"email", `same address "ada@example.com"`, `email: same address "ada@example.com"`},
		{"email", `"a.b@gmail.com" and "ab+x@gmail.com" are one Gmail mailbox`, `email: "a.b@gmail.com" and "ab+x@gmail.com" are one Gmail mailbox`},
		{"domain", `same domain acme.com`, `domain: same domain acme.com`},
	} {
		assert.Equal(t, c.want, reasonText(crm.MatchReason{Rule: c.rule, Detail: c.detail}), c.detail)
	}
}

// TestPrivacyExportHasNoNulls: a list the contact has nothing in is
// empty in the access document, not null.
func TestPrivacyExportHasNoNulls(t *testing.T) {
	f := seed(t)
	file := filepath.Join(t.TempDir(), "bob.json")
	args := []string{"--dir", f.dir, "privacy", "export", "--workspace", "acme", "--id", f.bob}
	stdout := okCLI(t, args...)
	okCLI(t, append(args, "--out", file)...)
	fromFile, err := os.ReadFile(file)
	require.NoError(t, err)
	for name, doc := range map[string][]byte{"stdout": []byte(stdout), "file": fromFile} {
		var m map[string]any
		require.NoError(t, json.Unmarshal(doc, &m), name)
		require.Contains(t, m, "custom_fields", name)
		assert.Equal(t, []any{}, m["custom_fields"], name)
		for k, v := range m {
			assert.NotNil(t, v, "%s: %q is null", name, k)
		}
	}
}

// TestHelpShowsDeclaredDefaults: a store flag given before the command
// is not shown as the default in the command's --help, and flags are
// spelt --name as they are everywhere else.
func TestHelpShowsDeclaredDefaults(t *testing.T) {
	r := runCLI(t, "--dir", "/some/where", "--progress", "list", "--help")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "/some/where")
	assert.NotContains(t, r.stdout, "(default true)")
	assert.NotContains(t, r.stdout, "\n  -dir", "single-dash flag names")
	assert.Contains(t, r.stdout, "\n  --dir directory\n")
	assert.Contains(t, r.stdout, "\n  --workspace ID\n")
	assert.Less(t, strings.Index(r.stdout, "--workspace"), strings.Index(r.stdout, "Store flags:"), "the command's flags first")
	assert.Empty(t, r.stderr)

	r = runCLI(t, "duplicates", "--format", "json", "--help")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, `output format: table or json (JSON Lines, one pair a line) (default "table")`)

	r = runCLI(t, "--dir", "/some/where", "--help")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "/some/where")
	assert.Contains(t, r.stdout, "\n  --postgres DSN\n")
}

// TestMistakesGetAShortHint: a misspelt flag or command is named, with
// the nearest one when there is one, and a pointer to --help instead of
// the whole usage.
func TestMistakesGetAShortHint(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	list := append(d, "list", "--workspace", "acme", "--object", "contact")
	for name, c := range map[string]struct {
		args   []string
		stderr string
	}{
		"misspelt flag": {append(list, "--limt", "3"),
			"crmctl list: unknown flag --limt; did you mean --limit?\nRun 'crmctl list --help' for usage.\n"},
		"swapped letters": {append(d, "list", "--wrokspace", "acme", "--object", "contact"),
			"crmctl list: unknown flag --wrokspace; did you mean --workspace?\nRun 'crmctl list --help' for usage.\n"},
		"flag cut short": {append(d, "list", "--workspace", "acme", "--obj", "contact"),
			"crmctl list: unknown flag --obj; did you mean --object?\nRun 'crmctl list --help' for usage.\n"},
		"nothing near": {append(list, "--colour"),
			"crmctl list: unknown flag --colour\nRun 'crmctl list --help' for usage.\n"},
		"missing value": {append(d, "list", "--object", "contact", "--workspace"),
			"crmctl list: flag --workspace needs a value\nRun 'crmctl list --help' for usage.\n"},
		"bad value": {append(list, "--limit", "many"),
			"crmctl list: invalid value \"many\" for --limit: parse error\nRun 'crmctl list --help' for usage.\n"},
		"misspelt store flag": {[]string{"--dri", f.dir, "workspace", "list"},
			"crmctl: unknown flag --dri; did you mean --dir?\nRun 'crmctl --help' for usage.\n"},
		"command flag first": {append(d, "--workspace", "acme", "list", "--object", "contact"),
			"crmctl: --workspace is not a store flag: give it after the command (crmctl COMMAND --workspace ...)\nRun 'crmctl --help' for usage.\n"},
		"misspelt command": {append(d, "segmnt", "list", "--workspace", "acme"),
			"crmctl: unknown command \"segmnt list\"; did you mean \"segment list\"?\nRun 'crmctl --help' for the list of commands.\n"},
		"misspelt report": {append(d, "report", "pipline", "--workspace", "acme"),
			"crmctl report: unknown report \"pipline\"; did you mean \"pipeline\"? (one of " + strings.Join(reportNames, ", ") + ")\nRun 'crmctl report --help' for usage.\n"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, c.args...)
			assert.Equal(t, exitUsage, r.code)
			assert.Empty(t, r.stdout)
			assert.Equal(t, c.stderr, r.stderr)
		})
	}
}

func TestClosest(t *testing.T) {
	assert.Equal(t, 1, editDistance("dri", "dir"), "a transposition is one edit")
	assert.Equal(t, 3, editDistance("kitten", "sitting"))
	assert.Equal(t, 0, editDistance("", ""))
	for _, c := range []struct {
		typed string
		cands []string
		want  string
	}{
		{"limt", []string{"json", "limit", "object"}, "limit"},
		{"dri", storeFlags, "dir"},
		{"work", []string{"where", "workspace"}, "workspace"},
		{"colour", []string{"json", "limit", "object", "workspace"}, ""},
		{"x", []string{"id"}, ""},
		{"pro", []string{"progress", "product"}, ""},
	} {
		got, ok := closest(c.typed, c.cands)
		assert.Equal(t, c.want, got, c.typed)
		assert.Equal(t, c.want != "", ok, c.typed)
	}
}

// TestChartMessage: what --svg wrote is said in words, without the
// flag's help.
func TestChartMessage(t *testing.T) {
	f := seed(t)
	svg := filepath.Join(t.TempDir(), "pipeline.svg")
	r := runCLI(t, "--dir", f.dir, "report", "pipeline", "--workspace", "acme", "--group-by", "owner", "--svg", svg)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "wrote the open pipeline by stage to "+svg+"\n", r.stderr)
	r = runCLI(t, "report", "pipeline", "--help")
	assert.Contains(t, r.stdout, "also write the open pipeline by stage as SVG to FILE (stacked by group with --group-by)")
}

// TestMergeAndPrivacyByEmail: merge takes a contact by email and a
// company by domain, privacy a contact by --email.
func TestMergeAndPrivacyByEmail(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	r := runCLI(t, append(d, "merge", "--workspace", "acme", "--keep", "ada.lovelace@gmail.com", "--drop", "adalovelace+crm@gmail.com")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var ada crm.Contact
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ada))
	assert.Equal(t, f.ada, ada.ID)
	assert.Equal(t, "merged contact "+f.adaDup+" (adalovelace+crm@gmail.com) into "+f.ada+" (ada.lovelace@gmail.com)\n", r.stderr)

	var co crm.Company
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(d, "merge", "--workspace", "acme", "--keep", "acme.com", "--drop", "eu.acme.com")...)), &co))
	assert.Equal(t, f.acme, co.ID)

	var doc crm.ContactExport
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, append(d, "privacy", "export", "--workspace", "acme", "--email", "bob@example.com")...)), &doc))
	assert.Equal(t, f.bob, doc.Contact.ID)

	r = runCLI(t, append(d, "privacy", "export", "--workspace", "acme", "--id", f.bob, "--email", "bob@example.com")...)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "give exactly one of --id, --email")
	r = runCLI(t, append(d, "privacy", "erase", "--workspace", "acme", "--email", "nobody@example.com", "--yes")...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "not found")

	assert.Equal(t, "erased contact "+f.bob+" (bob@example.com)\n",
		okCLI(t, append(d, "privacy", "erase", "--workspace", "acme", "--email", "bob@example.com", "--yes")...))
	r = runCLI(t, append(d, "get", "--workspace", "acme", "--id", f.bob)...)
	assert.Equal(t, exitFailure, r.code, "erased")
}

// TestMoreWording: a dry run says that it wrote nothing and what it
// would have done; a segment of the wrong kind is named in plain plurals
// ("companies", not "companys").
func TestMoreWording(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	r := runCLI(t, append(d, "import", "--workspace", "acme", "--object", "contact", "--dry-run", "testdata/contacts.csv")...)
	assert.Regexp(t, `^dry run of a contact import, nothing written: read 5, would create \d+, update \d+, skip \d+, reject \d+\n`, r.stdout)

	okCLI(t, append(d, "segment", "create", "--workspace", "acme", "--name", "Leads", "--object", "contact", "--where", `lifecycle = "lead"`)...)
	r = runCLI(t, append(d, "export", "--workspace", "acme", "--object", "company", "--segment", "Leads")...)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `segment "Leads" holds contacts, not companies`)
}
