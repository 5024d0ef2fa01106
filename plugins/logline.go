package plugins

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// parseLine reads one line of a plugin's output: a JSON object in hclog's
// (or the SDK's) format gives its level, message and attributes, escaped;
// any other line is its own message, at debug level (error level for the
// start of a Go panic).
func parseLine(line []byte) (slog.Level, string, []slog.Attr) {
	if len(line) > 0 && line[0] == '{' {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if dec.Decode(&m) == nil {
			msg, _ := m["@message"].(string)
			attrs := make([]slog.Attr, 0, len(m))
			for k, v := range m {
				if !strings.HasPrefix(k, "@") {
					attrs = append(attrs, slog.String(escapeKey(k), escapeValue(v)))
				}
			}
			slices.SortFunc(attrs, func(a, b slog.Attr) int { return strings.Compare(a.Key, b.Key) })
			return levelOf(m["@level"]), escape(msg), attrs
		}
	}
	level := slog.LevelDebug
	if bytes.HasPrefix(line, []byte("panic: ")) || bytes.HasPrefix(line, []byte("fatal error: ")) {
		level = slog.LevelError
	}
	return level, escape(string(line)), nil
}

// levelOf maps hclog's level names to slog's levels (debug for others).
func levelOf(v any) slog.Level {
	switch v {
	case "info":
		return slog.LevelInfo
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelDebug
}

// escape makes s one line of printable text: control characters (line
// breaks, carriage returns, terminal escapes), line and paragraph
// separators and invalid UTF-8 are written as Go escapes.
func escape(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !printable(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case printable(r):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// printable reports whether r may appear as itself in a log line.
func printable(r rune) bool {
	return r == ' ' || (unicode.IsPrint(r) && r != '\u2028' && r != '\u2029')
}

// escapeKey makes an attribute key of a plugin's a plain word: letters,
// digits, '_', '-' and '.', at most 64 bytes; other characters become '_'.
func escapeKey(k string) string {
	if k == "" {
		return "_"
	}
	b := []byte(k[:min(len(k), 64)])
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

// escapeValue renders an attribute value of a plugin's as escaped text:
// strings as they are, numbers and booleans as JSON has them, objects and
// arrays as JSON.
func escapeValue(v any) string {
	switch v := v.(type) {
	case string:
		return escape(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return escape(string(b))
}
