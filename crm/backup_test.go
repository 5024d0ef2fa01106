package crm_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/crmkit/crmkit/store/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wsKeys returns the keys and values of workspace id: its prefix and its
// registry entry (see the layout in crm/keys.go).
func wsKeys(t testing.TB, st store.Store, id string) map[string]string {
	t.Helper()
	out := allKeys(t, st)
	reg := string(append([]byte{0x02, 'w'}, id+"\x00\x01"...))
	for k := range out {
		if !strings.HasPrefix(k, "ws("+id+")") && k != reg {
			delete(out, k)
		}
	}
	return out
}

// allKeys returns every key of the store, with workspaces' key spaces
// named by workspace (see crm.LogicalKeys).
func allKeys(t testing.TB, st store.Store) map[string]string {
	t.Helper()
	out, err := crm.LogicalKeys(st)
	require.NoError(t, err)
	return out
}

// keySpace returns the prefix of workspace id's keys.
func keySpace(t testing.TB, st store.Store, id string) []byte {
	t.Helper()
	p, err := crm.KeySpace(st, id)
	require.NoError(t, err)
	return p
}

// badgerSource returns a Badger store with two populated workspaces,
// "acme" and "globex", and bulk keys in acme to span several blocks.
func badgerSource(t testing.TB) (store.Store, *crm.CRM) {
	t.Helper()
	st, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	c := crm.New(st)
	ctx := context.Background()
	for _, id := range []string{"acme", "globex"} {
		ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: id, Name: id, Currency: "EUR"})
		require.NoError(t, err)
		populate(t, ctx, ws)
	}
	// Three megabytes of metadata-like keys: several blocks.
	big := bytes.Repeat([]byte("x"), 3000)
	acme := keySpace(t, st, "acme")
	require.NoError(t, st.Batch(ctx, func(w store.Writer) error {
		for i := range 1000 {
			k := append(slices.Clip(acme), fmt.Sprintf("mbulk%05d\x00\x01", i)...)
			if err := w.Set(k, big); err != nil {
				return err
			}
		}
		return nil
	}))
	return st, c
}

func backupOf(t testing.TB, c *crm.CRM, opts crm.BackupOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	st, err := c.Backup(context.Background(), &buf, opts)
	require.NoError(t, err)
	require.Equal(t, int64(buf.Len()), st.Bytes)
	return buf.Bytes()
}

