// Package store defines the storage contract that every crmkit backend
// implements: an ordered, transactional key-value engine.
//
// The interface is deliberately small, in the spirit of database/sql/driver:
// a backend supplies read-only and read-write transactions with get, set,
// delete and ordered range scans, plus a bulk-load path, and nothing else.
// Records, secondary indexes, counters, history and the outbox are built once,
// above this interface, by package crm. Backends live in their own packages
// (store/badger, store/memory, store/postgres) and are verified by the shared
// conformance suite in store/storetest.
//
// This package imports only the standard library.
//
// # Isolation
//
// A transaction reads from a consistent snapshot taken when it begins, and
// sees its own writes on top of that snapshot (read-your-writes). Writes of
// other transactions that commit after the snapshot was taken are never
// visible to it.
//
// A read-write transaction commits only if no key it read (by Get, or as an
// entry yielded by Scan) was written by another transaction that committed
// after it began; otherwise Update returns an error matching ErrConflict and
// nothing of the transaction is written. This is snapshot isolation with
// conflict detection on the read set: a read-modify-write of any key can never
// lose an update, provided the caller retries on ErrConflict. Two guarantees
// are deliberately not promised, because not every engine gives them cheaply:
// blind writes (keys written without being read) may or may not conflict, and
// keys inserted into a scanned range by a concurrent transaction (phantoms)
// may or may not be detected. Callers that need either make the dependency
// explicit by reading a key that every competing writer also writes.
//
// # Contexts
//
// View, Update and Batch check their context before running the function and
// before committing; scans check it as they go. A transaction whose context
// is cancelled is discarded, never committed, and the call returns an error
// matching the context's error (context.Canceled or
// context.DeadlineExceeded).
package store

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// Limits every backend accepts. Keys and values within them are stored by
// every backend; larger ones are refused with ErrKeyTooLarge or
// ErrValueTooLarge before anything is written. The key limit is set by the
// smallest engine in the family (a PostgreSQL B-tree index entry).
const (
	// MaxKeySize is the largest key, in bytes, that a backend must accept.
	MaxKeySize = 2048
	// MaxValueSize is the largest value, in bytes, that a backend must accept.
	MaxValueSize = 16 << 20
)

// Errors shared by all backends. Backends wrap them with detail, so compare
// with errors.Is, never by message.
var (
	// ErrNotFound is returned by Get when the key does not exist.
	ErrNotFound = errors.New("store: key not found")
	// ErrConflict is returned by Update when a concurrent transaction
	// committed a write to a key this transaction read. Nothing was written;
	// the caller may run the transaction again.
	ErrConflict = errors.New("store: transaction conflict")
	// ErrClosed is returned by every call on a store after Close.
	ErrClosed = errors.New("store: closed")
	// ErrTooLarge is returned when a single transaction holds more writes
	// than the backend can commit atomically. Nothing was written; split the
	// work into several transactions or use Batch.
	ErrTooLarge = errors.New("store: transaction too large")
	// ErrReadOnly is returned by Set and Delete inside View.
	ErrReadOnly = errors.New("store: read-only transaction")
	// ErrTxnDone is returned when a transaction is used after its function
	// returned.
	ErrTxnDone = errors.New("store: transaction already finished")
	// ErrInvalidKey is returned for a nil or empty key.
	ErrInvalidKey = errors.New("store: invalid key")
	// ErrKeyTooLarge is returned for a key longer than MaxKeySize.
	ErrKeyTooLarge = errors.New("store: key too large")
	// ErrValueTooLarge is returned for a value longer than MaxValueSize.
	ErrValueTooLarge = errors.New("store: value too large")
	// ErrLocked is returned by a backend's Open when another process or
	// another handle in this process holds the same database.
	ErrLocked = errors.New("store: database is locked by another user")
)

// Store is an ordered, transactional key-value engine. All methods are safe
// for concurrent use.
type Store interface {
	// View runs fn in a read-only transaction over a consistent snapshot.
	// The transaction is valid only until fn returns. View returns fn's
	// error unchanged (wrapped errors stay matchable).
	View(ctx context.Context, fn func(tx Tx) error) error

	// Update runs fn in a read-write transaction and commits it if fn
	// returns nil. If fn returns an error, nothing is written and that error
	// is returned. If the commit loses a conflict, Update returns an error
	// matching ErrConflict and nothing is written; Update does not retry, so
	// fn may be run again by the caller (fn must therefore have no effects
	// outside the transaction that a retry would repeat).
	Update(ctx context.Context, fn func(tx Tx) error) error

	// Batch runs fn with a Writer for bulk loading. Writes are applied in as
	// many transactions as the engine needs, so a batch is never too large,
	// but it is not atomic: if fn or a commit fails, a prefix of the writes
	// may have been committed. Batch writes do not detect conflicts. Use it
	// for imports and restores that can be repeated idempotently.
	Batch(ctx context.Context, fn func(w Writer) error) error

	// Close releases the store. Calls after Close return ErrClosed. Close is
	// idempotent.
	Close() error
}

