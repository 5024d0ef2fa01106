package crm_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestContactsUpdateManyKeepsTheGoodAndReportsTheBad(t *testing.T) {
	e := setup(t)
	var in []crm.Contact
	for i := range 300 { // more than one transaction's worth
		in = append(in, crm.Contact{FirstName: fmt.Sprint("P", i), Emails: []string{fmt.Sprintf("p%d@example.com", i)}})
	}
	cs, err := e.ws.Contacts().CreateMany(e.ctx, in)
	require.NoError(t, err)
	require.NoError(t, e.ws.Contacts().Delete(e.ctx, cs[5].ID))

	ids := []string{cs[0].ID, "c_missing", cs[5].ID, cs[1].ID, cs[2].ID}
	for _, c := range cs[10:] {
		ids = append(ids, c.ID)
	}
	out, err := e.ws.Contacts().UpdateMany(e.ctx, ids, func(c *crm.Contact) error {
		if c.ID == cs[2].ID {
			c.Emails = []string{"not an email"} // invalid after mutate
			return nil
		}
		if c.ID == cs[1].ID {
			return fmt.Errorf("refused: %w", crm.ErrInvalid)
		}
		c.LeadSource = "bulk edit"
		return nil
	})
	var be *crm.BatchError
	require.ErrorAs(t, err, &be)
	var bad []int
	for _, it := range be.Items {
		bad = append(bad, it.Index)
	}
	assert.Equal(t, []int{1, 2, 3, 4}, bad)
	assert.ErrorIs(t, be.Items[0].Err, crm.ErrNotFound)
	assert.ErrorIs(t, be.Items[1].Err, crm.ErrDeleted)
	assert.ErrorIs(t, be.Items[2].Err, crm.ErrInvalid)
	assert.ErrorIs(t, be.Items[3].Err, crm.ErrInvalid)
	require.Len(t, out, len(ids))
	assert.Empty(t, out[1].ID, "a skipped item is returned as a zero value")

	for i, id := range ids {
		if slices.Contains(bad, i) {
			continue
		}
		got, err := e.ws.Contacts().Get(e.ctx, id)
		require.NoError(t, err)
		assert.Equal(t, "bulk edit", got.LeadSource)
		assert.Equal(t, int64(2), got.Version)
		assert.Equal(t, got, out[i])
	}
	for _, c := range []crm.Contact{cs[1], cs[2]} {
		got, err := e.ws.Contacts().Get(e.ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, c.Emails, got.Emails, "a refused contact is left as it was")
		assert.Equal(t, int64(1), got.Version)
	}
}

func TestDealsUpdateManyRecordsEachMove(t *testing.T) {
	e := setup(t)
	pl, stages := sales(t, e)
	var in []crm.Deal
	for i := range 3 {
		in = append(in, crm.Deal{Name: fmt.Sprint("D", i), PipelineID: pl.ID, StageID: stages["Qualification"],
			Amount: crm.Money{Amount: 1000, Currency: "EUR"}})
	}
	ds, err := e.ws.Deals().CreateMany(e.ctx, in)
	require.NoError(t, err)
	e.clock.Advance(72 * time.Hour)
	moved := e.clock.Now()
	ids := []string{ds[0].ID, ds[1].ID, ds[2].ID}
	out, err := e.ws.Deals().UpdateMany(e.ctx, ids, func(d *crm.Deal) error {
		d.StageID = stages["Closed won"]
		return nil
	})
	require.NoError(t, err)
	for _, d := range out {
		assert.Equal(t, stages["Closed won"], d.StageID)
		require.NotEmpty(t, d.StageHistory)
		last := d.StageHistory[len(d.StageHistory)-1]
		assert.Equal(t, stages["Closed won"], last.StageID)
		assert.True(t, last.EnteredAt.Equal(moved), "entered at %v, want %v", last.EnteredAt, moved)
	}
	var won int
	for ev, err := range e.ws.Changes(e.ctx, 0) {
		require.NoError(t, err)
		if ev.Type == crm.DealWon {
			won++
		}
	}
	assert.Equal(t, 3, won, "each deal moved to won emits its event")
}

func TestUpdateManyInADeletedWorkspaceFailsWhole(t *testing.T) {
	e := setup(t)
	cs, err := e.ws.Contacts().CreateMany(e.ctx, []crm.Contact{{FirstName: "A"}, {FirstName: "B"}})
	require.NoError(t, err)
	require.NoError(t, e.crm.DeleteWorkspace(e.ctx, "acme"))
	_, err = e.ws.Contacts().UpdateMany(e.ctx, []string{cs[0].ID, cs[1].ID}, func(c *crm.Contact) error {
		c.LeadSource = "x"
		return nil
	})
	require.ErrorIs(t, err, crm.ErrNotFound)
	var be *crm.BatchError
	assert.False(t, errors.As(err, &be), "the workspace is missing, not each contact: %v", err)
	assert.Contains(t, err.Error(), "workspace")
}

func TestUpdateManyStoppedKeepsTheRefusalsBefore(t *testing.T) {
	e := setup(t)
	var in []crm.Contact
	for i := range 300 {
		in = append(in, crm.Contact{FirstName: fmt.Sprint("P", i)})
	}
	cs, err := e.ws.Contacts().CreateMany(e.ctx, in)
	require.NoError(t, err)
	ids := []string{"c_missing"}
	for _, c := range cs[1:] {
		ids = append(ids, c.ID)
	}
	boom := errors.New("boom")
	out, err := e.ws.Contacts().UpdateMany(e.ctx, ids, func(c *crm.Contact) error {
		if c.ID == ids[290] {
			return boom
		}
		c.LeadSource = "bulk"
		return nil
	})
	require.ErrorIs(t, err, boom)
	var be *crm.BatchError
	require.ErrorAs(t, err, &be, "the first transaction's refusal is still reported")
	require.Len(t, be.Items, 1)
	assert.Equal(t, 0, be.Items[0].Index)
	assert.Len(t, out, 256, "the first transaction committed")
	got, err := e.ws.Contacts().Get(e.ctx, ids[255])
	require.NoError(t, err)
	assert.Equal(t, "bulk", got.LeadSource)
	got, err = e.ws.Contacts().Get(e.ctx, ids[256])
	require.NoError(t, err)
	assert.Empty(t, got.LeadSource, "the stopped transaction wrote nothing")
}
