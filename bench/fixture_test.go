package bench

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/crmkit/crmkit/store/badger"
)

// fixtureStores opens the Badger store and the SQLite database a
// benchmark loads n rows into, in the directory the environment variable
// dirEnv names (kept between runs) or a temporary one. fresh says they
// are empty and must be loaded; call loaded once they are, so the next
// run reuses them.
func fixtureStores(dirEnv string, n int, opts ...badger.Option) (st *badger.Store, db *sql.DB, fresh bool, loaded func() error, err error) {
	dir := os.Getenv(dirEnv)
	if dir == "" {
		if dir, err = os.MkdirTemp("", "bench"); err != nil {
			return nil, nil, false, nil, err
		}
	}
	dir = filepath.Join(dir, fmt.Sprint(n))
	done := filepath.Join(dir, "loaded")
	_, statErr := os.Stat(done)
	fresh = statErr != nil
	if fresh {
		_ = os.RemoveAll(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, false, nil, err
	}
	if st, err = badger.Open(filepath.Join(dir, "badger"), append([]badger.Option{badger.WithSyncWrites(false)}, opts...)...); err != nil {
		return nil, nil, false, nil, err
	}
	db, err = sql.Open("sqlite", filepath.Join(dir, "sqlite.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		return nil, nil, false, nil, err
	}
	db.SetMaxOpenConns(1)
	return st, db, fresh, func() error { return os.WriteFile(done, nil, 0o644) }, nil
}

// envCount returns the positive number the environment variable name
// holds, or def.
func envCount(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err == nil && n > 0 {
		return n
	}
	return def
}