// Reader reads keys within a transaction.
type Reader interface {
	// Get returns the value stored at key, or an error matching
	// ErrNotFound. The returned slice is owned by the caller.
	Get(key []byte) ([]byte, error)

	// Scan streams the entries of the range in key order (byte-wise
	// lexicographic), or in reverse order if r.Reverse is set. Entries are
	// not loaded up front: the engine is read as the loop advances, and
	// breaking out of the loop releases the scan. The Entry's slices are
	// valid only until the loop advances; copy them to keep them. A failure
	// is yielded once as a non-nil error, after which the scan stops.
	Scan(r Range) iter.Seq2[Entry, error]
}

// Writer writes keys. Inside Update, writes become visible to the same
// transaction at once and to others on commit.
type Writer interface {
	// Set stores value at key, replacing any previous value. An empty or nil
	// value is stored as an empty value (distinct from a missing key). The
	// store copies key and value; the caller may reuse them.
	Set(key, value []byte) error
	// Delete removes key. Deleting a missing key is not an error.
	Delete(key []byte) error
}

// Tx is a transaction: a Reader and a Writer over one snapshot. In View,
// Set and Delete return ErrReadOnly.
type Tx interface {
	Reader
	Writer
}

// Appender is an optional capability of the transactions a store passes to
// Update: a log numbered in commit order, written without reading a shared
// head key, so that any number of concurrent writers append to one log
// without conflicting. Find it by type assertion on the Tx
// (tx.(store.Appender)); the conformance suite tests it where a backend
// offers it.
type Appender interface {
	// Append stores value at the key prefix+seq, where seq is an 8-byte
	// big-endian number the store assigns when the transaction commits.
	// Once Update has returned nil, *seq holds the number (it is
	// meaningless otherwise). The numbers obey:
	//
	//   - Within a transaction, each Append gets a greater number than the
	//     one before it.
	//   - Commit order: a transaction whose Update returned before another
	//     began gets smaller numbers under every prefix.
	//   - Never reused: under a prefix, every number is greater than
	//     every number the store assigned there before, even after the
	//     keys were deleted and the store was closed and opened again, and
	//     greater than the number of any key prefix+number already
	//     committed (such as keys copied in by a restore). Numbers may
	//     skip values.
	//   - Monotone visibility: a snapshot that holds prefix+n holds every
	//     committed prefix+m with m < n. A reader that has consumed a log
	//     up to n never finds a new key below n later.
	//   - No conflicts: Append adds nothing to the transaction's read set,
	//     and concurrent appenders of the same prefix never make each
	//     other fail with ErrConflict.
	//
	// The appended key is not visible to the transaction itself. A
	// transaction that fails or is discarded appends nothing. In View,
	// Append returns ErrReadOnly; a prefix whose key would exceed
	// MaxKeySize is refused with ErrKeyTooLarge.
	Append(prefix, value []byte, seq *uint64) error
}

// SeqSize is the length of the number Append adds to a prefix.
const SeqSize = 8

// Entry is one key-value pair yielded by Scan.
type Entry struct {
	Key   []byte
	Value []byte
}

// Range selects the keys a Scan visits: keys that start with Prefix and lie
// in [Start, End). Empty bounds are open. All three may be combined; the
// effective range is their intersection.
type Range struct {
	// Prefix, if set, restricts the scan to keys that begin with it.
	Prefix []byte
	// Start is the inclusive lower bound.
	Start []byte
	// End is the exclusive upper bound.
	End []byte
	// Reverse scans from the highest key down.
	Reverse bool
	// KeysOnly skips loading values; Entry.Value is nil. Engines that store
	// values apart from keys scan much faster this way.
	KeysOnly bool
}

// Bounds returns the effective inclusive lower and exclusive upper bound of
// the range, folding Prefix into Start and End. A nil upper bound means
// unbounded. Backends use it so that every engine agrees on what a Range
// means.
func (r Range) Bounds() (lower, upper []byte) {
	lower, upper = r.Start, r.End
	if len(upper) == 0 {
		upper = nil // an empty End is open, like a nil one
	}
	if len(r.Prefix) > 0 {
		if len(lower) == 0 || string(lower) < string(r.Prefix) {
			lower = r.Prefix
		}
		if pu := PrefixEnd(r.Prefix); pu != nil && (upper == nil || string(pu) < string(upper)) {
			upper = pu
		}
	}
	return lower, upper
}

// PrefixEnd returns the smallest key greater than every key with the given
// prefix, or nil if there is none (the prefix is all 0xff bytes).
func PrefixEnd(prefix []byte) []byte {
	end := make([]byte, len(prefix))
	copy(end, prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// CheckKey reports whether key is acceptable to every backend.
func CheckKey(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: key is empty", ErrInvalidKey)
	}
	if len(key) > MaxKeySize {
		return fmt.Errorf("%w: key is %d bytes, limit is %d", ErrKeyTooLarge, len(key), MaxKeySize)
	}
	return nil
}

// CheckValue reports whether value is acceptable to every backend.
func CheckValue(value []byte) error {
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: value is %d bytes, limit is %d", ErrValueTooLarge, len(value), MaxValueSize)
	}
	return nil
}

// ContextError returns ctx's error wrapped for a store caller, or nil.
func ContextError(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
