package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/crmkit/crmkit/crm"
)

// searchCmd is the search box: Workspace.Search over contacts, companies
// and deals (or the kinds --object names), best hits first.
func searchCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	var kinds listFlag
	fs.Var(&kinds, "object", "search only these record `kinds` (contact, company, deal), comma-separated (default all three)")
	limit := fs.Int("limit", 20, "print at most `N` hits (at most 100)")
	asJSON := fs.Bool("json", false, "print JSON Lines (kind, ID, record) instead of a table")
	return func(e *env, args []string) error {
		if len(args) == 0 {
			return usagef("search needs the words to look for, as one argument or several: search --workspace acme ada lov")
		}
		var only []crm.Kind
		for _, name := range kinds {
			k, err := crm.ParseKind(name)
			if err != nil || k != crm.KindContact && k != crm.KindCompany && k != crm.KindDeal {
				return usagef("--object %q: search finds contacts, companies and deals", name)
			}
			only = append(only, k)
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		hits, err := ws.Search(e.ctx, strings.Join(args, " "), crm.SearchOptions{Kinds: only, Limit: *limit})
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			for _, h := range hits {
				if err := enc.Encode(h); err != nil {
					return err
				}
			}
			return nil
		}
		if len(hits) == 0 {
			_, err := fmt.Fprintln(e.stdout, "no records match")
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tID\tRECORD")
		for _, h := range hits {
			_, cells := recordRow(h.Record)
			fmt.Fprintf(tw, "%s\t%s\t%s\n", h.Kind, h.ID, strings.ReplaceAll(cells, "\t", "  "))
		}
		return tw.Flush()
	}
}
