package crm_test

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/teststore"
)

// The tests in this file run several CRM instances over one PostgreSQL
// schema, each through a store of its own (its own connection pool), the way
// several application processes share one database: in one test process,
// and in two processes. They run whenever CRMKIT_TEST_POSTGRES names a
// server, whatever CRMKIT_TEST_STORE selects.

// multiWorkspace is the workspace the multi-instance tests share.
const multiWorkspace = "shared"

// instances opens n CRMs, each over its own store on sh.
func instances(t *testing.T, sh teststore.Shared, n int, opts ...crm.Option) []*crm.CRM {
	t.Helper()
	out := make([]*crm.CRM, n)
	for i := range out {
		out[i] = crm.New(sh.Open(t), opts...)
	}
	return out
}

// counters are the records the writers increment: a deal's amount and a
// contact's title, which holds a decimal counter.
type counters struct {
	DealID    string `json:"deal_id"`
	ContactID string `json:"contact_id"`
}

// createCounters creates the deal and the contact at zero.
func createCounters(t *testing.T, ws *crm.Workspace) counters {
	t.Helper()
	ctx := context.Background()
	d, err := ws.Deals().Create(ctx, crm.Deal{Name: "Shared deal", Amount: crm.Money{Currency: "USD"}})
	require.NoError(t, err)
	c, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Shared", Title: "0"})
	require.NoError(t, err)
	return counters{DealID: d.ID, ContactID: c.ID}
}

// tally counts what increment acknowledged.
type tally struct {
	Deal     int64 `json:"deal"`
	Contact  int64 `json:"contact"`
	Conflict int64 `json:"conflict"` // writes that ran out of CRM retries and were run again
}

