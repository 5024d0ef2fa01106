package badger_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	dgbadger "github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockHelperEnv makes the test binary act as another process holding a
// database open (see TestMain).
const lockHelperEnv = "CRMKIT_BADGER_LOCK_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(lockHelperEnv); dir != "" {
		os.Exit(holdOpen(dir))
	}
	code := m.Run()
	for _, f := range exitFuncs {
		f()
	}
	os.Exit(code)
}

// exitFuncs release what benchmarks share across runs (see atExit).
var exitFuncs []func()

// atExit runs f after all tests and benchmarks.
func atExit(f func()) { exitFuncs = append(exitFuncs, f) }

// holdOpen opens the store in dir, says "ready" on stdout and keeps it open
// until its standard input is closed.
func holdOpen(dir string) int {
	s, err := badger.Open(dir, badger.WithGCInterval(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// putValue commits key=value.
func putValue(t *testing.T, s store.Store, key, value string) {
	t.Helper()
	require.NoError(t, s.Update(context.Background(), func(tx store.Tx) error {
		return tx.Set([]byte(key), []byte(value))
	}))
}

// getValue reads key, failing the test if it is missing.
func getValue(t *testing.T, s store.Store, key string) string {
	t.Helper()
	var v []byte
	require.NoError(t, s.View(context.Background(), func(tx store.Tx) error {
		var err error
		v, err = tx.Get([]byte(key))
		return err
	}))
	return string(v)
}

// seed creates a database in dir holding k=v, and closes it.
func seed(t *testing.T, dir string) {
	t.Helper()
	s, err := badger.Open(dir)
	require.NoError(t, err)
	putValue(t, s, "k", "v")
	require.NoError(t, s.Close())
}

// assertIntact reopens dir and checks that it still holds k=v and takes
// writes.
func assertIntact(t *testing.T, dir string) {
	t.Helper()
	s, err := badger.Open(dir)
	require.NoError(t, err, "reopen after the failed open")
	defer func() { assert.NoError(t, s.Close()) }()
	assert.Equal(t, "v", getValue(t, s, "k"))
	putValue(t, s, "k2", "v2")
	assert.Equal(t, "v2", getValue(t, s, "k2"))
}

func TestOpenLockedInProcess(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir)
	s, err := badger.Open(dir)
	require.NoError(t, err)

	for _, name := range []string{dir, dir + "/.", filepath.Join(dir, "..", filepath.Base(dir))} {
		s2, err := badger.Open(name)
		assert.ErrorIs(t, err, store.ErrLocked, "second Open of %s", name)
		assert.Nil(t, s2)
	}
	// Through a symbolic link too.
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(dir, link))
	_, err = badger.Open(link)
	assert.ErrorIs(t, err, store.ErrLocked, "Open through a symbolic link")

	// The first handle is unaffected.
	assert.Equal(t, "v", getValue(t, s, "k"))
	require.NoError(t, s.Close())
	// Once closed, the directory can be opened again.
	assertIntact(t, dir)
}

func TestOpenLockedByFileLock(t *testing.T) {
	// Another process holding Badger's lock looks, to this process, like
	// an flock(2) lock on the directory through another open file.
	dir := t.TempDir()
	seed(t, dir)
	f, err := os.Open(dir)
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))

	s, err := badger.Open(dir)
	assert.ErrorIs(t, err, store.ErrLocked)
	assert.Nil(t, s)

	require.NoError(t, f.Close())
	assertIntact(t, dir)
}

func TestOpenLockedByOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	seed(t, dir)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytesBuffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "helper: %s", stderr.String())
	require.Equal(t, "ready\n", line)

	s, err := badger.Open(dir)
	assert.ErrorIs(t, err, store.ErrLocked)
	assert.Nil(t, s)
	if err != nil {
		assert.Contains(t, err.Error(), dir)
	}

	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait(), "helper: %s", stderr.String())
	assertIntact(t, dir)
}

