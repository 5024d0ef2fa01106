package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// How crmctl words what it prints: counts with their nouns, flags in
// help and in errors, suggestions for a misspelt flag or command, and
// the reasons for a likely duplicate.

// plural returns n with word, in the plural unless n is 1: "1 deal",
// "2 deals", "0 activities".
func plural[N ~int | ~int64](n N, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %s", n, pluralWord(word))
}

// pluralWord returns the plural of an English noun (or of the last word
// of a phrase) with a regular plural: "deal" -> "deals", "activity" ->
// "activities", "duplicate pair" -> "duplicate pairs".
func pluralWord(w string) string {
	switch {
	case len(w) > 1 && strings.HasSuffix(w, "y") && !strings.ContainsRune("aeiou", rune(w[len(w)-2])):
		return w[:len(w)-1] + "ies"
	case strings.HasSuffix(w, "s"), strings.HasSuffix(w, "x"), strings.HasSuffix(w, "ch"), strings.HasSuffix(w, "sh"):
		return w + "es"
	}
	return w + "s"
}

// editDistance is the optimal string alignment distance between a and b:
// the insertions, deletions, substitutions and transpositions of
// adjacent letters that make one the other ("dri" is 1 from "dir").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// closest returns the candidate that s most likely misspells: the
// nearest by edit distance if it is near enough for the length of s (one
// edit in three letters, at least one), else the only candidate that s
// begins (from three letters on). ok is false when none fits.
func closest(s string, candidates []string) (best string, ok bool) {
	s = strings.ToLower(s)
	bestDist := max(1, len([]rune(s))/3) + 1
	for _, c := range candidates {
		if d := editDistance(s, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best != "" {
		return best, true
	}
	var prefixed []string
	for _, c := range candidates {
		if len(s) >= 3 && strings.HasPrefix(strings.ToLower(c), s) {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0], true
	}
	return "", false
}

// flagNames are the names of fs's flags.
func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// undefinedFlag is the flag package's error for a flag fs does not
// define.
const undefinedFlag = "flag provided but not defined: "

// singleDash finds a flag named with one dash in the flag package's
// errors ("for flag -limit", "for -json").
var singleDash = regexp.MustCompile(`(^|\s)-([A-Za-z][\w.-]*)`)

// flagError words an error of fs.Parse as crmctl's other messages are
// worded (--name, not -name) and, for a flag fs does not define,
// suggests the one most likely meant: "unknown flag --limt; did you mean
// --limit?".
func flagError(err error, fs *flag.FlagSet) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, undefinedFlag); ok {
		name = strings.TrimLeft(name, "-")
		if c, ok := closest(name, flagNames(fs)); ok {
			return fmt.Sprintf("unknown flag --%s; did you mean --%s?", name, c)
		}
		return "unknown flag --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Sprintf("flag --%s needs a value", strings.TrimLeft(name, "-"))
	}
	msg = strings.Replace(msg, "for flag -", "for -", 1)
	return singleDash.ReplaceAllString(msg, "$1--$2")
}

// topFlagError words a mistake among the flags before the command: a
// misspelt store flag gets a suggestion, and a command's flag given
// before the command is told to go after it.
func topFlagError(err error, top *flag.FlagSet) string {
	name, undefined := strings.CutPrefix(err.Error(), undefinedFlag)
	name = strings.TrimLeft(name, "-")
	if !undefined {
		return flagError(err, top)
	}
	if _, ok := closest(name, flagNames(top)); ok {
		return flagError(err, top)
	}
	for _, c := range commands() {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		c.flags(fs)
		if fs.Lookup(name) != nil {
			return fmt.Sprintf("--%s is not a store flag: give it after the command (crmctl COMMAND --%s ...)", name, name)
		}
	}
	return flagError(err, top)
}

// unknownCommand says that args do not start with a command, suggesting
// the command most likely meant.
func unknownCommand(args []string) string {
	words := args[:min(len(args), 2)]
	msg := fmt.Sprintf("unknown command %q", strings.Join(words, " "))
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	// "segmnt list" is compared with the two-word commands, "lst" with
	// the first words.
	for n := len(words); n > 0; n-- {
		typed := strings.Join(words[:n], " ")
		var cands []string
		for _, name := range names {
			if w := strings.Fields(name); len(w) >= n {
				cands = append(cands, strings.Join(w[:n], " "))
			}
		}
		c, ok := closest(typed, slices.Compact(cands))
		if ok && c == typed {
			// "policy" alone: the first word of commands, not one.
			var subs []string
			for _, name := range names {
				if sub, ok := strings.CutPrefix(name, typed+" "); ok {
					subs = append(subs, sub)
				}
			}
			return fmt.Sprintf("%q needs a subcommand: %s or %s", typed, strings.Join(subs[:len(subs)-1], ", "), subs[len(subs)-1])
		}
		if ok {
			return fmt.Sprintf("%s; did you mean %q?", msg, c)
		}
	}
	return msg
}

