package crmio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// Import reads records of one object type from r into the workspace and
// reports what it did. It streams: memory use does not grow with the size
// of the file (only with the number of rejects). Rows that cannot be
// imported are listed in the result's Rejects and do not stop the import;
// Import stops only on an error of the input, the store or the context,
// after committing (and checkpointing) everything before the failing
// batch, and then returns the partial result with the error.
func Import(ctx context.Context, ws *crm.Workspace, r io.Reader, opts ImportOptions) (*ImportResult, error) {
	switch opts.Object {
	case ObjectContact:
		return run(ctx, ws, r, opts, contactKind)
	case ObjectCompany:
		return run(ctx, ws, r, opts, companyKind)
	case ObjectDeal:
		return run(ctx, ws, r, opts, dealKind)
	case ObjectActivity:
		return run(ctx, ws, r, opts, activityKind)
	case ObjectPurchase:
		return run(ctx, ws, r, opts, purchaseKind)
	}
	return nil, fmt.Errorf("%w: unknown object %q (want contact, company, deal, activity or purchase)", ErrOptions, opts.Object)
}

// Resume is Import for an import that may have been interrupted: it
// requires opts.Checkpoint and goes on after the last row the checkpoint
// records as committed (or starts at the beginning if it records
// nothing). The input must be the same as in the interrupted run: Resume
// checks that it starts with the same bytes, and fails with ErrCheckpoint
// otherwise.
func Resume(ctx context.Context, ws *crm.Workspace, r io.Reader, opts ImportOptions) (*ImportResult, error) {
	if opts.Checkpoint == nil {
		return nil, fmt.Errorf("%w: Resume needs a Checkpoint", ErrOptions)
	}
	return Import(ctx, ws, r, opts)
}

// Entry states.
const (
	eReject = iota + 1
	eSkip
	eCreate
	eUpdate
)

// entry is one row of the batch being built.
type entry[T any] struct {
	line     int
	end      int64
	crc      uint32
	raw      []string
	st       int
	done     bool
	rec      T
	set      []*field[T]
	id       string // the record updated
	version  int64
	problems []Problem
	// check is set on a row crmio rejected: the CRM's validation is run
	// on it too (without writing it), so that its reject lists every
	// problem at once. failed holds the crm paths crmio found at fault.
	check  bool
	failed map[string]bool
	// Grouped rows (purchase line items) share the leader's fate.
	leader    *entry[T]
	followers []*entry[T]
	groupID   string
	groupWhy  string // why a rejected group was rejected
	createdID string
}

type binding[T any] struct {
	col string
	idx int
	f   *field[T]
}

type importer[T any] struct {
	ctx context.Context
	ws  *crm.Workspace
	o   ImportOptions
	k   *kind[T]
	rv  *resolver
	log *slog.Logger
	res *ImportResult

	explicit bool
	mapping  Mapping
	bindings []binding[T]            // CSV, parse order
	jsonBind map[string]*binding[T]  // JSONL: key path -> binding (nil: ignored)
	custom   map[string]crm.FieldDef // custom fields by name
	extra    map[string]*field[T]    // fields made on demand
	paths    map[string]string       // crm field path -> source column
	bound    map[*field[T]]string    // field -> first column bound to it
	ignored  map[string]bool
	// rejectsCols are the header positions of the _line and _error
	// columns of a rejects file being imported again.
	rejectsCols []int

	by    string // UpsertBy
	batch []*entry[T]
	keys  map[string]bool // upsert keys created by the batch
	group *entry[T]       // the open group (purchases)
	cp    Checkpoint
	// fresh holds the rejects since the last checkpoint save.
	fresh []Reject
	// pos is where the committed input ends: the last committed row's
	// line, the input offset after it and the CRC up to there.
	pos struct {
		line int
		end  int64
		crc  uint32
	}
}

