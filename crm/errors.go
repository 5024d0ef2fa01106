package crm

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors callers branch on. The CRM wraps them with detail (the record kind
// and ID), so compare with errors.Is.
var (
	// ErrNotFound means the record, workspace or entry does not exist (or
	// belongs to another workspace, which is the same thing to the caller).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the record changed since the version the caller
	// pinned, or concurrent writers kept colliding past the retry budget.
	ErrConflict = errors.New("version conflict")
	// ErrInvalid matches every *ValidationError.
	ErrInvalid = errors.New("invalid input")
	// ErrDeleted means the record is soft-deleted and must be restored
	// before it can be changed.
	ErrDeleted = errors.New("record is deleted")
	// ErrWorkspaceExists means a workspace with the ID exists already
	// (CreateWorkspace, and Restore without RestoreOptions.Replace).
	ErrWorkspaceExists = errors.New("workspace already exists")
	// ErrVetoed matches every *VetoError.
	ErrVetoed = errors.New("vetoed by a before-hook")
	// ErrMerged matches every *MergedError.
	ErrMerged = errors.New("merged into another record")
	// ErrSegmentStatic is returned by Add and Remove on a dynamic segment.
	ErrSegmentStatic = errors.New("crm: only static segments have members to add or remove")
	// ErrDuplicate matches a *ValidationError in which a unique value
	// (an email address, a domain, an external ID, a unique custom field)
	// is taken by another record. It matches ErrInvalid too.
	ErrDuplicate = errors.New("value already used by another record")
	// ErrBadCursor is returned for a cursor that was not produced by the
	// same kind of list. It matches ErrInvalid.
	ErrBadCursor = fmt.Errorf("crm: malformed cursor: %w", ErrInvalid)
)

// Errors of reading a backup. A *BackupError carries the detail and
// matches one of them.
var (
	// ErrBackupCorrupt means the file is not a crmkit backup or fails its
	// checksums or structure. A truncated file matches it too.
	ErrBackupCorrupt = errors.New("backup is corrupt")
	// ErrBackupTruncated means the file ends before its trailer.
	ErrBackupTruncated = errors.New("backup is truncated")
	// ErrBackupVersion means the file was written in a newer format than
	// this version of crmkit reads.
	ErrBackupVersion = errors.New("backup format is newer than supported")
)

// FieldError is one reason a field was rejected.
type FieldError struct {
	// Field is the field's name as in the JSON form of the record, with
	// dots and indexes for nested values ("emails[1]", "custom.score").
	Field string
	// Reason says what is wrong, in lower case.
	Reason string
}

func (f FieldError) String() string { return f.Field + ": " + f.Reason }

// ValidationError reports every field of one record that failed validation.
// Nothing of the record was written. It matches ErrInvalid.
type ValidationError struct {
	// Kind names what is invalid: a record kind ("contact", "deal", ...) or
	// another thing validated ("ref", "policy", "field", "kind", ...).
	Kind string
	// ID is the record's ID, empty for a record being created.
	ID string
	// Fields lists each failing field with its reason.
	Fields []FieldError
	// also is a sentinel the error matches besides ErrInvalid (such as
	// ErrWorkspaceExists).
	also error
	// cause is the error behind a field's reason (a filter's
	// *filter.FieldError), for errors.As.
	cause error
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("crm: invalid ")
	b.WriteString(e.Kind)
	if e.ID != "" {
		b.WriteString(" " + e.ID)
	}
	b.WriteString(": ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.String())
	}
	return b.String()
}

// Is reports whether target is ErrInvalid, or the more specific sentinel
// the error stands for (ErrWorkspaceExists for a taken workspace ID,
// ErrDuplicate for a taken unique value).
func (e *ValidationError) Is(target error) bool {
	return target == ErrInvalid || (e.also != nil && target == e.also)
}

// Unwrap returns the error behind the reason of a field, if one is kept
// (a segment's filter error: errors.As finds its *filter.FieldError or
// *filter.SyntaxError).
func (e *ValidationError) Unwrap() error { return e.cause }

// Has reports whether field failed.
func (e *ValidationError) Has(field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Add records that field failed, for the reason format and args give:
// code that validates a value of its own (a package built on crm, a
// before-hook) collects every failing field this way, then returns Err.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// Err returns e if it names a failing field, else nil.
func (e *ValidationError) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// CheckText trims a short text (a name, an owner ID) and records on e
// what the CRM refuses in one: over 256 bytes, invalid UTF-8, control
// characters.
func CheckText(e *ValidationError, field, s string) string {
	p := problems{}
	s = cleanText(&p, field, s, maxShortText)
	e.Fields = append(e.Fields, p.list...)
	return s
}

// CheckLongText trims a long text (a note's body) and records on e what
// the CRM refuses in one: over 64 KiB or invalid UTF-8.
func CheckLongText(e *ValidationError, field, s string) string {
	p := problems{}
	s = cleanText(&p, field, s, maxLongText)
	e.Fields = append(e.Fields, p.list...)
	return s
}

// CheckCountry normalises a country as the CRM does an address's (see
// NormalizeCountry: "de", "Germany" and "DEU" are "DE") and records on e
// if it is not an ISO 3166-1 country. Empty stays empty.
func CheckCountry(e *ValidationError, field, country string) string {
	p := problems{}
	country = checkCountry(&p, field, country)
	e.Fields = append(e.Fields, p.list...)
	return country
}

// CheckCurrency upper-cases an ISO 4217 currency code and records on e
// if it is not one (see ValidCurrency).
func CheckCurrency(e *ValidationError, field, code string) string {
	p := problems{}
	code = checkCurrency(&p, field, code)
	e.Fields = append(e.Fields, p.list...)
	return code
}

// CheckMoney checks an amount as the CRM checks a record's: the currency
// defaults to defaultCurrency and must be an ISO-4217 code, and the
// amount must not be negative. It records what fails on e.
func CheckMoney(e *ValidationError, field string, m Money, defaultCurrency string) Money {
	p := problems{}
	m = checkMoney(&p, field, m, defaultCurrency, false)
	e.Fields = append(e.Fields, p.list...)
	return m
}

// problems collects field errors while validating one record.
type problems struct {
	kind, id string
	list     []FieldError
	// also is the sentinel the error matches besides ErrInvalid.
	also error
}

func (p *problems) add(field, format string, args ...any) {
	p.list = append(p.list, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// has reports whether field already failed.
func (p *problems) has(field string) bool {
	return slices.ContainsFunc(p.list, func(f FieldError) bool { return f.Field == field })
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Kind: p.kind, ID: p.id, Fields: p.list, also: p.also}
}

// BatchError reports the items of a batch call that were rejected. The
// other items were written.
type BatchError struct {
	// Items maps an item's index in the input to why it was rejected.
	Items []ItemError
}

// ItemError is one rejected item of a batch.
type ItemError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "crm: %d items rejected", len(e.Items))
	for i, it := range e.Items {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Items)-5)
			break
		}
		fmt.Fprintf(&b, "; item %d: %v", it.Index, it.Err)
	}
	return b.String()
}

// Unwrap returns the item errors, so errors.Is(err, ErrInvalid) holds when
// any item was invalid.
func (e *BatchError) Unwrap() []error {
	errs := make([]error, len(e.Items))
	for i, it := range e.Items {
		errs[i] = it.Err
	}
	return errs
}

func notFound(kind, id string) error {
	return fmt.Errorf("crm: %s %s: %w", kind, id, ErrNotFound)
}
