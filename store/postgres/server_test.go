package postgres_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// serverBinaries is where Debian's PostgreSQL packages put initdb and
// pg_ctl, one directory per major version.
const serverBinaries = "/usr/lib/postgresql/*/bin"

// privateServer is a PostgreSQL cluster of the test's own, which the test
// may stop and restart without disturbing the shared test server.
type privateServer struct {
	bin, data, sockets, log string
	port                    int
	runAs                   string // the user to run the server as, when the test runs as root
}

// startPrivateServer initialises and starts a cluster in a temporary
// directory, stopped and removed when the test ends.
func startPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	ps := newPrivateServer(t)
	ps.run(t, "initdb", "-D", ps.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	ps.start(t)
	return ps
}

// startStandby starts a streaming replica of primary, a hot standby that
// serves read-only queries, stopped and removed when the test ends.
func startStandby(t *testing.T, primary *privateServer) *privateServer {
	t.Helper()
	ps := newPrivateServer(t)
	ps.run(t, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", "postgres",
		"-D", ps.data, "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
	ps.start(t)
	return ps
}

// newPrivateServer prepares the directory and port of a cluster. It skips
// the test, with one line, when the server binaries are missing, except
// under CI, which must run these tests.
func newPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(serverBinaries, "pg_ctl"))
	if len(matches) == 0 {
		skipServer(t, "PostgreSQL server binaries (initdb, pg_ctl) not found in "+serverBinaries)
	}
	slices.SortFunc(matches, func(a, b string) int { return majorVersion(b) - majorVersion(a) })
	ps := &privateServer{bin: filepath.Dir(matches[0])}

	dir, err := os.MkdirTemp("", "crmkit-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// initdb and the server refuse to run as root: run them as postgres.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skipServer(t, "running as root and no postgres user to run the server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		require.NoError(t, os.Chown(dir, uid, gid))
		ps.runAs = "postgres"
	}
	ps.data, ps.sockets, ps.log = filepath.Join(dir, "data"), dir, filepath.Join(dir, "server.log")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ps.port = ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())

	return ps
}

// start starts the server, stopped when the test ends.
func (ps *privateServer) start(t *testing.T) {
	t.Helper()
	ps.run(t, "pg_ctl", "-D", ps.data, "-l", ps.log, "-w", "-t", "60", "-o", ps.options(), "start")
	t.Cleanup(func() {
		cmd := ps.command("pg_ctl", "-D", ps.data, "-w", "-m", "immediate", "stop")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("stop private server: %v\n%s", err, out)
		}
	})
}

// skipServer skips a test that needs a server of its own, with one line
// saying why, except under CI, which must run it.
func skipServer(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(why + ": CI must run the tests that start a server of their own")
	}
	t.Skip(why + ": skipping a test that starts a server of its own")
}

// majorVersion reads the version from a path like
// /usr/lib/postgresql/15/bin/pg_ctl.
func majorVersion(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// options are the server's command-line settings: its own port and socket
// directory, TCP on the loopback only, and durable commits (the default),
// so that an immediate stop loses nothing acknowledged.
func (ps *privateServer) options() string {
	return fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=on", ps.port, ps.sockets)
}

func (ps *privateServer) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(ps.bin, name)
	if ps.runAs != "" {
		return exec.Command("runuser", append([]string{"-u", ps.runAs, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (ps *privateServer) run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := ps.command(name, args...).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(ps.log)
		t.Fatalf("%s: %v\n%s\nserver log:\n%s", name, err, out, log)
	}
}

// dsn names the private server's postgres database over TCP.
func (ps *privateServer) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", ps.port)
}

// restart stops the server the way a crash or a power cut would (immediate
// mode: no checkpoint, sessions cut) and starts it again, which replays the
// write-ahead log.
func (ps *privateServer) restart(t *testing.T) {
	t.Helper()
	ps.run(t, "pg_ctl", "-D", ps.data, "-w", "-m", "immediate", "stop")
	ps.run(t, "pg_ctl", "-D", ps.data, "-l", ps.log, "-w", "-t", "60", "-o", ps.options(), "start")
}
