package crm_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a consumer that keeps what it was given.
type recorder struct {
	mu   sync.Mutex
	seen []crm.Event
	fail func(ev crm.Event) error
}

func (r *recorder) consume(ctx context.Context, evs []crm.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range evs {
		if r.fail != nil {
			if err := r.fail(ev); err != nil {
				return err
			}
		}
	}
	r.seen = append(r.seen, evs...)
	return nil
}

func (r *recorder) seqs() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint64
	for _, ev := range r.seen {
		out = append(out, ev.Seq)
	}
	return out
}

func TestDispatcherDeliversAndDeadLetters(t *testing.T) {
	e := setup(t)
	for i := 0; i < 30; i++ {
		_, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: fmt.Sprint("c", i)})
		require.NoError(t, err)
	}
	head, err := e.ws.OutboxHead(e.ctx)
	require.NoError(t, err)

	good := &recorder{}
	poison := &recorder{fail: func(ev crm.Event) error {
		if ev.Seq == 7 {
			return errors.New("cannot handle 7")
		}
		return nil
	}}
	d := e.crm.NewDispatcher(crm.WithBatchSize(8), crm.WithMaxAttempts(3), crm.WithBackoff(time.Millisecond, 4*time.Millisecond))
	require.NoError(t, d.Subscribe("good", good.consume))
	require.NoError(t, d.Subscribe("poison", poison.consume))
	assert.ErrorIs(t, d.Subscribe("good", good.consume), crm.ErrInvalid)

	_, err = d.Drain(e.ctx)
	require.NoError(t, err)
	var want []uint64
	for s := uint64(1); s <= head; s++ {
		want = append(want, s)
	}
	assert.Equal(t, want, good.seqs(), "every event once, in order")
	got := poison.seqs()
	assert.NotContains(t, got, uint64(7))
	assert.Equal(t, head, got[len(got)-1], "delivery goes on past the poison event")

	var dls []crm.DeadLetter
	for dl, err := range d.DeadLetters(e.ctx, "acme", "poison") {
		require.NoError(t, err)
		dls = append(dls, dl)
	}
	require.Len(t, dls, 1)
	assert.Equal(t, uint64(7), dls[0].Event.Seq)
	assert.Contains(t, dls[0].Error, "cannot handle 7")
	assert.Equal(t, int64(1), e.crm.Stats().DeadLetters)

	cur, err := d.Cursor(e.ctx, "acme", "poison")
	require.NoError(t, err)
	assert.Equal(t, head, cur)

	// Replay fails while the consumer still refuses, then succeeds.
	assert.Error(t, d.Replay(e.ctx, "acme", "poison", 7))
	poison.mu.Lock()
	poison.fail = nil
	poison.mu.Unlock()
	require.NoError(t, d.Replay(e.ctx, "acme", "poison", 7))
	for range d.DeadLetters(e.ctx, "acme", "poison") {
		t.Fatal("the replayed event left the dead-letter list")
	}
	assert.ErrorIs(t, d.Replay(e.ctx, "acme", "poison", 7), crm.ErrNotFound)

	// Nothing new: a second drain delivers nothing.
	n, err := d.Drain(e.ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestDispatcherRunWakesOnCommit(t *testing.T) {
	e := setup(t)
	got := make(chan crm.Event, 100)
	d := e.crm.NewDispatcher(crm.WithPollInterval(time.Hour))
	require.NoError(t, d.Subscribe("live", func(ctx context.Context, evs []crm.Event) error {
		for _, ev := range evs {
			got <- ev
		}
		return nil
	}))
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	<-got // the default pipeline
	c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Live"})
	require.NoError(t, err)
	select {
	case ev := <-got:
		assert.Equal(t, c.ID, ev.RecordID)
	case <-time.After(10 * time.Second):
		t.Fatal("the dispatcher did not wake on the commit")
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}

// TestDispatcherCrashResume kills delivery midway (the consumer's context
// is cancelled mid-batch and the store closed without acknowledging),
// reopens the Badger directory and resumes: every event is delivered at
// least once and in order per record.
func TestDispatcherCrashResume(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := badger.Open(dir, badger.WithSyncWrites(false))
	require.NoError(t, err)
	c := crm.New(st)
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "w"})
	require.NoError(t, err)
	var ids []string
	for i := 0; i < 20; i++ {
		co, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: fmt.Sprint("c", i)})
		require.NoError(t, err)
		ids = append(ids, co.ID)
	}
	for round := 0; round < 5; round++ {
		for _, id := range ids {
			_, err := ws.Contacts().Update(ctx, id, func(c *crm.Contact) error { c.Title = fmt.Sprint("t", round); return nil })
			require.NoError(t, err)
		}
	}
	head, err := ws.OutboxHead(ctx)
	require.NoError(t, err)

	var mu sync.Mutex
	var seen []crm.Event
	consume := func(crash func()) crm.Consumer {
		return func(ctx context.Context, evs []crm.Event) error {
			mu.Lock()
			defer mu.Unlock()
			for _, ev := range evs {
				seen = append(seen, ev)
				if crash != nil && len(seen) == 37 {
					crash() // the process dies here: mid-batch, nothing acknowledged
					return ctx.Err()
				}
			}
			return nil
		}
	}
	runCtx, kill := context.WithCancel(ctx)
	// A restarted process that keeps its lease name resumes at once; a new
	// name would wait for the old lease to expire.
	d := c.NewDispatcher(crm.WithBatchSize(16), crm.WithLease("node-1", time.Minute))
	require.NoError(t, d.Subscribe("sink", consume(kill)))
	_, err = d.Drain(runCtx)
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, st.Close())

	st, err = badger.Open(dir, badger.WithSyncWrites(false))
	require.NoError(t, err)
	defer st.Close()
	c = crm.New(st)
	d = c.NewDispatcher(crm.WithBatchSize(16), crm.WithLease("node-1", time.Minute))
	require.NoError(t, d.Subscribe("sink", consume(nil)))
	_, err = d.Drain(ctx)
	require.NoError(t, err)

	delivered := map[uint64]bool{}
	lastVersion := map[string]int64{}
	for _, ev := range seen {
		delivered[ev.Seq] = true
		rec, err := ev.Record()
		require.NoError(t, err)
		var v int64
		switch r := rec.(type) {
		case *crm.Contact:
			v = r.Version
		case *crm.Pipeline:
			v = r.Version
		}
		lastVersion[ev.RecordID] = v
	}
	for s := uint64(1); s <= head; s++ {
		assert.True(t, delivered[s], "event %d delivered", s)
	}
	// Order per record after the resume: the resumed delivery alone is in
	// order and complete from the last acknowledged cursor.
	firstRun := seen[:37]
	resumed := seen[37:]
	assert.Equal(t, uint64(33), resumed[0].Seq, "resumes after the last acknowledged batch (2 x 16)")
	for i := 1; i < len(resumed); i++ {
		assert.Equal(t, resumed[i-1].Seq+1, resumed[i].Seq)
	}
	for i := 1; i < len(firstRun); i++ {
		assert.Equal(t, firstRun[i-1].Seq+1, firstRun[i].Seq)
	}
	for _, id := range ids {
		assert.Equal(t, int64(6), lastVersion[id])
	}
}

