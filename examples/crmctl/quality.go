package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"text/tabwriter"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
)

// The commands that look after the data's quality and answer data
// subjects' requests: duplicates, merge, privacy export and privacy erase.

// checkMergeable refuses a kind other than contact or company, the kinds
// that have duplicate detection and merging.
func checkMergeable(flagName string, object crm.Kind) error {
	switch object {
	case crmio.ObjectContact, crmio.ObjectCompany:
		return nil
	case crm.Kind{}:
		return usagef("--%s is required (contact or company)", flagName)
	}
	return usagef("--%s %q is not contact or company", flagName, object)
}

func duplicatesCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	object := kindVar(fs, "object", "record `kind`: contact or company (required)")
	minScore := fs.Float64("min-score", 0, "report pairs scoring at least `X`, from 0 to 1 (default 0.5)")
	window := fs.Int("window", 0, "compare each record with at most `N` earlier records sharing a key (default 100)")
	format := fs.String("format", "table", "output `format`: table or json (JSON Lines, one pair a line)")
	limit := fs.Int("limit", 0, "print at most `N` pairs (default all)")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := checkMergeable("object", *object); err != nil {
			return err
		}
		if *format != "table" && *format != "json" {
			return usagef("--format %q is not table or json", *format)
		}
		if *minScore < 0 || *minScore > 1 {
			return usagef("--min-score %v is not between 0 and 1", *minScore)
		}
		if *window < 0 {
			return usagef("--window must not be negative")
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		opts := crm.DuplicateOptions{MinScore: *minScore, Window: *window}
		seq := ws.Contacts().FindDuplicates(e.ctx, opts)
		if *object == crmio.ObjectCompany {
			seq = ws.Companies().FindDuplicates(e.ctx, opts)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		enc := json.NewEncoder(e.stdout)
		if *format == "table" {
			fmt.Fprintln(tw, "A\tB\tSCORE\tREASONS")
		}
		n := 0
		for d, err := range seq {
			if err != nil {
				return err
			}
			if *limit > 0 && n == *limit {
				break
			}
			n++
			if *format == "json" {
				if err := enc.Encode(d); err != nil {
					return err
				}
				continue
			}
			reasons := make([]string, len(d.Reasons))
			for i, r := range d.Reasons {
				reasons[i] = reasonText(r)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.3f\t%s\n", d.A, d.B, d.Score, strings.Join(reasons, "; "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%s\n", plural(n, "likely duplicate "+object.String()+" pair"))
		return nil
	}
}

func mergeCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	object := kindVar(fs, "object", "record `kind`: contact or company (default: from --keep, an ID's prefix, an email or a domain)")
	keep := fs.String("keep", "", "the record that survives (required): its `ID`, or a contact's email, a company's domain")
	drop := fs.String("drop", "", "the record merged into it and removed (required): its `ID`, or a contact's email, a company's domain")
	var preferDrop, preferKeep listFlag
	fs.Var(&preferDrop, "prefer-drop", "`fields` (JSON names, comma-separated, repeatable: first_name,emails,custom.score) whose value is taken from --drop as it is")
	fs.Var(&preferKeep, "prefer-keep", "`fields` whose value stays --keep's as it is, not combined with --drop's (lists and maps are combined by default)")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *keep == "" || *drop == "" {
			return usagef("--keep and --drop are required")
		}
		kind := *object
		if kind.IsZero() {
			kind = refObject(*keep)
		}
		if err := checkMergeable("object", kind); err != nil {
			return err
		}
		opts := crm.MergeOptions{}
		for _, list := range []struct {
			fields listFlag
			keep   crm.Keep
		}{{preferDrop, crm.KeepMerged}, {preferKeep, crm.KeepSurvivor}} {
			for _, f := range list.fields {
				if opts.Fields == nil {
					opts.Fields = map[string]crm.Keep{}
				}
				if k, dup := opts.Fields[f]; dup && k != list.keep {
					return usagef("field %q is in both --prefer-drop and --prefer-keep", f)
				}
				opts.Fields[f] = list.keep
			}
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		keepID, err := resolveRef(e, ws, kind, *keep)
		if err != nil {
			return err
		}
		dropID, err := resolveRef(e, ws, kind, *drop)
		if err != nil {
			return err
		}
		var survivor any
		if kind == crmio.ObjectContact {
			survivor, err = ws.Contacts().Merge(e.ctx, keepID, dropID, opts)
		} else {
			survivor, err = ws.Companies().Merge(e.ctx, keepID, dropID, opts)
		}
		if err != nil {
			return err
		}
		if err := writeJSON(e.stdout, survivor); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "merged %s %s into %s\n", kind, refText(dropID, *drop), refText(keepID, *keep))
		return nil
	}
}

func privacyExportCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	subject := contactFlags(fs)
	out := fs.String("out", "", "write the document to `FILE`, readable by its owner only (default standard output)")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := subject.check(); err != nil {
			return err
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		id, err := subject.resolve(e, ws)
		if err != nil {
			return err
		}
		doc, err := ws.ExportContact(e.ctx, id)
		if err != nil {
			return err
		}
		emptyLists(doc)
		if *out == "" || *out == "-" {
			return writeJSON(e.stdout, doc)
		}
		if err := writeFileAtomic(*out, 0o600, func(w io.Writer) error { return writeJSON(w, doc) }); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "exported contact %s to %s: %s, %s, %s, %s\n", refText(id, subject.ref()), *out,
			plural(len(doc.Deals), "deal"), plural(len(doc.Activities), "activity"),
			plural(len(doc.Purchases), "purchase"), plural(len(doc.History), "change"))
		return nil
	}
}

func privacyEraseCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	subject := contactFlags(fs)
	yes := fs.Bool("yes", false, "confirm the erasure, which cannot be undone (required)")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := subject.check(); err != nil {
			return err
		}
		if !*yes {
			return usagef("erasing contact %s cannot be undone: give --yes to confirm", subject.ref())
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		id, err := subject.resolve(e, ws)
		if err != nil {
			return err
		}
		if err := ws.Contacts().Erase(e.ctx, id); err != nil {
			var merged *crm.MergedError
			if errors.As(err, &merged) {
				return fmt.Errorf("%w (erase %s, which holds its data)", err, merged.Into)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "erased contact %s\n", refText(id, subject.ref()))
		return nil
	}
}

// writeFileAtomic writes a file through write into a temporary file
// beside it, renamed into place when complete, so that the file is never
// left half-written under its name.
func writeFileAtomic(path string, perm os.FileMode, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.partial")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// contactRef is the --id and --email flags that name the contact of a
// privacy request.
type contactRef struct{ id, email *string }

func contactFlags(fs *flag.FlagSet) contactRef {
	return contactRef{
		id:    fs.String("id", "", "the contact's `ID` (this or --email is required)"),
		email: fs.String("email", "", "the contact's `email` address, instead of --id"),
	}
}

// check requires exactly one of --id and --email.
func (c contactRef) check() error {
	if (*c.id == "") == (*c.email == "") {
		return usagef("give exactly one of --id, --email")
	}
	return nil
}

// ref is the contact as given.
func (c contactRef) ref() string { return *c.id + *c.email }

// resolve returns the contact's ID.
func (c contactRef) resolve(e *env, ws *crm.Workspace) (string, error) {
	if *c.id != "" {
		return *c.id, nil
	}
	return resolveRef(e, ws, crmio.ObjectContact, *c.email)
}

// refObject is the kind of record a --keep or --drop names: a contact for
// an email address, a company for a domain, else what the ID's prefix
// says.
func refObject(ref string) crm.Kind {
	switch {
	case strings.Contains(ref, "@"):
		return crmio.ObjectContact
	case !objectOf(ref).IsZero():
		return objectOf(ref)
	case strings.Contains(ref, "."):
		return crmio.ObjectCompany
	}
	return crm.Kind{}
}

// resolveRef returns the ID of the record of kind that ref names: a
// contact's email address or a company's domain is looked up, an ID is
// returned as it is.
func resolveRef(e *env, ws *crm.Workspace, kind crm.Kind, ref string) (string, error) {
	switch {
	case kind == crmio.ObjectContact && strings.Contains(ref, "@"):
		c, err := ws.Contacts().GetByEmail(e.ctx, ref)
		return c.ID, err
	case kind == crmio.ObjectCompany && objectOf(ref).IsZero() && strings.Contains(ref, "."):
		c, err := ws.Companies().GetByDomain(e.ctx, ref)
		return c.ID, err
	}
	return ref, nil
}

// refText names a record in a message: its ID, and the email or domain
// it was given as.
func refText(id, given string) string {
	if given == id || given == "" {
		return id
	}
	return id + " (" + given + ")"
}

// emptyLists makes the lists of a privacy export that hold nothing empty
// rather than null, so that the document says "none" the same way
// throughout: "custom_fields": [], not null.
func emptyLists(doc *crm.ContactExport) {
	v := reflect.ValueOf(doc).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Slice && f.IsNil() && f.CanSet() {
			f.Set(reflect.MakeSlice(f.Type(), 0, 0))
		}
	}
}
