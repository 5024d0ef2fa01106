package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

func backupCmd(fs *flag.FlagSet) func(*env, []string) error {
	out := fs.String("out", "", "write the backup to `FILE` (required); it is written beside and renamed into place when complete")
	var workspaces multiFlag
	fs.Var(&workspaces, "workspace", "back up workspace `ID` (repeatable; default: every workspace)")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *out == "" {
			return usagef("--out is required")
		}
		c, closeFn, err := e.open()
		if err != nil {
			return err
		}
		defer closeFn()
		// A backup is never left half-written under its name.
		tmp, err := os.CreateTemp(filepath.Dir(*out), filepath.Base(*out)+".*.partial")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		bar := e.newProgress("backup", "key", 0)
		st, err := c.Backup(e.ctx, tmp, crm.BackupOptions{Workspaces: workspaces, Progress: bar.update})
		if err != nil {
			bar.stop()
			return err
		}
		bar.done(st.Keys, st.Bytes)
		if err := tmp.Sync(); err != nil {
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "backed up %s, %s, %s to %s\n", plural(st.Workspaces, "workspace"), plural(st.Keys, "key"), plural(st.Bytes, "byte"), *out)
		return nil
	}
}

func restoreCmd(fs *flag.FlagSet) func(*env, []string) error {
	replace := fs.Bool("replace", false, "erase and replace workspaces that exist (default: refuse)")
	var workspaces multiFlag
	fs.Var(&workspaces, "workspace", "restore only workspace `ID` (repeatable; default: all in the file)")
	return func(e *env, args []string) error {
		if len(args) != 1 {
			return usagef("give the backup file")
		}
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		c, closeFn, err := e.create()
		if err != nil {
			return err
		}
		defer closeFn()
		// The file is verified whole before anything is written (Restore
		// does it for a seekable source); the bar shows the writing pass.
		bar := e.newProgress("restore", "key", fi.Size())
		st, err := c.Restore(e.ctx, f, crm.RestoreOptions{Workspaces: workspaces, Replace: *replace, Progress: bar.update})
		if err != nil {
			bar.stop()
			return err
		}
		bar.done(st.Keys, st.Bytes)
		fmt.Fprintf(e.stdout, "restored %s, %s from %s\n", plural(st.Workspaces, "workspace"), plural(st.Keys, "key"), args[0])
		return nil
	}
}

func verifyCmd(fs *flag.FlagSet) func(*env, []string) error {
	return func(e *env, args []string) error {
		if len(args) != 1 {
			return usagef("give the backup file")
		}
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		hdr, st, err := crm.VerifyBackup(f)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "ok: format %d, taken %s, %s (%s), %s, %s\n",
			hdr.Format, hdr.CreatedAt.Format("2006-01-02 15:04:05Z07:00"), plural(st.Workspaces, "workspace"),
			strings.Join(hdr.Workspaces, ", "), plural(st.Keys, "key"), plural(st.Bytes, "byte"))
		return nil
	}
}

func checkCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	repair := fs.Bool("repair", false, "fix the drift found: write missing entries, delete stale ones, correct counters")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	maxIssues := fs.Int("max-issues", 1000, "list at most `N` problems (the counts stay exact)")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		bar := e.newProgress("check", "record", 0)
		rep, err := ws.Check(e.ctx, crm.CheckOptions{Repair: *repair, MaxIssues: *maxIssues, Progress: func(records, _ int64) { bar.update(records, 0) }})
		if err != nil {
			bar.stop()
			return err
		}
		bar.done(rep.Records, 0)
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			for _, d := range rep.Issues {
				fmt.Fprintln(e.stdout, d.String())
			}
			if n := rep.Drifted() - int64(len(rep.Issues)); n > 0 {
				fmt.Fprintf(e.stdout, "... and %d more\n", n)
			}
			fmt.Fprintf(e.stdout, "checked %s, %s, %s: %s, %d repaired\n",
				plural(rep.Records, "record"), plural(rep.Entries, "entry"), plural(rep.Counters, "counter"),
				plural(rep.Drifted(), "problem"), rep.Repaired)
		}
		if n := rep.Unrepaired(); n > 0 {
			if *repair {
				return &partialError{fmt.Sprintf("%s could not be repaired", plural(n, "problem"))}
			}
			return &partialError{fmt.Sprintf("%s found (run with --repair to fix)", plural(n, "problem"))}
		}
		return nil
	}
}
