package crm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/memory"
)

// downgrade runs change in one transaction with setting workspace acme's
// format to format, as a store written by an earlier version holds it.
func downgrade(t *testing.T, ctx context.Context, st store.Store, format int, change func(tx store.Tx) error) {
	t.Helper()
	err := st.Update(ctx, func(tx store.Tx) error {
		if err := change(tx); err != nil {
			return err
		}
		e, err := readEntry(tx, "acme")
		if err != nil {
			return err
		}
		e.Format = format
		return writeEntry(tx, e)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// reopen opens a new CRM over st, as after an upgrade of the program, and
// returns workspace acme, upgraded to the current format on the way.
func reopen(t *testing.T, ctx context.Context, st store.Store, opts ...Option) *Workspace {
	t.Helper()
	c, err := Open(ctx, st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	w, err := c.Workspace(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestFormatUpgradeMovesReportState writes a workspace as format 0 kept
// crm/report's quotas and snapshots, under workspace metadata, and checks
// that opening it moves them into the Space "report" under the names
// crm/report reads, and leaves nothing at the old keys.
func TestFormatUpgradeMovesReportState(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	defer st.Close()
	c := New(st)
	w, err := c.CreateWorkspace(ctx, WorkspaceInfo{ID: "acme", Name: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	type quota struct {
		OwnerID string    `msgpack:"owner_id"`
		From    time.Time `msgpack:"from"`
	}
	type snapshot struct {
		ID string `msgpack:"id"`
	}
	from := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	meta := w.k(tagMeta)
	downgrade(t, ctx, st, 0, func(tx store.Tx) error {
		q, _ := encode([]quota{{OwnerID: "ann", From: from}})
		if err := tx.Set(meta.str("quotas"), q); err != nil {
			return err
		}
		for _, id := range []string{"snp_1", "snp_2"} {
			b, _ := encode(&snapshot{ID: id})
			if err := tx.Set(meta.str("snapshot").str(id), b); err != nil {
				return err
			}
		}
		return nil
	})
	w2 := reopen(t, ctx, st)
	err = w2.View(ctx, func(rt *ReadTx) error {
		s := rt.Space("report")
		b, err := s.Get([]byte("quotas"))
		if err != nil {
			return err
		}
		var qs []quota
		if err := Unmarshal(b, &qs); err != nil {
			return err
		}
		if len(qs) != 1 || qs[0].OwnerID != "ann" || !qs[0].From.Equal(from) {
			t.Errorf("quotas = %+v", qs)
		}
		var ids []string
		for e, err := range s.Scan(store.Range{Prefix: []byte("snapshot/")}) {
			if err != nil {
				return err
			}
			var sn snapshot
			if err := Unmarshal(e.Value, &sn); err != nil {
				return err
			}
			if string(e.Key) != "snapshot/"+sn.ID {
				t.Errorf("snapshot %s at key %q", sn.ID, e.Key)
			}
			ids = append(ids, sn.ID)
		}
		if len(ids) != 2 || ids[0] != "snp_1" || ids[1] != "snp_2" {
			t.Errorf("snapshots = %v", ids)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.View(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{Prefix: meta}) {
			if err != nil {
				return err
			}
			if k := KeyString(e.Key); strings.Contains(k, "quotas") || strings.Contains(k, "snapshot") {
				t.Errorf("old key %s is left", k)
			}
		}
		e, err := readEntry(tx, "acme")
		if err == nil && e.Format != workspaceFormat {
			t.Errorf("format %d after the upgrade", e.Format)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
