package crm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// The consistency check compares what a workspace's index entries and
// counters are with what its records say they must be. What they must be
// is computed by allIndexes, the same function every write uses, so the
// check never holds a second copy of the index rules. It runs over one
// snapshot:
//
//  1. every record: its expected entries are computed and remembered as
//     64-bit hashes of key and value, and of key alone (16 bytes an
//     entry); the expected counters are summed;
//  2. every unique and index entry, and every activity entry of a
//     timeline, is looked up among the hashes: found ones are marked; an
//     entry whose key no record expects is confirmed against the record
//     it names and reported stale;
//  3. only if some expected entry was not found: the records again, and
//     each entry not found is read to tell missing from held with
//     another value (or claimed by two records);
//  4. every counter of the kinds that have field indexes.
//
// Repair fixes what it found in small transactions of its own, each of
// which reads the record again and fixes the entry only if the record
// still wants that fix, so a repair racing a writer never undoes the
// writer's work. Counters are corrected by the difference found in the
// snapshot, which a concurrent write leaves intact.

// DriftProblem says what is wrong with one key.
type DriftProblem string

// The problems the check reports.
const (
	// DriftMissing is an entry a record needs that is absent.
	DriftMissing DriftProblem = "missing"
	// DriftWrongValue is an entry a record needs that holds another value
	// (for a unique entry: another record's ID, of a record that does not
	// claim it).
	DriftWrongValue DriftProblem = "wrong_value"
	// DriftConflict is a unique entry two records both claim. Repair
	// leaves it: one of the records must change.
	DriftConflict DriftProblem = "conflict"
	// DriftStale is an entry that no record needs.
	DriftStale DriftProblem = "stale"
	// DriftCounter is a counter that differs from the number of records
	// it counts.
	DriftCounter DriftProblem = "counter"
	// DriftUnreadable is a record or counter that does not decode. Repair
	// leaves it.
	DriftUnreadable DriftProblem = "unreadable"
)

// Drift is one key that is not what the records say it must be.
type Drift struct {
	Problem DriftProblem `json:"problem"`
	// Kind and RecordID name the record the entry belongs to, or claims
	// to belong to (empty for counters).
	Kind     Kind   `json:"kind,omitzero"`
	RecordID string `json:"record_id,omitempty"`
	// Index names the index or counter ("email", "f.lifecycle", "*").
	Index string `json:"index,omitempty"`
	// Key is the store key.
	Key []byte `json:"key"`
	// Want is the value the key must hold (nil: it must not exist); Got
	// is the value it holds (nil: it does not exist). Counters are
	// 8-byte big-endian integers.
	Want []byte `json:"want,omitempty"`
	Got  []byte `json:"got,omitempty"`
	// Reason says why, in lower case.
	Reason string `json:"reason"`
	// Repaired is set when a repair fixed it.
	Repaired bool `json:"repaired,omitempty"`
}

func (d Drift) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", d.Problem, KeyString(d.Key))
	if d.RecordID != "" {
		fmt.Fprintf(&b, " (%s %s)", d.Kind, d.RecordID)
	}
	b.WriteString(": " + d.Reason)
	if d.Repaired {
		b.WriteString(" [repaired]")
	}
	return b.String()
}

