package crm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// A workspace's keys live in a key space of their own: 0x03 followed by the
// space's number as a varint, allocated when the workspace is created (or
// restored, or migrated) and never used again. The registry maps the
// workspace ID to its space. Deleting a workspace unregisters it and queues
// its space for purging in one transaction, so a workspace created again
// with the same ID starts empty by construction, whatever is left of the
// old space while it is purged.
//
// Stores written before spaces existed keep each workspace under
// wsKey(id); resolving such a workspace copies it into a space first (see
// migrate).

// wsEntry is a workspace's registry entry.
type wsEntry struct {
	WorkspaceInfo `msgpack:",inline"`
	// Space is the workspace's key space; 0 means the layout before spaces
	// (keys under wsKey(ID)), which migrate moves into one.
	Space uint64 `msgpack:"space,omitempty"`
	// Migrating is the space a migration is copying the workspace into.
	Migrating uint64 `msgpack:"migrating,omitempty"`
	// Format is the workspace format of the keys in Space (see format.go).
	Format int `msgpack:"format,omitempty"`
}

// spacePrefix is the prefix of every key of key space n.
func spacePrefix(n uint64) key { return binary.AppendUvarint(key{nsSpace}, n) }

// nextSpaceKey holds the number of the last key space allocated.
func nextSpaceKey() key { return key{nsGlobal, 'n'}.str("space") }

// purgeKey queues a key space (0: the old layout of workspace id) for
// purging.
func purgeKey(space uint64, id string) key {
	return key(binary.AppendUvarint(key{nsGlobal, 'p'}, space)).str(id)
}

// prefixOf returns the prefix of a key space, or of the old layout of
// workspace id for space 0.
func prefixOf(space uint64, id string) key {
	if space == 0 {
		return wsKey(id)
	}
	return spacePrefix(space)
}

// allocSpace allocates a new key space.
func allocSpace(tx store.Tx) (uint64, error) {
	n, err := readUint(tx, nextSpaceKey())
	if err != nil {
		return 0, err
	}
	n++
	return n, tx.Set(nextSpaceKey(), key{}.uint(n))
}

// readUint reads an 8-byte big-endian number, 0 if the key is missing.
func readUint(tx store.Reader, k key) (uint64, error) {
	b, err := tx.Get(k)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	case len(b) != 8:
		return 0, fmt.Errorf("%w: %s holds %d bytes, not 8", errBadKey, KeyString(k), len(b))
	}
	return binaryUint(b), nil
}

// readEntry reads workspace id's registry entry, or fails with ErrNotFound.
func readEntry(tx store.Reader, id string) (*wsEntry, error) {
	if !validWorkspaceID(id) {
		return nil, notFound("workspace", id)
	}
	b, err := tx.Get(workspaceRegistryKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("workspace", id)
	}
	if err != nil {
		return nil, err
	}
	e := new(wsEntry)
	if err := decode(b, e); err != nil {
		return nil, err
	}
	return e, nil
}

func writeEntry(tx store.Tx, e *wsEntry) error {
	b, err := encode(e)
	if err != nil {
		return err
	}
	return tx.Set(workspaceRegistryKey(e.ID), b)
}

// handleOf returns a handle to the workspace an entry describes.
func (c *CRM) handleOf(e *wsEntry) *Workspace {
	return &Workspace{crm: c, info: e.WorkspaceInfo, space: e.Space, prefix: prefixOf(e.Space, e.ID)}
}

// handle returns a handle to workspace id for background work, from a
// cache that a write finding the workspace gone or re-created clears.
func (c *CRM) handle(ctx context.Context, id string) (*Workspace, error) {
	if w, ok := c.handles.Load(id); ok {
		return w.(*Workspace), nil
	}
	w, err := c.Workspace(ctx, id)
	if err != nil {
		return nil, err
	}
	c.handles.Store(id, w)
	return w, nil
}

// unregister removes workspace id from the registry and queues its key
// space for purging, in tx.
func unregister(tx store.Tx, e *wsEntry) error {
	if err := tx.Delete(workspaceRegistryKey(e.ID)); err != nil {
		return err
	}
	if e.Migrating != 0 {
		if err := tx.Set(purgeKey(e.Migrating, e.ID), nil); err != nil {
			return err
		}
	}
	return tx.Set(purgeKey(e.Space, e.ID), nil)
}

// purge deletes the key spaces queued for purging, each in resumable
// steps: a space leaves the queue only once it is empty. It returns the
// number of keys deleted.
func (c *CRM) purge(ctx context.Context) (int64, error) {
	type job struct {
		k      key
		prefix key
	}
	var jobs []job
	err := c.st.View(ctx, func(tx store.Tx) error {
		prefix := key{nsGlobal, 'p'}
		for e, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
			if err != nil {
				return err
			}
			rest := e.Key[len(prefix):]
			space, n := binary.Uvarint(rest)
			if n <= 0 {
				return fmt.Errorf("%w: %s", errBadKey, KeyString(e.Key))
			}
			r := tuple.NewReader(rest[n:])
			id := r.Str()
			if r.Err() != nil {
				return fmt.Errorf("%w: %s", errBadKey, KeyString(e.Key))
			}
			jobs = append(jobs, job{k: append(key(nil), e.Key...), prefix: prefixOf(space, id)})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var total int64
	for _, j := range jobs {
		n, err := c.deletePrefix(ctx, j.prefix)
		total += n
		if err != nil {
			return total, err
		}
		if err := c.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(j.k) }); err != nil {
			return total, err
		}
		c.log.Info("crm: purged a deleted key space", "prefix", KeyString(j.prefix), "keys", n)
	}
	return total, nil
}

