package crmio_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resumeInput is n contact rows; every 97th has a bad email. It returns
// the input and the lines of the bad rows.
func resumeInput(n int) (string, []int) {
	var b strings.Builder
	b.WriteString("first_name,email\n")
	var bad []int
	for i := 0; i < n; i++ {
		if i%97 == 5 {
			fmt.Fprintf(&b, "Bad%d,bad%d@nowhere\n", i, i)
			bad = append(bad, i+2)
			continue
		}
		fmt.Fprintf(&b, "P%d,p%d@example.com\n", i, i)
	}
	return b.String(), bad
}

// assertExactlyOnce checks that the workspace holds each good row of a
// resumeInput exactly once, and the result accounts for every row.
func assertExactlyOnce(t *testing.T, ws *crm.Workspace, res *crmio.ImportResult, n int, bad []int) {
	t.Helper()
	checkAccounting(t, res)
	seen := map[string]int{}
	for _, c := range contacts(t, ws) {
		seen[c.Emails[0]]++
	}
	assert.Len(t, seen, n-len(bad), "distinct contacts")
	for email, k := range seen {
		if k != 1 {
			t.Errorf("%s exists %d times", email, k)
		}
	}
	assert.Equal(t, n, res.Read)
	assert.Equal(t, n-len(bad), res.Created+res.Updated+res.Skipped)
	var lines []int
	for _, r := range res.Rejects {
		lines = append(lines, r.Line)
	}
	assert.Equal(t, bad, lines, "every bad row is reported once, in order")
}

func TestResumeAfterCancel(t *testing.T) {
	const n = 2500
	in, bad := resumeInput(n)
	onBackends(t, func(t *testing.T, b backend) {
		ws := newWorkspace(t, b.open(t))
		cp := &crmio.FileCheckpoint{Path: filepath.Join(t.TempDir(), "import.checkpoint")}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		batches, stopLine := 0, 0
		opts := crmio.ImportOptions{Object: crmio.ObjectContact, BatchSize: 200, Checkpoint: cp, Progress: func(p crmio.Progress) {
			if batches++; batches == 3 {
				stopLine = p.Line
				cancel()
			}
		}}
		res, err := crmio.Import(ctx, ws, strings.NewReader(in), opts)
		require.ErrorIs(t, err, context.Canceled)
		checkAccounting(t, res)
		assert.Equal(t, 600, res.Read, "three batches")
		assert.Equal(t, res.Created, len(contacts(t, ws)))
		st, err := cp.Load(context.Background())
		require.NoError(t, err)
		assert.Equal(t, stopLine, st.Line)
		assert.False(t, st.Done)
		assert.Len(t, st.Rejects, res.Rejected)

		opts.Progress = nil
		res, err = crmio.Resume(context.Background(), ws, strings.NewReader(in), opts)
		require.NoError(t, err)
		assert.Equal(t, stopLine, res.ResumedAfter)
		assertExactlyOnce(t, ws, res, n, bad)

		// Done: a third run imports nothing and returns the same counts.
		again, err := crmio.Resume(context.Background(), ws, strings.NewReader(in), opts)
		require.NoError(t, err)
		assert.Equal(t, res.Created, again.Created)
		assert.Equal(t, res.Rejects, again.Rejects)
		assert.Equal(t, n-len(bad), len(contacts(t, ws)))
		require.NoError(t, cp.Remove())
		_, err = os.Stat(cp.Path)
		assert.True(t, os.IsNotExist(err))
	})
}

