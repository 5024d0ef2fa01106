package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCLIInput runs crmctl through run as runCLI does, with stdin as its
// standard input.
func runCLIInput(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// tableRows returns the rows of a table in out, each split into its
// cells: runs of two spaces or more separate them.
func tableRows(out string) [][]string {
	var rows [][]string
	for line := range strings.Lines(out) {
		if line = strings.TrimRight(line, " \n"); line != "" {
			rows = append(rows, regexp.MustCompile(`  +`).Split(line, -1))
		}
	}
	return rows
}

const salesPolicy = "testdata/policy/sales.json"

func TestPolicySetShowClear(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	out := okCLI(t, append(d, "policy", "show", "--workspace", "acme")...)
	assert.Contains(t, out, "workspace acme has no access policy: every call may do everything")
	r := runCLI(t, append(d, "policy", "show", "--workspace", "acme", "--json")...)
	assert.Equal(t, exitOK, r.code)
	assert.Equal(t, "null\n", r.stdout)
	assert.Contains(t, r.stderr, "has no access policy")

	out = okCLI(t, append(d, "policy", "set", "--workspace", "acme", salesPolicy)...)
	assert.Equal(t, "set the access policy of workspace acme: version 1, 2 roles, 2 teams\n", out)

	out = okCLI(t, append(d, "policy", "show", "--workspace", "acme")...)
	sections := strings.Split(out, "\n\n")
	require.Len(t, sections, 4, out)
	assert.Equal(t, "access policy of workspace acme, version 1: 2 roles, 2 teams (and 5 built-in roles)", sections[0])
	grants := tableRows(sections[1])
	assert.Equal(t, []string{"ROLE", "KIND", "ACTIONS", "SCOPE"}, grants[0])
	assert.Equal(t, [][]string{
		{"sales", "contact", "read,create,update", "team"},
		{"sales", "deal", "read,update", "team"},
		{"sales", "pipeline", "read", "all"},
		{"auditor", "*", "read", "all"},
		{"admin (built-in)", "*", "*", "all"},
	}, grants[1:6])
	assert.Contains(t, grants, []string{"rep (built-in)", "deal", "read,create,update,delete", "own"})
	assert.Contains(t, grants, []string{"integration (built-in)", "segment", "read", "all"})
	assert.Equal(t, [][]string{
		{"ROLE", "FIELD", "ACCESS"},
		{"sales", "deal.amount", "read_only"},
		{"auditor", "contact.emails", "hidden"},
	}, tableRows(sections[2]))
	assert.Equal(t, [][]string{
		{"TEAM", "PARENT", "MEMBERS"},
		{"emea", "ann"}, // no parent: an empty cell
		{"dach", "emea", "bob"},
	}, tableRows(sections[3]))

	// The JSON is the file's policy, with its version, and sets again as
	// it is; --if-version pins the version it replaces.
	file, err := os.ReadFile(salesPolicy)
	require.NoError(t, err)
	var want crm.Policy
	require.NoError(t, json.Unmarshal(file, &want))
	want.Version = 1
	shown := okCLI(t, append(d, "policy", "show", "--workspace", "acme", "--json")...)
	var got crm.Policy
	require.NoError(t, json.Unmarshal([]byte(shown), &got))
	assert.Equal(t, want, got)
	out = runCLIInput(t, shown, append(d, "policy", "set", "--workspace", "acme", "--if-version", "1", "-")...).stdout
	assert.Equal(t, "set the access policy of workspace acme: version 2, 2 roles, 2 teams\n", out)
	r = runCLIInput(t, shown, append(d, "policy", "set", "--workspace", "acme", "--if-version", "1", "-")...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "the policy is at version 2, not 1: version conflict")
	assert.Contains(t, okCLI(t, append(d, "policy", "show", "--workspace", "acme")...), ", version 2: ")

	out = okCLI(t, append(d, "policy", "clear", "--workspace", "acme")...)
	assert.Equal(t, "cleared the access policy of workspace acme (version 2): every call may do everything again\n", out)
	assert.Contains(t, okCLI(t, append(d, "policy", "show", "--workspace", "acme")...), "has no access policy")
	assert.Equal(t, "workspace acme has no access policy: nothing to clear\n", okCLI(t, append(d, "policy", "clear", "--workspace", "acme")...))
}

// A policy that fails its check is refused whole, with every problem
// named by its field.
func TestPolicySetBadFile(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	r := runCLI(t, append(d, "policy", "set", "--workspace", "acme", "testdata/policy/bad.json")...)
	assert.Equal(t, exitFailure, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, `roles[0].grants[0].kind: "deals" is not one of contact, company, deal, activity, purchase, pipeline, segment, workspace or *
roles[0].grants[0].actions[1]: "approve" is not an action (read, create, update, delete, export, erase or *)
roles[0].grants[0].scope: "mine" is not none, own, team or all
roles[0].fields[0].access: is "secret", not "hidden" or "read_only"
roles[0].fields[0].field: "deal.colour": deals have no field "colour"
roles[1].name: "sales" is defined twice
roles[2].grants[0].scope: pipelines have no owner: their scope is none or all
teams[0].parent: team "emea" is its own ancestor
teams[1].parent: team "dach" is its own ancestor
teams[2].parent: "asia" is not a team of the policy
crmctl policy set: testdata/policy/bad.json: the policy has 10 problems; nothing was stored
`, r.stderr)
	assert.Contains(t, okCLI(t, append(d, "policy", "show", "--workspace", "acme")...), "has no access policy")

	// A file that is not a policy is located by line and column.
	for in, want := range map[string]string{
		"":                                      `standard input is empty: want a JSON policy, {"roles": [...], "teams": [...]}`,
		"{\"roles\": [\n  {\"name\": 5}]}":      "standard input: line 2, column 13: roles.name: want a string, got a number",
		"{\"roles\": [\n  {\"name\": \"x\",}]}": "standard input: line 2, column 17: invalid character '}' looking for beginning of object key string",
		`{"roles": [{"name": "x", "grants": [{"kind": "deal", "actions": ["read"], "scop": "all"}]}]}`: `standard input: line 1, column 76: unknown field "scop"; did you mean "scope"?`,
		`{"roles": [`:      "standard input: line 1, column 12: the file ends inside the policy",
		"{}\n{}":           "standard input: line 2, column 1: more after the policy's closing brace",
		`[]`:               "standard input: line 1, column 2: policy: want an object, got an array",
		`{"version": "2"}`: "standard input: line 1, column 16: version: want a number, got a string",
	} {
		r := runCLIInput(t, in, append(d, "policy", "set", "--workspace", "acme", "-")...)
		assert.Equal(t, exitFailure, r.code, "%q", in)
		assert.Equal(t, "crmctl policy set: "+want+"\n", r.stderr, "%q", in)
	}
}

// --as, --roles and --teams act as a principal under the policy; without
// them crmctl is the System principal and sees everything.
func TestPolicyActAs(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	deals := func(who ...string) []string {
		t.Helper()
		var names []string
		for _, row := range tableRows(okCLI(t, append(append(d, who...), "list", "--workspace", "acme", "--object", "deal")...))[1:] {
			names = append(names, row[1])
		}
		return names
	}
	// Without a policy --as changes nothing, and says so.
	r := runCLI(t, append(d, "--as", "bob", "--roles", "rep", "list", "--workspace", "acme", "--object", "deal")...)
	assert.Equal(t, exitOK, r.code)
	assert.Len(t, tableRows(r.stdout), 4)
	assert.Equal(t, "crmctl: workspace acme has no access policy: acting as bob changes nothing\n", r.stderr)

	okCLI(t, append(d, "policy", "set", "--workspace", "acme", salesPolicy)...)
	assert.Equal(t, []string{"Big", "Small", "Won"}, deals(), "the operator sees every deal")
	assert.Equal(t, []string{"Small"}, deals("--as", "bob", "--roles", "rep"), "a rep sees its own deals")
	assert.Equal(t, []string{"Small"}, deals("--as", "bob", "--roles", "sales"), "dach has no team below it")
	assert.Equal(t, []string{"Big", "Small", "Won"}, deals("--as", "ann", "--roles", "sales"), "emea reaches dach's members")
	assert.Empty(t, deals("--as", "cy", "--roles", "sales"), "cy owns no deal and is in no team")
	assert.Equal(t, []string{"Big", "Small", "Won"}, deals("--as", "cy", "--roles", "sales", "--teams", "emea"), "--teams puts cy in emea")
	// The principal flags are taken after the command too.
	out := okCLI(t, append(d, "list", "--workspace", "acme", "--object", "deal", "--as", "bob", "--roles", "rep")...)
	assert.Len(t, tableRows(out), 2)

	// A hidden field is left out.
	out = okCLI(t, append(d, "--as", "cy", "--roles", "auditor", "get", "--workspace", "acme", "--id", f.bob)...)
	var bob crm.Contact
	require.NoError(t, json.Unmarshal([]byte(out), &bob))
	assert.Equal(t, "Bob", bob.FirstName)
	assert.Empty(t, bob.Emails)
	assert.Contains(t, okCLI(t, append(d, "get", "--workspace", "acme", "--id", f.bob)...), "bob@example.com")

	// A record out of the principal's reach is not found; a kind no role
	// grants, and the policy itself, are forbidden.
	r = runCLI(t, append(d, "--as", "bob", "--roles", "rep", "get", "--workspace", "acme", "--id", f.big)...)
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "not found")
	for _, args := range [][]string{
		{"--as", "bob", "list", "--workspace", "acme", "--object", "deal"},
		{"--as", "bob", "--roles", "rep", "policy", "show", "--workspace", "acme"},
		{"--as", "bob", "--roles", "sales", "policy", "clear", "--workspace", "acme"},
	} {
		r := runCLI(t, append(d, args...)...)
		assert.Equal(t, exitFailure, r.code, "%v", args)
		assert.Contains(t, r.stderr, "crm: principal bob may not ", "%v", args)
		assert.Empty(t, r.stdout, "%v", args)
	}

	// Roles and teams the policy does not know would grant nothing: they
	// are refused, with the likely one.
	for args, want := range map[string]string{
		"--as bob --roles sales,reps":       `--roles: the policy of workspace acme has no role "reps"; did you mean "rep"?`,
		"--as bob --roles boss":             `--roles: the policy of workspace acme has no role "boss" (roles: sales, auditor, admin, manager, rep, read_only, integration)`,
		"--as bob --roles rep --teams dahc": `--teams: the policy of workspace acme has no team "dahc"; did you mean "dach"?`,
		"--roles rep":                       "--roles and --teams need --as USER",
		"--as= --roles rep":                 "--as needs a user ID",
	} {
		r := runCLI(t, append(append(d, strings.Fields(args)...), "list", "--workspace", "acme", "--object", "deal")...)
		assert.Equal(t, exitUsage, r.code, args)
		assert.Contains(t, r.stderr, "crmctl list: "+want, args)
		assert.Empty(t, r.stdout, args)
	}

	// An admin principal may clear the policy; then --as changes nothing.
	okCLI(t, append(d, "--as", "ann", "--roles", "admin", "policy", "clear", "--workspace", "acme")...)
	assert.Equal(t, []string{"Big", "Small", "Won"}, deals("--as", "bob", "--roles", "rep"))
}

