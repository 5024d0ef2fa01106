package crmio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// DefaultBatchSize is the number of rows committed together when
// ImportOptions.BatchSize is not set.
const DefaultBatchSize = 1000

// ImportOptions says what to import and how.
type ImportOptions struct {
	// Object is the type of the records in the file: ObjectContact,
	// ObjectCompany, ObjectDeal, ObjectActivity or ObjectPurchase.
	Object string
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

// Progress reports how far an import is.
type Progress struct {
	// Line is the last line committed.
	Line int
	// Bytes is how much of the input was read.
	Bytes                                     int64
	Read, Created, Updated, Skipped, Rejected int
}

// ImportResult is what an import did. Every row read is counted exactly
// once: Read == Created + Updated + Skipped + Rejected, and Rejected ==
// len(Rejects).
type ImportResult struct {
	Object string
	Format Format
	// Header is the CSV header, for WriteRejects.
	Header []string
	// Mapping is the mapping used: the given one, or the guess.
	Mapping Mapping
	// Read counts the rows read (blank lines between rows are not rows).
	Read int
	// Created counts the rows that created a record, Updated those that
	// changed an existing record. For purchases, every line-item row of a
	// purchase counts.
	Created, Updated int
	// Skipped counts rows that needed no write: rows with only empty
	// cells, and upserts that matched a record with the same values.
	Skipped int
	// Rejected counts the rows not imported, each listed in Rejects.
	Rejected int
	Rejects  []Reject
	// Ignored lists the columns that were not imported: unknown, not
	// mapped, or read-only (created_at, status, ...). Each is listed once.
	Ignored []string
	// ResumedAfter is the line after which a resumed import started
	// reading (0 if it started at the beginning).
	ResumedAfter int
	// DryRun is set when nothing was written.
	DryRun bool
}

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
	if err := im.checkUpsert(); err != nil {
		return nil, err
	}
	defs, err := ws.Fields().List(ctx, k.name)
	if err != nil {
		return nil, fmt.Errorf("crmio: reading custom fields: %w", err)
	}
	for _, d := range defs {
		im.custom[d.Name] = d
	}
	rd := NewReader(r, o.readOptions())
	header, err := rd.Header()
	if err != nil {
		return nil, err
	}
	im.pos.end, im.pos.crc = rd.f.off, rd.f.crc
	if o.Format == CSV {
		im.res.Header = header
		if im.mapping == nil {
			im.mapping = GuessMapping(header, k.name, defs...)
		}
		if err := im.compile(header); err != nil {
			return nil, err
		}
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

func (im *importer[T]) checkUpsert() error {
	by := im.o.UpsertBy
	switch {
	case by == "" || by == "id":
	case slices.Contains(im.k.upsert, by):
	case strings.HasPrefix(by, "external_id.") && im.k.extIDs != nil && len(by) > len("external_id."):
		by = "external_id." + strings.ToLower(strings.TrimPrefix(by, "external_id."))
	default:
		valid := append([]string{"id"}, im.k.upsert...)
		if im.k.extIDs != nil {
			valid = append(valid, "external_id.<system>")
		}
		return fmt.Errorf("%w: cannot upsert %ss by %q (want %s)", ErrOptions, im.k.name, by, strings.Join(valid, ", "))
	}
	im.by = by
	return nil
}

// checkKeyColumn checks that a column feeds the upsert key, so that an
// upsert cannot silently turn into creating every row.
func (im *importer[T]) checkKeyColumn() error {
	if im.by == "" {
		return nil
	}
	want := map[string]bool{im.by: true}
	switch {
	case im.by == "email":
		want = map[string]bool{"emails": true}
	case strings.HasPrefix(im.by, "external_id."):
		want["external_ids"] = true
	}
	for _, b := range im.bindings {
		if want[b.f.name] {
			return nil
		}
	}
	return fmt.Errorf("%w: UpsertBy %q, but no column is mapped to it", ErrMapping, im.o.UpsertBy)
}

// fieldFor returns the field a mapping target names.
func (im *importer[T]) fieldFor(target string) *field[T] {
	for _, f := range im.k.fields {
		if f.name == target {
			return f
		}
	}
	for _, f := range im.k.stamps {
		if f.name == target {
			return f
		}
	}
	if f, ok := im.extra[target]; ok {
		return f
	}
	var f *field[T]
	if name, ok := strings.CutPrefix(target, "custom."); ok {
		if d, ok := im.custom[name]; ok {
			f = customField(d, im.k.custom)
		}
	} else if sys, ok := strings.CutPrefix(target, "external_id."); ok && sys != "" && im.k.extIDs != nil {
		f = externalIDField(sys, im.k.extIDs)
	}
	if f != nil {
		im.extra[target] = f
	}
	return f
}

// bind checks that column col may feed field target; it returns nil and
// records why when the column is ignored.
func (im *importer[T]) bind(col, target string) (*field[T], error) {
	if target == "" || target == "-" {
		return nil, nil
	}
	f := im.fieldFor(target)
	if f == nil {
		if im.explicit {
			return nil, fmt.Errorf("%w: column %q: %s has no field %q", ErrMapping, col, im.k.name, target)
		}
		im.ignore(col)
		return nil, nil
	}
	if f.readOnly {
		im.ignore(col)
		return nil, nil
	}
	if other, dup := im.bound[f]; dup && !f.multi && other != col {
		if im.explicit {
			return nil, fmt.Errorf("%w: columns %q and %q both map to %s, which holds one value", ErrMapping, other, col, f.name)
		}
		im.ignore(col)
		return nil, nil
	}
	if _, dup := im.bound[f]; !dup {
		im.bound[f] = col
	}
	for _, p := range f.paths {
		if _, ok := im.paths[p]; !ok {
			im.paths[p] = col
		}
	}
	return f, nil
}

func (im *importer[T]) ignore(col string) {
	if !im.ignored[col] {
		im.ignored[col] = true
		im.res.Ignored = append(im.res.Ignored, col)
	}
}

// compile binds the CSV header's columns to fields.
func (im *importer[T]) compile(header []string) error {
	if im.explicit {
		for col := range im.mapping {
			if !slices.Contains(header, col) {
				return fmt.Errorf("%w: the mapping names column %q, which the file does not have", ErrMapping, col)
			}
		}
	}
	for i, col := range header {
		target, ok := im.mapping[col]
		if !ok {
			im.ignore(col)
			continue
		}
		f, err := im.bind(col, target)
		if err != nil {
			return err
		}
		if f != nil {
			im.bindings = append(im.bindings, binding[T]{col: col, idx: i, f: f})
		}
	}
	slices.SortStableFunc(im.bindings, func(a, b binding[T]) int { return boolInt(a.f.late) - boolInt(b.f.late) })
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// jsonBindings returns the bindings of a JSON row's keys, flattening
// nested objects that are not bound themselves.
func (im *importer[T]) jsonBindings(row *Row) ([]binding[T], []cell, error) {
	var bs []binding[T]
	var cells []cell
	var walk func(path string, c cell) error
	walk = func(path string, c cell) error {
		ck := path
		if c.kind == cObject {
			ck += "\x00{}"
		}
		b, seen := im.jsonBind[ck]
		if !seen {
			target, ok := "", false
			if im.explicit {
				target, ok = im.mapping[path]
			} else {
				target = guessField(objectInfos()[im.k.name], nil, normHeader(path))
				if name, isCustom := strings.CutPrefix(target, "custom."); isCustom {
					if _, defined := im.custom[name]; !defined {
						target = ""
					}
				}
				if target == "" {
					for name, d := range im.custom {
						if normHeader(name) == normHeader(path) || (d.Label != "" && normHeader(d.Label) == normHeader(path)) {
							target = "custom." + name
						}
					}
				}
				ok = target != ""
			}
			if f := im.fieldFor(target); ok && f != nil && c.kind == cObject && !f.object && !im.explicit {
				ok = false // look inside the object instead
			}
			if ok {
				f, err := im.bind(path, target)
				if err != nil {
					return err
				}
				if f != nil {
					b = &binding[T]{col: path, f: f}
					if !im.explicit {
						if im.mapping == nil {
							im.mapping = Mapping{}
							im.res.Mapping = im.mapping
						}
						im.mapping[path] = f.name
					}
				}
			} else if c.kind != cObject {
				im.ignore(path)
			}
			im.jsonBind[ck] = b
		}
		if b != nil {
			bs = append(bs, *b)
			cells = append(cells, c)
			return nil
		}
		if c.kind == cObject {
			keys := make([]string, 0, len(c.obj))
			for k := range c.obj {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if err := walk(path+"."+k, jsonCell(c.obj[k])); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for i, key := range row.keys {
		if err := walk(key, row.cells[i]); err != nil {
			return nil, nil, err
		}
	}
	// Late fields last.
	idx := make([]int, len(bs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return boolInt(bs[a].f.late) - boolInt(bs[b].f.late) })
	sb, sc := make([]binding[T], len(bs)), make([]cell, len(bs))
	for i, j := range idx {
		sb[i], sc[i] = bs[j], cells[j]
	}
	return sb, sc, nil
}

// build parses a row into a record.
func (im *importer[T]) build(row *Row) (rec T, rc *rowCtx, set []*field[T], nonEmpty bool, err error) {
	rc = &rowCtx{o: &im.o, rv: im.rv}
	bs, cells := im.bindings, row.cells
	if im.o.Format == JSONL {
		if bs, cells, err = im.jsonBindings(row); err != nil {
			return rec, rc, nil, false, err
		}
	}
	for i, b := range bs {
		c := cells[b.idx]
		if im.o.Format == JSONL {
			c = cells[i]
		}
		if c.empty() {
			if im.o.Overwrite {
				set = append(set, b.f)
			}
			continue
		}
		nonEmpty = true
		rc.col = b.col
		b.f.parse(rc, &rec, c)
		set = append(set, b.f)
	}
	return rec, rc, set, nonEmpty, nil
}

// add processes one row into the batch, committing the batch when it is
// full or when the row depends on a record the batch creates.
func (im *importer[T]) add(row *Row) error {
	e := &entry[T]{line: row.Line, end: row.end, crc: row.crc, raw: row.Raw}
	if row.Problem != nil {
		e.st, e.problems = eReject, []Problem{*row.Problem}
		return im.push(e, "")
	}
	if im.o.Transform != nil {
		if err := im.o.Transform(row); err != nil {
			var p *Problem
			if !errors.As(err, &p) {
				p = &Problem{Reason: err.Error()}
			}
			e.st, e.problems = eReject, []Problem{*p}
			return im.push(e, "")
		}
	}
	rec, rc, set, nonEmpty, err := im.build(row)
	if err != nil {
		return err
	}
	if rc.pending && !im.o.DryRun {
		if err := im.flush(); err != nil {
			return err
		}
		rec, rc, set, nonEmpty, _ = im.build(row)
	}
	if im.rv.err != nil {
		return im.rv.err
	}
	e.rec, e.set = rec, set
	if im.k.grouped {
		e.groupID = rc.id
	}
	switch {
	case len(rc.problems) > 0:
		e.st, e.problems = eReject, rc.problems
		return im.push(e, e.groupID)
	case !nonEmpty:
		e.st = eSkip // a row of empty cells
		return im.push(e, "")
	}
	if im.k.grouped && e.groupID != "" && im.group != nil && im.group.groupID == e.groupID {
		if im.k.finish != nil {
			im.k.finish(rc, &e.rec, nil)
		}
		e.st = eCreate // joins its leader's fate
		return im.push(e, e.groupID)
	}

	var existing *T
	key := ""
	if im.by != "" {
		key = im.keyOf(rc, &rec)
	}
	if key != "" {
		pk := im.by + "\x00" + key
		if im.keys[pk] {
			if im.o.DryRun {
				e.st = eUpdate
				return im.push(e, e.groupID)
			}
			if err := im.flush(); err != nil {
				return err
			}
		}
		var found T
		var ok bool
		var err error
		if im.by == "name" {
			// Company names are not indexed by the CRM: match them with
			// the resolver's table of names.
			var id string
			rc.col = im.paths["name"]
			id, ok = im.rv.companyNamed(rc, key)
			if im.rv.err != nil {
				return im.rv.err
			}
			if len(rc.problems) > 0 {
				e.st, e.problems = eReject, rc.problems
				return im.push(e, e.groupID)
			}
			if ok {
				found, ok, err = im.k.lookup(im.ctx, im.ws, "id", id)
			}
		} else {
			found, ok, err = im.k.lookup(im.ctx, im.ws, im.by, key)
		}
		if err != nil {
			return fmt.Errorf("crmio: looking up %s %s: %w", im.by, key, err)
		}
		if ok {
			existing = &found
		}
	}
	if im.k.finish != nil {
		im.k.finish(rc, &e.rec, existing)
		if im.rv.err != nil {
			return im.rv.err
		}
		if len(rc.problems) > 0 {
			e.st, e.problems = eReject, rc.problems
			return im.push(e, e.groupID)
		}
	}
	if existing != nil {
		m := im.k.meta(existing)
		e.st, e.id, e.version = eUpdate, m.ID, m.Version
		return im.push(e, e.groupID)
	}
	e.st = eCreate
	if key != "" {
		im.keys[im.by+"\x00"+key] = true
	}
	if im.k.names != nil {
		for _, n := range im.k.names(&e.rec) {
			im.rv.pending[n] = true
		}
	}
	return im.push(e, e.groupID)
}

func (im *importer[T]) keyOf(rc *rowCtx, r *T) string {
	switch {
	case im.by == "id":
		return rc.id
	case strings.HasPrefix(im.by, "external_id."):
		return (*im.k.extIDs(r))[strings.TrimPrefix(im.by, "external_id.")]
	}
	return im.k.key(rc, r, im.by)
}

// push appends an entry to the batch. Rows of a group (consecutive rows
// with the same group ID) join its leader; a new leader first commits a
// full batch.
func (im *importer[T]) push(e *entry[T], groupID string) error {
	if g := im.group; g != nil && groupID != "" && g.groupID == groupID {
		e.leader = g
		g.followers = append(g.followers, e)
		switch {
		case e.st == eReject:
			im.rejectGroup(g, e)
		case g.st == eReject:
			if g.groupWhy == "" {
				g.groupWhy = fmt.Sprintf("line %d of the same purchase was rejected: %s", g.line, firstProblem(g.problems))
			}
			e.problems = []Problem{{Reason: g.groupWhy}}
			e.done = true
		case g.st == eCreate || g.st == eUpdate:
			im.k.group(&g.rec, &e.rec)
			for _, f := range e.set {
				if !slices.Contains(g.set, f) {
					g.set = append(g.set, f)
				}
			}
		}
		e.st = g.st
		im.batch = append(im.batch, e)
		return nil
	}
	if len(im.batch) >= im.o.BatchSize {
		if err := im.flush(); err != nil {
			return err
		}
	}
	im.group = nil
	if im.k.grouped && groupID != "" {
		im.group = e
	}
	if e.st == eReject || e.st == eSkip {
		e.done = true
	}
	im.batch = append(im.batch, e)
	return nil
}

func firstProblem(ps []Problem) string {
	if len(ps) == 0 {
		return "rejected"
	}
	return ps[0].Error()
}

// rejectGroup rejects a whole group because of its member bad.
func (im *importer[T]) rejectGroup(g, bad *entry[T]) {
	if g.st == eReject && g != bad {
		bad.problems = append(bad.problems, Problem{Reason: g.groupWhy})
		return
	}
	g.groupWhy = fmt.Sprintf("line %d of the same purchase was rejected: %s", bad.line, firstProblem(bad.problems))
	for _, m := range append([]*entry[T]{g}, g.followers...) {
		if m != bad && m.st != eReject {
			m.problems = []Problem{{Reason: g.groupWhy}}
		}
		m.st, m.done = eReject, true
	}
}

// flush commits the batch: updates first, then the new records in
// chunks. Rows the CRM refuses become rejects.
func (im *importer[T]) flush() error {
	if len(im.batch) == 0 {
		return nil
	}
	if im.o.DryRun {
		for _, e := range im.batch {
			e.done = true
		}
		return im.finalize(len(im.batch))
	}
	for _, e := range im.batch {
		if e.st != eUpdate || e.leader != nil || e.done {
			continue
		}
		set, src := e.set, &e.rec
		out, err := im.k.update(im.ctx, im.ws, e.id, func(cur *T) error {
			for _, f := range set {
				f.merge(cur, src, im.o.Overwrite)
			}
			return nil
		})
		if err != nil {
			if !im.rowLevel(err) {
				return err
			}
			im.rejectCRM(e, err)
		} else if im.k.meta(&out).Version == e.version {
			e.st = eSkip // nothing to change
		}
		im.markDone(e)
	}
	var creates []*entry[T]
	for _, e := range im.batch {
		if e.st == eCreate && e.leader == nil && !e.done {
			creates = append(creates, e)
		}
	}
	// The CRM commits CreateMany in transactions of this many records;
	// calling it per chunk makes each call all-or-nothing.
	const chunk = 256
	for start := 0; start < len(creates); start += chunk {
		part := creates[start:min(start+chunk, len(creates))]
		recs := make([]T, len(part))
		for i, e := range part {
			recs[i] = e.rec
		}
		out, err := im.k.createMany(im.ctx, im.ws, recs)
		var be *crm.BatchError
		switch {
		case err == nil || (errors.As(err, &be) && len(out) == len(recs)):
			bad := map[int]error{}
			if be != nil {
				for _, it := range be.Items {
					bad[it.Index] = it.Err
				}
			}
			for i, e := range part {
				if ierr, ok := bad[i]; ok {
					im.rejectCRM(e, ierr)
				} else {
					e.createdID = im.k.meta(&out[i]).ID
				}
				im.markDone(e)
			}
		case im.ctx.Err() == nil && im.rowLevel(err) && len(out) == 0:
			// A hook vetoed a record or writes kept conflicting: create
			// one by one to find the rows at fault.
			for _, e := range part {
				r, err := im.k.create(im.ctx, im.ws, e.rec)
				switch {
				case err == nil:
					e.createdID = im.k.meta(&r).ID
				case im.ctx.Err() == nil && im.rowLevel(err):
					im.rejectCRM(e, err)
				default:
					return err
				}
				im.markDone(e)
			}
		default:
			// Stopped: the first len(out) records were committed.
			for i := 0; i < len(out) && i < len(part); i++ {
				e := part[i]
				if id := im.k.meta(&out[i]).ID; id != "" {
					e.createdID = id
				} else {
					e.problems = []Problem{{Reason: "refused by the CRM; the reason was lost when the import stopped: import the row again"}}
					e.st = eReject
				}
				im.markDone(e)
			}
			return err
		}
	}
	return im.finalize(len(im.batch))
}

func (im *importer[T]) markDone(e *entry[T]) {
	e.done = true
	for _, f := range e.followers {
		f.done = true
		if e.st == eReject && f.st != eReject {
			f.problems = []Problem{{Reason: fmt.Sprintf("the purchase starting on line %d was rejected: %s", e.line, firstProblem(e.problems))}}
		}
		f.st = e.st
	}
}

// rowLevel reports whether a write error concerns the row, not the store.
func (im *importer[T]) rowLevel(err error) bool { return rowError(err) }

// rowError reports whether a write error concerns the record written
// (invalid, vetoed by a hook, referring to a record that went away, or
// colliding with concurrent writers past the CRM's retries) rather than
// the store.
func rowError(err error) bool {
	return errors.Is(err, crm.ErrInvalid) || errors.Is(err, crm.ErrNotFound) || errors.Is(err, crm.ErrDeleted) ||
		errors.Is(err, crm.ErrConflict) || errors.Is(err, crm.ErrVetoed)
}

var indexRE = regexp.MustCompile(`\[(\d+)\]`)

// rejectCRM rejects an entry (and its group) for an error of the CRM,
// naming the source column of each failing field.
func (im *importer[T]) rejectCRM(e *entry[T], err error) {
	members := append([]*entry[T]{e}, e.followers...)
	byMember := make([][]Problem, len(members))
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		for _, fe := range ve.Fields {
			member := 0
			if im.k.grouped {
				if m := indexRE.FindStringSubmatch(fe.Field); m != nil && strings.HasPrefix(fe.Field, "items[") {
					if n, _ := strconv.Atoi(m[1]); n < len(members) {
						member = n
					}
				}
			}
			byMember[member] = append(byMember[member], im.problem(fe))
		}
	} else {
		byMember[0] = []Problem{{Reason: strings.TrimPrefix(err.Error(), "crm: ")}}
	}
	first := ""
	for i, m := range members {
		if len(byMember[i]) > 0 {
			first = fmt.Sprintf("line %d: %s", m.line, byMember[i][0].Error())
			break
		}
	}
	for i, m := range members {
		m.st = eReject
		if len(byMember[i]) > 0 {
			m.problems = byMember[i]
		} else {
			m.problems = []Problem{{Reason: "another line of the same purchase was rejected (" + first + ")"}}
		}
	}
}

// problem maps a CRM field error to the source column.
func (im *importer[T]) problem(fe crm.FieldError) Problem {
	path := indexRE.ReplaceAllString(fe.Field, "")
	for p := path; p != ""; {
		if col, ok := im.paths[p]; ok {
			return Problem{Column: col, Reason: fe.Reason}
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return Problem{Reason: fe.Field + ": " + fe.Reason}
}

// finalize counts the first n entries of the batch (all done), saves the
// checkpoint and reports progress.
func (im *importer[T]) finalize(n int) error {
	if n == 0 {
		return nil
	}
	for _, e := range im.batch[:n] {
		im.res.Read++
		switch e.st {
		case eReject:
			im.res.Rejected++
			r := newReject(e.line, e.raw, e.problems)
			im.res.Rejects = append(im.res.Rejects, r)
			im.fresh = append(im.fresh, r)
		case eSkip:
			im.res.Skipped++
		case eCreate:
			im.res.Created++
			if im.k.names != nil && e.leader == nil && !im.o.DryRun {
				if c, ok := any(&e.rec).(*crm.Company); ok {
					im.rv.addCompany(e.createdID, c.Name, c.Domain)
				}
			}
		case eUpdate:
			im.res.Updated++
			if c, ok := any(&e.rec).(*crm.Company); ok && e.leader == nil && c.Name != "" {
				im.rv.addCompany(e.id, c.Name, c.Domain)
			}
		}
	}
	last := im.batch[n-1]
	im.batch = slices.Delete(im.batch, 0, n)
	if len(im.batch) == 0 {
		// A dry run commits nothing, so what it would have created stays
		// pending to the end.
		if !im.o.DryRun {
			clear(im.keys)
			clear(im.rv.pending)
		}
		im.group = nil
	}
	im.pos.line, im.pos.end, im.pos.crc = last.line, last.end, last.crc
	im.log.Debug("crmio: batch committed", "object", im.k.name, "line", last.line, "read", im.res.Read,
		"created", im.res.Created, "updated", im.res.Updated, "skipped", im.res.Skipped, "rejected", im.res.Rejected)
	if im.cp != nil {
		if err := im.save(false); err != nil {
			return err
		}
	}
	if im.o.Progress != nil {
		im.o.Progress(Progress{Line: last.line, Bytes: last.end, Read: im.res.Read, Created: im.res.Created,
			Updated: im.res.Updated, Skipped: im.res.Skipped, Rejected: im.res.Rejected})
	}
	return nil
}

// save records the committed position in the checkpoint.
func (im *importer[T]) save(done bool) error {
	st := &CheckpointState{
		Object: im.k.name, Line: im.pos.line, Offset: im.pos.end, CRC: im.pos.crc,
		Read: im.res.Read, Created: im.res.Created, Updated: im.res.Updated, Skipped: im.res.Skipped,
		Rejected: im.res.Rejected, Done: done, Rejects: im.fresh,
	}
	// The checkpoint is saved even when the import's context is
	// cancelled: that is when it matters most.
	if err := im.cp.Save(context.WithoutCancel(im.ctx), st); err != nil {
		return &saveError{err}
	}
	im.fresh = nil
	return nil
}

// saveError is a failure to save the checkpoint.
type saveError struct{ err error }

// Error returns the save's error message.
func (e *saveError) Error() string { return e.err.Error() }

// Unwrap returns the save's error.
func (e *saveError) Unwrap() error { return e.err }

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
