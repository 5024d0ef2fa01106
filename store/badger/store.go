package badger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/dgraph-io/badger/v4"
)

// Store is a store.Store on a Badger database. It is safe for concurrent
// use.
type Store struct {
	db    *badger.DB
	opts  badger.Options
	codec codec
	log   *slog.Logger
	dir   string // canonical directory, "" in in-memory mode

	// mu guards the fields below. Every View, Update and Batch counts
	// itself in active while it runs; Close waits for active to drop to
	// zero before closing Badger, whose iterators and value reads would
	// crash on a closed database.
	mu      sync.Mutex
	drained sync.Cond
	active  int
	closed  bool
	done    chan struct{} // closed when Close has finished

	gcStop chan struct{}
	gcDone chan struct{}

	// compacting runs one Compact at a time: Badger's Flatten stops and
	// restarts the engine's compactors, which two at once would undo.
	compacting sync.Mutex

	appender appender // see append.go
}

var _ store.Store = (*Store)(nil)

// Open opens the Badger database in dir, creating the directory and the
// database if needed, with durable commits and the embedded memory profile
// described in the package documentation: one 8 MiB memtable (plus one
// being flushed), 4 MiB tables, a 16 MiB index cache, no block cache, about
// 100 MiB of Go heap at most.
//
// Open fails with an error matching store.ErrLocked if another process, or
// another Store of this process, has the database open; with the
// *fs.PathError of the attempt if dir cannot be created or written; with
// ErrFormat if dir holds a database of another format; and with
// ErrInvalidOptions for options that cannot work. A failed Open leaves an
// existing database as it was.
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := newConfig(opts)
	o := cfg.badgerOptions(dir)
	if err := checkOptions(&o); err != nil {
		return nil, err
	}

	var canonical string
	if !o.InMemory {
		var err error
		canonical, err = canonicalDir(o.Dir)
		if err != nil {
			return nil, fmt.Errorf("badger: open %s: %w", o.Dir, err)
		}
		if o.ValueDir != o.Dir {
			if _, err := canonicalDir(o.ValueDir); err != nil {
				return nil, fmt.Errorf("badger: open %s: %w", o.ValueDir, err)
			}
		}
		if err := claimDir(canonical); err != nil {
			return nil, err
		}
		if err := removeEmptyValueLogs(o.ValueDir, cfg.logger); err != nil {
			releaseDir(canonical)
			return nil, fmt.Errorf("badger: open %s: %w", o.Dir, err)
		}
	}

	db, err := openBadger(o)
	if err != nil {
		if o.InMemory {
			return nil, fmt.Errorf("badger: open in memory: %w", err)
		}
		releaseDir(canonical)
		return nil, classifyOpenErr(o.Dir, err)
	}

	s := &Store{
		db:    db,
		opts:  o,
		codec: newCodec(&o),
		log:   cfg.logger,
		dir:   canonical,
		done:  make(chan struct{}),
	}
	s.drained.L = &s.mu
	if !o.InMemory && cfg.gcInterval > 0 {
		s.gcStop = make(chan struct{})
		s.gcDone = make(chan struct{})
		go s.gcLoop(cfg.gcInterval)
	}
	return s, nil
}

// removeEmptyValueLogs removes the value-log files of length zero in dir.
// Badger writes a header into a value-log file as it creates it, so an
// empty one holds nothing: a process killed between the two left it, and
// Badger refuses to open a directory with one ("Open existing file …
// Create a new file").
func removeEmptyValueLogs(dir string, log *slog.Logger) error {
	names, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		return err
	}
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil || fi.Size() != 0 {
			continue
		}
		if err := os.Remove(name); err != nil {
			return err
		}
		if log != nil {
			log.Warn("badger: removed an empty value-log file a crash left behind", "file", name)
		}
	}
	return nil
}

// openBadger calls badger.Open, turning a panic on a configuration Badger
// does not accept into an error.
func openBadger(o badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: badger refused the options: %v", ErrInvalidOptions, r)
		}
	}()
	return badger.Open(o)
}

// begin registers a running call, or fails if the store is closed.
func (s *Store) begin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	s.active++
	return nil
}