// TestResumeMidBatch cancels the context from an after-hook while a batch
// is being committed, between two of the CRM's transactions: Import must
// checkpoint exactly the rows written.
func TestResumeMidBatch(t *testing.T) {
	const n = 2500
	in, bad := resumeInput(n)
	for _, stopAfter := range []int64{1, 300, 700, 1900} {
		t.Run(fmt.Sprint(stopAfter), func(t *testing.T) {
			c := crm.New(selected.open(t))
			ws, err := c.CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "acme"})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var created atomic.Int64
			require.NoError(t, c.Hooks().After.Bind("stop", 0, func(_ context.Context, ev *crm.Event) error {
				if ev.Type == crm.ContactCreated && created.Add(1) == stopAfter {
					cancel()
				}
				return nil
			}))
			cp := &crmio.FileCheckpoint{Path: filepath.Join(t.TempDir(), "cp")}
			opts := crmio.ImportOptions{Object: crmio.ObjectContact, BatchSize: 1000, Checkpoint: cp}
			res, err := crmio.Import(ctx, ws, strings.NewReader(in), opts)
			require.ErrorIs(t, err, context.Canceled)
			checkAccounting(t, res)
			assert.Equal(t, res.Created, len(contacts(t, ws)), "the result counts exactly what was written")
			assert.Less(t, res.Read, n)

			res, err = crmio.Resume(context.Background(), ws, strings.NewReader(in), opts)
			require.NoError(t, err)
			assertExactlyOnce(t, ws, res, n, bad)
		})
	}
}

func TestCheckpointMismatch(t *testing.T) {
	in, _ := resumeInput(500)
	ws := newWorkspace(t, selected.open(t))
	cp := &crmio.FileCheckpoint{Path: filepath.Join(t.TempDir(), "cp")}
	ctx, cancel := context.WithCancel(context.Background())
	opts := crmio.ImportOptions{Object: crmio.ObjectContact, BatchSize: 100, Checkpoint: cp, Progress: func(crmio.Progress) { cancel() }}
	_, err := crmio.Import(ctx, ws, strings.NewReader(in), opts)
	require.ErrorIs(t, err, context.Canceled)
	opts.Progress = nil

	changed := strings.Replace(in, "P1,", "Q1,", 1)
	_, err = crmio.Resume(context.Background(), ws, strings.NewReader(changed), opts)
	assert.ErrorIs(t, err, crmio.ErrCheckpoint, "another file")
	_, err = crmio.Resume(context.Background(), ws, strings.NewReader(in[:50]), opts)
	assert.ErrorIs(t, err, crmio.ErrCheckpoint, "a shorter file")
	opts.Object = crmio.ObjectCompany
	_, err = crmio.Resume(context.Background(), ws, strings.NewReader(in), opts)
	assert.ErrorIs(t, err, crmio.ErrCheckpoint, "another object")
	assert.Equal(t, 99, len(contacts(t, ws)), "the first batch, less its bad row")
}

