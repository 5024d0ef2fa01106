package automation_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/automation"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testdata/store-before-split.tar.gz is a Badger store written by crm
// before automation moved into its own package, at 2026-03-02 09:00 UTC:
// workspace "acme" with a team (ann, bob), a round-robin rule on new
// contacts that had routed Ada and Grace, a time rule creating a task
// three days after a contact is created, and a two-step sequence Ada was
// enrolled in, with the engine stepped once.
var fixtureTime = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func untar(t *testing.T, archive string) string {
	t.Helper()
	f, err := os.Open(archive)
	require.NoError(t, err)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	require.NoError(t, err)
	dir := t.TempDir()
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return dir
		}
		require.NoError(t, err)
		out, err := os.Create(filepath.Join(dir, filepath.Base(h.Name)))
		require.NoError(t, err)
		_, err = io.Copy(out, tr)
		require.NoError(t, err)
		require.NoError(t, out.Close())
	}
}

func TestStoreWrittenBeforeTheSplitKeepsWorking(t *testing.T) {
	st, err := badger.Open(untar(t, "testdata/store-before-split.tar.gz"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	now := fixtureTime.Add(time.Hour)
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	ws, err := c.Workspace(ctx, "acme")
	require.NoError(t, err)
	a := automation.New(c)

	var names []string
	for r, err := range automation.RulesOf(ws).List(ctx) {
		require.NoError(t, err)
		names = append(names, r.Name)
	}
	assert.ElementsMatch(t, []string{"route new leads", "follow up"}, names)
	var team []automation.Rep
	for r, err := range automation.TeamOf(ws).List(ctx) {
		require.NoError(t, err)
		team = append(team, r)
	}
	require.Len(t, team, 2)
	assert.Equal(t, "boss", team[0].Manager)

	contacts := map[string]crm.Contact{}
	for ct, err := range ws.Contacts().List(ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		contacts[ct.FirstName] = ct
	}
	require.Len(t, contacts, 2)
	ada := contacts["Ada"]
	assert.Equal(t, []string{"ann", "bob"}, []string{ada.OwnerID, contacts["Grace"].OwnerID})

	// The route's turn was kept: the next lead goes to ann.
	linus, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Linus"})
	require.NoError(t, err)
	_, err = a.Step(ctx)
	require.NoError(t, err)
	linus, err = ws.Contacts().Get(ctx, linus.ID)
	require.NoError(t, err)
	assert.Equal(t, "ann", linus.OwnerID)

	// Ada's enrolment and its timer were kept: its first step fires a day
	// after she was enrolled.
	var seqID string
	for en, err := range automation.SequencesOf(ws).Enrolments(ctx, ada.ID) {
		require.NoError(t, err)
		assert.Equal(t, automation.EnrolmentActive, en.Status)
		assert.Equal(t, 0, en.Step)
		seqID = en.Sequence
	}
	require.NotEmpty(t, seqID)
	now = fixtureTime.Add(25 * time.Hour)
	_, err = a.Step(ctx)
	require.NoError(t, err)
	en, err := automation.SequencesOf(ws).Enrolment(ctx, seqID, ada.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, en.Step)

	// The time rule's timers, set by the old code (and Linus's, by the new),
	// fire three days on; the sequence's second step comes due meanwhile.
	now = fixtureTime.Add(73 * time.Hour)
	_, err = a.Step(ctx)
	require.NoError(t, err)
	var subjects []string
	for act, err := range ws.Activities().List(ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		subjects = append(subjects, act.Subject)
	}
	slices.Sort(subjects)
	assert.Equal(t, []string{"Follow up Ada Lovelace", "Follow up Grace Hopper", "Follow up Linus", "welcome 1", "welcome 2"}, subjects)
}
