package crm_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store/badger"
)

// killChildDir, when set, makes TestDispatcherSurvivesKill act as the child
// process that runs the dispatcher and gets killed.
const killChildDir = "CRMKIT_TEST_DISPATCH_CHILD"

// TestDispatcherSurvivesKill runs a dispatcher in a child process over a
// Badger store with durable commits, kills the process with SIGKILL in the
// middle of delivery, reopens the store in this process and delivers the
// rest. Every event must be delivered at least once, each delivery run in
// order, and the second run must start no later than the first event the
// killed one had not acknowledged.
func TestDispatcherSurvivesKill(t *testing.T) {
	if dir := os.Getenv(killChildDir); dir != "" {
		dispatchUntilKilled(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	ctx := context.Background()
	st, err := badger.Open(filepath.Join(dir, "db"))
	require.NoError(t, err)
	c := crm.New(st)
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "w"})
	require.NoError(t, err)
	var ids []string
	for i := range 30 {
		co, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: fmt.Sprint("c", i)})
		require.NoError(t, err)
		ids = append(ids, co.ID)
	}
	for round := range 4 {
		for _, id := range ids {
			_, err := ws.Contacts().Update(ctx, id, func(c *crm.Contact) error { c.Title = fmt.Sprint("t", round); return nil })
			require.NoError(t, err)
		}
	}
	head, err := ws.OutboxHead(ctx)
	require.NoError(t, err)
	require.NoError(t, st.Close())

	// The child delivers batches of 8 slowly, logging every event it is
	// handed before acknowledging it; it is killed once it has logged 60.
	log := filepath.Join(dir, "delivered")
	cmd := exec.Command(os.Args[0], "-test.run=^TestDispatcherSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildDir+"="+dir)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for len(readDelivered(t, log)) < 60 {
		require.True(t, time.Now().Before(deadline), "the child delivered nothing in time")
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	first := readDelivered(t, log)
	require.Less(t, len(first), int(head), "killed in the middle of delivery")

	st, err = badger.Open(filepath.Join(dir, "db"))
	require.NoError(t, err)
	defer st.Close()
	c = crm.New(st)
	d := c.NewDispatcher(crm.WithBatchSize(8), crm.WithLease("node-1", time.Minute))
	require.NoError(t, d.Subscribe("sink", appendDelivered(log, 0)))
	_, err = d.Drain(ctx)
	require.NoError(t, err)
	all := readDelivered(t, log)
	second := all[len(first):]
	require.NotEmpty(t, second)

	got := map[uint64]bool{}
	for _, s := range all {
		got[s] = true
	}
	for s := uint64(1); s <= head; s++ {
		assert.True(t, got[s], "event %d delivered", s)
	}
	for _, run := range [][]uint64{first, second} {
		for i := 1; i < len(run); i++ {
			require.Equal(t, run[i-1]+1, run[i], "each run delivers in commit order")
		}
	}
	assert.LessOrEqual(t, second[0], first[len(first)-1]+1, "nothing skipped")
	assert.Equal(t, head, second[len(second)-1])
	acked, err := d.Cursor(ctx, "w", "sink")
	require.NoError(t, err)
	assert.Equal(t, head, acked)
}

// dispatchUntilKilled is the child's side: deliver slowly until killed.
func dispatchUntilKilled(t *testing.T, dir string) {
	st, err := badger.Open(filepath.Join(dir, "db"))
	require.NoError(t, err)
	c := crm.New(st)
	d := c.NewDispatcher(crm.WithBatchSize(8), crm.WithLease("node-1", time.Minute))
	require.NoError(t, d.Subscribe("sink", appendDelivered(filepath.Join(dir, "delivered"), 20*time.Millisecond)))
	_, err = d.Drain(context.Background())
	require.NoError(t, err)
	select {} // wait to be killed
}

// appendDelivered returns a consumer that appends the sequence numbers it
// is handed to the file at path, synced, pausing for pause per batch.
func appendDelivered(path string, pause time.Duration) crm.Consumer {
	return func(ctx context.Context, evs []crm.Event) error {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		for _, ev := range evs {
			if _, err := fmt.Fprintln(f, ev.Seq); err != nil {
				return err
			}
			if err := f.Sync(); err != nil {
				return err
			}
			time.Sleep(pause / time.Duration(len(evs)))
		}
		return nil
	}
}

// readDelivered reads the sequence numbers logged by appendDelivered.
func readDelivered(t *testing.T, path string) []uint64 {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var out []uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if n, err := strconv.ParseUint(line, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	return out
}
