package crm

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"math"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/store"
)

// Duplicate is a pair of records that likely describe the same person or
// organisation, with the evidence. Merge them with Contacts.Merge or
// Companies.Merge.
type Duplicate struct {
	// Kind is KindContact or KindCompany.
	Kind Kind `json:"kind"`
	// A is the older record of the pair (created first), B the newer.
	A string `json:"a"`
	B string `json:"b"`
	// Score, from 0 to 1, combines the reasons' scores: 1 - (1-s1)(1-s2)...
	Score   float64       `json:"score"`
	Reasons []MatchReason `json:"reasons"`
}

// MatchReason is one piece of evidence that two records are one.
type MatchReason struct {
	// Rule is what matched: "email", "phone" or "name" for contacts,
	// "domain" or "name" for companies.
	Rule string `json:"rule"`
	// Detail says what matched, in words, quoting both values.
	Detail string `json:"detail"`
	// Score is how strongly this reason alone suggests a duplicate.
	Score float64 `json:"score"`
}

// DuplicateOptions tunes duplicate detection. The zero value is useful.
type DuplicateOptions struct {
	// MinScore is the lowest score reported, from 0 to 1 (default 0.5: a
	// shared phone number alone is reported, a similar name alone is not).
	MinScore float64
	// Window caps how many earlier records sharing one blocking key each
	// record is compared with, the most recent first (default 100). It
	// bounds the work when thousands of records share a key (a company's
	// switchboard number, a common name prefix); pairs further apart than
	// the window in such a crowd are not found.
	Window int
}

func (o *DuplicateOptions) check() error {
	p := problems{kind: "duplicate options"}
	if o.MinScore < 0 || o.MinScore > 1 || math.IsNaN(o.MinScore) {
		p.add("min_score", "%v is not between 0 and 1", o.MinScore)
	}
	if o.Window < 0 {
		p.add("window", "must not be negative")
	}
	if o.MinScore == 0 {
		o.MinScore = 0.5
	}
	if o.Window == 0 {
		o.Window = 100
	}
	return p.err()
}

// FindDuplicates streams the pairs of live contacts that likely are one
// person, best evidence first within a pair's reasons. Contacts are
// compared when they share a blocking key: an email's mailbox (compared
// by EmailKey, and for Gmail without dots and +tags), a phone
// number's E.164 form, or a company and a word of the name. The reasons
// are an equivalent email (score 0.95), the same phone number, compared
// in E.164 form however it was written (0.6), a similar name at a
// company both work for (0.8 x similarity), or a similar name elsewhere
// (0.4 x similarity, which only adds to other evidence).
//
// It reads the contacts once, in creation order, and yields a pair as soon
// as its newer contact is read; memory grows with the number of contacts
// by a few dozen bytes each (their IDs and blocking keys' hashes), never
// with the number of pairs. It runs in one read transaction: stop early by
// breaking out of the loop.
func (s *Contacts) FindDuplicates(ctx context.Context, opts DuplicateOptions) iter.Seq2[Duplicate, error] {
	return findDuplicates(ctx, s.o.w, contactRules(s.o.w.info.PhoneRegion), opts)
}

// FindDuplicates streams the pairs of live companies that likely are one
// organisation. Companies are compared when they share a registered domain
// by the Public Suffix List ("eu.acme.com" and "acme.com" share
// "acme.com"; "alice.github.io" and "bob.github.io" share nothing), their name without its
// legal form ("Acme Inc." and "ACME GmbH" are both "acme"), or the first
// four letters of it. The reasons are the same registered domain (0.85), the
// same name without legal form (0.85) or a similar one (0.7 x
// Jaro-Winkler similarity, when it is at least 0.9). See
// Contacts.FindDuplicates for how it streams.
func (s *Companies) FindDuplicates(ctx context.Context, opts DuplicateOptions) iter.Seq2[Duplicate, error] {
	return findDuplicates(ctx, s.o.w, companyRules, opts)
}

// dupRules tell the generic detection how to compare records of one kind:
// F holds what comparisons need, worked out once per record.
type dupRules[T, F any] struct {
	k        *kind[T]
	features func(*T) F
	// blocks appends the record's blocking keys to keys.
	blocks func(f *F, keys []string) []string
	// compare lists the evidence that a (older) and b are one record.
	compare func(a, b *F) []MatchReason
}