// printFlags writes the flags of fs that include selects, as
// flag.PrintDefaults does but spelt as typed (--name), with the defaults
// the flags were declared with.
func printFlags(w io.Writer, fs *flag.FlagSet, include func(name string) bool) {
	fs.VisitAll(func(f *flag.Flag) {
		if !include(f.Name) {
			return
		}
		typ, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		line += "\n    \t" + strings.ReplaceAll(usage, "\n", "\n    \t")
		if def := defaultText(f); def != "" {
			line += " (default " + def + ")"
		}
		fmt.Fprintln(w, line)
	})
}

// defaultText is a flag's default as its help shows it: "" for the zero
// value of its type, quoted for a string.
func defaultText(f *flag.Flag) string {
	zero := ""
	if t := reflect.TypeOf(f.Value); t.Kind() == reflect.Pointer {
		if v, ok := reflect.New(t.Elem()).Interface().(flag.Value); ok {
			zero = v.String()
		}
	}
	if f.DefValue == zero {
		return ""
	}
	if fmt.Sprintf("%T", f.Value) == "*flag.stringValue" {
		return strconv.Quote(f.DefValue)
	}
	return f.DefValue
}

// isStoreFlag reports whether a flag is one of the store flags every
// command takes.
func isStoreFlag(name string) bool { return slices.Contains(storeFlags, name) }

// storeFlags are the flags globalOpts registers.
var storeFlags = []string{"dir", "postgres", "schema", "progress"}

// parseFlags parses args with fs as parseInterleaved does, printing
// nothing itself: --help returns flag.ErrHelp, a mistake a usageError
// worded by flagError.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	positional, err := parseInterleaved(fs, args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return positional, err
	}
	return nil, &usageError{flagError(err, fs)}
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments ("restore FILE --replace"); after "--"
// everything is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// reasonNouns name what a duplicate rule compares, for "same name ...".
var reasonNouns = map[string]string{"name": "name", "phone": "number", "email": "address", "domain": "domain"}

// similarity is the score some reasons give after the two values: " (0.93)".
var similarity = regexp.MustCompile(`^ \(\d+(\.\d+)?\)`)

// reasonText words one reason for a likely duplicate for the table of
// duplicates: "name: similar names "Ada King" and "Ada Kink" (0.95)". A
// reason that quotes the same value twice says it once: "name: same name
// "Ada Lovelace" at company com_1", not "similar names "Ada Lovelace"
// and "Ada Lovelace" (1.00) at company com_1".
func reasonText(r crm.MatchReason) string {
	d := r.Detail
	for i := strings.IndexByte(d, '"'); i >= 0; {
		q1, err := strconv.QuotedPrefix(d[i:])
		if err != nil {
			break
		}
		rest := d[i+len(q1):]
		sep := strings.Index(rest, `"`)
		if sep < 0 {
			break
		}
		if q2, err := strconv.QuotedPrefix(rest[sep:]); err == nil && isConnector(rest[:sep]) && q1 == q2 {
			tail := similarity.ReplaceAllString(rest[sep+len(q2):], "")
			if strings.HasPrefix(tail, " are both ") || strings.HasPrefix(tail, " is ") {
				tail = ""
			}
			noun := reasonNouns[r.Rule]
			if noun == "" {
				noun = r.Rule
			}
			return r.Rule + ": same " + noun + " " + q1 + tail
		}
		i += len(q1) + sep
	}
	return r.Rule + ": " + d
}

// isConnector reports whether s joins the two values a reason compares:
// " and ", " ~ ", " vs ".
func isConnector(s string) bool {
	switch strings.TrimSpace(s) {
	case "and", "~", "vs", "vs.", "=", "==", "/", ",":
		return true
	}
	return false
}

// filterGrammar ends the help of every --where flag: where the filter
// language is described.
const filterGrammar = "; the grammar: go doc github.com/crmkit/crmkit/crm/filter"
