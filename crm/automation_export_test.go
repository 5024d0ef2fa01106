package crm

import (
	"context"
	"testing"

	"github.com/crmkit/crmkit/store"
)

// DeliverWithoutAck hands the automation's pending events of a workspace
// to its rules without moving its cursor, as if the process died after
// the rules ran and before the delivery was acknowledged: the next Step
// delivers them again.
func DeliverWithoutAck(t testing.TB, a *Automation, ws string) int {
	t.Helper()
	ctx := context.Background()
	w, err := a.handle(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	_, batch, err := a.d.pending(ctx, w, automationConsumer)
	if err == nil {
		err = a.consume(ctx, batch)
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(batch)
}

// AutomationKeys returns every key and value automation keeps in a
// workspace, concatenated per entry.
func AutomationKeys(t testing.TB, c *CRM, ws string) [][]byte {
	t.Helper()
	w, err := c.Workspace(context.Background(), ws)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	err = c.st.View(context.Background(), func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{Prefix: w.k(automationTag)}) {
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