// findDuplicates reads the kind's live records in creation order. Each
// blocking key keeps a chain of the records that have it (a map from the
// key's hash to its newest link, and links to older ones), so a record is
// compared with the recent records it shares a key with, and never with the
// others. The earlier record of a candidate pair is read again by ID, so
// only IDs stay in memory.
func findDuplicates[T, F any](ctx context.Context, w *Workspace, r dupRules[T, F], opts DuplicateOptions) iter.Seq2[Duplicate, error] {
	return func(yield func(Duplicate, error) bool) {
		if err := opts.check(); err != nil {
			yield(Duplicate{}, err)
			return
		}
		type link struct{ rec, next int32 }
		seed := maphash.MakeSeed()
		heads := map[uint64]int32{}
		var links []link
		var ids []string
		var keys []string
		var cands []int32
		seen := map[int32]bool{}
		err := w.view(ctx, func(tx store.Tx, g *guard) error {
			if err := g.check(r.k.name, g.readAction()); err != nil {
				return err
			}
			for e, err := range tx.Scan(store.Range{Prefix: w.k(tagRecord).byte(r.k.code)}) {
				if err != nil {
					return err
				}
				rec := new(T)
				if err := decode(e.Value, rec); err != nil {
					return err
				}
				m := r.k.meta(rec)
				if m.Deleted() || !g.allows(r.k.name, g.readAction(), ownerOf(r.k, rec)) {
					continue // pairs are of records the principal may read
				}
				if len(ids) == math.MaxInt32 {
					return fmt.Errorf("crm: duplicate detection handles at most %d %ss", math.MaxInt32, r.k.name)
				}
				f := r.features(rec)
				cur := int32(len(ids))
				ids = append(ids, m.ID)
				clear(seen)
				seen[cur] = true
				cands = cands[:0]
				keys = r.blocks(&f, keys[:0])
				for _, bk := range keys {
					h := maphash.String(seed, bk)
					head, ok := heads[h]
					if !ok {
						head = -1
					}
					for l, n := head, 0; l >= 0 && n < opts.Window; l, n = links[l].next, n+1 {
						if c := links[l].rec; !seen[c] {
							seen[c] = true
							cands = append(cands, c)
						}
					}
					links = append(links, link{rec: cur, next: head})
					heads[h] = int32(len(links) - 1)
				}
				slices.Sort(cands)
				for _, c := range cands {
					old, err := get(tx, w, r.k, ids[c])
					if err != nil {
						return err
					}
					of := r.features(old)
					reasons := r.compare(&of, &f)
					score := combineScores(reasons)
					if len(reasons) == 0 || score < opts.MinScore {
						continue
					}
					d := Duplicate{Kind: Kind{r.k.name}, A: ids[c], B: m.ID, Score: score, Reasons: reasons}
					if !yield(d, nil) {
						return errStop
					}
				}
			}
			return nil
		})
		if err != nil && err != errStop {
			yield(Duplicate{}, err)
		}
	}
}