func TestFileCheckpointDropsTornRejects(t *testing.T) {
	ctx := context.Background()
	cp := &crmio.FileCheckpoint{Path: filepath.Join(t.TempDir(), "cp")}
	st, err := cp.Load(ctx)
	require.NoError(t, err)
	assert.Nil(t, st)
	r1 := crmio.Reject{Line: 3, Column: "email", Reason: "bad", Raw: []string{"a", "b"}, Problems: []crmio.Problem{{Column: "email", Reason: "bad"}}}
	require.NoError(t, cp.Save(ctx, &crmio.CheckpointState{Object: crm.KindContact, Line: 10, Read: 9, Rejected: 1, Rejects: []crmio.Reject{r1}}))
	require.NoError(t, cp.Save(ctx, &crmio.CheckpointState{Object: crm.KindContact, Line: 20, Read: 19, Rejected: 1}))
	// A save that appended its rejects and then crashed before replacing
	// the state file.
	f, err := os.OpenFile(cp.Path+".rejects", os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"line":25,"reason":"orphan"}` + "\n" + `{"line":26,"rea`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	st, err = cp.Load(ctx)
	require.NoError(t, err)
	assert.Equal(t, 20, st.Line)
	assert.Equal(t, []crmio.Reject{r1}, st.Rejects)
	require.NoError(t, cp.Save(ctx, &crmio.CheckpointState{Object: crm.KindContact, Line: 30, Rejects: []crmio.Reject{{Line: 28, Reason: "x"}}}))
	st, err = cp.Load(ctx)
	require.NoError(t, err)
	require.Len(t, st.Rejects, 2)
	assert.Equal(t, 28, st.Rejects[1].Line)

	require.NoError(t, os.WriteFile(cp.Path, []byte("{"), 0o644))
	_, err = cp.Load(ctx)
	assert.ErrorIs(t, err, crmio.ErrCheckpoint)
}

// TestResumeAfterKill kills a process importing into Badger, then resumes
// in this one. The child kills itself either after a checkpoint was saved
// (no key needed) or in the middle of a batch, after some of its rows were
// committed and before its checkpoint (the window an upsert key covers).
func TestResumeAfterKill(t *testing.T) {
	if dir := os.Getenv("CRMIO_KILL_CHILD"); dir != "" {
		killChild(t, dir)
		return
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	const n = 3000
	in, bad := resumeInput(n)
	for _, mode := range []string{"after-checkpoint", "mid-batch"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "in.csv"), []byte(in), 0o644))
			cmd := exec.Command(os.Args[0], "-test.run=^TestResumeAfterKill$", "-test.v")
			cmd.Env = append(os.Environ(), "CRMIO_KILL_CHILD="+dir, "CRMIO_KILL_MODE="+mode)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "the child must be killed: %s", out.String())
			require.False(t, ee.Exited(), "killed by a signal, not exited: %s", out.String())
			require.FileExists(t, filepath.Join(dir, "cp"))

			st, err := badger.Open(filepath.Join(dir, "db"), badger.WithSyncWrites(false))
			require.NoError(t, err)
			defer st.Close()
			ws, err := crm.New(st).Workspace(context.Background(), "acme")
			require.NoError(t, err)
			before := len(contacts(t, ws))
			require.Positive(t, before, "the child committed rows before it died")
			require.Less(t, before, n-len(bad))

			f, err := os.Open(filepath.Join(dir, "in.csv"))
			require.NoError(t, err)
			defer f.Close()
			res, err := crmio.Resume(context.Background(), ws, f, killOptions(dir, mode))
			require.NoError(t, err)
			assert.Positive(t, res.ResumedAfter)
			assertExactlyOnce(t, ws, res, n, bad)
		})
	}
}

func killOptions(dir, mode string) crmio.ImportOptions {
	o := crmio.ImportOptions{Object: crmio.ObjectContact, BatchSize: 300, Checkpoint: &crmio.FileCheckpoint{Path: filepath.Join(dir, "cp")}}
	if mode == "mid-batch" {
		o.UpsertBy = "email"
	}
	return o
}

// killChild imports and dies.
func killChild(t *testing.T, dir string) {
	mode := os.Getenv("CRMIO_KILL_MODE")
	st, err := badger.Open(filepath.Join(dir, "db"), badger.WithSyncWrites(false))
	require.NoError(t, err)
	c := crm.New(st)
	ws, err := c.CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "acme"})
	require.NoError(t, err)
	die := func() {
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Kill()
		select {} // wait for the signal
	}
	opts := killOptions(dir, mode)
	var created atomic.Int64
	switch mode {
	case "after-checkpoint":
		batches := 0
		opts.Progress = func(crmio.Progress) {
			if batches++; batches == 3 {
				die()
			}
		}
	case "mid-batch":
		// The fourth batch's first CRM transaction has committed; its
		// checkpoint is not saved yet.
		require.NoError(t, c.Hooks().After.Bind("die", 0, func(_ context.Context, ev *crm.Event) error {
			if ev.Type == crm.ContactCreated && created.Add(1) == 1000 {
				die()
			}
			return nil
		}))
	}
	f, err := os.Open(filepath.Join(dir, "in.csv"))
	require.NoError(t, err)
	_, err = crmio.Import(context.Background(), ws, f, opts)
	t.Fatalf("the import finished (%v) instead of being killed", err)
}
