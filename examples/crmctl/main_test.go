package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// binary is the crmctl built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crmctl-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "crmctl")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build crmctl: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// crmctl runs the binary with args and returns its exit code and output.
func crmctl(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run crmctl: %v", err)
	}
	return result{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
}

// ok runs crmctl and requires exit code 0.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := crmctl(t, args...)
	require.Equal(t, 0, r.code, "crmctl %v\nstdout: %s\nstderr: %s", args, r.stdout, r.stderr)
	return r.stdout
}

// newStore returns a Badger directory with workspace acme and the test
// contacts imported (three good rows, two rejected).
func newStore(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "db")
	ok(t, "--dir", dir, "workspace", "create", "--id", "acme", "--name", "Acme", "--currency", "EUR")
	r := crmctl(t, "--dir", dir, "import", "--workspace", "acme", "--object", "contact", "testdata/contacts.csv")
	require.Equal(t, 3, r.code, r.stderr)
	return dir
}

func TestHelp(t *testing.T) {
	out := ok(t, "--help")
	for _, c := range commands() {
		assert.Contains(t, out, c.name)
		r := crmctl(t, append(strings.Fields(c.name), "--help")...)
		assert.Equal(t, 0, r.code, c.name)
		assert.Contains(t, r.stdout, "Usage: crmctl "+c.name, c.name)
		assert.Contains(t, r.stdout, "-dir", c.name)
	}
	assert.Contains(t, ok(t, "help"), "Exit codes")
}

func TestUsageErrors(t *testing.T) {
	dir := newStore(t)
	cases := map[string][]string{
		"no command":        nil,
		"unknown command":   {"frobnicate"},
		"unknown flag":      {"--dir", dir, "list", "--workspace", "acme", "--object", "contact", "--colour"},
		"missing workspace": {"--dir", dir, "list", "--object", "contact"},
		"bad object":        {"--dir", dir, "list", "--workspace", "acme", "--object", "lead"},
		"no store":          {"list", "--workspace", "acme", "--object", "contact"},
		"two stores":        {"--dir", dir, "--postgres", "postgres://x", "workspace", "list"},
		"get needs a key":   {"--dir", dir, "get", "--workspace", "acme"},
		"stray argument":    {"--dir", dir, "workspace", "list", "extra"},
		"bad mapping":       {"--dir", dir, "import", "--workspace", "acme", "--object", "contact", "--map", "nofield", "testdata/contacts.csv"},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			r := crmctl(t, args...)
			assert.Equal(t, 2, r.code, r.stderr)
			assert.NotEmpty(t, r.stderr)
			assert.Empty(t, r.stdout)
		})
	}
}

func TestWorkspaces(t *testing.T) {
	dir := newStore(t)
	ok(t, "--dir", dir, "workspace", "create", "--id", "globex")
	out := ok(t, "--dir", dir, "workspace", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	assert.Regexp(t, `^acme\s+Acme\s+EUR`, lines[1])
	assert.Regexp(t, `^globex\s+USD`, lines[2])

	r := crmctl(t, "--dir", dir, "workspace", "create", "--id", "acme")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "already exists")
	r = crmctl(t, "--dir", dir, "workspace", "create", "--id", "bad id!")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "id:")

	var infos []crm.WorkspaceInfo
	for line := range strings.Lines(ok(t, "--dir", dir, "workspace", "list", "--json")) {
		var info crm.WorkspaceInfo
		require.NoError(t, json.Unmarshal([]byte(line), &info))
		infos = append(infos, info)
	}
	require.Len(t, infos, 2)
	assert.Equal(t, "globex", infos[1].ID)
}

func TestImportListGetExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	ok(t, "--dir", dir, "workspace", "create", "--id", "acme")
	rejects := filepath.Join(t.TempDir(), "rejects.csv")
	r := crmctl(t, "import", "--dir", dir, "--workspace", "acme", "--object", "contact", "--rejects", rejects, "testdata/contacts.csv")
	assert.Equal(t, 3, r.code, "rows were rejected")
	assert.Contains(t, r.stdout, "read 5, created 3, updated 0, skipped 0, rejected 2")
	assert.Contains(t, r.stderr, "line 4: email:")
	assert.Contains(t, r.stderr, "line 5: lifecycle:")
	rej, err := os.ReadFile(rejects)
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(string(rej), "\n"), "header and two rows:\n%s", rej)
	assert.Contains(t, string(rej), "not-an-email")

	// Re-importing with an upsert key changes nothing for the good rows.
	r = crmctl(t, "--dir", dir, "import", "--workspace", "acme", "--object", "contact", "--upsert-by", "email", "testdata/contacts.csv")
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stdout, "created 0, updated 0, skipped 3, rejected 2")

	out := ok(t, "--dir", dir, "list", "--workspace", "acme", "--object", "contact")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4)
	assert.Regexp(t, `^ID\s+NAME\s+EMAIL$`, lines[0])
	assert.Regexp(t, `^con_\S+\s+Ada Lovelace\s+ADA@example.com$`, lines[1], "the local part as written, the domain lower case")
	adaID := strings.Fields(lines[1])[0]
	assert.Len(t, strings.Split(strings.TrimSpace(ok(t, "--dir", dir, "list", "--workspace", "acme", "--object", "contact", "--limit", "2", "--json")), "\n"), 2)

	var ada crm.Contact
	require.NoError(t, json.Unmarshal([]byte(ok(t, "--dir", dir, "get", "--workspace", "acme", "--email", "ADA@example.com")), &ada))
	assert.Equal(t, adaID, ada.ID)
	assert.Equal(t, []string{"vip"}, ada.Tags)
	var byID crm.Contact
	require.NoError(t, json.Unmarshal([]byte(ok(t, "--dir", dir, "get", "--workspace", "acme", "--id", adaID)), &byID))
	assert.Equal(t, ada, byID)

	r = crmctl(t, "--dir", dir, "get", "--workspace", "acme", "--email", "nobody@example.com")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "not found")
	r = crmctl(t, "--dir", dir, "get", "--workspace", "nope", "--id", adaID)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "workspace nope")

	csv := ok(t, "--dir", dir, "export", "--workspace", "acme", "--object", "contact")
	assert.Equal(t, 4, strings.Count(csv, "\n"))
	assert.True(t, strings.HasPrefix(csv, "id,first_name,"))
	jsonl := filepath.Join(t.TempDir(), "contacts.jsonl")
	r = crmctl(t, "--dir", dir, "export", "--workspace", "acme", "--object", "contact", "--out", jsonl)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "exported 3 contact records")
	f, err := os.Open(jsonl)
	require.NoError(t, err)
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
	}
	assert.Equal(t, 3, n)

	// The export imports into a fresh workspace unchanged.
	ok(t, "--dir", dir, "workspace", "create", "--id", "copy")
	out = ok(t, "--dir", dir, "import", "--workspace", "copy", "--object", "contact", jsonl)
	assert.Contains(t, out, "read 3, created 3")
}

func TestProgress(t *testing.T) {
	dir := newStore(t)
	ok(t, "--dir", dir, "workspace", "create", "--id", "two")
	r := crmctl(t, "--dir", dir, "--progress", "import", "--workspace", "two", "--object", "contact", "testdata/contacts.csv")
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stderr, "100%")
	assert.Contains(t, r.stderr, "5 rows")
	assert.Contains(t, r.stderr, "rows/s")
	// Standard error is a pipe here: no bar unless asked for.
	r = crmctl(t, "--dir", dir, "export", "--workspace", "two", "--object", "contact")
	assert.Equal(t, 0, r.code)
	assert.NotContains(t, r.stderr, "records/s")
	r = crmctl(t, "--dir", dir, "export", "--workspace", "two", "--object", "contact", "--progress")
	assert.Contains(t, r.stderr, "3 records")
	assert.Contains(t, r.stderr, "records/s")
}

func TestBackupRestore(t *testing.T) {
	dir := newStore(t)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "acme.crmbk")
	out := ok(t, "--dir", dir, "backup", "--out", file, "--workspace", "acme")
	assert.Regexp(t, `^backed up 1 workspace, \d+ keys, \d+ bytes to `, out)
	assert.Regexp(t, `^ok: format 1, taken .*, 1 workspace \(acme\), \d+ keys, \d+ bytes\n$`, ok(t, "verify", file))
	leftovers, _ := filepath.Glob(filepath.Join(tmp, "*.partial"))
	assert.Empty(t, leftovers)

	list := func(dir string) string {
		return ok(t, "--dir", dir, "list", "--workspace", "acme", "--object", "contact", "--json")
	}
	dir2 := filepath.Join(tmp, "db2")
	out = ok(t, "--dir", dir2, "restore", file)
	assert.Contains(t, out, "restored 1 workspace, ")
	assert.Equal(t, list(dir), list(dir2))

	r := crmctl(t, "--dir", dir2, "restore", file)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "workspace acme: workspace already exists")
	assert.Contains(t, ok(t, "--dir", dir2, "restore", file, "--replace"), "restored 1")
	assert.Equal(t, list(dir), list(dir2))

	// A damaged file is refused and writes nothing.
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	for name, bad := range map[string][]byte{
		"flipped":   append(append(bytes.Clone(data[:len(data)/2]), data[len(data)/2]^1), data[len(data)/2+1:]...),
		"truncated": data[:len(data)-10],
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.crmbk")
			require.NoError(t, os.WriteFile(path, bad, 0o600))
			r := crmctl(t, "verify", path)
			assert.Equal(t, 1, r.code)
			assert.Contains(t, r.stderr, "backup is")
			dir3 := filepath.Join(t.TempDir(), "db3")
			r = crmctl(t, "--dir", dir3, "restore", path)
			assert.Equal(t, 1, r.code)
			assert.Contains(t, r.stderr, "backup is")
			assert.Equal(t, 1, strings.Count(ok(t, "--dir", dir3, "workspace", "list"), "\n"), "no workspace")
		})
	}
}