// combineScores is 1 - (1-s1)(1-s2)...: independent pieces of evidence add
// up without passing 1. It sorts the reasons, strongest first.
func combineScores(reasons []MatchReason) float64 {
	slices.SortStableFunc(reasons, func(a, b MatchReason) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	miss := 1.0
	for _, r := range reasons {
		miss *= 1 - r.Score
	}
	return math.Round((1-miss)*1000) / 1000
}

type contactFeatures struct {
	name      string
	words     []string
	emails    []string
	keys      []string
	mailboxes []string
	phones    []string // E.164
	numbers   []string // the phones as written
	companies []string
}

// contactRules compare contacts; phones stored without an E.164 form (by
// an older version) are read in region.
func contactRules(region string) dupRules[Contact, contactFeatures] {
	return dupRules[Contact, contactFeatures]{
		k: kindContact,
		features: func(c *Contact) contactFeatures {
			f := contactFeatures{name: strings.TrimSpace(c.FirstName + " " + c.LastName), emails: c.Emails}
			f.words = foldPerson(f.name)
			for _, e := range c.Emails {
				f.keys = append(f.keys, storedEmailKey(e))
				mb, _ := mailbox(e)
				f.mailboxes = append(f.mailboxes, mb)
			}
			for _, p := range c.Phones {
				if n := phoneKey(p, region); n != "" {
					f.phones = append(f.phones, n)
					f.numbers = append(f.numbers, p.Number)
				}
			}
			for _, cr := range c.Companies {
				f.companies = append(f.companies, cr.CompanyID)
			}
			return f
		},
		blocks: func(f *contactFeatures, keys []string) []string {
			for _, mb := range f.mailboxes {
				keys = append(keys, "e\x00"+mb)
			}
			for _, p := range f.phones {
				keys = append(keys, "p\x00"+p)
			}
			for _, co := range f.companies {
				for _, w := range f.words {
					if len(w) > 1 {
						keys = append(keys, "n\x00"+co+"\x00"+w)
					}
				}
			}
			return keys
		},
		compare: compareContacts,
	}
}

func compareContacts(a, b *contactFeatures) []MatchReason {
	var out []MatchReason
email:
	for i, ea := range a.emails {
		for j, eb := range b.emails {
			switch {
			case a.keys[i] == b.keys[j]:
				out = append(out, MatchReason{Rule: "email", Score: 1, Detail: fmt.Sprintf("same address %q", ea)})
			case a.mailboxes[i] == b.mailboxes[j]:
				out = append(out, MatchReason{Rule: "email", Score: 0.95,
					Detail: fmt.Sprintf("%q and %q are one Gmail mailbox (Gmail ignores dots and +tags)", ea, eb)})
			default:
				continue
			}
			break email
		}
	}
phone:
	for i, pa := range a.phones {
		for j, pb := range b.phones {
			if pa == pb {
				out = append(out, MatchReason{Rule: "phone", Score: 0.6, Detail: fmt.Sprintf("%q and %q are both %s", a.numbers[i], b.numbers[j], pa)})
				break phone
			}
		}
	}
	sim := personSimilarity(a.words, b.words)
	shared := ""
	for _, co := range a.companies {
		if slices.Contains(b.companies, co) {
			shared = co
			break
		}
	}
	switch {
	case shared != "" && sim >= 0.85:
		out = append(out, MatchReason{Rule: "name", Score: round3(0.8 * sim),
			Detail: fmt.Sprintf("similar names %q and %q (%.2f) at company %s", a.name, b.name, sim, shared)})
	case sim >= 0.9:
		out = append(out, MatchReason{Rule: "name", Score: round3(0.4 * sim),
			Detail: fmt.Sprintf("similar names %q and %q (%.2f)", a.name, b.name, sim)})
	}
	return out
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

type companyFeatures struct {
	name   string
	words  string
	domain string
	key    string // the domain's ASCII form
	site   string
}

var companyRules = dupRules[Company, companyFeatures]{
	k: kindCompany,
	features: func(c *Company) companyFeatures {
		f := companyFeatures{name: c.Name, words: strings.Join(companyWords(c.Name), " "), domain: c.Domain}
		if c.Domain != "" {
			f.key = domainKey(c.Domain)
			f.site = registered(f.key)
		}
		return f
	},
	blocks: func(f *companyFeatures, keys []string) []string {
		if f.site != "" {
			keys = append(keys, "d\x00"+f.site)
		}
		if f.words != "" {
			keys = append(keys, "n\x00"+f.words)
			if r := []rune(f.words); len(r) >= 4 {
				keys = append(keys, "p\x00"+string(r[:4]))
			}
		}
		return keys
	},
	compare: func(a, b *companyFeatures) []MatchReason {
		var out []MatchReason
		switch {
		case a.domain == "" || b.domain == "":
		case a.key == b.key:
			out = append(out, MatchReason{Rule: "domain", Score: 1, Detail: fmt.Sprintf("same domain %s", a.domain)})
		case a.site == b.site:
			out = append(out, MatchReason{Rule: "domain", Score: 0.85,
				Detail: fmt.Sprintf("%s and %s are both under %s", a.domain, b.domain, unicodeHost(a.site))})
		}
		if a.words == "" || b.words == "" {
			return out
		}
		if a.words == b.words {
			return append(out, MatchReason{Rule: "name", Score: 0.85,
				Detail: fmt.Sprintf("%q and %q are both %q without legal form", a.name, b.name, a.words)})
		}
		if sim := jaroWinkler(a.words, b.words); sim >= 0.9 {
			out = append(out, MatchReason{Rule: "name", Score: round3(0.7 * sim),
				Detail: fmt.Sprintf("similar names %q and %q (%.2f)", a.name, b.name, sim)})
		}
		return out
	},
}
