// Package badger is the default embedded backend of crmkit: an
// implementation of store.Store on Badger v4
// (github.com/dgraph-io/badger/v4), an LSM-tree key-value engine written in
// pure Go.
//
// In the architecture it sits below package store and beside the other
// backends: it imports store, Badger and the standard library, and never
// crm. It is the only package of crmkit that imports Badger.
//
//	s, err := badger.Open("/var/lib/myapp/crm")
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//
// # Semantics
//
// Transactions are Badger transactions, so the isolation described in
// package store is Badger's own: snapshot reads, and commit-time conflict
// detection on every key read by Get or yielded by Scan (Badger keeps a
// fingerprint of each). Badger also records the key a scan seeks to and the
// first key it looks at past the end of its range, so a scan inside Update
// may conflict with a write just outside the range it returned; the
// contract allows such extra conflicts, never missing ones. Blind writes do
// not conflict with each other on disk; in in-memory mode every write also
// reads its key (see WithInMemory), so they do.
//
// A transaction's writes are held in memory until commit and must fit in one
// Badger batch: at most 15% of the memtable size in keys and inline values
// (2.4 MiB with the default profile; values of ValueThreshold bytes or more
// count only about 30 bytes each, their bytes going to the value log) and at
// most 1 GiB in total. A transaction that grows beyond that fails with an
// error matching store.ErrTooLarge and writes nothing; use Batch for bulk
// loads, which commits in as many transactions as it needs (and so is not
// atomic, as the contract says).
//
// # Memory profile
//
// A library runs inside someone else's process, so Open uses a small,
// bounded memory profile instead of Badger's server defaults (which reserve
// several hundred MiB). With the default options the budget is:
//
//   - memtables: 2 x 16 MiB, each backed by a 21 MiB skiplist arena
//     (about 42 MiB), plus a memory-mapped write-ahead log per memtable
//   - block cache: 32 MiB (decompressed SSTable blocks)
//   - index cache: 16 MiB (SSTable indexes and bloom filters)
//   - level 0: compaction starts at 3 tables (of one memtable each) and
//     writes stall at 8
//   - tables: 2 MiB at the base level, 20 MiB at level 2, growing x2 per
//     level; base level 10 MiB, x10 per level
//   - compactors: 2 goroutines
//   - values of 32 KiB or more are kept in the value log (files of 64 MiB),
//     smaller ones inline in the LSM tree; a value of store.MaxValueSize
//     (16 MiB) fits in one value-log file
//   - Batch keeps at most 4 Badger transactions in flight (each at most
//     2.4 MiB) and flushes every 64 MiB of data
//
// That is about 100 MiB of Go heap at most for the engine itself. Badger
// also maps its files into memory, and the kernel counts the pages the
// process has touched in its resident set until it needs them back; the
// measured figures are in BENCHMARKS.md at the root of the repository.
// WithMemTableSize, WithCacheSize and WithBadgerOptions change the profile.
//
// # Durability and maintenance
//
// Commits are synced to disk before Update returns (WithSyncWrites(false)
// trades that for speed). A background goroutine runs value-log garbage
// collection every 10 minutes (WithGCInterval); Close stops it and waits for
// it. Close also waits for running transactions to finish, so it must not be
// called from inside a transaction function.
//
// The database records crmkit's format version in Badger's manifest, so a
// directory written by a plain Badger program, or by a future incompatible
// format, is refused at Open instead of being misread.
package badger
