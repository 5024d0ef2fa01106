package crm

import (
	"context"
	"testing"
)

// DeliverWithoutAck hands the automation's pending events of a workspace
// to its rules without moving its cursor, as if the process died after
// the rules ran and before the delivery was acknowledged: the next Step
// delivers them again.
func DeliverWithoutAck(t testing.TB, a *Automation, ws string) int {
	t.Helper()
	ctx := context.Background()
	w := a.handle(ws)
	_, batch, err := a.d.pending(ctx, w, automationConsumer)
	if err == nil {
		err = a.consume(ctx, batch)
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(batch)
}
