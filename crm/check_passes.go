package crm

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// The passes of Workspace.Check; see check.go.

// checkKind is one record kind as the check sees it.
type checkKind struct {
	name    string
	code    byte
	counted bool
	// indexes loads the kind's field indexes (nil for kinds without).
	indexes func(t *txn) (*indexSet, error)
	// entries decodes a stored record and returns its ID, whether it is
	// live, and every entry it owns.
	entries func(t *txn, set *indexSet, b []byte) (string, bool, []indexEntry, error)
}

func checkKindOf[T any](k *kind[T]) checkKind {
	return checkKind{
		name: k.name, code: k.code, counted: k.field != nil,
		indexes: func(t *txn) (*indexSet, error) { return kindIndexes(t, k) },
		entries: func(t *txn, set *indexSet, b []byte) (string, bool, []indexEntry, error) {
			r := new(T)
			if err := decode(b, r); err != nil {
				return "", false, nil, err
			}
			m := k.meta(r)
			ix, err := allIndexes(t, k, r, set)
			return m.ID, !m.Deleted(), ix, err
		},
	}
}

func checkKinds() []checkKind {
	return []checkKind{
		checkKindOf(kindContact), checkKindOf(kindCompany), checkKindOf(kindPipeline),
		checkKindOf(kindDeal), checkKindOf(kindActivity), checkKindOf(kindPurchase),
	}
}

func checkKindByCode(code byte) (checkKind, bool) {
	for _, k := range checkKinds() {
		if k.code == code {
			return k, true
		}
	}
	return checkKind{}, false
}

type checker struct {
	w      *Workspace
	ctx    context.Context
	t      *txn // over the check's snapshot
	opts   CheckOptions
	report *CheckReport
	sets   map[byte]*indexSet
	seed   maphash.Seed
	// hashes are the expected entries, hashed with their values, sorted;
	// found marks those seen in pass 2. keyHashes are their keys alone.
	hashes    []uint64
	found     []uint64
	keyHashes []uint64
	// notFound holds the hashes of pass 3.
	notFound map[uint64]bool
	// counts are the expected counters.
	counts map[string]int64
	// flagged are keys already reported.
	flagged map[string]bool
	fixes   []fix
}

func (ck *checker) hash(k, v []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(ck.seed)
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(k)))
	h.Write(n[:])
	h.Write(k)
	h.Write(v)
	return h.Sum64()
}

func (ck *checker) keyHash(k []byte) uint64 { return maphash.Bytes(ck.seed, k) }

// remember is pass 1 for one entry of record id.
func (ck *checker) remember(_ checkKind, _ string, ie indexEntry) error {
	ck.hashes = append(ck.hashes, ck.hash(ie.key, ie.value))
	ck.keyHashes = append(ck.keyHashes, ck.keyHash(ie.key))
	return nil
}

// missing collects the expected entries pass 2 did not see, and reports
// whether there are any.
func (ck *checker) missing() bool {
	for i, h := range ck.hashes {
		if ck.found[i/64]&(1<<(i%64)) == 0 {
			if ck.notFound == nil {
				ck.notFound = map[uint64]bool{}
			}
			ck.notFound[h] = true
		}
	}
	return len(ck.notFound) > 0
}

// recheck is pass 3 for one entry of record id.
func (ck *checker) recheck(k checkKind, id string, ie indexEntry) error {
	if !ck.notFound[ck.hash(ie.key, ie.value)] {
		return nil
	}
	return ck.expect(k, id, ie)
}

// seen looks an entry up among the expected ones and marks it found.
func (ck *checker) seen(key, value []byte) bool {
	h := ck.hash(key, value)
	i, ok := slices.BinarySearch(ck.hashes, h)
	for ; i < len(ck.hashes) && ck.hashes[i] == h; i++ {
		ck.found[i/64] |= 1 << (i % 64)
	}
	return ok
}

func (ck *checker) add(d Drift, f *fix) error {
	r := ck.report
	r.Counts[d.Problem]++
	ck.flagged[string(d.Key)] = true
	listed := -1
	if len(r.Issues) < ck.opts.MaxIssues {
		listed = len(r.Issues)
		r.Issues = append(r.Issues, d)
	}
	if f == nil || !ck.opts.Repair {
		return nil
	}
	f.issue = listed
	ck.fixes = append(ck.fixes, *f)
	if len(ck.fixes) >= 256 {
		return ck.flush()
	}
	return nil
}

func (ck *checker) progress() {
	if ck.opts.Progress != nil && (ck.report.Records+ck.report.Entries)%4096 == 0 {
		ck.opts.Progress(ck.report.Records, ck.report.Entries)
	}
}

func (ck *checker) set(k checkKind) (*indexSet, error) {
	if s, ok := ck.sets[k.code]; ok {
		return s, nil
	}
	s, err := k.indexes(ck.t)
	if err != nil {
		return nil, err
	}
	ck.sets[k.code] = s
	return s, nil
}

