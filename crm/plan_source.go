package crm

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/store"
)

// srcKind is the kind of a plan node.
type srcKind uint8

const (
	srcAll   srcKind = iota + 1 // every record of the kind, in ID order
	srcEq                       // index entries under one or more value prefixes, merged in ID order
	srcRange                    // index entries in a key range, in value order
	srcAnd                      // intersection of ID-ordered nodes
	srcOr                       // union of nodes
)

// source is one node of a plan: a stream of candidate record IDs. Every
// record matching the part of the filter the node covers is among its
// candidates; when exact, every candidate matches it too.
type source struct {
	kind     srcKind
	fi       fieldIndex
	prefixes []key // srcEq: index key prefixes through the values
	base     key   // srcRange: the index's prefix, for cursor positions
	lo, hi   key   // srcRange: [lo, hi)
	// recLo, for srcAll, is the record key to start at; for a range of
	// created_at, the key of a record created before the range, from
	// which a scan of records in ID order covers it.
	recLo key
	kids  []*source
	// est estimates how many IDs the node yields; estExact says it is the
	// exact number of distinct records.
	est      int64
	estExact bool
	// counted says est comes from counters (no scan).
	counted bool
	// sorted says IDs come in ascending order, each once.
	sorted bool
	// exact says the node's candidates are exactly the records that match
	// the conditions it covers.
	exact bool
	// multi says an ID may come more than once (list fields).
	multi bool
	// columns says a srcAll scans column projections, not records.
	columns bool
	what    string // the conditions covered, for Explain
}

// idStream is a stream of record IDs with their cursor position.
type idStream = iter.Seq2[idPos, error]

type idPos struct {
	id  string
	pos []byte
}

