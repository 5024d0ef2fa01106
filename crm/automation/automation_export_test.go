package automation

import (
	"context"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
)

// DeliverWithoutAck hands the automation's pending events of a workspace
// to its rules without moving its cursor, as if the process died after
// the rules ran and before the delivery was acknowledged: the next Step
// delivers them again.
func DeliverWithoutAck(t testing.TB, a *Automation, ws string) int {
	t.Helper()
	ctx := context.Background()
	w, err := a.c.Workspace(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	cursor, err := a.d.Cursor(ctx, ws, automationConsumer)
	if err != nil {
		t.Fatal(err)
	}
	var batch []crm.Event
	for ev, err := range w.Changes(ctx, cursor) {
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, ev)
	}
	if err := a.consume(ctx, batch); err != nil {
		t.Fatal(err)
	}
	return len(batch)
}

// Keys returns every key and value automation keeps in a workspace,
// concatenated per entry.
func Keys(t testing.TB, w *crm.Workspace) [][]byte {
	t.Helper()
	var out [][]byte
	err := w.View(context.Background(), func(rt *crm.ReadTx) error {
		for e, err := range rt.Space(spaceName).Scan(store.Range{}) {
			if err != nil {
				return err
			}
			out = append(out, append(append([]byte(nil), e.Key...), e.Value...))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