// migrate moves workspace id from the layout before key spaces into a
// space of its own: it copies every key, then switches the registry entry
// to the space and queues the old keys for purging in one transaction. An
// interrupted migration copies again into the same space when resumed
// (copying is idempotent). Writers of the old layout in other processes
// must be stopped first: a write they make during the copy is lost.
func (c *CRM) migrate(ctx context.Context, id string) error {
	mu := c.workspaceLock(id)
	mu.Lock()
	defer mu.Unlock()
	var target uint64
	err := c.st.Update(ctx, func(tx store.Tx) error {
		e, err := readEntry(tx, id)
		if err != nil {
			return err
		}
		if target = e.Space; target != 0 {
			return nil
		}
		if e.Migrating == 0 {
			if e.Migrating, err = allocSpace(tx); err != nil {
				return err
			}
			if err := writeEntry(tx, e); err != nil {
				return err
			}
		}
		target = e.Migrating
		return nil
	})
	if err != nil {
		return err
	}
	if done, err := c.isMigrated(ctx, id); err != nil || done {
		return err
	}
	from, to := wsKey(id), spacePrefix(target)
	n, err := c.copyPrefix(ctx, from, to, upgradeKey)
	if err != nil {
		return fmt.Errorf("crm: migrating workspace %s: %w", id, err)
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		e, err := readEntry(tx, id)
		if err != nil {
			return err
		}
		if e.Space != 0 || e.Migrating != target {
			return fmt.Errorf("crm: migrating workspace %s: %w", id, ErrConflict)
		}
		e.Space, e.Migrating = target, 0
		if err := writeEntry(tx, e); err != nil {
			return err
		}
		return tx.Set(purgeKey(0, id), nil)
	})
	if err != nil {
		return err
	}
	c.log.Info("crm: migrated a workspace into its own key space", "workspace", id, "keys", n)
	_, err = c.purge(ctx)
	return err
}

func (c *CRM) isMigrated(ctx context.Context, id string) (bool, error) {
	var done bool
	err := c.st.View(ctx, func(tx store.Tx) error {
		e, err := readEntry(tx, id)
		if err == nil {
			done = e.Space != 0
		}
		return err
	})
	return done, err
}

// copyPrefix copies every key under from to the same key under to, in
// batches, passing each key (after the prefix) and value through upgrade,
// and returns how many it copied.
func (c *CRM) copyPrefix(ctx context.Context, from, to key, upgrade func(rest, value []byte) ([]byte, []byte)) (int64, error) {
	var (
		total int64
		after []byte
	)
	for {
		var keys, values [][]byte
		err := c.st.View(ctx, func(tx store.Tx) error {
			r := store.Range{Prefix: from}
			if after != nil {
				r.Start = append(append([]byte(nil), after...), 0)
			}
			for e, err := range tx.Scan(r) {
				if err != nil {
					return err
				}
				rest, v := upgrade(e.Key[len(from):], e.Value)
				keys = append(keys, append(append(key(nil), to...), rest...))
				values = append(values, append([]byte(nil), v...))
				after = append(after[:0], e.Key...)
				if len(keys) == 5000 {
					break
				}
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return total, err
		}
		err = c.st.Batch(ctx, func(w store.Writer) error {
			for i, k := range keys {
				if err := w.Set(k, values[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += int64(len(keys))
	}
}

// Resume finishes what an interrupted process left undone: it purges the
// key spaces of deleted workspaces (and of failed restores and
// migrations), migrates every workspace still in the layout of older
// versions into a key space of its own and upgrades every workspace of an
// older format (see format.go). Open calls it; a CRM made with New does
// the same work lazily, when a workspace is first opened.
// Progress is logged to the CRM's logger.
func (c *CRM) Resume(ctx context.Context) error {
	if _, err := c.purge(ctx); err != nil {
		return err
	}
	var old []string
	for e, err := range c.workspaceEntries(ctx) {
		if err != nil {
			return err
		}
		if e.Space == 0 || e.Format < workspaceFormat {
			old = append(old, e.ID)
		}
	}
	for _, id := range old {
		// Workspace migrates the layout and upgrades the format.
		if _, err := c.Workspace(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// Open returns a CRM over st, like New, after Resume has finished any
// interrupted work and migrated the store to the current layout.
func Open(ctx context.Context, st store.Store, opts ...Option) (*CRM, error) {
	c := New(st, opts...)
	if err := c.Resume(ctx); err != nil {
		return nil, err
	}
	return c, nil
}
