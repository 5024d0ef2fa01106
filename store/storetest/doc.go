// Package storetest is the conformance suite that every store backend passes.
//
// A backend's own test file calls Run with a Backend that opens fresh,
// empty stores; Run checks, as named subtests, everything the contract in
// package store promises: byte-wise key order, ranges and reverse scans,
// read-your-writes, snapshot isolation, read-set conflict detection, large
// transactions and bulk loads, key and value limits, context cancellation,
// misuse errors (ErrReadOnly, ErrTxnDone, ErrClosed) and, for persistent
// backends, durability across a reopen. A model test replays a fixed
// pseudo-random sequence of transactions and compares every read with a
// plain map. Bench and BenchScan are the shared
// benchmarks, so every backend is measured the same way.
//
// The suite sits beside package store in the architecture: it imports store,
// the standard library and testify, and never a backend.
package storetest
