// Command crmctl administers a crmkit store from the command line: it
// lists and creates workspaces, imports and exports records as CSV or
// JSON Lines, lists and looks up records, backs up and restores
// workspaces, and checks (and repairs) a workspace's indexes. It also
// looks after the data's quality (duplicates, merge), answers data
// subjects' requests (privacy export, privacy erase), selects records
// with the segmentation filter language (segment query, list, members,
// create, delete), runs the reports (report pipeline, forecast,
// conversion, lead-conversion, churn, revenue, cross-sell, operations)
// and keeps a workspace's access policy (policy show, set, clear, and
// policy roles for the built-in roles).
//
//	crmctl --dir ./data workspace create --id acme --name "Acme Inc"
//	crmctl --dir ./data import --workspace acme --object contact contacts.csv
//	crmctl --dir ./data get --workspace acme --email ada@example.com
//	crmctl --dir ./data backup --out acme.crmbk --workspace acme
//	crmctl --postgres "$DSN" restore acme.crmbk
//	crmctl --dir ./data check --workspace acme --repair
//	crmctl --dir ./data duplicates --workspace acme --object contact --min-score 0.8
//	crmctl --dir ./data merge --workspace acme --keep ada@example.com --drop ada.lovelace@acme.com
//	crmctl --dir ./data privacy export --workspace acme --email ada@example.com --out ada.json
//	crmctl --dir ./data privacy erase --workspace acme --id con_1 --yes
//	crmctl --dir ./data segment query --workspace acme --object contact --where 'lifecycle = "lead"' --count
//	crmctl --dir ./data report forecast --workspace acme --from 2026-04-01 --to 2026-07-01 --svg q2.svg
//	crmctl --dir ./data policy set --workspace acme policy.json
//	crmctl --dir ./data --as bob --roles rep list --workspace acme --object deal
//
// The store is a Badger directory (--dir) or a PostgreSQL database
// (--postgres DSN, optionally --schema). Store flags may come before the
// command or among its flags. Every command has --help.
//
// crmctl is an operator's tool: it acts as crm.System(), the trusted
// principal that no access policy restricts, unless the principal flags
// --as USER, --roles and --teams (also before the command or among its
// flags) make it act as that user, under the workspace's policy.
//
// Exit codes: 0 success; 1 failure (nothing or only part of the work was
// done, the message says which); 2 usage error (unknown command or flag,
// missing argument, an option the command refuses); 3 partial success
// (an import rejected rows, a check found drift it did not repair).
//
// A misspelt flag or command is named with the nearest one ("unknown flag
// --limt; did you mean --limit?") and a pointer to the command's --help.
//
// Long imports, exports, backups and restores draw a progress bar with
// the rate on standard error when it is a terminal, or always with
// --progress. Results go to standard output, messages to standard error.
//
// It is built with the standard library's flag package and imports crm,
// crmio and the store backends.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/crmkit/crmkit/store/postgres"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitPartial = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a command runs with.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	opts   *globalOpts
}

// globalOpts are the flags every command takes.
type globalOpts struct {
	dir      string
	dsn      string
	schema   string
	progress bool
	// who is the principal the commands act as (principal.go).
	who principalOpts
}

// register declares the store flags on fs. A command's flag set is
// declared after the store flags given before the command were parsed:
// they keep their values, but --help shows the flags' own defaults, not
// the values given.
func (g *globalOpts) register(fs *flag.FlagSet) {
	fs.StringVar(&g.dir, "dir", g.dir, "Badger `directory` of the store")
	fs.StringVar(&g.dsn, "postgres", g.dsn, "PostgreSQL `DSN` of the store (instead of --dir)")
	fs.StringVar(&g.schema, "schema", g.schema, "PostgreSQL `schema` of the store's tables (default: the server's)")
	fs.BoolVar(&g.progress, "progress", g.progress, "draw progress on standard error even when it is not a terminal")
	for _, name := range []string{"dir", "postgres", "schema"} {
		fs.Lookup(name).DefValue = ""
	}
	fs.Lookup("progress").DefValue = "false"
	g.who.register(fs)
}

// command is one subcommand.
type command struct {
	name    string
	args    string // synopsis of the arguments
	summary string
	// flags declares the command's flags on fs and returns the function
	// that runs it with the remaining arguments.
	flags func(fs *flag.FlagSet) func(e *env, args []string) error
}