func TestOpenUnwritablePath(t *testing.T) {
	// A path below a regular file cannot be created, even by root.
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	for _, dir := range []string{file, filepath.Join(file, "db")} {
		s, err := badger.Open(dir)
		assert.Nil(t, s)
		var pathErr *fs.PathError
		assert.ErrorAs(t, err, &pathErr, "Open(%s)", dir)
		assert.NotErrorIs(t, err, store.ErrLocked)
	}

	// A read-only directory stops everyone but root.
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes into read-only directories")
		}
		dir := t.TempDir()
		require.NoError(t, os.Chmod(dir, 0o500))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		s, err := badger.Open(dir)
		assert.Nil(t, s)
		var pathErr *fs.PathError
		assert.ErrorAs(t, err, &pathErr)
		assert.ErrorIs(t, err, fs.ErrPermission)
	})
}

func TestOpenFailureLeavesDatabaseIntact(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir)

	// Options Badger cannot work with.
	_, err := badger.Open(dir, badger.WithBadgerOptions(func(o *dgbadger.Options) { o.ValueLogFileSize = 1 }))
	assert.ErrorIs(t, err, badger.ErrInvalidOptions)
	assertIntact(t, dir)

	// Options Badger itself refuses (a value threshold over its maximum).
	_, err = badger.Open(dir, badger.WithBadgerOptions(func(o *dgbadger.Options) {
		o.MemTableSize = 64 << 20
		o.ValueThreshold = 2 << 20
	}))
	assert.Error(t, err)
	assertIntact(t, dir)

	// A wrong encryption key.
	_, err = badger.Open(dir, badger.WithBadgerOptions(func(o *dgbadger.Options) {
		o.EncryptionKey = []byte("0123456789abcdef")
	}))
	assert.Error(t, err)
	assertIntact(t, dir)
}

func TestOpenRefusesForeignDatabase(t *testing.T) {
	// A database written by a plain Badger program has another format.
	dir := t.TempDir()
	db, err := dgbadger.Open(dgbadger.DefaultOptions(dir).WithLogger(nil))
	require.NoError(t, err)
	require.NoError(t, db.Update(func(txn *dgbadger.Txn) error { return txn.Set([]byte("k"), []byte("v")) }))
	require.NoError(t, db.Close())

	s, err := badger.Open(dir)
	assert.Nil(t, s)
	require.Error(t, err)
	assert.ErrorIs(t, err, badger.ErrFormat)
	assert.NotErrorIs(t, err, store.ErrLocked)

	// The directory is released: Badger can still open it.
	db, err = dgbadger.Open(dgbadger.DefaultOptions(dir).WithLogger(nil))
	require.NoError(t, err)
	require.NoError(t, db.View(func(txn *dgbadger.Txn) error {
		_, err := txn.Get([]byte("k"))
		return err
	}))
	require.NoError(t, db.Close())
}

func TestOpenInMemoryIgnoresDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o600))
	for _, dir := range []string{"", file} {
		s, err := badger.Open(dir, badger.WithInMemory())
		require.NoError(t, err, "Open(%q)", dir)
		putValue(t, s, "k", "v")
		assert.Equal(t, "v", getValue(t, s, "k"))
		require.NoError(t, s.Close())
	}
	// Two in-memory stores are independent.
	a, err := badger.Open("", badger.WithInMemory())
	require.NoError(t, err)
	defer a.Close()
	b, err := badger.Open("", badger.WithInMemory())
	require.NoError(t, err)
	defer b.Close()
	putValue(t, a, "k", "a")
	putValue(t, b, "k", "b")
	assert.Equal(t, "a", getValue(t, a, "k"))
	assert.Equal(t, "b", getValue(t, b, "k"))
}

func TestOpenEmptyDir(t *testing.T) {
	s, err := badger.Open("")
	assert.Nil(t, s)
	assert.ErrorIs(t, err, badger.ErrInvalidOptions)
}

// bytesBuffer is a buffer safe for concurrent use, for a child's stderr.
type bytesBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *bytesBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *bytesBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// TestOpenAfterKillLeftEmptyValueLog creates what a process killed while
// Badger created a value-log file leaves, a file of length zero (which
// Badger itself refuses to open: "Open existing file … Create a new
// file"), and reopens: the store opens with its data and takes writes.
func TestOpenAfterKillLeftEmptyValueLog(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir)
	empty := filepath.Join(dir, "000002.vlog")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	assertIntact(t, dir)
	if fi, err := os.Stat(empty); err == nil {
		assert.NotZero(t, fi.Size(), "an empty value log is left")
	}
}
