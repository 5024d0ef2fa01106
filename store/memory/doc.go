// Package memory is an ordered, transactional in-memory store.Store.
//
// It keeps no data across processes and exists for tests, examples and
// short-lived tools: the domain test suite runs on it, so it is built to be
// fast. It passes the same conformance suite (store/storetest) as the
// persistent backends and gives exactly the semantics of the store
// contract:
//
//   - Snapshots. Committed data is a copy-on-write B-tree; every commit
//     publishes a lazily cloned tree, so a transaction reads a frozen
//     snapshot without locks and scans stream over it without copying.
//   - Conflicts. A read-write transaction records the keys it read with
//     Get (misses included) and the entries Scan yielded from the snapshot.
//     At commit they are checked against the keys written by transactions
//     that committed after it began; a hit fails the commit with
//     store.ErrConflict. Keys are compared by 64-bit hashes with a random
//     per-store seed, so a false conflict is possible in theory but never
//     a missed one. The commit log is pruned as soon as no open transaction
//     needs it. Blind writes never conflict and phantoms are not detected.
//   - Size. A transaction of any size commits atomically: this backend
//     never returns store.ErrTooLarge. Batch applies its writes in chunks
//     (see WithBatchSize) so concurrent readers are not held up.
//
// Keys and values are copied on the way in and out, so callers can never
// change stored bytes. Entries yielded by Scan reuse one buffer per scan and
// are valid only until the loop advances, as the contract says.
//
// Transactions offer store.Appender: numbers are assigned at commit, under
// the store's commit lock, from a store-wide counter.
//
// The package imports package store, github.com/google/btree and the
// standard library.
package memory
