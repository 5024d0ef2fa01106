package crm_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
	"github.com/crmkit/crmkit/crmio"
	"github.com/crmkit/crmkit/store/badger"
)

// The crash test runs a child process that works on a Badger store with
// durable commits (writes, workspace deletions, restores, imports and
// merges, in turn) and kills it at a random moment, again and again, some
// kills landing while the store opens. After every kill this process
// reopens the store and checks it: no acknowledged write is lost, Check
// finds no drift in any workspace, a workspace whose deletion was
// acknowledged is gone and one created again with its ID is empty, and a
// restored workspace holds all of its backup or none of it.
//
// CRMKIT_CRASH_KILLS sets the number of kills (default 4, the short form
// CI runs); the long form is run by hand, and BENCHMARKS.md keeps its
// figures:
//
//	CRMKIT_CRASH_KILLS=100 go test ./crm -run TestCrashLoop -v -timeout 60m
const (
	crashChildDir = "CRMKIT_TEST_CRASH_CHILD"
	crashKillsEnv = "CRMKIT_CRASH_KILLS"
)

// crashBackupContacts is the number of contacts in the backup the child
// restores.
const crashBackupContacts = 300

func TestCrashLoop(t *testing.T) {
	if dir := os.Getenv(crashChildDir); dir != "" {
		crashChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	kills := 4
	if n, err := strconv.Atoi(os.Getenv(crashKillsEnv)); err == nil && n > 0 {
		kills = n
	}
	dir := t.TempDir()
	ctx := context.Background()

	// A backup of a workspace of crashBackupContacts contacts, for the
	// child to restore.
	src, err := badger.Open(filepath.Join(dir, "src"))
	require.NoError(t, err)
	c := crm.New(src)
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "restored", Name: "Backup"})
	require.NoError(t, err)
	batch := make([]crm.Contact, crashBackupContacts)
	for i := range batch {
		batch[i] = crm.Contact{FirstName: fmt.Sprint("backup", i), Emails: []string{fmt.Sprintf("b%d@example.com", i)}}
	}
	_, err = ws.Contacts().CreateMany(ctx, batch)
	require.NoError(t, err)
	f, err := os.Create(filepath.Join(dir, "backup.crmbk"))
	require.NoError(t, err)
	_, err = c.Backup(ctx, f, crm.BackupOptions{})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, src.Close())

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var acked, lost, drift int
	for kill := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashLoop$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildDir+"="+dir)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		// One kill in four lands while the store opens and resumes.
		wait := time.Duration(200+rng.IntN(600)) * time.Millisecond
		if kill%4 == 3 {
			wait = time.Duration(rng.IntN(40)) * time.Millisecond
		}
		time.Sleep(wait)
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		require.Equal(t, -1, cmd.ProcessState.ExitCode(), "the child ran until the kill (it exits 3 on an error)")

		a, l, d := checkAfterCrash(t, dir)
		acked, lost, drift = a, lost+l, drift+d
		if t.Failed() {
			t.Fatalf("after kill %d (%v into the run)", kill+1, wait)
		}
	}
	steps := readCrashLog(t, filepath.Join(dir, "log"))
	t.Logf("crash loop: %d kills, %d acknowledged writes, %d lost, %d drift; steps finished: %d deletions, %d restores, %d imports, %d merges",
		kills, acked, lost, drift, len(steps["deleted"]), len(steps["restored"]), len(steps["imported"]), len(steps["merged"]))
}

// checkAfterCrash reopens the store as a restarted program would and
// checks it (see TestCrashLoop). It returns the acknowledged writes it
// checked, the lost ones and the drift found.
func checkAfterCrash(t *testing.T, dir string) (acked, lost, drift int) {
	t.Helper()
	ctx := context.Background()
	st, err := badger.Open(filepath.Join(dir, "db"))
	require.NoError(t, err, "the store reopens")
	defer func() { require.NoError(t, st.Close()) }()
	c, err := crm.Open(ctx, st)
	require.NoError(t, err, "crm.Open resumes")

	log := readCrashLog(t, filepath.Join(dir, "log"))
	// Acknowledged writes.
	if ws, err := c.Workspace(ctx, "main"); err == nil {
		for _, id := range log["wrote"] {
			acked++
			if _, err := ws.Contacts().Get(ctx, id); err != nil {
				lost++
				t.Errorf("acknowledged contact %s: %v", id, err)
			}
		}
	} else {
		require.Empty(t, log["wrote"], "writes were acknowledged but workspace main is gone: %v", err)
	}
	// Deleted workspaces stay gone; one created again starts empty.
	for _, id := range log["deleted"] {
		_, err := c.Workspace(ctx, id)
		assert.ErrorIs(t, err, crm.ErrNotFound, "workspace %s was deleted", id)
	}
	for _, id := range log["deleting"] {
		ws, err := c.Workspace(ctx, id)
		if err == nil {
			n := 0
			for _, err := range ws.Contacts().List(ctx, crm.ListOptions{}) {
				require.NoError(t, err)
				n++
			}
			assert.Equal(t, 500, n, "workspace %s, whose deletion did not commit, is whole", id)
			continue
		}
		if errors.Is(err, crm.ErrNotFound) {
			ws, err = c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: id, Name: "Again"})
			require.NoError(t, err)
			n := 0
			for _, err := range ws.Contacts().List(ctx, crm.ListOptions{}) {
				require.NoError(t, err)
				n++
			}
			assert.Zero(t, n, "workspace %s created again after its deletion starts empty", id)
			require.NoError(t, c.DeleteWorkspace(ctx, id))
		}
	}
	// A restore is all or nothing.
	if ws, err := c.Workspace(ctx, "restored"); err == nil {
		n := 0
		for _, err := range ws.Contacts().List(ctx, crm.ListOptions{}) {
			require.NoError(t, err)
			n++
		}
		assert.Equal(t, crashBackupContacts, n, "the restored workspace holds its whole backup")
	}
	// No drift anywhere.
	for info, err := range c.Workspaces(ctx) {
		require.NoError(t, err)
		ws, err := c.Workspace(ctx, info.ID)
		require.NoError(t, err)
		rep, err := ws.Check(ctx, crm.CheckOptions{})
		require.NoError(t, err)
		drift += int(rep.Drifted())
		assert.Zero(t, rep.Drifted(), "workspace %s: %v", info.ID, rep.Issues)
	}
	return acked, lost, drift
}