// targets are the stores a Badger backup is restored into.
func targets(t *testing.T) map[string]func(t *testing.T) store.Store {
	return map[string]func(t *testing.T) store.Store{
		"memory": func(t *testing.T) store.Store { return memory.New() },
		"badger": func(t *testing.T) store.Store {
			st, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
		"postgres": func(t *testing.T) store.Store { return teststore.SharedPostgres(t).Open(t) },
	}
}

func TestBackupRestoreAcrossBackends(t *testing.T) {
	src, srcCRM := badgerSource(t)
	file := backupOf(t, srcCRM, crm.BackupOptions{Workspaces: []string{"acme"}})
	want := wsKeys(t, src, "acme")
	require.Greater(t, len(want), 1000)
	for name, open := range targets(t) {
		t.Run(name, func(t *testing.T) {
			dst := open(t)
			c := crm.New(dst)
			var calls int
			st, err := c.Restore(context.Background(), bytes.NewReader(file), crm.RestoreOptions{Progress: func(keys, bytes int64) { calls++ }})
			require.NoError(t, err)
			assert.Equal(t, 1, st.Workspaces)
			assert.Equal(t, int64(len(want)), st.Keys)
			assert.Greater(t, calls, 1, "several blocks")
			// Byte-equal key/value sets, and nothing else written.
			assert.Equal(t, want, allKeys(t, dst))

			// The restored workspace works and is consistent.
			ws, err := c.Workspace(context.Background(), "acme")
			require.NoError(t, err)
			ada, err := ws.Contacts().GetByEmail(context.Background(), "ada@home.example")
			require.NoError(t, err)
			assert.Equal(t, "Lovelace", ada.LastName)
			rep, err := ws.Check(context.Background(), crm.CheckOptions{})
			require.NoError(t, err)
			assert.Zero(t, rep.Drifted(), rep.Issues)
		})
	}
}

func TestBackupWholeStore(t *testing.T) {
	src, srcCRM := badgerSource(t)
	file := backupOf(t, srcCRM, crm.BackupOptions{})
	hdr, st, err := crm.VerifyBackup(bytes.NewReader(file))
	require.NoError(t, err)
	assert.True(t, hdr.Whole)
	assert.Equal(t, []string{"acme", "globex"}, hdr.Workspaces)
	assert.Equal(t, 2, st.Workspaces)

	dst := teststore.Open(t)
	_, err = crm.New(dst).Restore(context.Background(), bytes.NewReader(file), crm.RestoreOptions{})
	require.NoError(t, err)
	assert.Equal(t, allKeys(t, src), allKeys(t, dst))

	// One workspace out of a whole-store file.
	dst = teststore.Open(t)
	_, err = crm.New(dst).Restore(context.Background(), bytes.NewReader(file), crm.RestoreOptions{Workspaces: []string{"globex"}})
	require.NoError(t, err)
	assert.Equal(t, wsKeys(t, src, "globex"), allKeys(t, dst))

	_, err = crm.New(dst).Restore(context.Background(), bytes.NewReader(file), crm.RestoreOptions{Workspaces: []string{"initech"}})
	assert.ErrorIs(t, err, crm.ErrNotFound)
}

func TestBackupUnknownWorkspace(t *testing.T) {
	_, c := badgerSource(t)
	var buf bytes.Buffer
	_, err := c.Backup(context.Background(), &buf, crm.BackupOptions{Workspaces: []string{"acme", "nope"}})
	assert.ErrorIs(t, err, crm.ErrNotFound)
	assert.Zero(t, buf.Len(), "nothing written")
}

// streamOnly hides the io.Seeker of a reader.
type streamOnly struct{ io.Reader }

func TestRestoreRefusesBadFiles(t *testing.T) {
	origin, srcCRM := badgerSource(t)
	file := backupOf(t, srcCRM, crm.BackupOptions{})
	flip := func(at int) []byte {
		b := bytes.Clone(file)
		b[at] ^= 0x40
		return b
	}
	newer := bytes.Clone(file)
	binary.BigEndian.PutUint16(newer[8:], 2)
	cases := []struct {
		name string
		data []byte
		want []error
	}{
		{"empty", nil, []error{crm.ErrBackupCorrupt}},
		{"not a backup", []byte("id,name\n1,Ada\n"), []error{crm.ErrBackupCorrupt}},
		{"newer format", newer, []error{crm.ErrBackupVersion}},
		{"flipped header", flip(14), []error{crm.ErrBackupCorrupt}},
		{"flipped middle", flip(len(file) / 2), []error{crm.ErrBackupCorrupt}},
		{"flipped end", flip(len(file) - 3), []error{crm.ErrBackupCorrupt}},
		{"cut in header", file[:12], []error{crm.ErrBackupTruncated, crm.ErrBackupCorrupt}},
		{"cut in middle", file[:len(file)/2], []error{crm.ErrBackupTruncated, crm.ErrBackupCorrupt}},
		{"cut before trailer", file[:len(file)-8], []error{crm.ErrBackupTruncated, crm.ErrBackupCorrupt}},
		{"trailing data", append(bytes.Clone(file), 0), []error{crm.ErrBackupCorrupt}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := crm.VerifyBackup(bytes.NewReader(tc.data))
			for _, w := range tc.want {
				assert.ErrorIs(t, err, w)
			}
			var be *crm.BackupError
			require.ErrorAs(t, err, &be)
			assert.NotEmpty(t, be.Reason)
			for _, src := range []io.Reader{bytes.NewReader(tc.data), streamOnly{bytes.NewReader(tc.data)}} {
				dst := teststore.Open(t)
				_, err := crm.New(dst).Restore(context.Background(), src, crm.RestoreOptions{})
				for _, w := range tc.want {
					assert.ErrorIs(t, err, w)
				}
				// A stream is verified as it is read: a workspace
				// before the damage may be restored whole, never in
				// part. A file is verified first: nothing at all.
				got := allKeys(t, dst)
				if _, seekable := src.(io.Seeker); seekable {
					assert.Empty(t, got)
				} else {
					n := 0
					for _, id := range []string{"acme", "globex"} {
						have := wsKeys(t, dst, id)
						n += len(have)
						if len(have) > 0 {
							assert.Equal(t, wsKeys(t, origin, id), have, "workspace %s is whole", id)
						}
					}
					assert.Len(t, got, n, "nothing outside the restored workspaces")
				}
			}
		})
	}
}

