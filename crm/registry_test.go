package crm_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/internal/teststore"
	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadFixture writes testdata/store-v1.hex, every key of a store written
// by the version before key spaces, into st. It holds two workspaces
// ("acme" and "globex") with a custom field, a company, five contacts
// (one updated, one deleted), a won deal, a note, a segment and an outbox
// that consumer "audit" has read to the end.
func loadFixture(t testing.TB, st store.Store) {
	t.Helper()
	f, err := os.Open("testdata/store-v1.hex")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	require.NoError(t, st.Batch(context.Background(), func(w store.Writer) error {
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				return fmt.Errorf("bad fixture line %q", sc.Text())
			}
			kb, err := hex.DecodeString(k)
			if err != nil {
				return err
			}
			vb, err := hex.DecodeString(v)
			if err != nil {
				return err
			}
			if err := w.Set(kb, vb); err != nil {
				return err
			}
		}
		return sc.Err()
	}))
}

// oldLayoutKeys counts the keys under the layout before key spaces.
func oldLayoutKeys(t testing.TB, st store.Store) int {
	t.Helper()
	return len(dump(t, st, []byte{0x01}))
}

func TestOpenMigratesStoreOfPreviousVersion(t *testing.T) {
	st := teststore.Open(t)
	loadFixture(t, st)
	require.Positive(t, oldLayoutKeys(t, st))
	ctx := context.Background()
	c, err := crm.Open(ctx, st)
	require.NoError(t, err)
	assert.Zero(t, oldLayoutKeys(t, st), "the old layout is purged")

	d := c.NewDispatcher()
	var got []crm.Event
	require.NoError(t, d.Subscribe("audit", func(_ context.Context, evs []crm.Event) error {
		got = append(got, evs...)
		return nil
	}))
	for _, id := range []string{"acme", "globex"} {
		ws, err := c.Workspace(ctx, id)
		require.NoError(t, err)
		ada, err := ws.Contacts().GetByEmail(ctx, "ada1@"+id+".example")
		require.NoError(t, err)
		assert.Equal(t, "Ada1", ada.FirstName)
		assert.Equal(t, 10, toInt(ada.Custom["score"]))
		leads, err := filter.Parse(`lifecycle = "lead"`)
		require.NoError(t, err)
		n, err := ws.Query(crm.KindContact, leads).Count(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(3), n, "ada1..ada3 are live leads")
		rep, err := ws.Check(ctx, crm.CheckOptions{})
		require.NoError(t, err)
		assert.Zero(t, rep.Drifted(), rep.Issues)
		var hist int
		for _, err := range ws.History(ctx, crm.Ref{Kind: crm.KindContact, ID: ada.ID}) {
			require.NoError(t, err)
			hist++
		}
		assert.Equal(t, 1, hist)

		// The outbox goes on after the migrated events: the consumer that
		// had read them all gets the new ones only, numbered after them.
		got = got[:0]
		before, err := d.Cursor(ctx, id, "audit")
		require.NoError(t, err)
		require.Positive(t, before)
		_, err = ws.Contacts().Create(ctx, crm.Contact{FirstName: "New", Emails: []string{"new@" + id + ".example"}})
		require.NoError(t, err)
		_, err = d.Drain(ctx)
		require.NoError(t, err)
		var mine []crm.Event
		for _, ev := range got {
			if ev.Workspace == id {
				mine = append(mine, ev)
			}
		}
		require.NotEmpty(t, mine)
		assert.Equal(t, crm.ContactCreated, mine[0].Type)
		assert.Greater(t, mine[0].Seq, before)

		// The migrated events are still readable in order.
		var seqs []uint64
		for ev, err := range ws.Changes(ctx, 0) {
			require.NoError(t, err)
			seqs = append(seqs, ev.Seq)
		}
		require.Greater(t, len(seqs), 10)
		assert.IsIncreasing(t, seqs)
	}
}

func toInt(v any) int {
	switch n := v.(type) {
	case int64:
		return int(n)
	case int8:
		return int(n)
	case int:
		return n
	case uint64:
		return int(n)
	case float64:
		return int(n)
	}
	return -1
}