// records computes the expected entries of every record of one kind and
// hands each to fn (passes 1 and 3).
func (ck *checker) records(k checkKind, fn func(k checkKind, id string, ie indexEntry) error) error {
	t := ck.t
	set, err := ck.set(k)
	if err != nil {
		return err
	}
	prefix := ck.w.k(tagRecord).byte(k.code)
	seen := map[string]bool{}
	for e, err := range t.tx.Scan(store.Range{Prefix: prefix}) {
		if err != nil {
			return err
		}
		ck.report.Records++
		ck.progress()
		r := tuple.NewReader(e.Key[len(prefix):])
		keyID := r.Str()
		id, live, ix, err := k.entries(t, set, e.Value)
		if err != nil || id != keyID {
			if ck.notFound != nil {
				continue // reported in pass 1
			}
			reason := fmt.Sprintf("record does not decode: %v", err)
			if err == nil {
				reason = fmt.Sprintf("record under ID %q says its ID is %q", keyID, id)
			}
			if err := ck.add(Drift{Problem: DriftUnreadable, Kind: Kind{k.name}, RecordID: keyID, Key: slices.Clone(e.Key), Reason: reason}, nil); err != nil {
				return err
			}
			continue
		}
		clear(seen)
		for _, ie := range ix {
			if seen[string(ie.key)] {
				continue
			}
			seen[string(ie.key)] = true
			if k.counted && set != nil && ie.count != nil && ck.notFound == nil {
				ie.addTo(func(k []byte, d int64) { ck.counts[string(k)] += d }, 1)
			}
			if err := fn(k, id, ie); err != nil {
				return err
			}
		}
		if k.counted && set != nil && live && ck.notFound == nil {
			ck.counts[string(ck.w.liveCountKey(k.code))]++
		}
	}
	return nil
}

// expect checks one entry record id needs.
func (ck *checker) expect(k checkKind, id string, ie indexEntry) error {
	got, err := ck.t.tx.Get(ie.key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err == nil && bytes.Equal(got, ie.value) {
		return nil
	}
	d := Drift{Kind: Kind{k.name}, RecordID: id, Index: indexName(ie.key, ck.w), Key: slices.Clone(ie.key), Want: slices.Clone(ie.value), Got: got}
	switch {
	case err != nil:
		d.Problem, d.Reason = DriftMissing, fmt.Sprintf("%s %s needs this %s entry of field %s", k.name, id, entryKind(ie), ie.field)
	case ie.unique:
		st, err := ck.owner(ck.t, k, string(got), ie.key, got)
		if err != nil {
			return err
		}
		if st == ownerClaims {
			d.Problem, d.Reason = DriftConflict, fmt.Sprintf("unique value of field %s is claimed by %s %s and by %s %s", ie.field, k.name, id, k.name, got)
			return ck.add(d, nil)
		}
		d.Problem, d.Reason = DriftWrongValue, fmt.Sprintf("unique entry of field %s points at %q, not at %s %s", ie.field, got, k.name, id)
	default:
		d.Problem, d.Reason = DriftWrongValue, fmt.Sprintf("entry of field %s holds %q, %s %s needs %q", ie.field, got, k.name, id, ie.value)
	}
	return ck.add(d, &fix{code: k.code, id: id, key: d.Key, value: d.Want})
}

func entryKind(ie indexEntry) string {
	if ie.unique {
		return "unique"
	}
	return "index"
}

// ownerState is what became of the record an entry names.
type ownerState int

const (
	ownerMissing    ownerState = iota // no such record
	ownerUnreadable                   // it does not decode (reported on its own)
	ownerLacks                        // it does not own the entry
	ownerClaims                       // it owns the entry with that value
)

// owner reads record id of kind k in t and says whether it owns the
// entry key with value v.
func (ck *checker) owner(t *txn, k checkKind, id string, key, v []byte) (ownerState, error) {
	if id == "" {
		return ownerMissing, nil
	}
	b, err := t.tx.Get(t.w.recordKey(k.code, id))
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrKeyTooLarge) {
		return ownerMissing, nil
	}
	if err != nil {
		return 0, err
	}
	set, err := k.indexes(t)
	if err != nil {
		return 0, err
	}
	rid, _, ix, err := k.entries(t, set, b)
	if err != nil || rid != id {
		return ownerUnreadable, nil
	}
	for _, ie := range ix {
		if bytes.Equal(ie.key, key) && bytes.Equal(ie.value, v) {
			return ownerClaims, nil
		}
	}
	return ownerLacks, nil
}

// entries is pass 2 over one family of entries, whose values name their
// record.
func (ck *checker) entries(k checkKind, prefix key) error {
	for e, err := range ck.t.tx.Scan(store.Range{Prefix: prefix}) {
		if err != nil {
			return err
		}
		ck.report.Entries++
		ck.progress()
		if err := ck.judge(k, entryOwner(e.Key, e.Value), e.Key, e.Value); err != nil {
			return err
		}
	}
	return nil
}