// KeyString renders a store key of the CRM for people (index names coded in
// keys are written out): the workspace
// space as "space(<n>)" (or, in older stores, "ws(<id>)"), the global prefix as "global:", printable bytes as they are, string terminators
// as "/" and other bytes as \xNN.
func KeyString(k []byte) string {
	var b strings.Builder
	switch {
	case len(k) > 0 && k[0] == nsWorkspace:
		r := tuple.NewReader(k[1:])
		if id := r.Str(); r.Err() == nil {
			b.WriteString("ws(" + id + ")")
			k = r.Rest()
		}
	case len(k) > 0 && k[0] == nsSpace:
		if n, m := binary.Uvarint(k[1:]); m > 0 {
			b.WriteString("space(" + strconv.FormatUint(n, 10) + ")")
			k = k[1+m:]
		}
	case len(k) > 0 && k[0] == nsGlobal:
		b.WriteString("global:")
		k = k[1:]
	}
	for i := 0; i < len(k); i++ {
		switch c := k[i]; {
		case c == 0 && i+1 < len(k) && k[i+1] == 1:
			b.WriteByte('/')
			i++
		case c == nameCode && i+3 < len(k) && k[i+2] == 0 && k[i+3] == 1 && nameOfKey(string(k[i:i+2])) != string(k[i:i+2]):
			b.WriteString(nameOfKey(string(k[i : i+2])))
			i++
		case c == 0 && i+1 < len(k) && k[i+1] == 0xff:
			b.WriteString(`\x00`)
			i++
		case c >= 0x20 && c < 0x7f && c != '\\':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// CheckOptions adjusts Check.
type CheckOptions struct {
	// Repair fixes the drift found (see Workspace.Check).
	Repair bool
	// MaxIssues caps the drift listed in the report (default 1000); the
	// counts stay exact and Repair fixes everything it finds.
	MaxIssues int
	// Progress, if set, is called now and then with the number of records
	// and entries checked so far.
	Progress func(records, entries int64)
}

// CheckReport is what a check found.
type CheckReport struct {
	Workspace string `json:"workspace"`
	// Records, Entries and Counters count what was checked.
	Records  int64 `json:"records"`
	Entries  int64 `json:"entries"`
	Counters int64 `json:"counters"`
	// Issues lists the drift found, up to CheckOptions.MaxIssues.
	Issues []Drift `json:"issues"`
	// Counts counts all the drift found, by problem.
	Counts map[DriftProblem]int64 `json:"counts"`
	// Repaired counts the drift that was repaired.
	Repaired int64 `json:"repaired"`
}

// Drifted returns the number of problems found.
func (r *CheckReport) Drifted() int64 {
	var n int64
	for _, c := range r.Counts {
		n += c
	}
	return n
}

// Unrepaired returns the number of problems found and not repaired.
func (r *CheckReport) Unrepaired() int64 { return r.Drifted() - r.Repaired }

// Check verifies every index entry, unique entry, column projection and
// counter of the workspace against its records and reports the drift
// precisely: which key, which record, why. With opts.Repair it also
// fixes it: a missing or wrong entry is written, a stale one deleted, a
// counter corrected. Unique values two records claim and records that
// do not decode are reported and left alone. Check reads one snapshot;
// it keeps 16 bytes of memory per index entry, plus one counter per
// distinct value of a counted field. History, the timeline's change
// entries, the outbox and static segment memberships are not index
// entries and are not checked.
func (w *Workspace) Check(ctx context.Context, opts CheckOptions) (*CheckReport, error) {
	if opts.MaxIssues <= 0 {
		opts.MaxIssues = 1000
	}
	ck := &checker{
		w: w, ctx: ctx, opts: opts, seed: maphash.MakeSeed(),
		report:  &CheckReport{Workspace: w.info.ID, Counts: map[DriftProblem]int64{}},
		counts:  map[string]int64{},
		flagged: map[string]bool{},
	}
	err := w.view(ctx, func(tx store.Tx, g *guard) error {
		// The check reads and repairs everything: the workspace's.
		if err := g.check("workspace", ActionUpdate); err != nil {
			return err
		}
		if _, err := tx.Get(workspaceRegistryKey(w.info.ID)); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return notFound("workspace", w.info.ID)
			}
			return err
		}
		ck.t = &txn{w: w, ctx: ctx, tx: tx, now: w.crm.now()}
		kinds := checkKinds()
		ck.sets = make(map[byte]*indexSet, len(kinds))
		for _, k := range kinds {
			if err := ck.records(k, ck.remember); err != nil {
				return err
			}
		}
		slices.Sort(ck.hashes)
		slices.Sort(ck.keyHashes)
		ck.found = make([]uint64, (len(ck.hashes)+63)/64)
		for _, k := range kinds {
			for _, tag := range []byte{tagUnique, tagIndex} {
				if err := ck.entries(k, w.k(tag).byte(k.code)); err != nil {
					return err
				}
			}
			if err := ck.columns(k); err != nil {
				return err
			}
		}
		if err := ck.timeline(); err != nil {
			return err
		}
		if ck.missing() {
			ck.report.Records = 0
			for _, k := range kinds {
				if err := ck.records(k, ck.recheck); err != nil {
					return err
				}
			}
		}
		for _, k := range kinds {
			if k.counted {
				if err := ck.counters(k); err != nil {
					return err
				}
			}
		}
		return ck.flush()
	})
	if err != nil {
		return ck.report, fmt.Errorf("crm: check %s: %w", w.info.ID, err)
	}
	return ck.report, nil
}

// CountString renders an 8-byte counter value as a number ("" for none).
func CountString(b []byte) string {
	if len(b) != 8 {
		return ""
	}
	return strconv.FormatInt(int64(binary.BigEndian.Uint64(b)), 10)
}
