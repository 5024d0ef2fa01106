package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
)

// The commands that look after the data's quality and answer data
// subjects' requests: duplicates, merge, privacy export and privacy erase.

// checkMergeable refuses a kind other than contact or company, the kinds
// that have duplicate detection and merging.
func checkMergeable(flagName, object string) error {
	switch object {
	case crmio.ObjectContact, crmio.ObjectCompany:
		return nil
	case "":
		return usagef("--%s is required (contact or company)", flagName)
	}
	return usagef("--%s %q is not contact or company", flagName, object)
}

func duplicatesCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	object := fs.String("object", "", "record `kind`: contact or company (required)")
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
				reasons[i] = r.Rule + ": " + r.Detail
			}
			fmt.Fprintf(tw, "%s\t%s\t%.3f\t%s\n", d.A, d.B, d.Score, strings.Join(reasons, "; "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%d likely duplicate %s pairs\n", n, *object)
		return nil
	}
}

func mergeCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	object := fs.String("object", "", "record `kind`: contact or company (default: from --keep's prefix)")
	keep := fs.String("keep", "", "`ID` of the record that survives (required)")
	drop := fs.String("drop", "", "`ID` of the record merged into it and removed (required)")
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
		if kind == "" {
			kind = objectOf(*keep)
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
		var survivor any
		if kind == crmio.ObjectContact {
			survivor, err = ws.Contacts().Merge(e.ctx, *keep, *drop, opts)
		} else {
			survivor, err = ws.Companies().Merge(e.ctx, *keep, *drop, opts)
		}
		if err != nil {
			return err
		}
		if err := writeJSON(e.stdout, survivor); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "merged %s %s into %s\n", kind, *drop, *keep)
		return nil
	}
}

func privacyExportCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	id := fs.String("id", "", "the contact's `ID` (required)")
	out := fs.String("out", "", "write the document to `FILE`, readable by its owner only (default standard output)")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *id == "" {
			return usagef("--id is required")
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		doc, err := ws.ExportContact(e.ctx, *id)
		if err != nil {
			return err
		}
		if *out == "" || *out == "-" {
			return writeJSON(e.stdout, doc)
		}
		if err := writeFileAtomic(*out, 0o600, func(w io.Writer) error { return writeJSON(w, doc) }); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "exported contact %s (%d deals, %d activities, %d purchases, %d changes) to %s\n",
			*id, len(doc.Deals), len(doc.Activities), len(doc.Purchases), len(doc.History), *out)
		return nil
	}
}

func privacyEraseCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	id := fs.String("id", "", "the contact's `ID` (required)")
	yes := fs.Bool("yes", false, "confirm the erasure, which cannot be undone (required)")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *id == "" {
			return usagef("--id is required")
		}
		if !*yes {
			return usagef("erasing contact %s cannot be undone: give --yes to confirm", *id)
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		if err := ws.Contacts().Erase(e.ctx, *id); err != nil {
			var merged *crm.MergedError
			if errors.As(err, &merged) {
				return fmt.Errorf("%w (erase %s, which holds its data)", err, merged.Into)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "erased contact %s\n", *id)
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
