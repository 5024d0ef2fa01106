package crm

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/crmkit/crmkit/store"
)

// Backups copy workspaces to one portable file and back, on any backend:
// the file holds the keys and values of each workspace exactly as the CRM
// stores them, so a workspace backed up from Badger restores byte for byte
// into PostgreSQL or memory. The file format is described in
// backup_format.go: versioned, checksummed per block and per workspace, and
// read and written as a stream, so memory does not grow with its size.
//
// What a backup holds: every key of each workspace (records, indexes,
// counters, history, timeline, custom field definitions, segments, the
// outbox and the delivery cursors of its consumers) and its registry
// entry. What it leaves out: dispatcher leases, which belong to running
// processes, not to data.

// BackupOptions selects what Backup writes.
type BackupOptions struct {
	// Workspaces are the IDs of the workspaces to back up. Empty means
	// every workspace of the store (a whole-store backup).
	Workspaces []string
	// Progress, if set, is called after each block written with the
	// number of keys and bytes written so far.
	Progress func(keys, bytes int64)
}

// Backup writes the workspaces opts names (all of them by default) to w,
// from one consistent snapshot of the store. Writers may go on meanwhile;
// the backup holds the state as of its start. A workspace that does not
// exist fails the backup with an error matching ErrNotFound before
// anything is written.
func (c *CRM) Backup(ctx context.Context, w io.Writer, opts BackupOptions) (BackupStats, error) {
	var st BackupStats
	bw := bufio.NewWriterSize(w, 1<<16)
	fw := &frameWriter{w: bw}
	err := c.st.View(ctx, func(tx store.Tx) error {
		regs, err := backupTargets(tx, opts.Workspaces)
		if err != nil {
			return err
		}
		// A workspace with a policy is backed up only for a principal
		// whose roles export the workspace.
		for _, r := range regs {
			w := &Workspace{crm: c, info: WorkspaceInfo{ID: r.id}, prefix: r.prefix}
			g, err := w.guard(ctx, tx)
			if err == nil {
				err = g.check("workspace", ActionExport)
			}
			if err != nil {
				return fmt.Errorf("crm: back up workspace %s: %w", r.id, err)
			}
		}
		hdr := BackupHeader{Format: backupVersion, CreatedAt: c.now(), Whole: len(opts.Workspaces) == 0}
		for _, r := range regs {
			hdr.Workspaces = append(hdr.Workspaces, r.id)
		}
		if err := fw.write(append([]byte(backupMagic), 0, backupVersion)); err != nil {
			return err
		}
		hb, err := json.Marshal(&hdr)
		if err != nil {
			return err
		}
		if err := fw.frame(frameHeader, hb); err != nil {
			return err
		}
		for _, r := range regs {
			n, err := backupWorkspace(tx, fw, r, func(keys int64) {
				if opts.Progress != nil {
					opts.Progress(st.Keys+keys, fw.n)
				}
			})
			if err != nil {
				return err
			}
			st.Workspaces++
			st.Keys += n + 1
		}
		var tr []byte
		tr = binary.AppendUvarint(tr, uint64(st.Workspaces))
		tr = binary.AppendUvarint(tr, uint64(st.Keys))
		return fw.frame(frameTrailer, tr)
	})
	if err == nil {
		err = bw.Flush()
	}
	st.Bytes = fw.n
	if err != nil {
		return st, fmt.Errorf("crm: backup: %w", err)
	}
	return st, nil
}

type registration struct {
	id     string
	value  []byte
	prefix key
}

func newRegistration(value []byte) (registration, error) {
	var e wsEntry
	if err := decode(value, &e); err != nil {
		return registration{}, err
	}
	return registration{e.ID, slices.Clone(value), prefixOf(e.Space, e.ID)}, nil
}