// end unregisters a running call.
func (s *Store) end() {
	s.mu.Lock()
	s.active--
	if s.active == 0 && s.closed {
		s.drained.Broadcast()
	}
	s.mu.Unlock()
}

// View runs fn in a read-only transaction. See store.Store.
func (s *Store) View(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := store.ContextError(ctx); err != nil {
		return err
	}
	t := newTx(s, ctx, false)
	defer t.finish()
	return fn(t)
}

// Update runs fn in a read-write transaction and commits it. See
// store.Store.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := store.ContextError(ctx); err != nil {
		return err
	}
	t := newTx(s, ctx, true)
	defer t.finish()
	if err := fn(t); err != nil {
		return err
	}
	return t.commit()
}

// Batch runs fn with a Writer that commits in as many transactions as
// needed, using Badger's WriteBatch. See store.Store: it is not atomic.
func (s *Store) Batch(ctx context.Context, fn func(w store.Writer) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	if err := store.ContextError(ctx); err != nil {
		return err
	}
	w := newBatch(s, ctx)
	defer w.finish()
	if err := fn(w); err != nil {
		return err
	}
	return w.flush()
}

// Compact merges the store's LSM tree into one level, dropping deleted
// keys and versions no transaction can read any more. Badger compacts by
// itself as writes arrive, but a store that has just taken a bulk load
// keeps a tombstone for every key the load wrote and deleted (the crm
// package's counter deltas, replaced index entries) until then, and a
// scan steps over each: after a million deals were loaded, reading the
// pipeline report's counters took 292 ms before Compact and 1.2 ms after.
// Compact runs in the calling goroutine for about as long as rewriting
// the store takes (some 35 seconds for 4 GB on two cores), one call at a
// time (a second waits for the first). Reads go on meanwhile; Badger's
// own compactions stop while it runs, so heavy writes may stall until it
// ends: run it after a load, not beside one. ctx is checked before it
// starts: Badger's compaction cannot be interrupted.
func (s *Store) Compact(ctx context.Context) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	s.compacting.Lock()
	defer s.compacting.Unlock()
	if err := store.ContextError(ctx); err != nil {
		return err
	}
	if err := s.db.Flatten(defaultNumCompactors); err != nil {
		return fmt.Errorf("badger: compact: %w", err)
	}
	return nil
}

// Close waits for running transactions and batches to finish, stops the
// garbage-collection goroutine and closes the database. Calls after Close
// fail with an error matching store.ErrClosed; Close itself is idempotent
// (a second call waits for the first to finish and returns nil).
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	for s.active > 0 {
		s.drained.Wait()
	}
	s.mu.Unlock()
	defer close(s.done)

	if s.gcStop != nil {
		close(s.gcStop)
		<-s.gcDone
	}
	err := errors.Join(s.appender.release(), s.db.Close())
	if s.dir != "" {
		releaseDir(s.dir)
	}
	if err != nil {
		return fmt.Errorf("badger: close: %w", err)
	}
	return nil
}

// gcLoop runs value-log garbage collection every interval until Close.
func (s *Store) gcLoop(interval time.Duration) {
	defer close(s.gcDone)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.gcStop:
			return
		case <-ticker.C:
			s.collectGarbage()
		}
	}
}

// collectGarbage rewrites value-log files while Badger finds one that is at
// least half garbage.
func (s *Store) collectGarbage() {
	rewrites := 0
	for {
		select {
		case <-s.gcStop:
			return
		default:
		}
		err := s.db.RunValueLogGC(gcDiscardRatio)
		if err == nil {
			rewrites++
			continue
		}
		if s.log != nil {
			if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
				s.log.LogAttrs(context.Background(), slog.LevelDebug, "badger: value log gc finished",
					slog.String("component", "badger"), slog.Int("rewrites", rewrites))
			} else {
				s.log.LogAttrs(context.Background(), slog.LevelWarn, "badger: value log gc failed",
					slog.String("component", "badger"), slog.Int("rewrites", rewrites), slog.Any("error", err))
			}
		}
		return
	}
}
