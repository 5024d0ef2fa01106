package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/stretchr/testify/assert"
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
// directory, stopped and removed when the test ends. It skips the test,
// with one line, when the server binaries are missing, except under CI.
func startPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(serverBinaries, "pg_ctl"))
	if len(matches) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL server binaries (initdb, pg_ctl) not found in " + serverBinaries + ": CI must run the restart test")
		}
		t.Skip("PostgreSQL server binaries (initdb, pg_ctl) not found in " + serverBinaries + ": skipping the server restart test")
	}
	slices.SortFunc(matches, func(a, b string) int { return majorVersion(b) - majorVersion(a) })
	ps := &privateServer{bin: filepath.Dir(matches[0])}

	dir, err := os.MkdirTemp("", "crmkit-pg-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// initdb and the server refuse to run as root: run them as postgres.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root needs a postgres user to run the server as")
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

	ps.run(t, "initdb", "-D", ps.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	ps.run(t, "pg_ctl", "-D", ps.data, "-l", ps.log, "-w", "-t", "60", "-o", ps.options(), "start")
	t.Cleanup(func() {
		cmd := ps.command("pg_ctl", "-D", ps.data, "-w", "-m", "immediate", "stop")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("stop private server: %v\n%s", err, out)
		}
	})
	return ps
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

// TestFaultServerRestart restarts the server, immediate mode, while four
// goroutines write through one store. Each Update writes two keys; the
// writers go on through the outage. Afterwards every acknowledged write is
// present, no Update is half-written, every failure was ErrUnavailable, and
// the pool serves writes again without being reopened.
func TestFaultServerRestart(t *testing.T) {
	ps := startPrivateServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, ps.dsn(), postgres.WithMaxConns(4))
	require.NoError(t, err)
	defer s.Close()

	const writers = 4
	var (
		stop     atomic.Bool
		acked    [writers]atomic.Int64 // writes acknowledged so far, per writer
		mu       sync.Mutex
		failures []error
		wg       sync.WaitGroup
	)
	ackedKeys := make([][]int, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				err := s.Update(ctx, func(tx store.Tx) error {
					if err := tx.Set(fmt.Appendf(nil, "a/%d/%06d", w, i), []byte("x")); err != nil {
						return err
					}
					return tx.Set(fmt.Appendf(nil, "b/%d/%06d", w, i), []byte("x"))
				})
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
					time.Sleep(10 * time.Millisecond) // the server is away
					continue
				}
				ackedKeys[w] = append(ackedKeys[w], i)
				acked[w].Add(1)
			}
		}()
	}
	// waitAcked waits until every writer has n more acknowledged writes.
	waitAcked := func(n int64, what string) {
		t.Helper()
		var from [writers]int64
		for w := range writers {
			from[w] = acked[w].Load()
		}
		deadline := time.Now().Add(time.Minute)
		for w := range writers {
			for acked[w].Load() < from[w]+n {
				require.True(t, time.Now().Before(deadline), "writer %d made no progress %s", w, what)
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	waitAcked(20, "before the restart")
	ps.restart(t)
	waitAcked(20, "after the restart: the pool did not recover")
	stop.Store(true)
	wg.Wait()

	// Every failure is typed, and there were some: the restart cut
	// sessions in the middle of Updates.
	require.NotEmpty(t, failures, "the restart cut no write; the test proves nothing")
	for _, err := range failures {
		assert.ErrorIs(t, err, postgres.ErrUnavailable)
		assert.False(t, errors.Is(err, store.ErrConflict), "a lost session is no conflict: %v", err)
	}
	t.Logf("%d writes failed during the restart", len(failures))

	// Every acknowledged write is there, and both keys of every Update or
	// neither.
	present := map[string]bool{}
	require.NoError(t, s.View(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{KeysOnly: true}) {
			if err != nil {
				return err
			}
			present[string(e.Key)] = true
		}
		return nil
	}))
	for w := range writers {
		for _, i := range ackedKeys[w] {
			assert.True(t, present[fmt.Sprintf("a/%d/%06d", w, i)], "acknowledged write %d/%d lost", w, i)
		}
	}
	for k := range present {
		if k[0] == 'a' {
			assert.True(t, present["b"+k[1:]], "half-written Update: %s without its pair", k)
		} else {
			assert.True(t, present["a"+k[1:]], "half-written Update: %s without its pair", k)
		}
	}
}