func commands() []command {
	cmds := []command{
		{"workspace list", "", "list the workspaces", workspaceList},
		{"workspace create", "--id ID [--name NAME]", "create a workspace", workspaceCreate},
		{"import", "--workspace ID --object KIND [FILE]", "import records from CSV or JSON Lines (standard input without FILE)", importCmd},
		{"export", "--workspace ID --object KIND [--out FILE]", "export records as CSV or JSON Lines", exportCmd},
		{"list", "--workspace ID --object KIND", "list records, one line each", listCmd},
		{"get", "--workspace ID (--id ID | --email EMAIL | --domain DOMAIN)", "print one record as JSON", getCmd},
		{"search", "--workspace ID [--object KIND,...] [--limit N] WORDS...", "find contacts, companies and deals by name, email, phone or domain, as a search box does", searchCmd},
		{"backup", "--out FILE [--workspace ID]...", "back up workspaces (all by default) to one file", backupCmd},
		{"restore", "[--workspace ID]... [--replace] FILE", "restore workspaces from a backup file", restoreCmd},
		{"verify", "FILE", "verify a backup file without restoring it", verifyCmd},
		{"check", "--workspace ID [--repair]", "check a workspace's indexes and counters against its records", checkCmd},
		{"duplicates", "--workspace ID --object contact|company [--min-score X] [--format table|json]", "list likely duplicate pairs with their score and reasons", duplicatesCmd},
		{"merge", "--workspace ID [--object contact|company] --keep ID|EMAIL|DOMAIN --drop ID|EMAIL|DOMAIN [--prefer-drop FIELD,...]", "merge one record into another and print the survivor as JSON", mergeCmd},
		{"privacy export", "--workspace ID (--id CONTACT_ID | --email EMAIL) [--out FILE]", "write everything held about a contact as one JSON document", privacyExportCmd},
		{"privacy erase", "--workspace ID (--id CONTACT_ID | --email EMAIL) --yes", "erase a contact and what identifies them, permanently", privacyEraseCmd},
		{"segment query", "--workspace ID --object KIND --where FILTER [--count] [--limit N]", "list or count the records that match a filter", segmentQueryCmd},
		{"segment list", "--workspace ID [--object KIND]", "list the saved segments", segmentListCmd},
		{"segment members", "--workspace ID --segment ID [--count] [--limit N]", "list or count a saved segment's members", segmentMembersCmd},
		{"segment create", "--workspace ID --name NAME --object KIND (--where FILTER | --static)", "save a segment", segmentCreateCmd},
		{"segment delete", "--workspace ID --segment ID", "delete a saved segment", segmentDeleteCmd},
	}
	cmds = append(cmds, policyCommands()...)
	return append(cmds, reportCommands()...)
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

// Error returns the message.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// partialError is work done with parts refused: exit code 3.
type partialError struct{ msg string }

// Error returns the message.
func (e *partialError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globalOpts{}
	top := flag.NewFlagSet("crmctl", flag.ContinueOnError)
	g.register(top)
	top.SetOutput(io.Discard)
	top.Usage = func() {}
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			topUsage(stdout, top)
			return exitOK
		}
		fmt.Fprintf(stderr, "crmctl: %s\n", topFlagError(err, top))
		fmt.Fprintln(stderr, "Run 'crmctl --help' for usage.")
		return exitUsage
	}
	rest := top.Args()
	if len(rest) == 0 {
		topUsage(stderr, top)
		return exitUsage
	}
	if rest[0] == "help" {
		topUsage(stdout, top)
		return exitOK
	}
	cmd, rest, ok := findCommand(rest)
	if !ok {
		fmt.Fprintf(stderr, "crmctl: %s\n", unknownCommand(rest))
		fmt.Fprintln(stderr, "Run 'crmctl --help' for the list of commands.")
		return exitUsage
	}
	fs := flag.NewFlagSet("crmctl "+cmd.name, flag.ContinueOnError)
	g.register(fs)
	runFn := cmd.flags(fs)
	positional, err := parseFlags(fs, rest)
	if cmd.name == "report" && err != nil && !errors.Is(err, flag.ErrHelp) {
		// "report NAME" with an unknown NAME: reportCmd says which
		// reports there are rather than that their flags are unknown.
		positional, err = rest, nil
	}
	if errors.Is(err, flag.ErrHelp) {
		commandUsage(stdout, cmd, fs)
		return exitOK
	}
	var actx context.Context
	if err == nil {
		actx, err = g.who.context(ctx)
	}
	if err == nil {
		e := &env{ctx: actx, stdin: stdin, stdout: stdout, stderr: stderr, opts: g}
		err = runFn(e, positional)
	}
	var ue *usageError
	var pe *partialError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "crmctl %s: %v\n", cmd.name, err)
		fmt.Fprintf(stderr, "Run 'crmctl %s --help' for usage.\n", cmd.name)
		return exitUsage
	case errors.As(err, &pe):
		fmt.Fprintf(stderr, "crmctl %s: %v\n", cmd.name, err)
		return exitPartial
	default:
		fmt.Fprintf(stderr, "crmctl %s: %v\n", cmd.name, err)
		return exitFailure
	}
}