// timeline is pass 2 over the activity entries of timelines, which the
// activities own (ws 't' code str(id) time str(activityID) -> 'a').
func (ck *checker) timeline() error {
	act, _ := checkKindByCode(kindActivity.code)
	prefix := ck.w.k(tagTimeline)
	for e, err := range ck.t.tx.Scan(store.Range{Prefix: prefix}) {
		if err != nil {
			return err
		}
		if len(e.Value) != 1 || e.Value[0] != timelineActivity {
			continue
		}
		ck.report.Entries++
		ck.progress()
		r := tuple.NewReader(e.Key[len(prefix):])
		r.Byte()
		r.Str()
		r.Int()
		id := r.Str()
		if r.Err() != nil {
			id = ""
		}
		if err := ck.judge(act, id, e.Key, e.Value); err != nil {
			return err
		}
	}
	return nil
}

// judge reports the entry key -> value, which claims record id of kind k,
// if that record does not need it.
func (ck *checker) judge(k checkKind, id string, key, value []byte) error {
	if ck.seen(key, value) {
		return nil
	}
	if _, ok := slices.BinarySearch(ck.keyHashes, ck.keyHash(key)); ok {
		return nil // a record expects the key with another value: pass 3
	}
	st, err := ck.owner(ck.t, k, id, key, value)
	if err != nil || st == ownerClaims || st == ownerUnreadable {
		// An unreadable record is reported itself; its entries are kept.
		return err
	}
	d := Drift{Problem: DriftStale, Kind: Kind{k.name}, RecordID: id, Index: indexName(key, ck.w), Key: slices.Clone(key), Got: slices.Clone(value)}
	if st == ownerMissing {
		d.Reason = fmt.Sprintf("names %s %q, which does not exist", k.name, id)
	} else {
		d.Reason = fmt.Sprintf("%s %s does not have this entry", k.name, id)
	}
	return ck.add(d, &fix{code: k.code, id: id, key: d.Key, value: d.Got, del: true})
}

// counters is pass 3 for one kind. A counter's value is its base plus
// its deltas (see index_count.go).
func (ck *checker) counters(k checkKind) error {
	prefix := ck.w.k(tagCount).byte(k.code)
	all, err := scanCounts(ck.t.tx, ck.w, prefix)
	if err != nil {
		return err
	}
	for _, c := range all {
		ck.report.Counters++
		want := ck.counts[string(c.key)]
		delete(ck.counts, string(c.key))
		if c.bad != nil {
			d := Drift{Problem: DriftCounter, Kind: Kind{k.name}, Index: indexName(c.key, ck.w), Key: slices.Clone(c.key), Want: countBytes(want), Got: c.bad,
				Reason: fmt.Sprintf("counter is %d bytes, not 8; the records count %d", len(c.bad), want)}
			if err := ck.add(d, &fix{counter: true, key: d.Key, reset: true, count: want}); err != nil {
				return err
			}
			continue
		}
		if got := c.n; got != want {
			d := Drift{Problem: DriftCounter, Kind: Kind{k.name}, Index: indexName(c.key, ck.w), Key: slices.Clone(c.key), Want: countBytes(want), Got: countBytes(got),
				Reason: fmt.Sprintf("counter is %d, the records count %d", got, want)}
			if err := ck.add(d, &fix{counter: true, key: d.Key, count: want - got}); err != nil {
				return err
			}
		}
	}
	// Expected counters that do not exist, in key order for a stable report.
	var missing []string
	for k, want := range ck.counts {
		// A sum of amounts can come to zero, which is stored as no key.
		if strings.HasPrefix(k, string(prefix)) && want != 0 {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	for _, key := range missing {
		want := ck.counts[key]
		delete(ck.counts, key)
		d := Drift{Problem: DriftCounter, Kind: Kind{k.name}, Index: indexName([]byte(key), ck.w), Key: []byte(key), Want: countBytes(want),
			Reason: fmt.Sprintf("counter is missing; the records count %d", want)}
		if err := ck.add(d, &fix{counter: true, key: d.Key, count: want}); err != nil {
			return err
		}
	}
	return nil
}

func countBytes(n int64) []byte {
	if n == 0 {
		return nil
	}
	return binary.BigEndian.AppendUint64(nil, uint64(n))
}

// indexName returns the name of the index a key of the workspace belongs
// to: the string after its tag and kind bytes ("email", "f.lifecycle").
func indexName(k []byte, w *Workspace) string {
	if len(k) < len(w.prefix)+2 {
		return ""
	}
	r := tuple.NewReader(k[len(w.prefix)+2:])
	if k[len(w.prefix)] == tagTimeline {
		return "timeline"
	}
	if k[len(w.prefix)] == tagColumn {
		return "columns"
	}
	if s := r.Str(); r.Err() == nil {
		return nameOfKey(s)
	}
	return ""
}