// flakyStore fails every Batch after the first ok ones, as a process
// killed midway through a long operation would stop.
type flakyStore struct {
	store.Store
	ok int
}

var errKilled = errors.New("killed")

func (s *flakyStore) Batch(ctx context.Context, fn func(w store.Writer) error) error {
	if s.ok <= 0 {
		return errKilled
	}
	s.ok--
	return s.Store.Batch(ctx, fn)
}

func TestInterruptedMigrationResumes(t *testing.T) {
	st := teststore.Open(t)
	loadFixture(t, st)
	ctx := context.Background()
	_, err := crm.Open(ctx, &flakyStore{Store: st})
	require.ErrorIs(t, err, errKilled)
	c, err := crm.Open(ctx, st)
	require.NoError(t, err)
	assert.Zero(t, oldLayoutKeys(t, st))
	ws, err := c.Workspace(ctx, "acme")
	require.NoError(t, err)
	rep, err := ws.Check(ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, rep.Drifted(), rep.Issues)
}

// TestInterruptedDeleteNeverResurrects deletes a workspace with a store
// that stops midway through the purge: the workspace is gone at once, a
// workspace created with its ID starts empty, and Resume purges the rest.
func TestInterruptedDeleteNeverResurrects(t *testing.T) {
	e := setup(t)
	in := make([]crm.Contact, 3000)
	for i := range in {
		in[i] = crm.Contact{FirstName: fmt.Sprint("c", i), Emails: []string{fmt.Sprintf("c%d@acme.example", i)}}
	}
	_, err := e.ws.Contacts().CreateMany(e.ctx, in)
	require.NoError(t, err)
	old := keySpace(t, e.st, "acme")

	err = crm.New(&flakyStore{Store: e.st}).DeleteWorkspace(e.ctx, "acme")
	require.ErrorIs(t, err, errKilled)
	assert.Positive(t, len(dump(t, e.st, old)), "the purge stopped midway")

	// Deleting again says it is gone; the old handle cannot write.
	assert.ErrorIs(t, e.crm.DeleteWorkspace(e.ctx, "acme"), crm.ErrNotFound)
	_, err = e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "late"})
	assert.ErrorIs(t, err, crm.ErrNotFound)

	ws, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme again"})
	require.NoError(t, err)
	for _, err := range ws.Contacts().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		t.Fatal("a contact of the deleted workspace is visible")
	}
	_, err = ws.Contacts().GetByEmail(e.ctx, "c1@acme.example")
	assert.ErrorIs(t, err, crm.ErrNotFound)
	_, err = ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "again", Emails: []string{"c1@acme.example"}})
	require.NoError(t, err, "the old unique index does not reach the new workspace")
	rep, err := ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, rep.Drifted(), rep.Issues)

	require.NoError(t, e.crm.Resume(e.ctx))
	assert.Empty(t, dump(t, e.st, old), "Resume purged the old key space")
	assert.Empty(t, dump(t, e.st, []byte{0x02, 'p'}), "nothing left to purge")
}

// TestRestoreBackupOfPreviousVersion restores a backup written by the
// version before key spaces (testdata/acme-v1.crmbk, the fixture's "acme").
func TestRestoreBackupOfPreviousVersion(t *testing.T) {
	f, err := os.Open("testdata/acme-v1.crmbk")
	require.NoError(t, err)
	defer f.Close()
	ctx := context.Background()
	c := crm.New(teststore.Open(t))
	_, err = c.Restore(ctx, f, crm.RestoreOptions{})
	require.NoError(t, err)
	ws, err := c.Workspace(ctx, "acme")
	require.NoError(t, err)
	ada, err := ws.Contacts().GetByEmail(ctx, "ada2@acme.example")
	require.NoError(t, err)
	assert.Equal(t, "Ada2", ada.FirstName)
	rep, err := ws.Check(ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, rep.Drifted(), rep.Issues)
	_, err = ws.Contacts().Create(ctx, crm.Contact{FirstName: "After", Emails: []string{"after@acme.example"}})
	require.NoError(t, err)
}
