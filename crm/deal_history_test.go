package crm_test

import (
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestImportedDealHistoryIsKeptAndChecked(t *testing.T) {
	e := setup(t)
	pl, stages := sales(t, e)
	var open, won string
	for _, st := range pl.Stages {
		switch {
		case st.Kind == crm.StageOpen && open == "":
			open = st.ID
		case st.Kind == crm.StageWon:
			won = st.ID
		}
	}
	require.NotEmpty(t, stages)
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	ctx := crm.WithImportedHistory(e.ctx)

	d, err := e.ws.Deals().Create(ctx, crm.Deal{Name: "Migrated", PipelineID: pl.ID, StageID: won,
		StageHistory: []crm.StageEntry{{StageID: open, EnteredAt: day("2024-01-10")}, {StageID: won, EnteredAt: day("2024-03-05")}}})
	require.NoError(t, err)
	assert.Equal(t, crm.StatusWon, d.Status)
	assert.Equal(t, day("2024-03-05"), d.ClosedAt, "closed when it entered the won stage")
	require.Len(t, d.StageHistory, 2)
	assert.Equal(t, day("2024-03-05"), d.StageHistory[0].LeftAt, "each entry leaves when the next enters")
	assert.Equal(t, pl.ID, d.StageHistory[0].PipelineID)

	// A close time alone is a one-entry history.
	d, err = e.ws.Deals().Create(ctx, crm.Deal{Name: "Closed", PipelineID: pl.ID, StageID: won, ClosedAt: day("2024-02-01")})
	require.NoError(t, err)
	assert.Equal(t, []crm.StageEntry{{PipelineID: pl.ID, StageID: won, EnteredAt: day("2024-02-01")}}, d.StageHistory)

	// Later moves are the CRM's own.
	d, err = e.ws.Deals().Move(ctx, d.ID, open)
	require.NoError(t, err)
	assert.Len(t, d.StageHistory, 2)
	assert.Equal(t, e.clock.Now(), d.StageHistory[1].EnteredAt)

	// Without the context, a given history is ignored as before.
	d, err = e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Plain", PipelineID: pl.ID, StageID: won, ClosedAt: day("2024-02-01")})
	require.NoError(t, err)
	assert.Equal(t, e.clock.Now(), d.ClosedAt)

	for name, tc := range map[string]struct {
		deal  crm.Deal
		field string
	}{
		"future":       {crm.Deal{StageID: won, ClosedAt: e.clock.Now().Add(time.Hour)}, "stage_history[0].entered_at"},
		"out of order": {crm.Deal{StageID: won, StageHistory: []crm.StageEntry{{StageID: open, EnteredAt: day("2024-03-01")}, {StageID: won, EnteredAt: day("2024-01-01")}}}, "stage_history[1].entered_at"},
		"wrong last":   {crm.Deal{StageID: won, StageHistory: []crm.StageEntry{{StageID: open, EnteredAt: day("2024-03-01")}}}, "stage_history[0].stage_id"},
		"open closed":  {crm.Deal{StageID: open, ClosedAt: day("2024-01-01")}, "closed_at"},
		"no stage":     {crm.Deal{StageID: won, StageHistory: []crm.StageEntry{{StageID: "stg_nope", EnteredAt: day("2024-01-01")}, {StageID: won, EnteredAt: day("2024-02-01")}}}, "stage_history[0].stage_id"},
		// Index keys hold times as nanoseconds since 1970 in 64 bits.
		"long ago": {crm.Deal{StageID: won, StageHistory: []crm.StageEntry{{StageID: open, EnteredAt: day("1600-01-01")}, {StageID: won, EnteredAt: day("2024-02-01")}}}, "stage_history[0].entered_at"},
	} {
		tc.deal.Name, tc.deal.PipelineID = name, pl.ID
		_, err := e.ws.Deals().Create(ctx, tc.deal)
		require.ErrorIs(t, err, crm.ErrInvalid, name)
		assert.Contains(t, fieldErrors(t, err), tc.field, name)
	}
}
