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
// (1.2 MiB with the default profile; a value of 32 KiB or more goes to the
// value log and counts only about 30 bytes) and at most 1 GiB in total. A
// transaction that grows beyond that fails with an error matching
// store.ErrTooLarge and writes nothing, even if its function ignored the
// error and returned nil; use Batch for bulk loads, which commits in as many
// transactions as it needs (and so is not atomic, as the contract says).
//
// # Memory profile
//
// A library runs inside someone else's process, so Open uses a small,
// bounded memory profile instead of Badger's server defaults (64 MiB
// memtables, five of them, and a 256 MiB block cache). With the default
// options the engine's Go heap stays around 100 MiB at most:
//
//   - memtable: 8 MiB, in a skiplist arena of 10.4 MiB, plus one more while
//     the previous one is flushed to disk: about 21 MiB
//   - table builders: Badger recycles up to 8 build buffers, each sized to
//     the largest table it built; with 4 MiB tables and 8 MiB memtables
//     that is 8 MiB each, 64 MiB at most (about 40 MiB measured)
//   - index cache: 16 MiB (table indexes and bloom filters, loaded on
//     demand, so large databases stay bounded)
//   - no block cache: tables are not compressed and are read in place from
//     their memory-mapped files (WithCompression turns Snappy and a block
//     cache on)
//   - level 0: compaction starts at 3 tables and writes stall at 8;
//     tables of 4 MiB on every level (base level 10 MiB, x10 per level);
//     2 compactor goroutines
//   - values of 32 KiB or more are kept in the value log, in files of
//     64 MiB, so a value of store.MaxValueSize (16 MiB) fits in one
//   - Batch keeps at most 4 Badger transactions in flight and flushes
//     every 64 MiB of data
//
// Badger also maps its files into memory, and the kernel counts the file
// pages the process touched in its resident set until it needs the memory
// back: after writing 1,000,000 values of 200 bytes the process holds about
// 110 MiB of anonymous memory and 230 MiB of mapped database files. The
// measurements are in BENCHMARKS.md at the root of the repository.
// WithMemTableSize, WithCompression and WithBadgerOptions change the
// profile.
//
// # Durability and maintenance
//
// Commits are synced to disk before Update returns (WithSyncWrites(false)
// trades that for speed). A background goroutine runs value-log garbage
// collection every 10 minutes (WithGCInterval); Close stops it and waits for
// it. Close also waits for running transactions to finish, so it must not be
// called from inside a transaction function.
//
// Update transactions offer store.Appender: numbers are drawn, at commit,
// from a Badger sequence kept under an internal key, and are assigned and
// handed to Badger's commit queue under a short store-wide lock, so they
// follow commit order while commits still share their fsyncs (see
// append.go).
//
// The database records crmkit's format version in Badger's manifest, so a
// directory written by a plain Badger program, or by a future incompatible
// format, is refused at Open instead of being misread.
package badger
