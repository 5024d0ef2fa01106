package crm

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// SearchOptions narrows a search.
type SearchOptions struct {
	// Kinds are the kinds searched: KindContact, KindCompany and KindDeal
	// (all three by default).
	Kinds []Kind
	// Limit caps the hits (default 20, at most 100).
	Limit int
}

// SearchHit is one record a search finds.
type SearchHit struct {
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
	// Record is the record: a Contact, Company or Deal (not a pointer).
	Record any `json:"record"`
	// Exact says every word of the query is a whole word of the record
	// (not only the start of one).
	Exact bool `json:"exact"`
}

// Search finds the records a search box would: those with, for each word
// of q, a word starting with it among their names, email addresses (from
// their start, or the domain), phone numbers (digits, as written or in E.164),
// company domains and deal names; "ada lov", "acme", "+49 30 1234" and
// "ada@example.com" all work. Words are compared folded, so "zoe" finds
// "Zoë". Hits come ranked: records whose words match whole before those
// matched by a prefix, then the principal's own, then the most recently
// changed. Under an access policy, a search finds only what the principal
// may read and never matches on a field hidden from it.
//
// A query word matches a record word by its start; when nothing matches,
// words of four letters or more are tried again allowing one typo
// ("lovleace", "hoper"), those hits never Exact.
func (w *Workspace) Search(ctx context.Context, q string, opts SearchOptions) ([]SearchHit, error) {
	words := queryWords(q)
	if len(words) == 0 {
		return nil, nil
	}
	var kinds []string
	for _, k := range opts.Kinds {
		kinds = append(kinds, k.name)
	}
	if len(kinds) == 0 {
		kinds = searchKinds
	}
	for _, k := range kinds {
		if !slices.Contains(searchKinds, k) {
			return nil, &ValidationError{Kind: "search", Fields: []FieldError{{"kinds", fmt.Sprintf("%q is not contact, company or deal", k)}}}
		}
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, 100)
	var hits []scoredHit
	err := w.view(ctx, func(tx store.Tx, g *guard) error {
		for _, kind := range kinds {
			if g.scope(kind, g.readAction()) == ScopeNone {
				if len(opts.Kinds) > 0 {
					return g.check(kind, g.readAction())
				}
				continue // not the principal's to search
			}
			found, err := w.searchKind(tx, g, kind, words, limit)
			if err != nil {
				return err
			}
			hits = append(hits, found...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(hits, compareHits)
	out := make([]SearchHit, 0, min(limit, len(hits)))
	for _, h := range hits[:min(limit, len(hits))] {
		out = append(out, h.SearchHit)
	}
	return out, nil
}

// scoredHit is a hit with what ranks it.
type scoredHit struct {
	SearchHit
	owned bool
	meta  *Meta
}

func compareHits(a, b scoredHit) int {
	if a.Exact != b.Exact {
		if a.Exact {
			return -1
		}
		return 1
	}
	if a.owned != b.owned {
		if a.owned {
			return -1
		}
		return 1
	}
	return b.meta.UpdatedAt.Compare(a.meta.UpdatedAt)
}

const (
	// searchScan caps the index entries a search reads for its longest
	// word (whose IDs are the candidates), searchKeep those it reads for
	// each other word (which keeps the candidates it holds), and
	// searchRead the records it reads per kind to rank them. A query
	// whose longest word starts more than searchScan entries may miss
	// records past them.
	searchScan = 20_000
	searchKeep = 200_000
	searchRead = 200
)

// searchKind finds the records of kind matching every word: the IDs
// under the longest word's prefix (whole-word matches first, as the index
// sorts them), kept when every other word's prefix holds them too; then
// the first of them are read, checked against the principal's view of
// them and ranked. When no record matches, words of four letters or more
// are tried again allowing one typo.
func (w *Workspace) searchKind(tx store.Reader, g *guard, kind string, words []string, limit int) ([]scoredHit, error) {
	out, err := w.searchPass(tx, g, kind, words, limit, false)
	if err != nil || len(out) > 0 || !slices.ContainsFunc(words, fuzzyWord) {
		return out, err
	}
	return w.searchPass(tx, g, kind, words, limit, true)
}

// fuzzyWord reports whether a query word is long enough to be matched
// with a typo.
func fuzzyWord(q string) bool { return utf8.RuneCountInString(q) >= 4 }

// searchPass is one pass of searchKind, with or without typos.
func (w *Workspace) searchPass(tx store.Reader, g *guard, kind string, words []string, limit int, fuzzy bool) ([]scoredHit, error) {
	k := kindsByName[kind]
	defs, err := loadFieldDefs(tx, w, kind)
	if err != nil {
		return nil, err
	}
	fields := searchable(defs)
	byLen := slices.SortedStableFunc(slices.Values(words), func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	// One word: the first few hundred IDs are all the ranking reads.
	need := 0
	if len(byLen) == 1 {
		need = max(limit, searchRead)
	}
	var ids []string
	for i, word := range byLen {
		var keep map[string]bool
		if i > 0 {
			if len(ids) == 0 {
				break
			}
			keep = make(map[string]bool, len(ids))
			for _, id := range ids {
				keep[id] = true
			}
		}
		if ids, err = w.searchPrefix(tx, k.code, word, fuzzy, keep, need); err != nil {
			return nil, err
		}
	}
	var out []scoredHit
	for _, id := range ids {
		if len(out) >= max(limit, searchRead) {
			break
		}
		rec, err := k.get(tx, w, id)
		if err != nil {
			if isNotFoundOrDeleted(err) {
				continue
			}
			return nil, err
		}
		m := MetaOf(rec)
		if m.Deleted() || !g.seesAny(kind, rec) {
			continue
		}
		// Matched on what the principal sees of it, hidden fields out.
		exact, ok := matchWords(searchWords(rec, fields), words, fuzzy)
		if !ok {
			continue
		}
		owner := ownerOfAny(rec)
		out = append(out, scoredHit{
			SearchHit: SearchHit{Kind: Kind{kind}, ID: id, Record: valueOfRecord(rec), Exact: exact},
			owned:     g != nil && owner != "" && owner == g.p.ID,
			meta:      m,
		})
	}
	return out, nil
}

// searchPrefix returns the IDs indexed under words starting with word, in
// index order (whole-word matches first), each once; with keep, only
// those in it; with need > 0, the first need of them. With fuzzy, a long
// word matches record words that start with it give or take one typo
// (its first two letters right).
func (w *Workspace) searchPrefix(tx store.Reader, code byte, word string, fuzzy bool, keep map[string]bool, need int) ([]string, error) {
	base := w.indexKey(code, searchIndex)
	scan := word
	fuzzy = fuzzy && fuzzyWord(word)
	if fuzzy {
		scan = string([]rune(word)[:2])
	}
	full := base.str(scan)
	prefix := full[:len(full)-2] // the word's bytes, without the terminator
	seen := map[string]bool{}
	var ids []string
	n := 0
	for e, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
		if err != nil {
			return nil, err
		}
		if n++; n > searchScan && keep == nil || n > searchKeep {
			break
		}
		r := tuple.NewReader(e.Key[len(base):])
		indexed := r.Str()
		id := r.Str()
		if r.Err() != nil {
			return nil, r.Err()
		}
		if seen[id] || (keep != nil && !keep[id]) || (fuzzy && !startsWithin1(indexed, word)) {
			continue
		}
		seen[id] = true
		if ids = append(ids, id); len(ids) == need {
			break
		}
	}
	return ids, nil
}

// matchWords reports whether every query word starts a record word
// (give or take one typo, with fuzzy), and whether every one is a whole
// record word.
func matchWords(recWords, words []string, fuzzy bool) (exact, ok bool) {
	exact = true
	for _, q := range words {
		whole, prefix := false, false
		for _, rw := range recWords {
			if rw == q {
				whole = true
				break
			}
			prefix = prefix || strings.HasPrefix(rw, q) || fuzzy && fuzzyWord(q) && startsWithin1(rw, q)
		}
		if !whole && !prefix {
			return false, false
		}
		exact = exact && whole
	}
	return exact, true
}

// startsWithin1 reports whether word starts with q give or take one typo:
// some start of word is at most one edit (an insertion, deletion,
// substitution or swap of neighbours) from q.
func startsWithin1(word, q string) bool {
	wr, qr := []rune(word), []rune(q)
	for n := len(qr) - 1; n <= len(qr)+1; n++ {
		if n >= 0 && n <= len(wr) && within1(wr[:n], qr) {
			return true
		}
	}
	return false
}

// within1 reports whether a and b are at most one edit apart.
func within1(a, b []rune) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if i == len(a) {
		return true // equal, or b has one more at the end
	}
	if len(a) == len(b) {
		// a substitution, or a swap of neighbours
		return slices.Equal(a[i+1:], b[i+1:]) ||
			i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && slices.Equal(a[i+2:], b[i+2:])
	}
	return slices.Equal(a[i:], b[i+1:]) // b has one more at i
}
