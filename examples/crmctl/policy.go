package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/crmkit/crmkit/crm"
)

// The policy commands show, set and clear a workspace's access policy
// (crm.Policy: roles, their grants and field rules, and teams) and list
// the built-in roles. The principal flags (principal.go) run any command
// under the policy.

// policyCommands are the policy commands, for commands.
func policyCommands() []command {
	return []command{
		{"policy show", "--workspace ID [--json]", "print the workspace's access policy: its roles' grants and field rules, and its teams", policyShowCmd},
		{"policy set", "--workspace ID [--if-version N] FILE", "check a JSON policy file (- for standard input) and make it the workspace's access policy", policySetCmd},
		{"policy clear", "--workspace ID", "remove the workspace's access policy: every call may do everything again", policyClearCmd},
		{"policy roles", "[--json]", "list the built-in roles, which a policy keeps unless it defines a role of the same name", policyRolesCmd},
	}
}

// shownRole is a role as policy show lists it: the policy's own, or a
// built-in one it does not override.
type shownRole struct {
	role crm.Role
	// builtin is a built-in role the policy keeps; overrides a role of
	// the policy named as a built-in one.
	builtin, overrides bool
}

// label is the role's name in the tables, with what it is besides.
func (r shownRole) label() string {
	switch {
	case r.builtin:
		return r.role.Name + " (built-in)"
	case r.overrides:
		return r.role.Name + " (overrides built-in)"
	}
	return r.role.Name
}

// effectiveRoles returns the roles a principal may name under pol: the
// policy's, then the built-in ones it does not define.
func effectiveRoles(pol crm.Policy) []shownRole {
	var out []shownRole
	own := map[string]bool{}
	builtin := crm.BuiltinRoles()
	for _, r := range pol.Roles {
		own[r.Name] = true
		out = append(out, shownRole{role: r, overrides: roleNamed(builtin, r.Name)})
	}
	for _, r := range builtin {
		if !own[r.Name] {
			out = append(out, shownRole{role: r, builtin: true})
		}
	}
	return out
}

// roleNamed reports whether roles has one named name.
func roleNamed(roles []crm.Role, name string) bool {
	for _, r := range roles {
		if r.Name == name {
			return true
		}
	}
	return false
}

func policyShowCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	asJSON := fs.Bool("json", false, "print the stored policy as JSON, as policy set reads it: without the built-in roles it keeps, null without a policy")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		pol, has, err := ws.Policy(e.ctx)
		if err != nil {
			return err
		}
		none := fmt.Sprintf("workspace %s has no access policy: every call may do everything", ws.ID())
		switch {
		case *asJSON && !has:
			fmt.Fprintln(e.stderr, none)
			_, err := fmt.Fprintln(e.stdout, "null")
			return err
		case *asJSON:
			return writeJSON(e.stdout, pol)
		case !has:
			_, err := fmt.Fprintf(e.stdout, "%s (policy roles lists the built-in roles a policy has)\n", none)
			return err
		}
		return printPolicy(e.stdout, ws.ID(), pol)
	}
}

// printPolicy writes pol as policy show's tables: a line of counts, the
// roles' grants (the built-in roles kept last), their field rules and the
// teams, each table after a blank line and only if it has rows.
func printPolicy(w io.Writer, wsID string, pol crm.Policy) error {
	roles := effectiveRoles(pol)
	fmt.Fprintf(w, "access policy of workspace %s, version %d: %s, %s (and %s)\n\n", wsID, pol.Version,
		plural(len(pol.Roles), "role"), plural(len(pol.Teams), "team"), plural(len(roles)-len(pol.Roles), "built-in role"))
	if err := printGrants(w, roles); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "\nROLE\tFIELD\tACCESS"
	for _, r := range roles {
		for _, f := range r.role.Fields {
			if header != "" {
				fmt.Fprintln(tw, header)
				header = ""
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.label(), f.Field, f.Access)
		}
	}
	if len(pol.Teams) > 0 {
		fmt.Fprintln(tw, "\nTEAM\tPARENT\tMEMBERS")
	}
	for _, t := range pol.Teams {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Parent, strings.Join(t.Members, ","))
	}
	return tw.Flush()
}

// printGrants writes the table of the roles' grants, one a line; a role
// without grants has a line of scope none.
func printGrants(w io.Writer, roles []shownRole) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tKIND\tACTIONS\tSCOPE")
	for _, r := range roles {
		if len(r.role.Grants) == 0 {
			fmt.Fprintf(tw, "%s\t\t\t%s\n", r.label(), crm.ScopeNone)
		}
		for _, g := range r.role.Grants {
			actions := make([]string, len(g.Actions))
			for i, a := range g.Actions {
				actions[i] = string(a)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.label(), g.Kind, strings.Join(actions, ","), g.Scope)
		}
	}
	return tw.Flush()
}

func policyRolesCmd(fs *flag.FlagSet) func(*env, []string) error {
	asJSON := fs.Bool("json", false, "print the roles as JSON, as a policy file's \"roles\" holds them")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		builtin := crm.BuiltinRoles()
		if *asJSON {
			return writeJSON(e.stdout, builtin)
		}
		roles := make([]shownRole, len(builtin))
		for i, r := range builtin {
			roles[i] = shownRole{role: r}
		}
		return printGrants(e.stdout, roles)
	}
}

func policySetCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	ifVersion := fs.Int64("if-version", 0, "store the policy only if the one it replaces is at version `N` (default: whatever the version; the file's \"version\" is ignored)")
	return func(e *env, args []string) error {
		if len(args) != 1 {
			return usagef("give the policy file (- for standard input)")
		}
		pinned := false
		fs.Visit(func(f *flag.Flag) { pinned = pinned || f.Name == "if-version" })
		if pinned && *ifVersion < 1 {
			return usagef("--if-version %d is not a version: a policy's versions start at 1", *ifVersion)
		}
		if *wsID == "" {
			return usagef("--workspace is required")
		}
		name, data := args[0], []byte(nil)
		var err error
		if name == "-" {
			name = "standard input"
			data, err = io.ReadAll(e.stdin)
		} else {
			data, err = os.ReadFile(name)
		}
		if err != nil {
			return err
		}
		pol, err := decodePolicy(name, data)
		if err != nil {
			return err
		}
		if err := pol.Check(); err != nil {
			return policyProblems(e, name, err)
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		var opts []crm.UpdateOption
		if pinned {
			opts = append(opts, crm.IfVersion(*ifVersion))
		}
		pol, err = ws.SetPolicy(e.ctx, pol, opts...)
		if err != nil {
			return policyProblems(e, name, err)
		}
		fmt.Fprintf(e.stdout, "set the access policy of workspace %s: version %d, %s, %s\n",
			ws.ID(), pol.Version, plural(len(pol.Roles), "role"), plural(len(pol.Teams), "team"))
		return nil
	}
}

// policyProblems prints the problems of a policy that failed its check
// on standard error, one "field: reason" a line, and returns the error
// that sums them up; another error it returns as it is.
func policyProblems(e *env, name string, err error) error {
	var ve *crm.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) == 0 {
		return err
	}
	for _, f := range ve.Fields {
		fmt.Fprintln(e.stderr, f.String())
	}
	return fmt.Errorf("%s: the policy has %s; nothing was stored", name, plural(len(ve.Fields), "problem"))
}

// decodePolicy reads one JSON policy from data, refusing fields a policy
// does not have and anything after it; a mistake is located by line and
// column of the file name.
func decodePolicy(name string, data []byte) (crm.Policy, error) {
	var pol crm.Policy
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&pol)
	if errors.Is(err, io.EOF) {
		return pol, fmt.Errorf(`%s is empty: want a JSON policy, {"roles": [...], "teams": [...]}`, name)
	}
	if err == nil {
		end := dec.InputOffset()
		if next := dec.Decode(new(json.RawMessage)); !errors.Is(next, io.EOF) {
			end += int64(len(data[end:]) - len(bytes.TrimLeft(data[end:], " \t\r\n")))
			return pol, fmt.Errorf("%s: %s: more after the policy's closing brace", name, position(data, end))
		}
		return pol, nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return pol, fmt.Errorf("%s: %s: %s", name, position(data, se.Offset), strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "policy"
		}
		return pol, fmt.Errorf("%s: %s: %s: want %s, got %s", name, position(data, te.Offset), field, jsonType(te.Type), withArticle(te.Value))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return pol, fmt.Errorf("%s: %s: the file ends inside the policy", name, position(data, int64(len(data))))
	}
	// The json package names an unknown field without its place: the
	// first key of that name is the likely one.
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if field, ok := strings.CutPrefix(msg, "unknown field "); ok {
		if key, err := strconv.Unquote(field); err == nil {
			if c, ok := closest(key, policyKeys); ok {
				msg += fmt.Sprintf("; did you mean %q?", c)
			}
			if at := regexp.MustCompile(regexp.QuoteMeta(field) + `\s*:`).FindIndex(data); at != nil {
				return pol, fmt.Errorf("%s: %s: %s", name, position(data, int64(at[0])+1), msg)
			}
		}
	}
	return pol, fmt.Errorf("%s: %s", name, msg)
}

// policyKeys are the keys of a policy file's objects.
var policyKeys = []string{"version", "roles", "teams", "name", "grants", "fields", "kind", "actions", "scope", "field", "access", "parent", "members"}

// position locates offset in data: "line 3, column 12" (from 1, in
// bytes).
func position(data []byte, offset int64) string {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	return fmt.Sprintf("line %d, column %d", line, len(before)-bytes.LastIndexByte(before, '\n'))
}

// jsonType names the JSON value a Go type is read from: "an array".
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true or false"
	}
	return "a number"
}

// withArticle puts "a" or "an" before a JSON value's kind, as the json
// package's errors name it ("string", "array", "number 1.5").
func withArticle(v string) string {
	if v != "" && strings.ContainsRune("aeiou", rune(v[0])) {
		return "an " + v
	}
	return "a " + v
}

func policyClearCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		old, has, err := ws.Policy(e.ctx)
		if err == nil && !has {
			_, err := fmt.Fprintf(e.stdout, "workspace %s has no access policy: nothing to clear\n", ws.ID())
			return err
		}
		if err := ws.ClearPolicy(e.ctx); err != nil {
			return err
		}
		was := ""
		if has {
			was = fmt.Sprintf(" (version %d)", old.Version)
		}
		_, err = fmt.Fprintf(e.stdout, "cleared the access policy of workspace %s%s: every call may do everything again\n", ws.ID(), was)
		return err
	}
}