// readCrashLog reads the child's log: lines "what id", appended after the
// step they name, or before it for "deleting".
func readCrashLog(t *testing.T, name string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return out
	}
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		what, id, ok := strings.Cut(sc.Text(), " ")
		if ok { // a line cut short by the kill has no space yet, or a partial ID: skip it
			out[what] = append(out[what], id)
		}
	}
	return out
}

// crashChild works on the store until it is killed, logging each step it
// has finished (its log is synced before the next step starts).
func crashChild(dir string) {
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(3)
	}
	st, err := badger.Open(filepath.Join(dir, "db"), badger.WithSyncWrites(true))
	if err != nil {
		fail(err)
	}
	c, err := crm.Open(ctx, st)
	if err != nil {
		fail(err)
	}
	logf, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fail(err)
	}
	note := func(what, id string) {
		if _, err := fmt.Fprintf(logf, "%s %s\n", what, id); err != nil {
			fail(err)
		}
		if err := logf.Sync(); err != nil {
			fail(err)
		}
	}
	main, err := c.Workspace(ctx, "main")
	if errors.Is(err, crm.ErrNotFound) {
		main, err = c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "main", Name: "Main"})
	}
	if err != nil {
		fail(err)
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for step := 0; ; step++ {
		switch step % 5 {
		case 0: // acknowledged writes
			for i := range 20 {
				co, err := main.Contacts().Create(ctx, crm.Contact{FirstName: fmt.Sprint("w", i), Emails: []string{fmt.Sprintf("%s-%d-%d@example.com", run, step, i)}})
				if err != nil {
					fail(err)
				}
				note("wrote", co.ID)
			}
		case 1: // a workspace deleted while full
			id := fmt.Sprintf("victim-%s-%d", run, step)
			ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: id, Name: "Victim"})
			if err != nil {
				fail(err)
			}
			batch := make([]crm.Contact, 500)
			for i := range batch {
				batch[i] = crm.Contact{FirstName: fmt.Sprint("v", i), Emails: []string{fmt.Sprintf("v%d@example.com", i)}}
			}
			if _, err := ws.Contacts().CreateMany(ctx, batch); err != nil {
				fail(err)
			}
			note("deleting", id)
			if err := c.DeleteWorkspace(ctx, id); err != nil {
				fail(err)
			}
			note("deleted", id)
		case 2: // a restore over the workspace restored before
			f, err := os.Open(filepath.Join(dir, "backup.crmbk"))
			if err != nil {
				fail(err)
			}
			if _, err := c.Restore(ctx, f, crm.RestoreOptions{Replace: true}); err != nil {
				fail(err)
			}
			f.Close()
			note("restored", "restored")
		case 3: // an import
			var b strings.Builder
			b.WriteString("first_name,email\n")
			for i := range 200 {
				fmt.Fprintf(&b, "imp%d,%s-imp-%d-%d@example.com\n", i, run, step, i)
			}
			if _, err := crmio.Import(ctx, main, strings.NewReader(b.String()), crmio.ImportOptions{Object: crmio.ObjectContact}); err != nil {
				fail(err)
			}
			note("imported", strconv.Itoa(step))
		case 4: // merges
			for i := range 5 {
				a, err := main.Contacts().Create(ctx, crm.Contact{FirstName: "m", Emails: []string{fmt.Sprintf("%s-ma-%d-%d@example.com", run, step, i)}})
				if err != nil {
					fail(err)
				}
				b, err := main.Contacts().Create(ctx, crm.Contact{FirstName: "m", Emails: []string{fmt.Sprintf("%s-mb-%d-%d@example.com", run, step, i)}})
				if err != nil {
					fail(err)
				}
				if _, err := main.Contacts().Merge(ctx, a.ID, b.ID, crm.MergeOptions{}); err != nil {
					fail(err)
				}
				note("merged", a.ID)
			}
		}
	}
}
