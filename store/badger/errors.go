package badger

import (
	"errors"
	"fmt"

	"github.com/crmkit/crmkit/store"
	"github.com/dgraph-io/badger/v4"
)

// Errors of this package. Errors of the store contract are the sentinels of
// package store, wrapped with detail; compare with errors.Is.
var (
	// ErrInvalidOptions is returned by Open for options that cannot work
	// (for example a value-log file too small for store.MaxValueSize, or a
	// read-only Badger configuration).
	ErrInvalidOptions = errors.New("badger: invalid options")
	// ErrFormat is returned by Open for a directory that holds a Badger
	// database of another format: one written by a plain Badger program,
	// or by a version of this package with an incompatible layout.
	ErrFormat = errors.New("badger: database format not supported")
	// ErrCorrupt is returned when stored data does not decode.
	ErrCorrupt = errors.New("badger: corrupt data")
)

// Preallocated errors for the hot paths.
var (
	errNotFound = fmt.Errorf("badger: get: %w", store.ErrNotFound)
	errTxnDone  = fmt.Errorf("badger: %w", store.ErrTxnDone)
	errReadOnly = fmt.Errorf("badger: write in View: %w", store.ErrReadOnly)
	errClosed   = fmt.Errorf("badger: %w", store.ErrClosed)
	errConflict = fmt.Errorf("badger: commit: %w", store.ErrConflict)
)

func errCorrupt(detail string) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, detail)
}

// errTooLarge reports a transaction over Badger's size limit.
func errTooLarge(o *badger.Options) error {
	return fmt.Errorf("badger: transaction over the limit of %d bytes of keys and inline values in one commit (15%% of the memtable size): %w",
		maxBatchSize(o), store.ErrTooLarge)
}

// mapWriteErr turns an error of a Badger write into the store's errors.
// Errors of the store contract are returned as they are.
func mapWriteErr(o *badger.Options, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrTxnTooBig):
		return errTooLarge(o)
	case errors.Is(err, badger.ErrReadOnlyTxn):
		return errReadOnly
	case errors.Is(err, badger.ErrDiscardedTxn):
		return errTxnDone
	case errors.Is(err, badger.ErrDBClosed), errors.Is(err, badger.ErrBlockedWrites):
		return errClosed
	default:
		return fmt.Errorf("badger: write: %w", err)
	}
}

// mapCommitErr turns an error of a Badger commit into the store's errors.
func mapCommitErr(o *badger.Options, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrConflict):
		return errConflict
	case errors.Is(err, badger.ErrTxnTooBig):
		return errTooLarge(o)
	case errors.Is(err, badger.ErrDBClosed), errors.Is(err, badger.ErrBlockedWrites):
		return errClosed
	default:
		return fmt.Errorf("badger: commit: %w", err)
	}
}

// mapReadErr wraps an error of a Badger read.
func mapReadErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrCorrupt):
		return fmt.Errorf("badger: read: %w", err)
	case errors.Is(err, badger.ErrDiscardedTxn):
		return errTxnDone
	case errors.Is(err, badger.ErrDBClosed):
		return errClosed
	default:
		return fmt.Errorf("badger: read: %w", err)
	}
}