// backupTargets returns the registry entries of the named workspaces, or
// of all of them, in ID order.
func backupTargets(tx store.Reader, ids []string) ([]registration, error) {
	var regs []registration
	if len(ids) == 0 {
		for e, err := range tx.Scan(store.Range{Prefix: key{nsGlobal, 'w'}}) {
			if err != nil {
				return nil, err
			}
			reg, err := newRegistration(e.Value)
			if err != nil {
				return nil, err
			}
			regs = append(regs, reg)
		}
		return regs, nil
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for _, id := range ids {
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
		reg, err := newRegistration(b)
		if err != nil {
			return nil, err
		}
		regs = append(regs, reg)
	}
	return regs, nil
}

// backupWorkspace writes one workspace's frames and returns its number of
// keys, the registry entry not counted.
func backupWorkspace(tx store.Reader, fw *frameWriter, r registration, progress func(keys int64)) (int64, error) {
	var p []byte
	p = binary.AppendUvarint(p, uint64(len(r.id)))
	p = append(p, r.id...)
	p = binary.AppendUvarint(p, uint64(len(r.value)))
	p = append(p, r.value...)
	if err := fw.frame(frameWorkspace, p); err != nil {
		return 0, err
	}
	prefix := r.prefix
	sum := sha256.New()
	var (
		block   []byte
		payload []byte
		count   uint64
		total   int64
	)
	flush := func() error {
		if count == 0 {
			return nil
		}
		payload = binary.AppendUvarint(payload[:0], count)
		payload = append(payload, block...)
		sum.Write(payload)
		if err := fw.frame(frameBlock, payload); err != nil {
			return err
		}
		total += int64(count)
		block, count = block[:0], 0
		progress(total)
		return nil
	}
	for e, err := range tx.Scan(store.Range{Prefix: prefix}) {
		if err != nil {
			return 0, err
		}
		rel := e.Key[len(prefix):]
		block = binary.AppendUvarint(block, uint64(len(rel)))
		block = append(block, rel...)
		block = binary.AppendUvarint(block, uint64(len(e.Value)))
		block = append(block, e.Value...)
		count++
		if len(block) >= blockTarget {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	end := binary.AppendUvarint(nil, uint64(total))
	return total, fw.frame(frameEnd, sum.Sum(end))
}

// RestoreOptions adjusts Restore.
type RestoreOptions struct {
	// Workspaces restores only these of the file's workspaces. Empty
	// means all of them.
	Workspaces []string
	// Replace lets Restore erase and replace a workspace that exists.
	// Without it such a workspace fails the restore with an error
	// matching ErrWorkspaceExists before anything is written. Replace
	// needs a seekable source (such as an *os.File), so that the whole
	// file is verified before an existing workspace is erased.
	Replace bool
	// Progress, if set, is called after each block restored with the
	// number of keys and bytes read so far.
	Progress func(keys, bytes int64)
}

// Restore writes the workspaces of a backup made by Backup into the CRM's
// store, which may be of another backend than the one backed up.
//
// The rule that keeps a failed restore from leaving half a workspace: a
// workspace's keys are written (with store.Batch, in as many transactions
// as needed) while it is not registered, so no handle can read or write
// it, and its registry entry is written last, in one transaction, only
// after the workspace's checksums and counts have been verified. That
// write is the commit point. If anything fails before it, the keys written
// so far are removed again and the error is returned. A source that is an
// io.Seeker (a file) is also verified whole before anything is written, so
// a corrupt, truncated or newer-format file writes nothing at all; a plain
// stream is verified as it is read, so the workspaces restored before the
// damaged one stay restored.
//
// Errors: a *BackupError (matching ErrBackupCorrupt, ErrBackupTruncated
// or ErrBackupVersion) for a bad file; ErrWorkspaceExists for a workspace
// that exists without Replace; ErrNotFound for an entry of
// opts.Workspaces that the file does not hold.
func (c *CRM) Restore(ctx context.Context, r io.Reader, opts RestoreOptions) (BackupStats, error) {
	if p, ok := PrincipalOf(ctx); ok && !p.system {
		return BackupStats{}, &ForbiddenError{Principal: p.ID, Action: ActionCreate, Kind: KindWorkspace, Reason: "restoring replaces whole workspaces: only host code without a principal or acting as System may"}
	}
	if opts.Replace {
		if _, ok := r.(io.Seeker); !ok {
			return BackupStats{}, &ValidationError{Kind: "restore", Fields: []FieldError{{"replace", "needs a seekable source (a file), so the backup is verified before the workspace is erased"}}}
		}
	}
	if s, ok := r.(io.Seeker); ok {
		at, err := s.Seek(0, io.SeekCurrent)
		if err != nil {
			return BackupStats{}, fmt.Errorf("crm: restore: %w", err)
		}
		if _, _, err := VerifyBackup(r); err != nil {
			return BackupStats{}, err
		}
		if _, err := s.Seek(at, io.SeekStart); err != nil {
			return BackupStats{}, fmt.Errorf("crm: restore: %w", err)
		}
	}
	rv := &restorer{ctx: ctx, c: c, opts: opts}
	_, st, err := readBackup(r, rv, func(keys, bytes int64) {
		if opts.Progress != nil {
			opts.Progress(keys, bytes)
		}
	})
	if err != nil {
		if rv.current != "" {
			// The partial workspace's space is queued for purging; the
			// purge must run even if ctx was what stopped the restore.
			if _, cerr := c.purge(context.WithoutCancel(ctx)); cerr != nil {
				err = errors.Join(err, fmt.Errorf("removing the partial workspace %s: %w", rv.current, cerr))
			}
		}
		var be *BackupError
		if !errors.As(err, &be) {
			err = fmt.Errorf("crm: restore: %w", err)
		}
		return BackupStats{Workspaces: rv.restored, Keys: rv.keys, Bytes: st.Bytes}, err
	}
	return BackupStats{Workspaces: rv.restored, Keys: rv.keys, Bytes: st.Bytes}, nil
}

// restorer writes a backup's workspaces as readBackup hands them over.
type restorer struct {
	ctx      context.Context
	c        *CRM
	opts     RestoreOptions
	wanted   map[string]bool
	current  string   // workspace being written, "" when skipping
	entry    *wsEntry // its registry entry, in the space it is written to
	upgrade  bool     // the backup holds the layout before key spaces
	restored int
	keys     int64
}

// header checks, before anything is written, that every workspace to
// restore is in the file and may be written.
func (rv *restorer) header(h *BackupHeader) error {
	rv.wanted = map[string]bool{}
	for _, id := range h.Workspaces {
		rv.wanted[id] = len(rv.opts.Workspaces) == 0
	}
	for _, id := range rv.opts.Workspaces {
		if _, ok := rv.wanted[id]; !ok {
			return fmt.Errorf("workspace %s is not in the backup: %w", id, ErrNotFound)
		}
		rv.wanted[id] = true
	}
	return rv.c.st.View(rv.ctx, func(tx store.Tx) error {
		for id, want := range rv.wanted {
			if !want || rv.opts.Replace {
				continue
			}
			if _, err := tx.Get(workspaceRegistryKey(id)); err == nil {
				return fmt.Errorf("workspace %s: %w", id, ErrWorkspaceExists)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
}

func (rv *restorer) workspace(id string, registry []byte) error {
	if !rv.wanted[id] {
		return nil
	}
	e := new(wsEntry)
	if err := decode(registry, e); err != nil {
		return err
	}
	// A backup of the layout before key spaces holds entries of that
	// layout.
	rv.upgrade = e.Space == 0
	// The workspace is written into a key space of its own, queued for
	// purging until end switches the registry to it: a restore that fails
	// or is interrupted leaves nothing visible, and its keys are purged.
	err := rv.c.st.Update(rv.ctx, func(tx store.Tx) error {
		space, err := allocSpace(tx)
		if err != nil {
			return err
		}
		e.ID, e.Space, e.Migrating = id, space, 0
		return tx.Set(purgeKey(space, id), nil)
	})
	if err != nil {
		return err
	}
	rv.current, rv.entry = id, e
	return nil
}

func (rv *restorer) block(keys, values [][]byte) error {
	if rv.current == "" {
		return nil
	}
	prefix := spacePrefix(rv.entry.Space)
	full := make([]byte, 0, store.MaxKeySize)
	err := rv.c.st.Batch(rv.ctx, func(w store.Writer) error {
		for i, k := range keys {
			v := values[i]
			if rv.upgrade {
				k, v = upgradeKey(k, v)
			}
			full = append(append(full[:0], prefix...), k...)
			if err := w.Set(full, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	rv.keys += int64(len(keys))
	return nil
}

// end commits the workspace: in one transaction it registers the restored
// key space and, with Replace, unregisters the workspace it replaces
// (whose space is then purged).
func (rv *restorer) end() error {
	if rv.current == "" {
		return nil
	}
	id := rv.current
	err := rv.c.st.Update(rv.ctx, func(tx store.Tx) error {
		old, err := readEntry(tx, id)
		switch {
		case err == nil && !rv.opts.Replace:
			return fmt.Errorf("workspace %s was created meanwhile: %w", id, ErrWorkspaceExists)
		case err == nil:
			if err := unregister(tx, old); err != nil {
				return err
			}
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if err := tx.Delete(purgeKey(rv.entry.Space, id)); err != nil {
			return err
		}
		return writeEntry(tx, rv.entry)
	})
	if err != nil {
		return err
	}
	rv.c.handles.Delete(id)
	rv.current, rv.entry = "", nil
	rv.restored++
	rv.keys++
	rv.c.notify()
	if rv.opts.Replace {
		if _, err := rv.c.purge(rv.ctx); err != nil {
			return err
		}
	}
	return nil
}
