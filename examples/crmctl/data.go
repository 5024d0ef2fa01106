package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
)

var objects = []crm.Kind{crmio.ObjectContact, crmio.ObjectCompany, crmio.ObjectDeal, crmio.ObjectActivity, crmio.ObjectPurchase}

func checkObject(object crm.Kind) error {
	for _, o := range objects {
		if o == object {
			return nil
		}
	}
	if object.IsZero() {
		return usagef("--object is required (one of %s)", kindList(objects))
	}
	return usagef("--object %q is not one of %s", object, kindList(objects))
}

// parseFormat reads --format, or guesses it from the file name.
func parseFormat(s, file string) (crmio.Format, error) {
	if s == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".jsonl", ".ndjson":
			return crmio.JSONL, nil
		}
		return crmio.CSV, nil
	}
	switch strings.ToLower(s) {
	case "csv":
		return crmio.CSV, nil
	case "jsonl", "ndjson":
		return crmio.JSONL, nil
	}
	return 0, usagef("--format %q is not csv or jsonl", s)
}

func parseEncoding(s string) (crmio.Encoding, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "-", "")) {
	case "", "utf8":
		return crmio.UTF8, nil
	case "latin1", "iso88591":
		return crmio.Latin1, nil
	case "windows1252", "cp1252":
		return crmio.Windows1252, nil
	}
	return 0, usagef("--encoding %q is not utf-8, latin1 or windows-1252", s)
}

func importCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	object := kindVar(fs, "object", "record `kind`: contact, company, deal, activity or purchase (required)")
	format := fs.String("format", "", "`format` of the file: csv or jsonl (default: from the file name, else csv)")
	upsertBy := fs.String("upsert-by", "", "update the record whose `field` matches: email, domain, name, external_id.<system> or id")
	overwrite := fs.Bool("overwrite", false, "on update, empty cells clear fields and lists are replaced")
	dryRun := fs.Bool("dry-run", false, "read, convert and resolve every row, write nothing")
	rejects := fs.String("rejects", "", "write the rejected rows to `FILE` (CSV with line, column and reason), to fix and import again")
	checkpoint := fs.String("checkpoint", "", "keep a checkpoint in `FILE` so that an interrupted import resumes where it stopped")
	encoding := fs.String("encoding", "", "character `encoding` of the file: utf-8 (default), latin1 or windows-1252")
	dateLayout := fs.String("date-layout", "", "Go `layout` of slashed dates (default day first, 02/01/2006)")
	currency := fs.String("currency", "", "`currency` of amounts written without one (default: the workspace's)")
	batch := fs.Int("batch", 0, "`rows` committed together (default 1000)")
	var mapping multiFlag
	fs.Var(&mapping, "map", "map a column to a field, `column=field` (repeatable; default: guessed from the header)")
	return func(e *env, args []string) error {
		if len(args) > 1 {
			return usagef("one file at most, got %d", len(args))
		}
		if err := checkObject(*object); err != nil {
			return err
		}
		file := ""
		if len(args) == 1 {
			file = args[0]
		}
		f, err := parseFormat(*format, file)
		if err != nil {
			return err
		}
		enc, err := parseEncoding(*encoding)
		if err != nil {
			return err
		}
		opts := crmio.ImportOptions{
			Object: *object, Format: f, UpsertBy: *upsertBy, Overwrite: *overwrite, DryRun: *dryRun,
			Encoding: enc, DateLayout: *dateLayout, Currency: *currency, BatchSize: *batch,
		}
		if len(mapping) > 0 {
			opts.Mapping = crmio.Mapping{}
			for _, m := range mapping {
				col, field, ok := strings.Cut(m, "=")
				if !ok || col == "" {
					return usagef("--map %q is not column=field", m)
				}
				opts.Mapping[col] = field
			}
		}
		if *checkpoint != "" {
			opts.Checkpoint = &crmio.FileCheckpoint{Path: *checkpoint}
		}
		in, total := io.Reader(e.stdin), int64(0)
		if file != "" && file != "-" {
			fh, err := os.Open(file)
			if err != nil {
				return err
			}
			defer fh.Close()
			if fi, err := fh.Stat(); err == nil && fi.Mode().IsRegular() {
				total = fi.Size()
			}
			in = fh
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		bar := e.newProgress("import", "row", total)
		var last crmio.Progress
		opts.Progress = func(p crmio.Progress) {
			last = p
			bar.update(int64(p.Read), p.Bytes)
		}
		res, err := crmio.Import(e.ctx, ws, in, opts)
		if res != nil {
			bar.done(int64(res.Read), max(last.Bytes, total))
			printImport(e, res)
			if *rejects != "" && (res.Rejected > 0 || err == nil) {
				if werr := writeRejects(*rejects, res); werr != nil {
					err = errors.Join(err, werr)
				}
			}
		}
		if err != nil {
			return err
		}
		if res.Rejected > 0 {
			return &partialError{fmt.Sprintf("%d of %s rejected", res.Rejected, plural(res.Read, "row"))}
		}
		return nil
	}
}