func TestCheckAndRepair(t *testing.T) {
	dir := newStore(t)
	out := ok(t, "--dir", dir, "check", "--workspace", "acme")
	assert.Regexp(t, `checked \d+ records, \d+ entries, \d+ counters: 0 problems, 0 repaired`, out)

	// Damage the store behind the CRM's back: drop Ada's email entry.
	var adaKey []byte
	withBadger(t, dir, func(st store.Store) {
		require.NoError(t, st.Update(context.Background(), func(tx store.Tx) error {
			for e, err := range tx.Scan(store.Range{KeysOnly: true}) {
				if err != nil {
					return err
				}
				if strings.Contains(crm.KeyString(e.Key), "email/ada@example.com/") {
					adaKey = bytes.Clone(e.Key)
				}
			}
			return tx.Delete(adaKey)
		}))
	})
	require.NotNil(t, adaKey)
	r := crmctl(t, "--dir", dir, "check", "--workspace", "acme")
	assert.Equal(t, 3, r.code, "drift found")
	assert.Contains(t, r.stdout, "missing "+crm.KeyString(adaKey))
	assert.Contains(t, r.stdout, ": 1 problem, 0 repaired")
	assert.Contains(t, r.stderr, "run with --repair")

	var rep crm.CheckReport
	r = crmctl(t, "--dir", dir, "check", "--workspace", "acme", "--json")
	assert.Equal(t, 3, r.code)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Len(t, rep.Issues, 1)
	assert.Equal(t, crm.DriftMissing, rep.Issues[0].Problem)
	assert.Equal(t, "email", rep.Issues[0].Index)
	assert.Equal(t, adaKey, rep.Issues[0].Key)

	out = ok(t, "--dir", dir, "check", "--workspace", "acme", "--repair")
	assert.Contains(t, out, "[repaired]")
	assert.Contains(t, out, ": 1 problem, 1 repaired")
	assert.Contains(t, ok(t, "--dir", dir, "check", "--workspace", "acme"), "0 problems")
	ok(t, "--dir", dir, "get", "--workspace", "acme", "--email", "ada@example.com")
}

func withBadger(t *testing.T, dir string, fn func(store.Store)) {
	t.Helper()
	st, err := badger.Open(dir)
	require.NoError(t, err)
	defer st.Close()
	fn(st)
}

func TestPostgres(t *testing.T) {
	pgs := teststore.SharedPostgres(t)
	dir := newStore(t)
	file := filepath.Join(t.TempDir(), "all.crmbk")
	ok(t, "--dir", dir, "backup", "--out", file)
	pg := []string{"--postgres", pgs.DSN, "--schema", pgs.Schema}
	ok(t, append(pg, "restore", file)...)
	assert.Equal(t,
		ok(t, "--dir", dir, "list", "--workspace", "acme", "--object", "contact", "--json"),
		ok(t, append(pg, "list", "--workspace", "acme", "--object", "contact", "--json")...))
	assert.Contains(t, ok(t, append(pg, "check", "--workspace", "acme")...), "0 problems")
	r := crmctl(t, append(pg, "import", "--workspace", "acme", "--object", "contact", "--upsert-by", "email", "testdata/contacts.csv")...)
	assert.Equal(t, 3, r.code)
	assert.Contains(t, r.stdout, "skipped 3, rejected 2")
}

// TestMissingDirIsRefused runs commands that only read or change an
// existing store on a directory that does not exist: each is refused,
// saying so, and no empty store is left behind.
func TestMissingDirIsRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nodata")
	for _, args := range [][]string{
		{"workspace", "list"},
		{"list", "--workspace", "acme", "--object", "contact"},
		{"report", "pipeline", "--workspace", "acme"},
		{"backup", "--out", filepath.Join(t.TempDir(), "b.crmbk")},
	} {
		r := crmctl(t, append([]string{"--dir", dir}, args...)...)
		assert.NotZero(t, r.code, "%v", args)
		assert.Contains(t, r.stderr, "does not exist", "%v", args)
		_, err := os.Stat(dir)
		assert.ErrorIs(t, err, os.ErrNotExist, "%v made the directory", args)
	}
	ok(t, "--dir", dir, "workspace", "create", "--id", "acme", "--name", "Acme")
	assert.Contains(t, ok(t, "--dir", dir, "workspace", "list"), "acme")
}
