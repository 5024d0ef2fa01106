// Package crmio imports and exports CRM records as CSV and JSON Lines:
// contacts, companies, deals, activities and purchases, with custom
// fields. It sits beside the applications that use package crm and is
// built only on crm's public API, so every record it writes goes through
// the CRM's one validated write path, with its history and events.
//
// This package imports the standard library and package crm, nothing
// else (no third-party CSV or encoding libraries).
//
// # Import
//
//	res, err := crmio.Import(ctx, ws, file, crmio.ImportOptions{Object: crmio.ObjectContact, UpsertBy: "email"})
//	fmt.Println(res.Created, res.Updated, res.Skipped, res.Rejected)
//	res.WriteRejects(rejectsFile) // fix them and import that file again
//
// Import streams: a row is read, mapped, converted, its references
// resolved, and it joins a batch that is committed when full (new records
// with the CRM's CreateMany, updates one by one). Memory does not grow
// with the size of the file, only with the number of rejected rows, and
// rows are capped in size (ReadOptions.MaxRowBytes) so that a malformed
// file cannot make one row hold the rest of it.
//
// Columns are mapped to fields by ImportOptions.Mapping, or guessed from
// the header by GuessMapping (which an application can show for
// confirmation first). Columns mapped to nothing are reported once in
// ImportResult.Ignored, not as errors.
//
// # Values
//
// Text is trimmed. Emails are lower-cased. Lists (emails, phones, tags,
// interests, references) are split on ';' and '|' in CSV, or are JSON
// arrays. Booleans are yes/no, true/false, y/n, 1/0 or on/off. Amounts
// ("1,234.50 EUR", "EUR 1234.5", "$1,234.50", "1234.5" in the default
// currency) are converted to integer minor units exactly, from the decimal
// text, never through a float; more decimals than the currency has are
// refused rather than rounded. Dates are ISO 8601 (2006-01-02), RFC 3339,
// dotted day first (02.01.2006), with month names (2 Jan 2006), or in the
// layout of ImportOptions.DateLayout for slashed dates, whose order cannot
// be told from the text: the default is day first (02/01/2006 is the 2nd
// of January); set "01/02/2006" for month-first files. A date that does
// not fit the layout is rejected, never silently swapped. Numbers use a
// decimal point unless ImportOptions.DecimalComma is set.
//
// # References
//
// References are resolved by natural keys: a contact's, deal's, activity's
// or purchase's company by domain or name (or ID), a deal's stage by name
// within its pipeline (named by the pipeline column, by default the
// workspace's default pipeline; "won" and "lost" also name the first stage
// of that kind), an activity's, deal's or purchase's contacts by email (or
// ID), an activity's deals by ID. A reference to a record that does not
// exist rejects the row, naming the column and the value, unless
// ImportOptions.CreateCompanies is set: a company named by name or domain
// that does not exist is then created (once, for the first row naming
// it) and counted in ImportResult.CompaniesCreated. A reference to a
// company created by an earlier row of the same file works: the batch is
// committed first. A company's parent must come before it in the file;
// otherwise import the file twice (the second time with UpsertBy), as
// examples/maven does.
//
// # Upserts
//
// With UpsertBy a row whose key (email, domain, external_id.<system> or
// id) matches a stored record updates it with the row's non-empty cells
// (see ImportOptions.Overwrite); an update that changes nothing is counted
// as skipped. Two rows of the file with the same key create one record
// and update it.
//
// # Rejects
//
// Bad rows never vanish. Every row read is counted once: Read == Created
// + Updated + Skipped + Rejected, and each rejected row is in
// ImportResult.Rejects with its physical line (counting the newlines
// inside quoted fields), the column at fault and the reason: malformed
// CSV or JSON, a ragged row (more or fewer fields than the header; extra
// empty fields are tolerated), invalid UTF-8, a field or row over the size
// cap, a value that does not convert, a reference to nothing, or a
// *crm.ValidationError, whose fields are mapped back to the source
// columns.
//
// A rejected row lists every problem it has, so that a file is fixed in
// one pass: all of its cells are converted and resolved, and a row crmio
// rejects is also put through the CRM's validation, in a transaction that
// is rolled back (nothing is written, no event is sent; a before-hook
// runs as it does for any write that does not commit), which adds what
// the CRM finds wrong with the row's other fields. The CRM's complaints
// that follow from crmio's (a required field left empty because its cell
// did not convert) are left out. The problems are in the order of their
// columns in the header (for JSON Lines, of their keys), problems of the
// row as a whole last. A dry run does not run the CRM's validation.
//
// WriteRejects writes the rejects as a file to fix and import again as it
// is: Import recognises its _line and _error columns and skips them
// quietly, and the rejects file of that import has only the new _line and
// _error.
//
// # Encodings and CSV details
//
// A UTF-8 byte order mark is skipped, Windows line endings are accepted,
// quoted fields may hold newlines, empty lines between rows are skipped.
// By default rows that are not valid UTF-8 are rejected with the offset of
// the bad byte; Encoding Latin1 or Windows1252 reads such files instead
// (every byte is then a character, so nothing is rejected for its
// encoding). Quotes inside unquoted fields are taken literally unless
// StrictQuotes is set.
//
// # Resuming
//
// An import with ImportOptions.Checkpoint (FileCheckpoint keeps it in a
// sidecar file) records after each committed batch the last committed
// line, the input offset after it and a CRC of the input up to there,
// with the counts and rejects so far. Run again (Import or Resume) on the
// same input, it checks the CRC, skips the committed rows and goes on, so
// no row is imported twice. When Import stops on a cancelled context or a
// failed write, it first commits nothing more and checkpoints exactly the
// rows that were written. The one window left is a crash of the process
// between the store's commit of a batch and the checkpoint's save: that
// batch is then imported again on resume. Imports with an upsert key are
// idempotent and lose nothing even then.
//
// # Export
//
// Export streams every record of one type through the CRM's list
// iterators (or only a segment's members or a filter's matches, with
// ExportOptions.Segment and Where), as CSV (header row, natural keys for references,
// custom.<name> columns for custom fields) or JSON Lines with the same
// keys. CSV cells starting with =, +, -, @, tab or carriage return get a
// leading apostrophe against formula injection in spreadsheets (OWASP);
// Import removes it. Importing an export into another workspace (with the
// same custom fields and pipelines) gives the same records; importing it
// into the same workspace with UpsertBy "id" changes nothing. What does
// not travel: IDs and audit stamps (the CRM assigns them), a deal's stage
// history before its current stage, and activity links to deals
// (exported as deal IDs, valid only in the same workspace). A new deal
// imported at a won or lost stage closes at its closed_at column, or
// else at its close_date, and its history is that stage entered then
// (crm.WithImportedHistory); without either it closes at the time of the
// import. An opened_at (or engage_date) column starts a new deal's
// history: in its stage since then, or, for a deal closed later, in the
// pipeline's first open stage until it closed. A closed_at in the future, or on a deal at an open stage, is
// refused with the row.
//
// # Speed
//
// An import costs what the CRM's CreateMany costs for the same records
// plus about a tenth for reading and converting the rows (BENCHMARKS.md):
// every row is validated, indexed, counted, recorded in history and in the
// outbox, in the batch's transaction. On the embedded Badger store the
// default memtable of 8 MiB makes the engine flush and compact often
// during a large import; a store opened for a bulk load with
// badger.WithMemTableSize(64 << 20) imports 1.5 to 2 times as fast, for
// several hundred MiB more memory while the load runs.
package crmio
