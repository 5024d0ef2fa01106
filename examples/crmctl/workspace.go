package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/crmkit/crmkit/crm"
)

func workspaceList(fs *flag.FlagSet) func(*env, []string) error {
	asJSON := fs.Bool("json", false, "print JSON Lines instead of a table")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		c, closeFn, err := e.open()
		if err != nil {
			return err
		}
		defer closeFn()
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		if !*asJSON {
			fmt.Fprintln(tw, "ID\tNAME\tCURRENCY\tCREATED")
		}
		enc := json.NewEncoder(e.stdout)
		for info, err := range c.Workspaces(e.ctx) {
			if err != nil {
				return err
			}
			if *asJSON {
				if err := enc.Encode(info); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", info.ID, info.Name, info.Currency, info.CreatedAt.Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	}
}

func workspaceCreate(fs *flag.FlagSet) func(*env, []string) error {
	id := fs.String("id", "", "the workspace's `ID` (required): letters, digits, '-', '_', '.'")
	name := fs.String("name", "", "display `name`")
	currency := fs.String("currency", "", "default ISO-4217 `currency` (default USD)")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *id == "" {
			return usagef("--id is required")
		}
		c, closeFn, err := e.create()
		if err != nil {
			return err
		}
		defer closeFn()
		ws, err := c.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: *id, Name: *name, Currency: *currency})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "created workspace %s\n", ws.ID())
		return nil
	}
}