// increment runs workers goroutines that each add one to the deal's amount
// and to the contact's counter n times, as read-modify-write updates. A
// write that returns ErrConflict (the CRM ran out of retries) was not
// acknowledged and is run again; any other error stops the run.
func increment(ctx context.Context, ws *crm.Workspace, ids counters, workers, n int) (tally, error) {
	var deal, contact, conflicts atomic.Int64
	retry := func(fn func() error) error {
		for {
			err := fn()
			if !errors.Is(err, crm.ErrConflict) {
				return err
			}
			conflicts.Add(1)
		}
	}
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range n {
				err := retry(func() error {
					_, err := ws.Deals().Update(ctx, ids.DealID, func(d *crm.Deal) error { d.Amount.Amount++; return nil })
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				deal.Add(1)
				err = retry(func() error {
					_, err := ws.Contacts().Update(ctx, ids.ContactID, func(c *crm.Contact) error {
						v, err := strconv.Atoi(c.Title)
						if err != nil {
							return err
						}
						c.Title = strconv.Itoa(v + 1)
						return nil
					})
					return err
				})
				if err != nil {
					errs <- err
					return
				}
				contact.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return tally{Deal: deal.Load(), Contact: contact.Load(), Conflict: conflicts.Load()}, <-errs
}

// assertCounters checks that the records hold exactly the acknowledged
// increments, and that the outbox holds one update event per increment,
// numbered without gaps.
func assertCounters(t *testing.T, ws *crm.Workspace, ids counters, deal, contact int64) {
	t.Helper()
	ctx := context.Background()
	d, err := ws.Deals().Get(ctx, ids.DealID)
	require.NoError(t, err)
	assert.Equal(t, deal, d.Amount.Amount, "every acknowledged deal increment survives")
	assert.Equal(t, deal+1, d.Version)
	c, err := ws.Contacts().Get(ctx, ids.ContactID)
	require.NoError(t, err)
	assert.Equal(t, strconv.FormatInt(contact, 10), c.Title, "every acknowledged contact increment survives")
	assert.Equal(t, contact+1, c.Version)

	updates := map[string]int64{}
	var seq uint64
	for ev, err := range ws.Changes(ctx, 0) {
		require.NoError(t, err)
		require.Equal(t, seq+1, ev.Seq, "outbox sequence without gaps or repeats")
		seq = ev.Seq
		if ev.Type == crm.DealUpdated || ev.Type == crm.ContactUpdated {
			updates[ev.RecordID]++
		}
	}
	assert.Equal(t, deal, updates[ids.DealID], "one event per deal increment")
	assert.Equal(t, contact, updates[ids.ContactID], "one event per contact increment")
}

// TestMultiInstanceNoLostUpdates has two CRM instances, each with four
// goroutines, increment the same deal and contact concurrently.
func TestMultiInstanceNoLostUpdates(t *testing.T) {
	sh := teststore.SharedPostgres(t)
	ctx := context.Background()
	crms := instances(t, sh, 2)
	ws, err := crms[0].CreateWorkspace(ctx, crm.WorkspaceInfo{ID: multiWorkspace})
	require.NoError(t, err)
	ids := createCounters(t, ws)

	const workers, n = 4, 25
	results := make([]tally, len(crms))
	errs := make([]error, len(crms))
	var wg sync.WaitGroup
	for i, c := range crms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := c.Workspace(ctx, multiWorkspace)
			if err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = increment(ctx, w, ids, workers, n)
		}()
	}
	wg.Wait()
	var deal, contact int64
	for i := range crms {
		require.NoError(t, errs[i], "instance %d", i)
		assert.Equal(t, int64(workers*n), results[i].Deal, "instance %d", i)
		deal += results[i].Deal
		contact += results[i].Contact
		t.Logf("instance %d: %d writes ran out of CRM retries and were run again", i, results[i].Conflict)
	}
	assertCounters(t, ws, ids, deal, contact)
}

// delivery is one event handed to a consumer, and who handed it.
type delivery struct {
	By       string `json:"by"`
	Seq      uint64 `json:"seq"`
	RecordID string `json:"record_id"`
	Type     string `json:"type"`
}

// deliveries collects what consumers were handed, safely across
// goroutines.
type deliveries struct {
	mu  sync.Mutex
	all []delivery
}

// consumer returns a consumer that records each event as handed by by.
func (d *deliveries) consumer(by string) crm.Consumer {
	return func(_ context.Context, events []crm.Event) error {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, ev := range events {
			d.all = append(d.all, delivery{By: by, Seq: ev.Seq, RecordID: ev.RecordID, Type: string(ev.Type)})
		}
		return nil
	}
}

func (d *deliveries) snapshot() []delivery {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.all)
}

// assertExactlyOnce checks that got holds each event 1..head exactly once,
// in outbox order, so each record's events come in commit order.
func assertExactlyOnce(t *testing.T, ws *crm.Workspace, got []delivery, head uint64) {
	t.Helper()
	require.Len(t, got, int(head), "one delivery per event")
	byRecord := map[string][]uint64{}
	for i, d := range got {
		require.Equal(t, uint64(i+1), d.Seq, "delivery %d: each event once, in outbox order", i)
		byRecord[d.RecordID] = append(byRecord[d.RecordID], d.Seq)
	}
	// The outbox order is the commit order of each record's changes.
	want := map[string][]uint64{}
	for ev, err := range ws.Changes(context.Background(), 0) {
		require.NoError(t, err)
		want[ev.RecordID] = append(want[ev.RecordID], ev.Seq)
	}
	assert.Equal(t, want, byRecord)
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out waiting for %s", what)
		time.Sleep(5 * time.Millisecond)
	}
}

