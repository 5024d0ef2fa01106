package crm

import (
	"bytes"
	"context"

	"github.com/crmkit/crmkit/store"
)

// DisableHooks makes c skip before- and after-hooks altogether, for the
// baseline of the hook-dispatch benchmarks.
func DisableHooks(c *CRM) { c.hooksOff = true }

// KeySpace returns the prefix of workspace id's keys.
func KeySpace(st store.Store, id string) ([]byte, error) {
	var prefix []byte
	err := st.View(context.Background(), func(tx store.Tx) error {
		e, err := readEntry(tx, id)
		if err == nil {
			prefix = prefixOf(e.Space, e.ID)
		}
		return err
	})
	return prefix, err
}

// LogicalKeys returns the store's keys with each registered workspace's
// key space written "ws(<id>)" instead of its number, and the registry
// entries without the space number, so that stores holding the same
// workspaces in different key spaces compare equal. Global bookkeeping
// (dispatcher leases, the space counter) is left out; keys of
// unregistered spaces are kept as they are, so debris shows.
func LogicalKeys(st store.Store) (map[string]string, error) {
	out := map[string]string{}
	err := st.View(context.Background(), func(tx store.Tx) error {
		type space struct {
			prefix key
			name   string
		}
		var spaces []space
		for e, err := range tx.Scan(store.Range{Prefix: key{nsGlobal, 'w'}}) {
			if err != nil {
				return err
			}
			var entry wsEntry
			if err := decode(e.Value, &entry); err != nil {
				return err
			}
			spaces = append(spaces, space{prefixOf(entry.Space, entry.ID), "ws(" + entry.ID + ")"})
			entry.Space, entry.Migrating = 0, 0
			b, err := encode(&entry)
			if err != nil {
				return err
			}
			out[string(e.Key)] = string(b)
		}
	next:
		for e, err := range tx.Scan(store.Range{}) {
			if err != nil {
				return err
			}
			k := e.Key
			switch {
			case bytes.HasPrefix(k, key{nsGlobal, 'w'}), bytes.HasPrefix(k, key{nsGlobal, 'l'}), bytes.Equal(k, nextSpaceKey()):
				continue
			}
			for _, s := range spaces {
				if bytes.HasPrefix(k, s.prefix) {
					out[s.name+string(k[len(s.prefix):])] = string(e.Value)
					continue next
				}
			}
			out[string(k)] = string(e.Value)
		}
		return nil
	})
	return out, err
}

// FoldCounters merges every counter's deltas into its base, so tests can
// find and corrupt a counter's one key.
func FoldCounters(w *Workspace) error {
	_, err := w.write(context.Background(), func(t *txn) error {
		prefix := w.k(tagCount)
		all, err := scanCounts(t.tx, w, prefix)
		if err != nil {
			return err
		}
		for _, c := range all {
			if c.bad == nil {
				if err := setCount(t.tx, w, c.key, c.n); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return err
}

// SetFormat writes workspace id's format, as a store written by an
// earlier version would hold it.
func SetFormat(st store.Store, id string, format int) error {
	return st.Update(context.Background(), func(tx store.Tx) error {
		e, err := readEntry(tx, id)
		if err != nil {
			return err
		}
		e.Format = format
		return writeEntry(tx, e)
	})
}
