// Package bench holds crmkit's benchmarks against peer databases, in a
// module of its own so that the main module does not depend on them: the
// segment benchmarks run the CRM's segments on Badger (and PostgreSQL)
// side by side with SQLite holding the same rows with equivalent indexes.
// Subpackage contactgen generates the realistic contacts they load.
//
// It may import anything; nothing imports it. See BENCHMARKS.md at the
// repository root for the commands and the figures.
package bench
