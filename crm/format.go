package crm

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// The workspace format says which of the layout changes within a key
// space a workspace's keys have been through (wsEntry.Format). Creating a
// workspace writes the current format; opening one of an older format
// upgrades it in place, in one transaction, first.
//
//	0  reports' quotas and forecast snapshots under workspace metadata
//	1  they live in the Space "report" of package crm/report
//	2  contacts, companies and deals have search index entries
//	3  deals have entries in the conversion aggregate (deal_conversion.go)
//	4  live contacts, companies and deals have column projections (columns.go)
//	5  open deals by stage entry are counted, under "conv.since" (was "conv.open")
const workspaceFormat = 5

// Where format 0 kept the state of crm/report, and where it is now: the
// space and keys crm/report reads.
const (
	reportSpace       = "report"
	reportQuotasKey   = "quotas"
	reportSnapshotKey = "snapshot/" // + snapshot ID
)

// upgradeFormat brings workspace id to the current format, if it is not
// there yet, and returns its entry.
func (c *CRM) upgradeFormat(ctx context.Context, e *wsEntry) (*wsEntry, error) {
	if e.Format >= workspaceFormat {
		return e, nil
	}
	if e.Format >= 1 {
		return c.upgradeFrom1(ctx, e)
	}
	out, err := c.setFormat(ctx, e, 1, func(tx store.Tx, w *Workspace) error {
		space := w.k(tagSpace).str(reportSpace)
		meta := w.k(tagMeta)
		moves := map[string][]byte{}
		switch _, err := tx.Get(meta.str("quotas")); {
		case err == nil:
			moves[string(meta.str("quotas"))] = append(append(key(nil), space...), reportQuotasKey...)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		snaps := meta.str("snapshot")
		for e, err := range tx.Scan(store.Range{Prefix: snaps, KeysOnly: true}) {
			if err != nil {
				return err
			}
			r := tuple.NewReader(e.Key[len(snaps):])
			id := r.Str()
			if r.Err() != nil {
				return r.Err()
			}
			moves[string(e.Key)] = append(append(append(key(nil), space...), reportSnapshotKey...), id...)
		}
		for from, to := range moves {
			v, err := tx.Get([]byte(from))
			if err != nil {
				return err
			}
			if err := tx.Set(to, v); err != nil {
				return err
			}
			if err := tx.Delete([]byte(from)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.log.Info("crm: upgraded a workspace's format", "workspace", e.ID, "format", 1)
	return c.upgradeFrom1(ctx, out)
}

// upgradeFrom1 brings a workspace of format 1 or later to the current
// format by backfilling what each format adds.
func (c *CRM) upgradeFrom1(ctx context.Context, e *wsEntry) (*wsEntry, error) {
	var err error
	if e.Format < 2 {
		e, err = c.backfill(ctx, e, 2, func(tx store.Tx, w *Workspace, kind string) (func(rec any) []indexEntry, error) {
			defs, err := loadFieldDefs(tx, w, kind)
			if err != nil {
				return nil, err
			}
			fields, code := searchable(defs), kindsByName[kind].code
			return func(rec any) []indexEntry { return searchEntries(w, code, MetaOf(rec).ID, rec, fields, nil) }, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if e.Format < 3 {
		e, err = c.backfillDeals(ctx, e, 3, func(w *Workspace, d *Deal) ([]indexEntry, key) {
			return conversionEntries(w, d, nil), nil
		}, nil)
		if err != nil {
			return nil, err
		}
	}
	if e.Format < 4 {
		e, err = c.backfill(ctx, e, 4, func(tx store.Tx, w *Workspace, kind string) (func(rec any) []indexEntry, error) {
			code := kindsByName[kind].code
			return func(rec any) []indexEntry {
				ce, _ := columnEntry(w, code, rec)
				return []indexEntry{ce}
			}, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if e.Format < 5 {
		// The index of open deals by stage entry gains its counters
		// under a new name; the old entries go, each deal's with it,
		// then any the deals no longer account for.
		e, err = c.backfillDeals(ctx, e, 5, func(w *Workspace, d *Deal) ([]indexEntry, key) {
			if d.Status != StatusOpen {
				return nil, nil
			}
			ie, ok := openStayEntry(w, convOpenIndex, d)
			if !ok {
				return nil, nil
			}
			was, _ := openStayEntry(w, convOpenIndexV3, d)
			return []indexEntry{ie}, was.key
		}, func(tx store.Tx, w *Workspace) error {
			return deleteRange(tx, w.indexKey(kindDeal.code, convOpenIndexV3))
		})
	}
	return e, err
}

// backfill brings a workspace to format by writing the entries entries
// returns for each live contact, company and deal, a few hundred records
// per transaction (an interrupted backfill starts over; the entries it
// wrote are the ones it writes again), then the format. A record written
// meanwhile writes its own entries; one the backfill read before a
// concurrent write changed it fails the backfill's transaction with a
// conflict, and the chunk runs again.
func (c *CRM) backfill(ctx context.Context, e *wsEntry, format int, entries func(tx store.Tx, w *Workspace, kind string) (func(rec any) []indexEntry, error)) (*wsEntry, error) {
	w := c.handleOf(e)
	const chunk = 500
	for _, kind := range searchKinds {
		k := kindsByName[kind]
		prefix := w.k(tagRecord).byte(k.code)
		var after key
		for done := false; !done; {
			err := c.st.Update(ctx, func(tx store.Tx) error {
				of, err := entries(tx, w, kind)
				if err != nil {
					return err
				}
				rng := store.Range{Prefix: prefix}
				if after != nil {
					rng.Start = append(slices.Clone(after), 0)
				}
				n := 0
				for kv, err := range tx.Scan(rng) {
					if err != nil {
						return err
					}
					rec, err := k.decode(kv.Value)
					if err != nil {
						return err
					}
					if m := MetaOf(rec); !m.Deleted() {
						for _, ie := range of(rec) {
							if err := tx.Set(ie.key, ie.value); err != nil {
								return err
							}
						}
					}
					if n++; n == chunk {
						after = slices.Clone(kv.Key)
						return nil
					}
				}
				done = true
				return nil
			})
			if errors.Is(err, store.ErrConflict) {
				done = false
				continue
			}
			if err != nil {
				return nil, err
			}
		}
	}
	out, err := c.setFormat(ctx, e, format, nil)
	if err != nil {
		return nil, err
	}
	c.log.Info("crm: upgraded a workspace's format", "workspace", e.ID, "format", format)
	return out, nil
}

// backfillDeals brings a workspace to format by writing the counted
// entries that entries returns for each live deal and adding them to
// their counters, and deleting the key it returns (if not nil), a few
// hundred deals per transaction, then runs finally (if not nil) in the
// transaction that writes the format: format 3 added the conversion
// aggregate, format 5 the counters of open deals by stage entry. An
// entry already there (written by an interrupted backfill, or
// by a concurrent one) is neither written nor counted again, so running
// it twice counts every deal once; a deal written meanwhile conflicts
// with the chunk that read it, and the chunk runs again.
func (c *CRM) backfillDeals(ctx context.Context, e *wsEntry, format int, entries func(w *Workspace, d *Deal) ([]indexEntry, key), finally func(tx store.Tx, w *Workspace) error) (*wsEntry, error) {
	w := c.handleOf(e)
	const chunk = 500
	prefix := w.k(tagRecord).byte(kindDeal.code)
	var after key
	for done := false; !done; {
		var next key
		var n int
		err := c.st.Update(ctx, func(tx store.Tx) error {
			t := &txn{w: w, ctx: ctx, tx: tx}
			rng := store.Range{Prefix: prefix}
			if after != nil {
				rng.Start = append(slices.Clone(after), 0)
			}
			n = 0
			for kv, err := range tx.Scan(rng) {
				if err != nil {
					return err
				}
				var d Deal
				if err := decode(kv.Value, &d); err != nil {
					return err
				}
				if !d.Deleted() {
					add, drop := entries(w, &d)
					if err := backfillEntries(t, add); err != nil {
						return err
					}
					if drop != nil {
						if err := tx.Delete(drop); err != nil {
							return err
						}
					}
				}
				next, n = slices.Clone(kv.Key), n+1
				if n == chunk {
					break
				}
			}
			return t.flushCounts()
		})
		if errors.Is(err, store.ErrConflict) {
			continue // the chunk again
		}
		if err != nil {
			return nil, err
		}
		after, done = next, n < chunk
	}
	out, err := c.setFormat(ctx, e, format, finally)
	if err != nil {
		return nil, err
	}
	c.log.Info("crm: upgraded a workspace's format", "workspace", e.ID, "format", format)
	return out, nil
}

// backfillEntries writes those of entries that are not in the store yet,
// and counts them.
func backfillEntries(t *txn, entries []indexEntry) error {
	for _, ie := range entries {
		switch _, err := t.tx.Get(ie.key); {
		case err == nil:
			continue
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if err := t.tx.Set(ie.key, ie.value); err != nil {
			return err
		}
		if ie.count != nil {
			ie.addTo(t.addCount, 1)
		}
	}
	return nil
}

// setFormat brings workspace e's entry to format, after fn (if not nil)
// has moved its keys in the same transaction, and returns the entry. A
// workspace deleted or re-created meanwhile fails with ErrConflict; one
// already there is left alone.
func (c *CRM) setFormat(ctx context.Context, e *wsEntry, format int, fn func(tx store.Tx, w *Workspace) error) (*wsEntry, error) {
	var out *wsEntry
	err := c.st.Update(ctx, func(tx store.Tx) error {
		cur, err := readEntry(tx, e.ID)
		if err != nil {
			return err
		}
		if cur.Space != e.Space {
			return fmt.Errorf("crm: upgrading workspace %s: %w", e.ID, ErrConflict)
		}
		out = cur
		if cur.Format >= format {
			return nil
		}
		if fn != nil {
			if err := fn(tx, c.handleOf(cur)); err != nil {
				return err
			}
		}
		cur.Format = format
		return writeEntry(tx, cur)
	})
	return out, err
}