func printImport(e *env, res *crmio.ImportResult) {
	if res.DryRun {
		fmt.Fprintf(e.stdout, "dry run of a %s import, nothing written: read %d, would create %d, update %d, skip %d, reject %d\n",
			res.Object, res.Read, res.Created, res.Updated, res.Skipped, res.Rejected)
	} else {
		fmt.Fprintf(e.stdout, "imported %s: read %d, created %d, updated %d, skipped %d, rejected %d\n",
			res.Object, res.Read, res.Created, res.Updated, res.Skipped, res.Rejected)
	}
	if len(res.Ignored) > 0 {
		fmt.Fprintf(e.stdout, "ignored columns: %s\n", strings.Join(res.Ignored, ", "))
	}
	const shown = 20
	for i, r := range res.Rejects {
		if i == shown {
			fmt.Fprintf(e.stderr, "... and %s more (see --rejects)\n", plural(len(res.Rejects)-shown, "rejected row"))
			break
		}
		fmt.Fprintf(e.stderr, "line %d: %s\n", r.Line, r.Error())
	}
}

func writeRejects(path string, res *crmio.ImportResult) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := res.WriteRejects(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func exportCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	object := kindVar(fs, "object", "record `kind`: contact, company, deal, activity or purchase (required)")
	format := fs.String("format", "", "`format`: csv or jsonl (default: from --out, else csv)")
	out := fs.String("out", "", "write to `FILE` (default standard output)")
	deleted := fs.Bool("deleted", false, "export the soft-deleted records instead of the live ones")
	segRef := fs.String("segment", "", "export only the members of this segment (`ID or name`; contacts, companies or deals)")
	where := fs.String("where", "", "export only the records matching this `filter` (contacts, companies or deals)"+filterGrammar)
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := checkObject(*object); err != nil {
			return err
		}
		if *segRef != "" || *where != "" {
			if err := checkFilterObject(*object); err != nil {
				return err
			}
			if *deleted {
				return usagef("--deleted cannot be combined with --segment or --where: segments hold live records")
			}
		}
		if *where != "" {
			if _, err := parseWhere(*where); err != nil {
				return err
			}
		}
		f, err := parseFormat(*format, *out)
		if err != nil {
			return err
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		opts := crmio.ExportOptions{Object: *object, Format: f, List: crm.ListOptions{Deleted: *deleted}, Where: *where}
		if *segRef != "" {
			seg, err := findSegment(e, ws, *segRef)
			if err != nil {
				return err
			}
			if seg.Object != *object {
				return usagef("segment %q holds %s, not %s", *segRef, pluralWord(seg.Object.String()), pluralWord(object.String()))
			}
			opts.Segment = seg.ID
		}
		w := e.stdout
		var fh *os.File
		if *out != "" && *out != "-" {
			if fh, err = os.Create(*out); err != nil {
				return err
			}
			defer fh.Close()
			w = fh
		}
		bar := e.newProgress("export", "record", 0)
		rc := &rowCounter{w: w, csv: f == crmio.CSV}
		header := int64(0)
		if f == crmio.CSV {
			header = 1
		}
		rc.onWrite = func(rows, bytes int64) { bar.update(max(rows-header, 0), bytes) }
		n, err := crmio.Export(e.ctx, ws, rc, opts)
		if err != nil {
			bar.stop()
			return filterUsage(err)
		}
		bar.done(int64(n), rc.bytes)
		if fh != nil {
			if err := fh.Close(); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "exported %s to %s\n", plural(n, object.String()+" record"), *out)
		}
		return nil
	}
}

func listCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	object := kindVar(fs, "object", "record `kind`: contact, company, deal or activity (required; export lists purchases)")
	asJSON := fs.Bool("json", false, "print JSON Lines (the whole records) instead of a table")
	limit := fs.Int("limit", 0, "print at most `N` records (default all)")
	deleted := fs.Bool("deleted", false, "list the soft-deleted records instead of the live ones")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := checkObject(*object); err != nil {
			return err
		}
		if *object == crmio.ObjectPurchase {
			return usagef("purchases are not listed one by one; use export --object purchase")
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		enc := json.NewEncoder(e.stdout)
		if !*asJSON {
			fmt.Fprintln(tw, "ID\t"+strings.ToUpper(labelTitle[*object]))
		}
		n := 0
		err = eachRecord(e, ws, *object, crm.ListOptions{Deleted: *deleted}, func(id, label string, r any) error {
			if *limit > 0 && n >= *limit {
				return errEnough
			}
			n++
			if *asJSON {
				return enc.Encode(r)
			}
			_, err := fmt.Fprintf(tw, "%s\t%s\n", id, label)
			return err
		})
		if err != nil && !errors.Is(err, errEnough) {
			return err
		}
		return tw.Flush()
	}
}

var errEnough = errors.New("enough")

var labelTitle = map[crm.Kind]string{
	crmio.ObjectContact: "name\temail", crmio.ObjectCompany: "name\tdomain", crmio.ObjectDeal: "name\tamount\tstatus",
	crmio.ObjectActivity: "type\toccurred\tsubject",
}

// eachRecord streams the records of a kind with their table cells.
func eachRecord(e *env, ws *crm.Workspace, object crm.Kind, o crm.ListOptions, fn func(id, label string, r any) error) error {
	switch object {
	case crmio.ObjectContact:
		return each(ws.Contacts().List(e.ctx, o), fn)
	case crmio.ObjectCompany:
		return each(ws.Companies().List(e.ctx, o), fn)
	case crmio.ObjectDeal:
		return each(ws.Deals().List(e.ctx, o), fn)
	default:
		return each(ws.Activities().List(e.ctx, o), fn)
	}
}

func each[T any](seq iter.Seq2[T, error], fn func(id, label string, r any) error) error {
	for r, err := range seq {
		if err != nil {
			return err
		}
		id, l := recordRow(r)
		if err := fn(id, l, r); err != nil {
			return err
		}
	}
	return nil
}

// recordRow returns a record's ID and its table cells (tab-separated, as
// labelTitle names them).
func recordRow(r any) (id, cells string) {
	switch r := r.(type) {
	case crm.Contact:
		return r.ID, strings.TrimSpace(r.FirstName+" "+r.LastName) + "\t" + first(r.Emails)
	case crm.Company:
		return r.ID, r.Name + "\t" + r.Domain
	case crm.Deal:
		return r.ID, r.Name + "\t" + r.Amount.String() + "\t" + string(r.Status)
	case crm.Activity:
		return r.ID, string(r.Type) + "\t" + r.OccurredAt.Format("2006-01-02 15:04") + "\t" + r.Subject
	}
	return "", ""
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
