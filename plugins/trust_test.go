package plugins_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A plugin that crashes on one event of a batch does not stall delivery:
// the batch is split, the event it crashes on is dead-lettered after its
// attempts, and every other event reaches it, in order.
func TestPoisonEventIsDeadLettered(t *testing.T) {
	ctx := context.Background()
	st, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, c: crm.New(st), out: filepath.Join(t.TempDir(), "events"), logs: &countHandler{}}
	e.ws, err = e.c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme"})
	require.NoError(t, err)
	// Written before the host opens, so the first delivery is one batch
	// (of the default 256 events) with the poison event in its middle.
	const n, poisonAt = 300, 120
	var poison crm.Contact
	for i := range n {
		name := fmt.Sprint("contact ", i)
		if i == poisonAt {
			name = "poison"
		}
		c, err := e.ws.Contacts().Create(ctx, crm.Contact{FirstName: name})
		require.NoError(t, err)
		if i == poisonAt {
			poison = c
		}
	}
	head, err := e.ws.OutboxHead(ctx)
	require.NoError(t, err)
	e.host, err = e.open(plugins.Config{
		Plugins:           []plugins.Spec{spec(t, e.out, "TESTPLUGIN_POISON=poison")},
		MaxRestartBackoff: 100 * time.Millisecond,
		Dispatch:          []crm.DispatcherOption{crm.WithMaxAttempts(3)},
	})
	require.NoError(t, err)
	d, consumer := e.host.Dispatcher("testplugin"), plugins.ConsumerName("testplugin")
	require.Eventually(t, func() bool {
		cur, err := d.Cursor(ctx, "acme", consumer)
		return err == nil && cur == head
	}, 30*time.Second, 20*time.Millisecond, "delivery reaches the last event")

	var dead []crm.DeadLetter
	for dl, err := range d.DeadLetters(ctx, "acme", consumer) {
		require.NoError(t, err)
		dead = append(dead, dl)
	}
	require.Len(t, dead, 1, "only the poison event is dead-lettered")
	assert.Equal(t, poison.ID, dead[0].Event.RecordID)
	assert.Equal(t, 3, dead[0].Attempts)
	assert.GreaterOrEqual(t, e.host.Plugins()[0].Restarts, int64(3), "each attempt crashed the plugin")

	// Every other event reached the plugin, first in order (a batch it
	// crashed on is delivered again: at least once).
	var order []uint64
	seen := map[uint64]bool{}
	for _, l := range e.recorded() {
		f := strings.Fields(l)
		require.Len(t, f, 3, l)
		seq, err := strconv.ParseUint(f[1], 10, 64)
		require.NoError(t, err)
		if !seen[seq] {
			seen[seq] = true
			order = append(order, seq)
		}
	}
	var want []uint64
	for seq := uint64(1); seq <= head; seq++ {
		if seq != dead[0].Event.Seq {
			want = append(want, seq)
		}
	}
	assert.Equal(t, want, order)

	// Delivery goes on.
	_, err = e.ws.Contacts().Create(ctx, crm.Contact{FirstName: "after"})
	require.NoError(t, err)
	e.waitRecorded(fmt.Sprintf("acme %d contact.created", head+1))
}