func run[T any](ctx context.Context, ws *crm.Workspace, r io.Reader, o ImportOptions, k *kind[T]) (*ImportResult, error) {
	// New deals keep the close time and history their rows give.
	ctx = crm.WithImportedHistory(ctx)
	if ws == nil {
		return nil, fmt.Errorf("%w: no workspace", ErrOptions)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Currency == "" {
		o.Currency = ws.Info().Currency
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.DateLayout == "" {
		o.DateLayout = DefaultDateLayout
	}
	im := &importer[T]{
		ctx: ctx, ws: ws, o: o, k: k, rv: newResolver(ctx, ws, o.DryRun), log: o.Logger,
		res:      &ImportResult{Object: k.name, Format: o.Format, DryRun: o.DryRun},
		jsonBind: map[string]*binding[T]{}, custom: map[string]crm.FieldDef{}, extra: map[string]*field[T]{},
		paths: map[string]string{}, bound: map[*field[T]]string{}, ignored: map[string]bool{},
		keys: map[string]bool{}, explicit: o.Mapping != nil, mapping: o.Mapping,
	}
	if im.log == nil {
		im.log = slog.New(slog.DiscardHandler)
	}
	// A company import's parents must come before their children (see
	// the package documentation), so they are never created.
	im.rv.createMissing = o.CreateCompanies && k.name != ObjectCompany
	if err := im.checkUpsert(); err != nil {
		return nil, err
	}
	var defs []crm.FieldDef
	for d, err := range ws.Fields().List(ctx, k.name) {
		if err != nil {
			return nil, fmt.Errorf("crmio: reading custom fields: %w", err)
		}
		im.custom[d.Name] = d
		defs = append(defs, d)
	}
	rd := NewReader(r, o.readOptions())
	header, err := rd.Header()
	if err != nil {
		return nil, err
	}
	im.pos.end, im.pos.crc = rd.f.off, rd.f.crc
	if o.Format == CSV {
		if im.mapping == nil {
			im.mapping = GuessMapping(header, k.name, defs...)
		}
		if err := im.compile(header); err != nil {
			return nil, err
		}
		im.res.Header = im.stripRejectsColumns(header)
		if err := im.checkKeyColumn(); err != nil {
			return nil, err
		}
	}
	im.res.Mapping = im.mapping

	if !o.DryRun && o.Checkpoint != nil {
		im.cp = o.Checkpoint
		st, err := im.cp.Load(ctx)
		if err != nil {
			return nil, err
		}
		if st != nil {
			if st.Object != k.name {
				return nil, fmt.Errorf("%w: it is of an import of %s, not %s", ErrCheckpoint, st.Object, k.name)
			}
			im.res.Read, im.res.Created, im.res.Updated, im.res.Skipped, im.res.Rejected = st.Read, st.Created, st.Updated, st.Skipped, st.Rejected
			im.res.CompaniesCreated = st.CompaniesCreated
			im.res.Rejects = st.Rejects
			im.res.ResumedAfter = st.Line
			crc, err := rd.skipTo(st.Offset)
			if err != nil {
				return im.res, err
			}
			im.pos.line, im.pos.end, im.pos.crc = st.Line, st.Offset, st.CRC
			if crc != st.CRC {
				return im.res, fmt.Errorf("%w: the first %d bytes of the input differ from those of the checkpointed import", ErrCheckpoint, st.Offset)
			}
			if st.Done {
				return im.res, nil
			}
		}
	}

	for row, err := range rd.Rows() {
		if err != nil {
			return im.abort(err)
		}
		if err := ctx.Err(); err != nil {
			return im.abort(err)
		}
		if err := im.add(row); err != nil {
			return im.abort(err)
		}
	}
	if err := im.flush(); err != nil {
		return im.abort(err)
	}
	if im.cp != nil {
		if err := im.save(true); err != nil {
			return im.res, err
		}
	}
	return im.res, nil
}

// abort commits the part of the batch that is done (everything before the
// first row whose write did not happen), saves the checkpoint there, and
// returns the result so far with err.
func (im *importer[T]) abort(err error) (*ImportResult, error) {
	var se *saveError
	if errors.As(err, &se) {
		return im.res, se.err
	}
	n := 0
	for n < len(im.batch) && im.batch[n].done {
		n++
	}
	if ferr := im.finalize(n); ferr != nil {
		if errors.As(ferr, &se) {
			ferr = se.err
		}
		return im.res, errors.Join(fmt.Errorf("crmio: import stopped after line %d: %w", im.pos.line, err), ferr)
	}
	return im.res, fmt.Errorf("crmio: import stopped after line %d: %w", im.pos.line, err)
}