func TestPolicyRoles(t *testing.T) {
	rows := tableRows(okCLI(t, "policy", "roles"))
	assert.Equal(t, []string{"ROLE", "KIND", "ACTIONS", "SCOPE"}, rows[0])
	assert.Equal(t, []string{"admin", "*", "*", "all"}, rows[1])
	assert.Contains(t, rows, []string{"manager", "deal", "read,create,update,delete,export", "team"})
	var roles []crm.Role
	require.NoError(t, json.Unmarshal([]byte(okCLI(t, "policy", "roles", "--json")), &roles))
	assert.Equal(t, crm.BuiltinRoles(), roles)
}

func TestPolicyUsageErrors(t *testing.T) {
	f := seed(t)
	d := []string{"--dir", f.dir}
	file := filepath.Join("testdata", "policy", "sales.json")
	cases := map[string]struct {
		args []string
		want string
	}{
		"policy alone":         {[]string{"policy"}, `crmctl: "policy" needs a subcommand: show, set, clear or roles`},
		"misspelt subcommand":  {[]string{"policy", "shwo"}, `did you mean "policy show"?`},
		"show without ws":      {[]string{"policy", "show"}, "--workspace is required"},
		"show stray argument":  {[]string{"policy", "show", "--workspace", "acme", "extra"}, `unexpected argument "extra"`},
		"set without file":     {[]string{"policy", "set", "--workspace", "acme"}, "give the policy file (- for standard input)"},
		"set two files":        {[]string{"policy", "set", "--workspace", "acme", file, file}, "give the policy file"},
		"set without ws":       {[]string{"policy", "set", file}, "--workspace is required"},
		"set version 0":        {[]string{"policy", "set", "--workspace", "acme", "--if-version", "0", file}, "--if-version 0 is not a version"},
		"set misspelt flag":    {[]string{"policy", "set", "--workspace", "acme", "--if-verison", "1", file}, "unknown flag --if-verison; did you mean --if-version?"},
		"clear without ws":     {[]string{"policy", "clear"}, "--workspace is required"},
		"roles stray argument": {[]string{"policy", "roles", "admin"}, `unexpected argument "admin"`},
		"misspelt --as":        {[]string{"--ass", "bob", "list"}, "unknown flag --ass; did you mean --as?"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, append(d, c.args...)...)
			assert.Equal(t, exitUsage, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, c.want)
			assert.Empty(t, r.stdout)
		})
	}
	assert.Contains(t, okCLI(t, append(d, "policy", "show", "--workspace", "acme")...), "has no access policy", "nothing was set")
}

// Every command's help names the principal flags and says who crmctl is
// without them.
func TestPolicyHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"list", "--help"}, {"policy", "set", "--help"}} {
		out := okCLI(t, args...)
		assert.Contains(t, out, "Principal flags", "%v", args)
		assert.Contains(t, out, "--as ID", "%v", args)
		assert.Contains(t, out, principalHelp, "%v", args)
	}
	out := okCLI(t, "policy", "set", "--help")
	assert.Contains(t, out, "Usage: crmctl policy set --workspace ID [--if-version N] FILE")
	assert.NotContains(t, out[:strings.Index(out, "Store flags")], "--as", "the principal flags are not the command's own")
}