// A field change naming a field the record does not have, a value its
// field's type refuses, or a value that fails the CRM's validation, is the
// plugin's fault: ErrMalformed naming it, under its failure policy, not
// the write's caller's ErrInvalid.
func TestBadChangeIsThePluginsFault(t *testing.T) {
	for _, policy := range []plugins.Policy{plugins.FailClosed, plugins.FailOpen} {
		t.Run(policy.String(), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, func(out string) []plugins.Spec {
				s := spec(t, out)
				s.Policy = policy
				return []plugins.Spec{s}
			}, plugins.Config{})
			_, err := e.ws.Fields().Define(ctx, crm.FieldDef{Object: crm.KindDeal, Name: "score", Type: crm.FieldNumber})
			require.NoError(t, err)
			for i, tc := range []struct{ name, field string }{
				{"custom-nope", "custom.nope"},
				{"custom-bad-value", "custom.score"},
				{"blank-name", "name"},
				{"negative-amount", "amount.amount"},
			} {
				d, err := e.ws.Deals().Create(ctx, crm.Deal{Name: tc.name, Amount: crm.Money{Amount: 100, Currency: "EUR"}})
				info := e.host.Plugins()[0]
				assert.Equal(t, int64(i+1), info.Failures, tc.name)
				require.ErrorIs(t, info.LastError, plugins.ErrMalformed, tc.name)
				if policy == plugins.FailOpen {
					require.NoError(t, err, tc.name)
					assert.Empty(t, d.Custom, "the write goes through without the change")
					assert.Equal(t, tc.name, d.Name, "the write goes through without the change")
					assert.Equal(t, int64(100), d.Amount.Amount, "the write goes through without the change")
					continue
				}
				require.Error(t, err, tc.name)
				assert.NotErrorIs(t, err, crm.ErrInvalid, tc.name)
				require.ErrorIs(t, err, plugins.ErrMalformed, tc.name)
				require.ErrorIs(t, err, crm.ErrVetoed, tc.name)
				var pe *plugins.Error
				require.ErrorAs(t, err, &pe, tc.name)
				assert.Equal(t, "testplugin", pe.Plugin)
				var ce *plugins.ChangeError
				require.ErrorAs(t, err, &ce, tc.name)
				assert.Equal(t, tc.field, ce.Field)
			}
			want := 0
			if policy == plugins.FailOpen {
				want = 4
			}
			assert.Equal(t, want, dealCount(t, e.ws))
		})
	}
}

// A handler slower than the host's delivery timeout never runs beside an
// attempt the host gave up on: the SDK finishes (or cancels) an abandoned
// attempt before it starts the next, and skips the events the abandoned
// attempt handled, so each event is handled once, in commit order, even
// by a handler that ignores its context.
func TestAbandonedDeliveriesDoNotOverlap(t *testing.T) {
	ctx := context.Background()
	st, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, c: crm.New(st), out: filepath.Join(t.TempDir(), "events"), logs: &countHandler{}}
	e.ws, err = e.c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme"})
	require.NoError(t, err)
	// Written before the host opens, so the first delivery is one batch.
	for i := range 5 {
		_, err := e.ws.Contacts().Create(ctx, crm.Contact{FirstName: fmt.Sprint("contact ", i)})
		require.NoError(t, err)
	}
	head, err := e.ws.OutboxHead(ctx)
	require.NoError(t, err)
	// Each event takes 400ms; the host gives a delivery 250ms.
	e.host, err = e.open(plugins.Config{
		Plugins:  []plugins.Spec{spec(t, e.out, "TESTPLUGIN_SLOW=400ms")},
		Dispatch: []crm.DispatcherOption{crm.WithDeliveryTimeout(250 * time.Millisecond), crm.WithMaxAttempts(1000)},
	})
	require.NoError(t, err)
	d, consumer := e.host.Dispatcher("testplugin"), plugins.ConsumerName("testplugin")
	reached := false
	for deadline := time.Now().Add(20 * time.Second); !reached && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		cur, err := d.Cursor(ctx, "acme", consumer)
		reached = err == nil && cur == head
	}
	// Let any run still going finish.
	time.Sleep(time.Second)

	var running []string
	var handled []uint64
	overlaps := 0
	for _, l := range e.recorded() {
		f := strings.Fields(l)
		require.Len(t, f, 3, l)
		seq, err := strconv.ParseUint(f[2], 10, 64)
		require.NoError(t, err)
		switch f[0] {
		case "start":
			if len(running) > 0 {
				overlaps++
				t.Logf("event %d started while %v ran", seq, running)
			}
			running = append(running, f[2])
			handled = append(handled, seq)
		case "end":
			i := slices.Index(running, f[2])
			require.GreaterOrEqual(t, i, 0, l)
			running = slices.Delete(running, i, i+1)
		}
	}
	assert.Zero(t, overlaps, "handler runs overlapped")
	assert.True(t, reached, "delivery reaches the last event")
	assert.Empty(t, running, "every run ended")
	var want []uint64
	for seq := uint64(1); seq <= head; seq++ {
		want = append(want, seq)
	}
	assert.Equal(t, want, handled, "each event handled once, in commit order")
	assert.Empty(t, func() (dead []crm.DeadLetter) {
		for dl, err := range d.DeadLetters(ctx, "acme", consumer) {
			require.NoError(t, err)
			dead = append(dead, dl)
		}
		return dead
	}(), "nothing dead-lettered")
}