// stream returns the node's IDs; sorted nodes start after the ID after
// (if not empty), range nodes after the position afterPos.
func (s *source) stream(tx store.Reader, idLen int, after string, afterPos []byte) idStream {
	return func(yield func(idPos, error) bool) {
		switch s.kind {
		case srcEq:
			if len(s.prefixes) == 1 {
				s.scanPrefix(tx, s.prefixes[0], idLen, after, yield)
				return
			}
			kids := make([]idStream, len(s.prefixes))
			for i, p := range s.prefixes {
				kids[i] = func(y func(idPos, error) bool) { s.scanPrefix(tx, p, idLen, after, y) }
			}
			mergeUnion(kids, yield)
		case srcRange:
			rng := store.Range{Start: s.lo, End: s.hi, KeysOnly: true}
			if afterPos != nil {
				if st := append(append(key{}, s.base...), afterPos...); string(st) >= string(s.lo) {
					rng.Start = append(st, 0)
				}
			}
			for e, err := range tx.Scan(rng) {
				if err != nil {
					yield(idPos{}, err)
					return
				}
				id, err := idFromIndexKey(e.Key, idLen)
				if err != nil {
					yield(idPos{}, err)
					return
				}
				if !yield(idPos{id: id, pos: slices.Clone(e.Key[len(s.base):])}, nil) {
					return
				}
			}
		case srcAnd:
			kids := make([]idStream, len(s.kids))
			for i, k := range s.kids {
				kids[i] = k.stream(tx, idLen, after, nil)
			}
			mergeIntersect(kids, yield)
		case srcOr:
			kids := make([]idStream, len(s.kids))
			for i, k := range s.kids {
				kids[i] = k.stream(tx, idLen, after, nil)
			}
			if !slices.ContainsFunc(s.kids, func(k *source) bool { return !k.sorted }) {
				mergeUnion(kids, yield)
				return
			}
			// Materialise: the union of unordered streams, in ID order.
			seen := map[string]bool{}
			for _, k := range kids {
				for ip, err := range k {
					if err != nil {
						yield(idPos{}, err)
						return
					}
					if ip.id > after {
						seen[ip.id] = true
					}
				}
			}
			ids := make([]string, 0, len(seen))
			for id := range seen {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			for _, id := range ids {
				if !yield(idPos{id: id}, nil) {
					return
				}
			}
		}
	}
}

func (s *source) scanPrefix(tx store.Reader, prefix key, idLen int, after string, yield func(idPos, error) bool) {
	rng := store.Range{Prefix: prefix, KeysOnly: true}
	if after != "" {
		rng.Start = append(prefix.str(after), 0)
	}
	for e, err := range tx.Scan(rng) {
		if err != nil {
			yield(idPos{}, err)
			return
		}
		id, err := idFromIndexKey(e.Key, idLen)
		if err != nil {
			yield(idPos{}, err)
			return
		}
		if !yield(idPos{id: id}, nil) {
			return
		}
	}
}

// mergeUnion yields the union of ID-ordered streams in ID order, each ID
// once.
func mergeUnion(kids []idStream, yield func(idPos, error) bool) {
	heads := make([]*string, len(kids))
	nexts := make([]func() (idPos, error, bool), len(kids))
	for i, k := range kids {
		next, stop := iter.Pull2(k)
		defer stop()
		nexts[i] = next
	}
	advance := func(i int) error {
		ip, err, ok := nexts[i]()
		if err != nil {
			return err
		}
		if !ok {
			heads[i] = nil
			return nil
		}
		heads[i] = &ip.id
		return nil
	}
	for i := range kids {
		if err := advance(i); err != nil {
			yield(idPos{}, err)
			return
		}
	}
	for {
		min := -1
		for i, h := range heads {
			if h != nil && (min < 0 || *h < *heads[min]) {
				min = i
			}
		}
		if min < 0 {
			return
		}
		id := *heads[min]
		for i, h := range heads {
			if h != nil && *h == id {
				if err := advance(i); err != nil {
					yield(idPos{}, err)
					return
				}
			}
		}
		if !yield(idPos{id: id}, nil) {
			return
		}
	}
}

// mergeIntersect yields the IDs every ID-ordered stream has, in order.
func mergeIntersect(kids []idStream, yield func(idPos, error) bool) {
	nexts := make([]func() (idPos, error, bool), len(kids))
	for i, k := range kids {
		next, stop := iter.Pull2(k)
		defer stop()
		nexts[i] = next
	}
	cur := make([]string, len(kids))
	for i := range kids {
		ip, err, ok := nexts[i]()
		if err != nil {
			yield(idPos{}, err)
			return
		}
		if !ok {
			return
		}
		cur[i] = ip.id
	}
	for {
		hi := slices.Max(cur)
		same := true
		for i := range cur {
			for cur[i] < hi {
				ip, err, ok := nexts[i]()
				if err != nil {
					yield(idPos{}, err)
					return
				}
				if !ok {
					return
				}
				cur[i] = ip.id
			}
			if cur[i] != hi {
				same = false
			}
		}
		if !same {
			continue
		}
		if !yield(idPos{id: hi}, nil) {
			return
		}
		for i := range cur {
			ip, err, ok := nexts[i]()
			if err != nil {
				yield(idPos{}, err)
				return
			}
			if !ok {
				return
			}
			cur[i] = ip.id
		}
	}
}

// describe writes the plan tree for Explain.
func (s *source) describe(b *strings.Builder, depth int) {
	ind := strings.Repeat("  ", depth)
	est := fmt.Sprintf("~%d", s.est)
	if s.estExact {
		est = fmt.Sprintf("%d", s.est)
	}
	var how string
	switch s.kind {
	case srcAll:
		what, all := "records", "all records"
		if s.columns {
			what, all = "column projections", "the column projections of all records"
		}
		if s.recLo != nil {
			fmt.Fprintf(b, "%sscan %s in ID order from the first that %s can hold (%s)\n", ind, what, s.what, est)
			return
		}
		fmt.Fprintf(b, "%sscan %s (%s)\n", ind, all, est)
		return
	case srcEq:
		how = fmt.Sprintf("index %s: %d value prefix(es)", s.fi.name, len(s.prefixes))
	case srcRange:
		how = fmt.Sprintf("index %s: range", s.fi.name)
	case srcAnd:
		how = "intersect"
	case srcOr:
		how = "union"
		if slices.ContainsFunc(s.kids, func(k *source) bool { return !k.sorted }) {
			how = "union (materialised, sorted by id)"
		}
	}
	flags := []string{est}
	if s.counted {
		flags = append(flags, "counted")
	}
	if s.exact {
		flags = append(flags, "exact")
	}
	fmt.Fprintf(b, "%s%s [%s] %s\n", ind, how, strings.Join(flags, ", "), s.what)
	for _, k := range s.kids {
		k.describe(b, depth+1)
	}
}
