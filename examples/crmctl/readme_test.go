package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeLine is one command of a README code block.
type readmeLine struct {
	n    int // line number in README.md
	text string
}

// readmeBlock returns the commands of the first ```sh block under the
// heading, without blank and comment lines, a line ending in a backslash
// joined with the next.
func readmeBlock(t *testing.T, path, heading string) []readmeLine {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var (
		lines                 []readmeLine
		underHeading, inBlock bool
		cont                  *readmeLine
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !underHeading:
			underHeading = strings.TrimSpace(line) == heading
		case !inBlock && strings.HasPrefix(line, "## "):
			require.Failf(t, "no sh block", "%s has no ```sh block under %q", path, heading)
		case !inBlock:
			inBlock = strings.TrimSpace(line) == "```sh"
		case strings.HasPrefix(line, "```"):
			require.Nil(t, cont, "the block's last line ends in a backslash")
			return lines
		case cont != nil:
			cont.text += " " + strings.TrimSpace(line)
			if !strings.HasSuffix(cont.text, "\\") {
				lines, cont = append(lines, *cont), nil
			} else {
				cont.text = strings.TrimSuffix(cont.text, "\\")
			}
		case strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case strings.HasSuffix(line, "\\"):
			cont = &readmeLine{n, strings.TrimSuffix(line, "\\")}
		default:
			lines = append(lines, readmeLine{n, line})
		}
	}
	require.NoError(t, sc.Err())
	require.Failf(t, "no sh block", "%s has no complete ```sh block under %q", path, heading)
	return nil
}

// documentedExit finds "exits N" in a line's comment: the exit code the
// README promises instead of 0.
var documentedExit = regexp.MustCompile(`#.*\bexits ([0-9]+)\b`)

// TestReadmeAdminCLI runs the README's Admin CLI block as a reader would,
// from the top down, each line with sh in one fresh directory that holds
// the repository files the block names: the block's go build line is
// TestMain's build of this package, every other line must exit 0, or the
// code its comment documents ("# exits 3: ..."). Lines using "$DSN" run
// on a schema of their own on the server CRMKIT_TEST_POSTGRES names, and
// are skipped without it. The block must also show every command.
func TestReadmeAdminCLI(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to run the README's commands with")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	pkgDir, err := os.Getwd()
	require.NoError(t, err)
	lines := readmeBlock(t, filepath.Join(root, "README.md"), "## Admin CLI")
	require.NotEmpty(t, lines)

	work := t.TempDir()
	copyRepoFiles(t, root, work, lines)
	dsn := os.Getenv(teststore.PostgresDSN)
	if dsn != "" {
		dsn = isolatedDSN(t, dsn)
	}
	env := append(withoutCrmctlOnPath(os.Environ()), "DSN="+dsn)

	start := time.Now()
	built := false
	covered := map[string]bool{}
	for _, l := range lines {
		words := strings.Fields(l.text)
		if words[0] == "go" {
			require.False(t, built, "README.md:%d: builds crmctl twice", l.n)
			buildLine(t, l, words, root, pkgDir, work)
			built = true
			continue
		}
		require.True(t, built, "README.md:%d: runs %s before building it", l.n, words[0])
		if c, ok := commandOf(words[1:]); ok {
			covered[c] = true
		}
		if strings.Contains(l.text, "$DSN") || strings.Contains(l.text, "${DSN}") {
			if dsn == "" {
				t.Logf("README.md:%d: skipped, %s is not set: %s", l.n, teststore.PostgresDSN, l.text)
				continue
			}
		}
		want := 0
		if m := documentedExit.FindStringSubmatch(l.text); m != nil {
			want, err = strconv.Atoi(m[1])
			require.NoError(t, err)
		}
		cmd := exec.Command(sh, "-c", l.text)
		cmd.Dir, cmd.Env = work, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if _, exit := err.(*exec.ExitError); err != nil && !exit {
			require.NoError(t, err, "README.md:%d", l.n)
		}
		require.Equal(t, want, cmd.ProcessState.ExitCode(), "README.md:%d: %s\nstdout:\n%s\nstderr:\n%s",
			l.n, l.text, stdout.String(), stderr.String())
	}
	t.Logf("ran %d README lines in %s", len(lines), time.Since(start).Round(time.Millisecond))

	for _, c := range commands() {
		if c.name != "report" { // "report NAME" only says which reports there are
			assert.True(t, covered[c.name], "the README's Admin CLI block does not show %q", c.name)
		}
	}
}

// buildLine checks that the README builds this package, as "go build -o
// NAME ./examples/crmctl", and puts the binary TestMain built from it
// where the README's NAME is.
func buildLine(t *testing.T, l readmeLine, words []string, root, pkgDir, work string) {
	t.Helper()
	require.Len(t, words, 5, "README.md:%d: want go build -o NAME PACKAGE, got %s", l.n, l.text)
	require.Equal(t, []string{"go", "build", "-o"}, words[:3], "README.md:%d", l.n)
	require.Equal(t, pkgDir, filepath.Join(root, filepath.FromSlash(words[4])), "README.md:%d builds another package", l.n)
	in, err := os.Open(binary)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.OpenFile(filepath.Join(work, words[3]), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}

// commandOf returns the command a crmctl command line (after the
// program) runs, past the store flags before it.
func commandOf(args []string) (string, bool) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		n := 2 // --dir DIR
		if name == "progress" || hasValue {
			n = 1
		}
		args = args[min(n, len(args)):]
	}
	c, _, ok := findCommand(args)
	return c.name, ok
}

// copyRepoFiles copies the repository files the lines' arguments name
// (relative paths of regular files under root) to the same paths under
// work.
func copyRepoFiles(t *testing.T, root, work string, lines []readmeLine) {
	t.Helper()
	for _, l := range lines {
		for _, w := range strings.Fields(l.text)[1:] {
			w = strings.Trim(w, `"'`)
			if w == "" || filepath.IsAbs(w) || strings.Contains(w, "..") || !strings.Contains(w, "/") {
				continue
			}
			src := filepath.Join(root, filepath.FromSlash(w))
			if fi, err := os.Stat(src); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			data, err := os.ReadFile(src)
			require.NoError(t, err)
			dst := filepath.Join(work, filepath.FromSlash(w))
			require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
			require.NoError(t, os.WriteFile(dst, data, 0o644))
		}
	}
}

// withoutCrmctlOnPath drops from PATH the directories holding a crmctl,
// so that the README cannot lean on one installed there.
func withoutCrmctlOnPath(environ []string) []string {
	var out []string
	for _, kv := range environ {
		path, ok := strings.CutPrefix(kv, "PATH=")
		if !ok {
			out = append(out, kv)
			continue
		}
		var keep []string
		for _, dir := range filepath.SplitList(path) {
			if _, err := os.Stat(filepath.Join(dir, "crmctl")); err != nil {
				keep = append(keep, dir)
			}
		}
		out = append(out, "PATH="+strings.Join(keep, string(os.PathListSeparator)))
	}
	return out
}

// isolatedDSN returns dsn with a new schema, dropped when the test ends,
// first on its search_path: what the README restores into it does not
// meet what an earlier run left.
func isolatedDSN(t *testing.T, dsn string) string {
	t.Helper()
	schema := teststore.NewSchema(t, dsn).Schema
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}
