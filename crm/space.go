package crm

import (
	"errors"
	"fmt"
	"iter"

	"github.com/crmkit/crmkit/store"
)

// Space is the keys of one package built on crm in a workspace: a
// package (crm/report's snapshots and quotas, a host application's own
// module) keeps its state there, read and written in the same transactions
// as the records, without knowing the workspace's key layout. The keys are
// the owner's bytes and sort bytewise; they go wherever the workspace
// goes (backup, restore, delete). A Space is valid only inside the
// transaction that gave it; a ReadTx's is read-only.
type Space struct {
	tx     store.Tx
	prefix key
	write  bool
	err    error // an invalid name
}

// Space returns the keys of the package called name (1 to 64 bytes of
// lower-case letters, digits, '.', '_' and '-'; by convention the
// package's import path's last element, as "report").
func (rt *ReadTx) Space(name string) Space { return spaceOf(rt.w, rt.tx, name, false) }

// Space is ReadTx.Space for writing.
func (tx *Tx) Space(name string) Space { return spaceOf(tx.w, tx.tx, name, true) }

func spaceOf(w *Workspace, tx store.Tx, name string, write bool) Space {
	s := Space{tx: tx, prefix: w.k(tagSpace).str(name), write: write}
	if name == automationSpace {
		// crm/automation kept its keys under a tag of their own before
		// spaces existed; its space stays there.
		s.prefix = w.k(automationTag)
	}
	if !validSpaceName(name) {
		s.err = &ValidationError{Kind: "space", Fields: []FieldError{{"name", fmt.Sprintf("%q is not a space name: 1 to 64 lower-case letters, digits, '.', '_' or '-'", name)}}}
	}
	return s
}

// automationSpace is crm/automation's space.
const automationSpace = "automation"

func validSpaceName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// errReadOnly is the error of a write to the Space of a ReadTx.
var errReadOnly = errors.New("crm: the space of a read transaction is read-only")

func (s Space) key(k []byte) key { return append(s.prefix[:len(s.prefix):len(s.prefix)], k...) }

// Get returns the value of k, or an error matching ErrNotFound.
func (s Space) Get(k []byte) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	v, err := s.tx.Get(s.key(k))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("crm: space key %q: %w", k, ErrNotFound)
	}
	return v, err
}

// Set writes v at k.
func (s Space) Set(k, v []byte) error {
	if s.err != nil {
		return s.err
	}
	if !s.write {
		return errReadOnly
	}
	return s.tx.Set(s.key(k), v)
}

// Delete removes k; a missing key is not an error.
func (s Space) Delete(k []byte) error {
	if s.err != nil {
		return s.err
	}
	if !s.write {
		return errReadOnly
	}
	return s.tx.Delete(s.key(k))
}

// Scan streams the space's entries in r (its Prefix, Start and End are
// keys of the space), with keys relative to the space. An entry's bytes
// are valid until the next step of the loop: copy what you keep.
func (s Space) Scan(r store.Range) iter.Seq2[store.Entry, error] {
	return func(yield func(store.Entry, error) bool) {
		if s.err != nil {
			yield(store.Entry{}, s.err)
			return
		}
		rng := store.Range{Prefix: s.key(r.Prefix), Reverse: r.Reverse, KeysOnly: r.KeysOnly}
		if r.Start != nil {
			rng.Start = s.key(r.Start)
		}
		if r.End != nil {
			rng.End = s.key(r.End)
		}
		for e, err := range s.tx.Scan(rng) {
			if err != nil {
				yield(store.Entry{}, err)
				return
			}
			if !yield(store.Entry{Key: e.Key[len(s.prefix):], Value: e.Value}, nil) {
				return
			}
		}
	}
}
