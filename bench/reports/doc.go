// Package reports benchmarks crm's reports on a million deals with stage
// histories beside the same aggregation in SQLite with equivalent indexes,
// in the same run. It is its own module so that the SQLite driver (cgo)
// never becomes a dependency of crmkit.
package reports
