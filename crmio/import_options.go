package crmio

import (
	"log/slog"

	"github.com/crmkit/crmkit/crm"
	"time"
)

// DefaultBatchSize is the number of rows committed together when
// ImportOptions.BatchSize is not set.
const DefaultBatchSize = 1000

// ImportOptions says what to import and how.
type ImportOptions struct {
	// Object is the type of the records in the file: ObjectContact,
	// ObjectCompany, ObjectDeal, ObjectActivity or ObjectPurchase.
	Object crm.Kind
	// Format is CSV (the default) or JSONL.
	Format Format
	// Mapping maps columns to fields; nil means GuessMapping of the
	// header (for JSON Lines, of each key). Columns that are not mapped
	// are ignored and listed in ImportResult.Ignored.
	Mapping Mapping
	// UpsertBy names the field that identifies a row's record when it
	// exists already: "email" (contacts), "domain" or "name" (companies;
	// a name that several companies share rejects the row),
	// "external_id.<system>" (contacts and companies) or "id" (the CRM
	// ID, any object). A row whose key matches a record updates it; other
	// rows create records. Empty means every row creates a record.
	UpsertBy string
	// Overwrite makes an update replace the stored values of every mapped
	// column: empty cells clear fields and lists (emails, tags, ...) are
	// replaced. By default empty cells leave the stored value alone and
	// list items are added to the stored ones.
	Overwrite bool
	// CreateCompanies makes a reference to a company that does not exist
	// create it instead of rejecting the row: a contact's, deal's,
	// activity's or purchase's company named by name creates a company
	// of that name, one named by domain ("acme.com", "www.acme.com") a
	// company with that domain, named after it. Each missing company is
	// created once, when the first row naming it is read, and later rows
	// find it; ImportResult.CompaniesCreated counts them. A row with
	// another problem creates no company; a company created for a row
	// that the CRM then refuses stays. A reference by ID, a name several
	// companies share and a company's parent (in a company import, where
	// the parent's own row may come later in the file) are still
	// rejected when they name nothing. Off by default, so that a
	// misspelt name is a reject to fix, not a new company.
	CreateCompanies bool
	// DryRun reads, maps, converts and resolves every row and looks up
	// upsert keys, but writes nothing: the result says what an import
	// would do. The CRM's own validation (email syntax, country codes,
	// custom field rules) runs only on write, so a dry run can accept rows
	// that the import rejects. A dry run ignores Checkpoint, and keeps the
	// upsert keys of the records it would create in memory to the end.
	DryRun bool
	// BatchSize is the number of rows committed together (default
	// DefaultBatchSize). New records of a batch are created with the
	// CRM's CreateMany; updates are made one by one.
	BatchSize int

	// Currency is the currency of amounts written without one (default:
	// the workspace's currency).
	Currency string
	// DateLayout is the layout (in Go's time format) of the file's dates
	// written with slashes, which cannot be told apart otherwise: default
	// DefaultDateLayout, day first. ISO 8601 and RFC 3339 dates and times,
	// dotted day-first dates and dates with month names are always
	// accepted.
	DateLayout string
	// Location is the time zone of times written without one (default
	// UTC).
	Location *time.Location
	// DecimalComma reads numbers and amounts written with a decimal comma
	// ("1.234,50"); by default the decimal separator is a point and a
	// comma groups thousands.
	DecimalComma bool

	// How the file is read: see ReadOptions.
	Comma            rune
	Encoding         Encoding
	StrictQuotes     bool
	KeepFormulaGuard bool
	MaxFieldBytes    int
	MaxRowBytes      int

	// Transform, if set, sees every row before it is mapped and may repair
	// it with Row.Set. An error rejects the row with the error's text as
	// the reason (return a *Problem to name the column).
	Transform func(row *Row) error
	// Checkpoint, if set, records progress after every batch and makes the
	// import resumable: see Checkpoint.
	Checkpoint Checkpoint
	// Progress, if set, is called after every committed batch.
	Progress func(Progress)
	// Logger receives a debug record per batch (default: none).
	Logger *slog.Logger
}

func (o *ImportOptions) readOptions() ReadOptions {
	return ReadOptions{
		Format: o.Format, Comma: o.Comma, Encoding: o.Encoding, StrictQuotes: o.StrictQuotes,
		KeepFormulaGuard: o.KeepFormulaGuard, MaxFieldBytes: o.MaxFieldBytes, MaxRowBytes: o.MaxRowBytes,
	}
}