// writeContacts creates n contacts through ws and updates each twice.
func writeContacts(ctx context.Context, ws *crm.Workspace, n int) error {
	for i := range n {
		c, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: fmt.Sprint("c", i)})
		if err != nil {
			return err
		}
		for round := range 2 {
			if _, err := ws.Contacts().Update(ctx, c.ID, func(c *crm.Contact) error {
				c.Title = fmt.Sprint("t", round)
				return nil
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestMultiInstanceOutboxOnce runs a Dispatcher with the same consumer in
// each of two CRM instances while both write: the lease makes one of them
// deliver, each event exactly once, in order. When that one stops and its
// lease expires, the other takes over from the stored cursor, again without
// repeats or gaps.
func TestMultiInstanceOutboxOnce(t *testing.T) {
	sh := teststore.SharedPostgres(t)
	ctx := context.Background()
	clk := newClock() // shared, so both see the lease expire at once
	crms := instances(t, sh, 2, crm.WithClock(clk.Now))
	ws, err := crms[0].CreateWorkspace(ctx, crm.WorkspaceInfo{ID: multiWorkspace})
	require.NoError(t, err)
	handles := []*crm.Workspace{ws, nil}
	handles[1], err = crms[1].Workspace(ctx, multiWorkspace)
	require.NoError(t, err)

	const ttl = time.Minute
	var got deliveries
	names := []string{"a", "b"}
	stops := make([]context.CancelFunc, 2)
	stopped := make([]chan error, 2)
	for i, c := range crms {
		d := c.NewDispatcher(crm.WithLease(names[i], ttl), crm.WithPollInterval(10*time.Millisecond), crm.WithBatchSize(7))
		require.NoError(t, d.Subscribe("sync", got.consumer(names[i])))
		runCtx, cancel := context.WithCancel(ctx)
		stops[i], stopped[i] = cancel, make(chan error, 1)
		go func() { stopped[i] <- d.Run(runCtx) }()
	}
	defer func() {
		for i := range stops {
			stops[i]()
		}
	}()

	// Both instances write while both dispatchers run.
	write := func(n int) {
		t.Helper()
		errs := make(chan error, 4)
		for _, h := range handles {
			for range 2 {
				go func() { errs <- writeContacts(ctx, h, n) }()
			}
		}
		for range 4 {
			require.NoError(t, <-errs)
		}
	}
	base, err := ws.OutboxHead(ctx) // the workspace's own events
	require.NoError(t, err)
	write(5)
	head, err := ws.OutboxHead(ctx)
	require.NoError(t, err)
	require.Equal(t, base+4*5*3, head)
	waitFor(t, 30*time.Second, "the first events' delivery", func() bool { return len(got.snapshot()) >= int(head) })
	first := got.snapshot()
	assertExactlyOnce(t, ws, first, head)
	holder := first[0].By
	for _, d := range first {
		require.Equal(t, holder, d.By, "one dispatcher holds the consumer's lease")
	}

	// The holder stops (idle: everything is delivered) and its lease
	// expires; the other one resumes from the cursor.
	h := slices.Index(names, holder)
	stops[h]()
	require.ErrorIs(t, <-stopped[h], context.Canceled)
	clk.Advance(ttl + time.Second)
	write(3)
	head, err = ws.OutboxHead(ctx)
	require.NoError(t, err)
	require.Equal(t, base+4*8*3, head)
	waitFor(t, 30*time.Second, "the takeover's delivery", func() bool { return len(got.snapshot()) >= int(head) })
	all := got.snapshot()
	assertExactlyOnce(t, ws, all, head)
	for _, d := range all[len(first):] {
		assert.NotEqual(t, holder, d.By, "the other dispatcher took over")
	}
}

// watchPoll is how often Watch polls in the latency test.
const watchPoll = 50 * time.Millisecond

// TestMultiInstanceWatch has one instance watch the change feed while the
// other writes: every event arrives, in order, within the poll interval plus
// one read of the feed. The test logs the latencies it measured; it fails
// only past a limit far above them, so a slow machine does not fail it.
func TestMultiInstanceWatch(t *testing.T) {
	sh := teststore.SharedPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	crms := instances(t, sh, 2)
	writer, err := crms[0].CreateWorkspace(ctx, crm.WorkspaceInfo{ID: multiWorkspace})
	require.NoError(t, err)
	watcher, err := crms[1].Workspace(ctx, multiWorkspace)
	require.NoError(t, err)

	base, err := writer.OutboxHead(ctx) // the workspace's own events
	require.NoError(t, err)
	type sighting struct {
		ev crm.Event
		at time.Time
	}
	const n = 20
	seen := make(chan sighting, n)
	go func() {
		for ev, err := range watcher.Watch(ctx, base, watchPoll) {
			if err != nil {
				return
			}
			seen <- sighting{ev, time.Now()}
		}
	}()
	var latencies []time.Duration
	for i := range n {
		c, err := writer.Contacts().Create(ctx, crm.Contact{FirstName: fmt.Sprint("w", i)})
		require.NoError(t, err)
		committed := time.Now()
		select {
		case s := <-seen:
			latencies = append(latencies, max(0, s.at.Sub(committed)))
			assert.Equal(t, c.ID, s.ev.RecordID)
			assert.Equal(t, base+uint64(i)+1, s.ev.Seq)
		case <-time.After(watchPoll + 10*time.Second):
			t.Fatalf("event %d not seen by the other instance", i+1)
		}
		// Spread the writes over the poll cycle.
		time.Sleep(time.Duration(i%5) * watchPoll / 5)
	}
	slices.Sort(latencies)
	t.Logf("poll %v: latency median %v, max %v", watchPoll, latencies[n/2], latencies[n-1])
}

// --- Two processes --------------------------------------------------------

// twoProcChild, when set, makes TestMultiInstanceTwoProcesses act as the
// child process; it holds the childConfig as JSON.
const twoProcChild = "CRMKIT_TEST_MULTI_CHILD"

// leaseTTL is how long the dispatchers of the two-process test hold the
// consumer's lease without renewing it: the child's takeover waits that
// long.
const leaseTTL = 2 * time.Second

// childReady starts the line the child prints when its writes are done,
// followed by its tally as JSON.
const childReady = "multi-instance child done "

// childConfig is what the parent hands the child.
type childConfig struct {
	Shared  teststore.Shared `json:"shared"`
	IDs     counters         `json:"ids"`
	Workers int              `json:"workers"`
	N       int              `json:"n"`
	Out     string           `json:"out"` // file for the child's deliveries
}

// TestMultiInstanceTwoProcesses runs the increments, the dispatchers and a
// change-feed watch in two processes (this one and a child running the
// same test binary) over one PostgreSQL schema: every acknowledged increment
// survives; each event is delivered once in total, in order, first by this
// process's dispatcher and then, once it stops and its lease expires, by the
// child's; and this process's feed sees every change the child made.
func TestMultiInstanceTwoProcesses(t *testing.T) {
	if cfg := os.Getenv(twoProcChild); cfg != "" {
		runTwoProcChild(t, cfg)
		return
	}
	sh := teststore.SharedPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := crm.New(sh.Open(t))
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: multiWorkspace})
	require.NoError(t, err)
	ids := createCounters(t, ws)

	// The feed, from the start: count the child's changes.
	var fromChild atomic.Int64
	go func() {
		for ev, err := range ws.Watch(ctx, 0, 20*time.Millisecond) {
			if err != nil {
				return
			}
			if ev.Source == "child" {
				fromChild.Add(1)
			}
		}
	}()

	// This process's dispatcher claims the consumer's lease before the
	// child starts.
	var got deliveries
	d := c.NewDispatcher(crm.WithLease("parent", leaseTTL), crm.WithBatchSize(16))
	require.NoError(t, d.Subscribe("sync", got.consumer("parent")))
	_, err = d.Drain(ctx)
	require.NoError(t, err)

	const workers, n = 3, 10
	cfg := childConfig{Shared: sh, IDs: ids, Workers: workers, N: n, Out: filepath.Join(t.TempDir(), "deliveries.json")}
	raw, err := json.Marshal(cfg)
	require.NoError(t, err)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMultiInstanceTwoProcesses$", "-test.count=1")
	cmd.Env = append(os.Environ(), twoProcChild+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	childDone := make(chan tally, 1)
	childOutput := make(chan string, 1)
	go func() {
		var rest strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), childReady); ok {
				var tl tally
				if json.Unmarshal([]byte(line), &tl) == nil {
					childDone <- tl
				}
				continue
			}
			rest.WriteString(sc.Text() + "\n")
		}
		childOutput <- rest.String()
	}()

	var stopDraining atomic.Bool
	drained := make(chan error, 1)
	go func() {
		for !stopDraining.Load() {
			if _, err := d.Drain(ctx); err != nil {
				drained <- err
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		drained <- nil
	}()
	first, err := increment(ctx, ws, ids, workers, n/2)
	require.NoError(t, err)
	stopDraining.Store(true)
	require.NoError(t, <-drained)
	second, err := increment(ctx, ws, ids, workers, n-n/2)
	require.NoError(t, err)
	mine := tally{Deal: first.Deal + second.Deal, Contact: first.Contact + second.Contact}
	var theirs tally
	select {
	case theirs = <-childDone:
	case out := <-childOutput:
		t.Fatalf("the child ended before finishing its writes:\n%s", out)
	case <-ctx.Done():
		t.Fatal("the child did not finish its writes in time")
	}
	head, err := ws.OutboxHead(ctx)
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "delivery of every event", func() bool {
		cur, err := d.Cursor(ctx, multiWorkspace, "sync")
		return err == nil && cur == head
	})
	require.NoError(t, stdin.Close()) // tells the child to stop
	out := <-childOutput
	require.NoError(t, cmd.Wait(), "child output:\n%s", out)

	b, err := os.ReadFile(cfg.Out)
	require.NoError(t, err)
	var childGot []delivery
	require.NoError(t, json.Unmarshal(b, &childGot))
	mineGot := got.snapshot()
	require.NotEmpty(t, mineGot, "this process delivered first")
	require.NotEmpty(t, childGot, "the child took over")
	bySeq := func(a, b delivery) int { return cmp.Compare(a.Seq, b.Seq) }
	assert.True(t, slices.IsSortedFunc(mineGot, bySeq), "this process delivered in order")
	assert.True(t, slices.IsSortedFunc(childGot, bySeq), "the child delivered in order")
	assert.Less(t, mineGot[len(mineGot)-1].Seq, childGot[0].Seq, "the child went on where this process stopped")
	all := append(mineGot, childGot...)
	assertExactlyOnce(t, ws, all, head)
	t.Logf("this process delivered %d events, the child %d", len(mineGot), len(childGot))

	assert.Equal(t, int64(workers*n), theirs.Deal)
	assertCounters(t, ws, ids, mine.Deal+theirs.Deal, mine.Contact+theirs.Contact)
	waitFor(t, 10*time.Second, "the feed to see the child's changes", func() bool {
		return fromChild.Load() == theirs.Deal+theirs.Contact
	})
}

// runTwoProcChild is the child's side: increment with the child's source,
// run a dispatcher beside the parent's until stdin closes, and write what
// its consumer was handed to the configured file.
func runTwoProcChild(t *testing.T, raw string) {
	var cfg childConfig
	require.NoError(t, json.Unmarshal([]byte(raw), &cfg))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := crm.New(cfg.Shared.Open(t))
	ws, err := c.Workspace(ctx, multiWorkspace)
	require.NoError(t, err)

	var got deliveries
	d := c.NewDispatcher(crm.WithLease("child", leaseTTL), crm.WithPollInterval(10*time.Millisecond), crm.WithBatchSize(16))
	require.NoError(t, d.Subscribe("sync", got.consumer("child")))
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	runDone := make(chan error, 1)
	go func() { runDone <- d.Run(runCtx) }()

	tl, err := increment(crm.WithSource(ctx, "child"), ws, cfg.IDs, cfg.Workers, cfg.N)
	require.NoError(t, err)
	line, err := json.Marshal(tl)
	require.NoError(t, err)
	fmt.Println(childReady + string(line))

	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it
	stopRun()
	require.ErrorIs(t, <-runDone, context.Canceled)
	b, err := json.Marshal(got.snapshot())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg.Out, b, 0o600))
}