// commandUsage is a command's --help: its synopsis, what it does, its
// own flags, the store flags and the principal flags.
func commandUsage(w io.Writer, cmd command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: crmctl %s %s\n\n%s.\n", cmd.name, cmd.args, capitalize(cmd.summary))
	if slices.ContainsFunc(flagNames(fs), isCommandFlag) {
		fmt.Fprintln(w, "\nFlags:")
		printFlags(w, fs, isCommandFlag)
	}
	fmt.Fprintln(w, "\nStore flags:")
	printFlags(w, fs, isStoreFlag)
	fmt.Fprintln(w, "\nPrincipal flags:")
	printFlags(w, fs, isPrincipalFlag)
	fmt.Fprintln(w, principalHelp)
}

// findCommand matches the longest command name at the start of args.
func findCommand(args []string) (command, []string, bool) {
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == c.name {
			return c, args[len(words):], true
		}
	}
	return command{}, args, false
}

func topUsage(w io.Writer, top *flag.FlagSet) {
	fmt.Fprintln(w, "Usage: crmctl [store flags] COMMAND [flags] [arguments]")
	fmt.Fprintln(w, "\nCommands:")
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w, "\nStore flags (also accepted after the command):")
	printFlags(w, top, isStoreFlag)
	fmt.Fprintln(w, "\nPrincipal flags (also accepted after the command):")
	printFlags(w, top, isPrincipalFlag)
	fmt.Fprintln(w, principalHelp)
	fmt.Fprintln(w, "\nExit codes: 0 ok, 1 failure, 2 usage error, 3 partial (rows rejected, drift left).")
	fmt.Fprintln(w, "Run 'crmctl COMMAND --help' for a command's flags.")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// open opens the store the flags name and a CRM over it; close releases
// both. A --dir that does not exist is refused: only the commands that
// make a store (workspace create, restore) call create.
func (e *env) open() (*crm.CRM, func(), error) { return e.openStore(false) }

// create is open for the commands that may make a new store.
func (e *env) create() (*crm.CRM, func(), error) { return e.openStore(true) }

func (e *env) openStore(create bool) (*crm.CRM, func(), error) {
	var (
		st  store.Store
		err error
	)
	switch g := e.opts; {
	case g.dir != "" && g.dsn != "":
		return nil, nil, usagef("give --dir or --postgres, not both")
	case g.dir != "":
		if !create {
			if fi, err := os.Stat(g.dir); err != nil || !fi.IsDir() {
				return nil, nil, fmt.Errorf("no store in %s: the directory does not exist (crmctl workspace create or crmctl restore makes one)", g.dir)
			}
		}
		st, err = badger.Open(g.dir)
	case g.dsn != "":
		var opts []postgres.Option
		if g.schema != "" {
			opts = append(opts, postgres.WithSchema(g.schema))
		}
		st, err = postgres.Open(e.ctx, g.dsn, opts...)
	default:
		return nil, nil, usagef("no store: give --dir DIRECTORY or --postgres DSN")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open store: %w", err)
	}
	c, err := crm.Open(e.ctx, st)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return c, func() { _ = st.Close() }, nil
}

// workspace opens the store and the workspace id, and checks the
// principal the commands act as against the workspace's policy.
func (e *env) workspace(id string) (*crm.Workspace, func(), error) {
	if id == "" {
		return nil, nil, usagef("--workspace is required")
	}
	c, closeFn, err := e.open()
	if err != nil {
		return nil, nil, err
	}
	ws, err := c.Workspace(e.ctx, id)
	if err == nil {
		err = e.checkPrincipal(ws)
	}
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return ws, closeFn, nil
}

// noArgs refuses positional arguments.
func noArgs(args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

// String returns the values, comma-separated.
func (m *multiFlag) String() string { return strings.Join(*m, ",") }

// Set adds a value.
func (m *multiFlag) Set(s string) error {
	*m = append(*m, s)
	return nil
}

// listFlag collects a flag given as a comma-separated list, repeatable:
// --owner ann,bob --owner cy is [ann bob cy].
type listFlag []string

// String returns the values, comma-separated.
func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set adds the comma-separated values of s.
func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// kindValue is a record kind flag (--object), read with crm.ParseKind:
// "contact" and "contacts" name the same kind.
type kindValue struct{ k *crm.Kind }

// String returns the kind's name.
func (v kindValue) String() string {
	if v.k == nil {
		return ""
	}
	return v.k.String()
}

// Set reads a kind's name, singular or plural.
func (v kindValue) Set(s string) error {
	k, err := crm.ParseKind(s)
	if err != nil {
		return fmt.Errorf("%q is not a record kind", s)
	}
	*v.k = k
	return nil
}

// kindList joins the names of kinds with commas.
func kindList(kinds []crm.Kind) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.String()
	}
	return strings.Join(names, ", ")
}

// kindVar defines a record kind flag; unset, it is the zero Kind.
func kindVar(fs *flag.FlagSet, name, usage string) *crm.Kind {
	k := new(crm.Kind)
	fs.Var(kindValue{k}, name, usage)
	return k
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
