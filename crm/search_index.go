package crm

import (
	"slices"
	"strings"
	"unicode"

	"github.com/crmkit/crmkit/store"
)

// The search index: the words of what a person types into a CRM's search
// box to find a record, one entry per word,
//
//	ws 'i' k str("search") str(word) str(id)
//
// written with the record's other index entries (live records only).
// Words are folded as names are for matching (foldMarks: lower case, no
// accents), so "Zoë" is found by "zoe"; a prefix of a word finds it, so
// the search box works while the user types.
//
//   - contacts: first and last name, each email address whole (so its
//     local part finds it) and its domain, each phone's digits as written
//     and in E.164;
//   - companies: the name's words, the domain whole and its first label;
//   - deals: the name's words.

const (
	searchIndex = "search"
	// maxSearchWords caps the words one record is indexed by, and
	// maxWordLen a word's length in bytes.
	maxSearchWords = 64
	maxWordLen     = 64
)

// searchKinds are the kinds the search box finds, in the order results of
// equal rank come.
var searchKinds = []string{"contact", "company", "deal"}

// searchableType reports whether fields of type t can be searchable.
func searchableType(t FieldType) bool {
	switch t {
	case FieldText, FieldSelect, FieldMultiSelect, FieldEmail, FieldPhone, FieldURL:
		return true
	}
	return false
}

// searchable returns the names of the searchable fields among defs.
func searchable(defs []FieldDef) []string {
	var out []string
	for _, d := range defs {
		if d.Searchable {
			out = append(out, d.Name)
		}
	}
	return out
}

// searchWords returns the words a record (a pointer) is found by, the
// values of its custom fields named in fields among them.
func searchWords(rec any, fields []string) []string {
	var w wordSet
	switch r := rec.(type) {
	case *Contact:
		w.text(r.FirstName)
		w.text(r.LastName)
		for _, e := range r.Emails {
			w.email(e)
		}
		for _, p := range r.Phones {
			w.phone(p.Number)
			w.phone(p.E164)
		}
	case *Company:
		w.text(r.Name)
		if d := foldMarks(r.Domain); d != "" {
			w.add(d)
			label, _, _ := strings.Cut(d, ".")
			w.add(label)
		}
	case *Deal:
		w.text(r.Name)
	}
	if c := customOf(rec); c != nil {
		for _, f := range fields {
			switch v := c[f].(type) {
			case string:
				w.text(v)
			case []string:
				for _, s := range v {
					w.text(s)
				}
			case []any:
				for _, s := range v {
					if s, ok := s.(string); ok {
						w.text(s)
					}
				}
			}
		}
	}
	return w.words
}

// customOf returns the custom fields of a contact, company or deal.
func customOf(rec any) Custom {
	switch r := rec.(type) {
	case *Contact:
		return r.Custom
	case *Company:
		return r.Custom
	case *Deal:
		return r.Custom
	}
	return nil
}

// wordSet collects distinct words, up to maxSearchWords.
type wordSet struct{ words []string }

func (w *wordSet) add(s string) {
	if s == "" || len(w.words) >= maxSearchWords {
		return
	}
	if len(s) > maxWordLen {
		s = s[:maxWordLen]
	}
	for _, x := range w.words {
		if x == s {
			return
		}
	}
	w.words = append(w.words, s)
}

// text adds the words of a name or title.
func (w *wordSet) text(s string) {
	for _, word := range textWords(s) {
		w.add(word)
	}
}

// email adds an address whole (which its local part starts) and its
// domain.
func (w *wordSet) email(s string) {
	s = foldMarks(strings.TrimSpace(s))
	_, domain, ok := strings.Cut(s, "@")
	if !ok {
		return
	}
	w.add(s)
	w.add(domain)
}

// phone adds a number's digits.
func (w *wordSet) phone(s string) { w.add(digits(s)) }

// textWords splits folded text into words: runs of letters and digits.
func textWords(s string) []string {
	return strings.FieldsFunc(foldMarks(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// queryWords returns the words of what was typed in the search box: an
// email address is one word, a phone number (digits and the usual
// punctuation) its digits, anything else its words.
func queryWords(q string) []string {
	q = strings.TrimSpace(q)
	switch {
	case strings.Contains(q, "@"):
		// "@example.com" looks for the domain.
		return []string{foldMarks(strings.TrimPrefix(q, "@"))}
	case looksLikePhone(q):
		return []string{digits(q)}
	}
	words := textWords(q)
	if len(words) > 8 {
		words = words[:8]
	}
	return words
}

// looksLikePhone reports whether q is at least three digits and only the
// punctuation of phone numbers.
func looksLikePhone(q string) bool {
	n := 0
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			n++
		case strings.ContainsRune("+-() ./", r):
		default:
			return false
		}
	}
	return n >= 3
}

// searchEntries appends the search index entries of rec, with the
// custom fields named in fields.
func searchEntries(w *Workspace, code byte, id string, rec any, fields []string, ix []indexEntry) []indexEntry {
	for _, word := range searchWords(rec, fields) {
		ix = append(ix, plainEntry(searchIndex, w.indexKey(code, searchIndex).str(word), id))
	}
	return ix
}

// resyncSearch rebuilds the search index of object's records when the
// searchable custom fields change from was to now (Fields.Define and
// Remove), in the transaction that changes them.
func (t *txn) resyncSearch(object string, was, now []string) error {
	if slices.Equal(was, now) || !slices.Contains(searchKinds, object) {
		return nil
	}
	k := kindsByName[object]
	if err := deleteRange(t.tx, t.w.indexKey(k.code, searchIndex)); err != nil {
		return err
	}
	for e, err := range t.tx.Scan(store.Range{Prefix: t.w.k(tagRecord).byte(k.code)}) {
		if err != nil {
			return err
		}
		rec, err := k.decode(e.Value)
		if err != nil {
			return err
		}
		m := MetaOf(rec)
		if m.Deleted() {
			continue
		}
		for _, ie := range searchEntries(t.w, k.code, m.ID, rec, now, nil) {
			if err := t.tx.Set(ie.key, ie.value); err != nil {
				return err
			}
		}
	}
	return nil
}
