package badger

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/crmkit/crmkit/store"
)

// openDirs holds the directories opened by this process, so that a second
// Open of the same directory fails with store.ErrLocked before Badger is
// touched (on some systems file locks do not exclude the same process).
var openDirs = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

// claimDir records dir as open, or returns an error matching
// store.ErrLocked if it already is.
func claimDir(dir string) error {
	openDirs.Lock()
	defer openDirs.Unlock()
	if openDirs.m[dir] {
		return fmt.Errorf("badger: open %s: already open in this process: %w", dir, store.ErrLocked)
	}
	openDirs.m[dir] = true
	return nil
}

// releaseDir forgets dir.
func releaseDir(dir string) {
	openDirs.Lock()
	defer openDirs.Unlock()
	delete(openDirs.m, dir)
}

// canonicalDir creates dir if needed and returns its absolute path with
// symbolic links resolved, so that one directory has one name.
func canonicalDir(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", err
	}
	info, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !info.IsDir() {
		return "", &os.PathError{Op: "open", Path: dir, Err: errors.New("not a directory")}
	}
	return real, nil
}

// badgerLockMessage is how Badger reports a directory locked by another
// process (dir_unix.go, dir_windows.go, dir_plan9.go). Badger flattens the
// system error into a string, so the message is the only trace of it;
// lockedByOther confirms it independently where it can.
const badgerLockMessage = "Another process is using this Badger database"

// badgerMagicMessage is how Badger reports a manifest whose external magic
// number (our format version) differs from the one asked for (manifest.go).
const badgerMagicMessage = "external magic number doesn't match"

// classifyOpenErr explains why Badger failed to open dir: the directory is
// locked (store.ErrLocked), it holds another format (ErrFormat), or it cannot be written (the *fs.PathError of
// trying), or Badger's own error.
func classifyOpenErr(dir string, err error) error {
	if strings.Contains(err.Error(), badgerLockMessage) || lockedByOther(dir) {
		return fmt.Errorf("badger: open %s: %w (%v)", dir, store.ErrLocked, err)
	}
	if strings.Contains(err.Error(), badgerMagicMessage) {
		return fmt.Errorf("badger: open %s: %w (%v)", dir, ErrFormat, err)
	}
	if werr := probeWritable(dir); werr != nil {
		return fmt.Errorf("badger: open %s: %w (%v)", dir, werr, err)
	}
	return fmt.Errorf("badger: open %s: %w", dir, err)
}

// probeWritable returns the error of creating a file in dir, if any.
func probeWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".crmkit-probe-*")
	if err != nil {
		return err
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}