func TestDispatcherLease(t *testing.T) {
	e := setup(t)
	a := e.crm.NewDispatcher(crm.WithLease("a", time.Hour))
	b := e.crm.NewDispatcher(crm.WithLease("b", time.Hour))
	ra, rb := &recorder{}, &recorder{}
	require.NoError(t, a.Subscribe("sink", ra.consume))
	require.NoError(t, b.Subscribe("sink", rb.consume))
	_, err := a.Drain(e.ctx)
	require.NoError(t, err)
	_, err = e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "x"})
	require.NoError(t, err)
	_, err = b.Drain(e.ctx)
	require.NoError(t, err)
	assert.Empty(t, rb.seqs(), "b does not deliver while a holds the lease")
	e.clock.Advance(2 * time.Hour)
	_, err = b.Drain(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []uint64{2}, rb.seqs(), "b takes over an expired lease where a stopped")
	assert.Equal(t, []uint64{1}, ra.seqs())
}

func TestDispatcherReleasesLeaseWhenStopped(t *testing.T) {
	e := setup(t)
	a := e.crm.NewDispatcher(crm.WithLease("a", time.Hour), crm.WithPollInterval(10*time.Millisecond))
	ra := &recorder{}
	require.NoError(t, a.Subscribe("sink", ra.consume))
	ctx, stop := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	require.Eventually(t, func() bool { return len(ra.seqs()) == 1 }, 5*time.Second, 5*time.Millisecond)
	stop()
	require.ErrorIs(t, <-done, context.Canceled)

	_, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "x"})
	require.NoError(t, err)
	b := e.crm.NewDispatcher(crm.WithLease("b", time.Hour))
	rb := &recorder{}
	require.NoError(t, b.Subscribe("sink", rb.consume))
	_, err = b.Drain(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []uint64{2}, rb.seqs(), "b takes over at once, without waiting an hour for a's lease")
}

func TestDispatcherAcknowledgesBatchDeliveredAsItStops(t *testing.T) {
	e := setup(t)
	ctx, stop := context.WithCancel(e.ctx)
	d := e.crm.NewDispatcher(crm.WithLease("a", time.Hour))
	var got []uint64
	require.NoError(t, d.Subscribe("sink", func(_ context.Context, evs []crm.Event) error {
		for _, ev := range evs {
			got = append(got, ev.Seq)
		}
		stop() // the host shuts down while the consumer finishes the batch
		return nil
	}))
	_, err := d.Drain(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, []uint64{1}, got)
	cur, err := d.Cursor(e.ctx, e.ws.ID(), "sink")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), cur, "the delivered batch is acknowledged, so it is not delivered again")
}

func TestDispatcherStopsWhenLeaseIsTaken(t *testing.T) {
	e := setup(t)
	a := e.crm.NewDispatcher(crm.WithLease("a", time.Minute), crm.WithBatchSize(1))
	b := e.crm.NewDispatcher(crm.WithLease("b", time.Minute))
	for range 3 {
		_, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "x"})
		require.NoError(t, err)
	}
	rb := &recorder{}
	require.NoError(t, b.Subscribe("sink", rb.consume))
	var ra []uint64
	require.NoError(t, a.Subscribe("sink", func(ctx context.Context, evs []crm.Event) error {
		ra = append(ra, evs[0].Seq)
		if len(ra) == 1 {
			// a stalls past its lease, and b takes the consumer over.
			e.clock.Advance(2 * time.Minute)
			_, err := b.Drain(ctx)
			return err
		}
		return nil
	}))
	_, err := a.Drain(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, []uint64{1}, ra, "a stops once its acknowledgement finds the lease taken")
	assert.Equal(t, []uint64{1, 2, 3, 4}, rb.seqs())
	cur, err := a.Cursor(e.ctx, e.ws.ID(), "sink")
	require.NoError(t, err)
	assert.Equal(t, uint64(4), cur)
}
