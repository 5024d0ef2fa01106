// Command rsscheck measures the resident memory of a process that embeds
// the Badger store with its default memory profile: it opens a store, writes
// n values (half through Batch, half through Update in chunks), scans them
// all, and prints the process's peak and final resident set sizes, read
// from /proc/self/status, as one JSON object on standard output.
//
// With -badger-defaults it uses Badger's own DefaultOptions instead, for
// comparison. It runs in a process of its own so that the measuring
// benchmark's own allocations do not count (see BenchmarkResidentMemory).
// It imports store, store/badger, Badger (for its default options) and the
// standard library, and runs on Linux.
package main
