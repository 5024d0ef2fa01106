package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"iter"
	"strings"
	"text/tabwriter"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/crmio"
)

// The segment commands select records with the segmentation filter
// language (package crm/filter): ad hoc with segment query, or through
// the workspace's saved segments.

// checkFilterObject refuses a kind filters cannot select.
func checkFilterObject(object crm.Kind) error {
	switch object {
	case crmio.ObjectContact, crmio.ObjectCompany, crmio.ObjectDeal:
		return nil
	case crm.Kind{}:
		return usagef("--object is required (contact, company or deal)")
	}
	return usagef("--object %q is not contact, company or deal", object)
}

// parseWhere parses --where; a filter that is not well-formed is a usage
// error.
func parseWhere(where string) (filter.Expr, error) {
	if strings.TrimSpace(where) == "" {
		return nil, usagef("--where is required: a filter such as 'lifecycle = \"lead\" AND tags CONTAINS \"vip\"'")
	}
	expr, err := filter.Parse(where)
	if err != nil {
		return nil, usagef("--where: %v", err)
	}
	return expr, nil
}

// filterUsage makes a filter that does not fit the kind's fields (an
// unknown field, a type mismatch) a usage error.
func filterUsage(err error) error {
	if errors.Is(err, filter.ErrInvalid) {
		return usagef("--where: %v", err)
	}
	return err
}

// memberOutput is how segment query and segment members print records.
type memberOutput struct {
	count   *bool
	limit   *int
	asJSON  *bool
	explain *bool
}

func (o *memberOutput) register(fs *flag.FlagSet, explain bool) {
	o.count = fs.Bool("count", false, "print only how many records there are")
	o.limit = fs.Int("limit", 0, "print at most `N` records (default all)")
	o.asJSON = fs.Bool("json", false, "print JSON Lines (the whole records) instead of a table")
	if explain {
		o.explain = fs.Bool("explain", false, "print how the filter runs (the indexes it uses) instead of the records")
	}
}

// print writes the members one a line, after a header of the kind's
// columns unless --json.
func (o *memberOutput) print(e *env, object crm.Kind, members iter.Seq2[crm.Member, error]) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	enc := json.NewEncoder(e.stdout)
	if !*o.asJSON {
		fmt.Fprintln(tw, "ID\t"+strings.ToUpper(labelTitle[object]))
	}
	n := 0
	for m, err := range members {
		if err != nil {
			return err
		}
		if *o.limit > 0 && n == *o.limit {
			break
		}
		n++
		if *o.asJSON {
			if err := enc.Encode(m.Record); err != nil {
				return err
			}
			continue
		}
		_, cells := recordRow(m.Record)
		fmt.Fprintf(tw, "%s\t%s\n", m.ID, cells)
	}
	return tw.Flush()
}

func segmentQueryCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	object := kindVar(fs, "object", "record `kind`: contact, company or deal (required)")
	where := fs.String("where", "", "the `filter`, in the segmentation language: 'lifecycle = \"customer\" AND address.country IN (\"DE\", \"AT\")' (required)"+filterGrammar)
	var out memberOutput
	out.register(fs, true)
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if err := checkFilterObject(*object); err != nil {
			return err
		}
		expr, err := parseWhere(*where)
		if err != nil {
			return err
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		q := ws.Query(*object, expr)
		switch {
		case *out.explain:
			plan, err := q.Explain(e.ctx)
			if err != nil {
				return filterUsage(err)
			}
			_, err = fmt.Fprint(e.stdout, plan)
			return err
		case *out.count:
			n, err := q.Count(e.ctx)
			if err != nil {
				return filterUsage(err)
			}
			_, err = fmt.Fprintln(e.stdout, n)
			return err
		}
		return filterUsage(out.print(e, *object, q.Members(e.ctx, "")))
	}
}

func segmentListCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	object := kindVar(fs, "object", "list only the segments of record `kind` contact, company or deal (default all)")
	asJSON := fs.Bool("json", false, "print JSON Lines instead of a table")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if !object.IsZero() {
			if err := checkFilterObject(*object); err != nil {
				return err
			}
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		enc := json.NewEncoder(e.stdout)
		if !*asJSON {
			fmt.Fprintln(tw, "ID\tNAME\tOBJECT\tTYPE\tFILTER")
		}
		for seg, err := range ws.Segments().List(e.ctx) {
			if err != nil {
				return err
			}
			if !object.IsZero() && seg.Object != *object {
				continue
			}
			if *asJSON {
				if err := enc.Encode(seg); err != nil {
					return err
				}
				continue
			}
			typ := "dynamic"
			if seg.Static {
				typ = "static"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", seg.ID, seg.Name, seg.Object, typ, seg.Filter)
		}
		return tw.Flush()
	}
}

// findSegment returns the segment with the ID ref or, failing that, the
// one named ref (case-insensitively).
func findSegment(e *env, ws *crm.Workspace, ref string) (crm.Segment, error) {
	if ref == "" {
		return crm.Segment{}, usagef("--segment is required")
	}
	seg, err := ws.Segments().Get(e.ctx, ref)
	if !errors.Is(err, crm.ErrNotFound) {
		return seg, err
	}
	for s, lerr := range ws.Segments().List(e.ctx) {
		if lerr != nil {
			return crm.Segment{}, lerr
		}
		if strings.EqualFold(s.Name, ref) {
			return s, nil
		}
	}
	return crm.Segment{}, err
}

func segmentMembersCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	segRef := fs.String("segment", "", "the segment's `ID` or name (required)")
	var out memberOutput
	out.register(fs, false)
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *segRef == "" {
			return usagef("--segment is required")
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		seg, err := findSegment(e, ws, *segRef)
		if err != nil {
			return err
		}
		if *out.count {
			n, err := ws.Segments().Count(e.ctx, seg.ID)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, n)
			return err
		}
		return out.print(e, seg.Object, ws.Segments().Members(e.ctx, seg.ID, ""))
	}
}

func segmentCreateCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	name := fs.String("name", "", "the segment's `name`, unique in the workspace (required)")
	object := kindVar(fs, "object", "record `kind`: contact, company or deal (required)")
	where := fs.String("where", "", "the segment's `filter` (required for a dynamic segment; a static one starts with the records it matches now)"+filterGrammar)
	static := fs.Bool("static", false, "make a static segment: a member list frozen from --where, instead of a filter evaluated when read")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *name == "" {
			return usagef("--name is required")
		}
		if err := checkFilterObject(*object); err != nil {
			return err
		}
		if *where != "" || !*static {
			if _, err := parseWhere(*where); err != nil {
				return err
			}
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		seg, err := ws.Segments().Create(e.ctx, crm.Segment{Name: *name, Object: *object, Filter: *where, Static: *static})
		if err != nil {
			return filterUsage(err)
		}
		fmt.Fprintf(e.stdout, "created segment %s\n", seg.ID)
		return nil
	}
}

func segmentDeleteCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	segRef := fs.String("segment", "", "the segment's `ID` or name (required)")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		if *segRef == "" {
			return usagef("--segment is required")
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		seg, err := findSegment(e, ws, *segRef)
		if err != nil {
			return err
		}
		if err := ws.Segments().Delete(e.ctx, seg.ID); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "deleted segment %s (%s)\n", seg.ID, seg.Name)
		return nil
	}
}
