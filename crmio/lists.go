package crmio

import (
	"strings"
	"unicode"

	"github.com/crmkit/crmkit/crm"
)

// splitList splits a list cell on ';' and '|', trimming each item and
// dropping empty ones. An item may be quoted ("Smith; Jones LLP") to hold
// a separator; joinList quotes such items.
func splitList(s string) []string {
	var out []string
	for _, item := range splitItems(s) {
		if item != "" {
			out = append(out, item)
		}
	}
	return out
}

// splitPositional splits a parallel list cell keeping empty items, so
// positions line up with another list.
func splitPositional(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return splitItems(s)
}

// splitItems splits on ';' and '|' outside quoted items.
func splitItems(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t")
		var item string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			item = b.String()
			s = s[i:]
			j := strings.IndexAny(s, ";|")
			if j < 0 {
				// Text after the closing quote belongs to the item.
				item += strings.TrimRight(s, " \t")
				return append(out, item)
			}
			item += strings.TrimSpace(s[:j])
			s = s[j:]
		} else {
			j := strings.IndexAny(s, ";|")
			if j < 0 {
				return append(out, strings.TrimSpace(s))
			}
			item, s = strings.TrimSpace(s[:j]), s[j:]
		}
		out = append(out, item)
		s = s[1:] // the separator
	}
}

// joinList writes a list cell: items joined with "; ", those holding a
// separator, a leading quote or surrounding spaces quoted.
func joinList(items []string) string {
	var b strings.Builder
	for i, s := range items {
		if i > 0 {
			b.WriteString("; ")
		}
		if strings.ContainsAny(s, ";|") || strings.HasPrefix(s, `"`) || s != strings.TrimSpace(s) {
			b.WriteString(`"` + strings.ReplaceAll(s, `"`, `""`) + `"`)
		} else {
			b.WriteString(s)
		}
	}
	return b.String()
}

// splitPhone splits "number (label)" into its parts. A trailing
// parenthesis is a label only if it holds a letter, so "(030) 1234" stays
// a number.
func splitPhone(s string) crm.Phone {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, ")") {
		if i := strings.LastIndex(s, "("); i > 0 {
			label := s[i+1 : len(s)-1]
			if strings.IndexFunc(label, unicode.IsLetter) >= 0 {
				return crm.Phone{Number: strings.TrimSpace(s[:i]), Label: strings.TrimSpace(label)}
			}
		}
	}
	return crm.Phone{Number: s}
}

// formatPhone writes a phone as splitPhone reads it. A number written
// without its country code is written in E.164 (with its extension), so
// that it imports the same into a workspace of another phone region.
func formatPhone(p crm.Phone) string {
	n := p.Number
	if !strings.HasPrefix(n, "+") && p.E164 != "" {
		n = p.E164
		if p.Extension != "" {
			n += " ext. " + p.Extension
		}
	}
	if p.Label == "" {
		return n
	}
	return n + " (" + p.Label + ")"
}