func TestRestoreExistingWorkspace(t *testing.T) {
	src, srcCRM := badgerSource(t)
	path := filepath.Join(t.TempDir(), "acme.crmbk")
	require.NoError(t, os.WriteFile(path, backupOf(t, srcCRM, crm.BackupOptions{Workspaces: []string{"acme"}}), 0o600))

	dst := teststore.Open(t)
	c := crm.New(dst)
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Local"})
	require.NoError(t, err)
	_, err = ws.Contacts().Create(ctx, crm.Contact{FirstName: "Zed", Emails: []string{"zed@local.example"}})
	require.NoError(t, err)
	existing := allKeys(t, dst)

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	_, err = c.Restore(ctx, f, crm.RestoreOptions{})
	assert.ErrorIs(t, err, crm.ErrWorkspaceExists)
	assert.Equal(t, existing, allKeys(t, dst), "the existing workspace is untouched")

	_, err = c.Restore(ctx, streamOnly{f}, crm.RestoreOptions{Replace: true})
	var ve *crm.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.True(t, ve.Has("replace"))
	assert.Equal(t, existing, allKeys(t, dst))

	_, err = f.Seek(0, io.SeekStart)
	require.NoError(t, err)
	_, err = c.Restore(ctx, f, crm.RestoreOptions{Replace: true})
	require.NoError(t, err)
	assert.Equal(t, wsKeys(t, src, "acme"), allKeys(t, dst))
	_, err = ws.Contacts().GetByEmail(ctx, "zed@local.example")
	assert.ErrorIs(t, err, crm.ErrNotFound)
}

func TestRestoreClearsDebris(t *testing.T) {
	src, srcCRM := badgerSource(t)
	file := backupOf(t, srcCRM, crm.BackupOptions{Workspaces: []string{"globex"}})
	dst := teststore.Open(t)
	// Keys under the old layout's unregistered prefix, as a crashed
	// restore of an older version left them, are not the restored
	// workspace's.
	rawSet(t, dst, append([]byte{0x01}, "globex\x00\x01mdebris\x00\x01"...), []byte("x"))
	_, err := crm.New(dst).Restore(context.Background(), bytes.NewReader(file), crm.RestoreOptions{})
	require.NoError(t, err)
	got := allKeys(t, dst)
	delete(got, string(append([]byte{0x01}, "globex\x00\x01mdebris\x00\x01"...)))
	assert.Equal(t, wsKeys(t, src, "globex"), got)
}

func TestRestoreCancelledLeavesNothing(t *testing.T) {
	_, srcCRM := badgerSource(t)
	file := backupOf(t, srcCRM, crm.BackupOptions{Workspaces: []string{"acme"}})
	dst := teststore.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := crm.New(dst).Restore(ctx, streamOnly{bytes.NewReader(file)}, crm.RestoreOptions{
		Progress: func(keys, _ int64) { cancel() }, // after the first block
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, allKeys(t, dst))
}

// FuzzVerifyBackup feeds damaged backups to the reader: it must refuse
// them with a *BackupError (or accept them whole), never panic or read
// past its limits.
func FuzzVerifyBackup(f *testing.F) {
	c := crm.New(memory.New())
	ctx := context.Background()
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme"})
	require.NoError(f, err)
	_, err = ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}})
	require.NoError(f, err)
	var buf bytes.Buffer
	_, err = c.Backup(ctx, &buf, crm.BackupOptions{})
	require.NoError(f, err)
	f.Add(buf.Bytes())
	f.Add(buf.Bytes()[:40])
	f.Add([]byte("crmkitbk\x00\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, err := crm.VerifyBackup(bytes.NewReader(data))
		if err == nil {
			return
		}
		var be *crm.BackupError
		if !errors.As(err, &be) {
			t.Fatalf("not a *BackupError: %v", err)
		}
		if !errors.Is(err, crm.ErrBackupCorrupt) && !errors.Is(err, crm.ErrBackupVersion) {
			t.Fatalf("matches no sentinel: %v", err)
		}
	})
}
