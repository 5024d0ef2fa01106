package crmio_test

import (
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A migrated won or lost deal keeps the date it closed on, so reports of
// past quarters are right; its history starts then.
func TestImportedClosedDealsKeepTheirCloseDate(t *testing.T) {
	onBackends(t, func(t *testing.T, b backend) {
		ws := newWorkspace(t, b.open(t))
		in := "name,stage,amount,close_date,closed_at\n" +
			"Won on its close date,won,1000,2024-03-05,\n" +
			"Won at a time,won,1000,2024-03-05,2024-03-06T10:30:00Z\n" +
			"Lost,lost,1000,2024-01-20,\n" +
			"Open with a close time,Qualification,1000,2024-01-20,2024-01-21T00:00:00Z\n" +
			"Won in the future,won,1000,,2999-01-01T00:00:00Z\n" +
			"Won without dates,won,1000,,\n"
		res := importString(t, ws, in, crmio.ImportOptions{Object: crmio.ObjectDeal})
		rejects := rejectsByLine(res)
		require.Len(t, rejects, 2, "%v", rejects)
		assert.Contains(t, rejects[5], "closed_at")
		assert.Contains(t, rejects[6], "entered_at", "a future close time is refused")

		got := map[string]crm.Deal{}
		for _, d := range deals(t, ws) {
			got[d.Name] = d
		}
		day := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
		won := got["Won on its close date"]
		assert.Equal(t, day, won.ClosedAt)
		require.Len(t, won.StageHistory, 1)
		assert.Equal(t, day, won.StageHistory[0].EnteredAt)
		assert.Equal(t, time.Date(2024, 3, 6, 10, 30, 0, 0, time.UTC), got["Won at a time"].ClosedAt)
		assert.Equal(t, time.Date(2024, 1, 20, 0, 0, 0, 0, time.UTC), got["Lost"].ClosedAt)
		assert.Equal(t, crm.StatusLost, got["Lost"].Status)
		assert.True(t, got["Won without dates"].ClosedAt.After(day), "without a date it closes at the import")
	})
}

// A migrated deal's history starts when its row says it entered the
// pipeline: a closed one spent the time until it closed in the first open
// stage, an open one in its stage.
func TestImportedDealsStartTheirHistoryWhenOpened(t *testing.T) {
	onBackends(t, func(t *testing.T, b backend) {
		ws := newWorkspace(t, b.open(t))
		in := "name,stage,amount,engage_date,close_date\n" +
			"Won,won,1000,2024-01-10,2024-03-05\n" +
			"Open,Qualification,1000,2024-02-01,2024-06-30\n" +
			"Opened later than closed,won,1000,2024-04-01,2024-03-05\n"
		res := importString(t, ws, in, crmio.ImportOptions{Object: crmio.ObjectDeal})
		rejects := rejectsByLine(res)
		require.Len(t, rejects, 1, "%v", rejects)
		assert.Contains(t, rejects[4], "closed_at", "a deal cannot close before it opened")
		got := map[string]crm.Deal{}
		for _, d := range deals(t, ws) {
			got[d.Name] = d
		}
		day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
		won := got["Won"]
		require.Len(t, won.StageHistory, 2)
		assert.Equal(t, day("2024-01-10"), won.StageHistory[0].EnteredAt)
		assert.Equal(t, day("2024-03-05"), won.StageHistory[0].LeftAt)
		assert.Equal(t, won.StageID, won.StageHistory[1].StageID)
		assert.Equal(t, day("2024-03-05"), won.ClosedAt)

		open := got["Open"]
		require.Len(t, open.StageHistory, 1)
		assert.Equal(t, day("2024-02-01"), open.StageHistory[0].EnteredAt)
		assert.True(t, open.ClosedAt.IsZero())

	})
}
