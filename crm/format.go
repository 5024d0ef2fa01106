package crm

import (
	"context"
	"errors"
	"fmt"

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
const workspaceFormat = 1

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
		if cur.Format >= workspaceFormat {
			return nil
		}
		w := c.handleOf(cur)
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
		cur.Format = workspaceFormat
		return writeEntry(tx, cur)
	})
	if err != nil {
		return nil, err
	}
	c.log.Info("crm: upgraded a workspace's format", "workspace", e.ID, "format", workspaceFormat)
	return out, nil
}
