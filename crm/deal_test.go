package crm_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDealLifecycleAndStageHistory(t *testing.T) {
	e := setup(t)
	pl, err := e.ws.Pipelines().Default(e.ctx)
	require.NoError(t, err)
	co, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Globex"})
	require.NoError(t, err)

	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Globex renewal", CompanyID: co.ID, Amount: crm.Money{Amount: 1_200_000}})
	require.NoError(t, err)
	assert.Equal(t, pl.ID, d.PipelineID, "the default pipeline")
	assert.Equal(t, pl.Stages[0].ID, d.StageID, "the first open stage")
	assert.Equal(t, crm.Money{Amount: 1_200_000, Currency: "EUR"}, d.Amount, "the workspace currency")
	assert.Equal(t, crm.StatusOpen, d.Status)
	require.Len(t, d.StageHistory, 1)
	t0 := e.clock.Now()

	e.clock.Advance(48 * time.Hour)
	d, err = e.ws.Deals().Move(e.ctx, d.ID, pl.Stages[2].ID)
	require.NoError(t, err)
	e.clock.Advance(24 * time.Hour)
	d, err = e.ws.Deals().Win(e.ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, crm.StatusWon, d.Status)
	assert.Equal(t, t0.Add(72*time.Hour), d.ClosedAt)
	require.Len(t, d.StageHistory, 3)
	assert.Equal(t, []time.Time{t0, t0.Add(48 * time.Hour), t0.Add(72 * time.Hour)},
		[]time.Time{d.StageHistory[0].EnteredAt, d.StageHistory[1].EnteredAt, d.StageHistory[2].EnteredAt})
	assert.Equal(t, t0.Add(48*time.Hour), d.StageHistory[0].LeftAt)
	assert.True(t, d.StageHistory[2].LeftAt.IsZero())

	// Reopen after losing: the closing time goes, the history stays.
	e.clock.Advance(time.Hour)
	d, err = e.ws.Deals().Lose(e.ctx, d.ID, "price")
	require.NoError(t, err)
	assert.Equal(t, "price", d.LostReason)
	d, err = e.ws.Deals().Move(e.ctx, d.ID, pl.Stages[3].ID)
	require.NoError(t, err)
	assert.Equal(t, crm.StatusOpen, d.Status)
	assert.True(t, d.ClosedAt.IsZero())
	assert.Empty(t, d.LostReason)
	assert.Len(t, d.StageHistory, 5)

	// Callers cannot forge the stage history.
	d, err = e.ws.Deals().Update(e.ctx, d.ID, func(d *crm.Deal) error {
		d.StageHistory = nil
		d.Status = crm.StatusWon
		d.Name = "Globex renewal 2"
		return nil
	})
	require.NoError(t, err)
	assert.Len(t, d.StageHistory, 5)
	assert.Equal(t, crm.StatusOpen, d.Status)

	sum, err := e.ws.Deals().Summary(e.ctx, pl.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, sum[3].Count)
	assert.Equal(t, int64(1_200_000), sum[3].Totals["EUR"])
	assert.Zero(t, sum[0].Count)
}

func TestDealValidation(t *testing.T) {
	e := setup(t)
	usd, err := e.ws.Pipelines().Create(e.ctx, crm.Pipeline{Name: "US", Currency: "USD", Stages: []crm.Stage{
		{Name: "Open", Probability: 20}, {Name: "Won", Kind: crm.StageWon}, {Name: "Lost", Kind: crm.StageLost},
	}})
	require.NoError(t, err)
	tests := []struct {
		name   string
		d      crm.Deal
		fields []string
	}{
		{"no name", crm.Deal{}, []string{"name"}},
		{"negative amount", crm.Deal{Name: "x", Amount: crm.Money{Amount: -5, Currency: "EUR"}}, []string{"amount.amount"}},
		{"bad currency", crm.Deal{Name: "x", Amount: crm.Money{Amount: 5, Currency: "EURO"}}, []string{"amount.currency"}},
		{"mixed currency", crm.Deal{Name: "x", PipelineID: usd.ID, Amount: crm.Money{Amount: 5, Currency: "EUR"}}, []string{"amount.currency"}},
		{"unknown pipeline", crm.Deal{Name: "x", PipelineID: "pip_nope"}, []string{"pipeline_id"}},
		{"stage of another pipeline", crm.Deal{Name: "x", StageID: usd.Stages[0].ID}, []string{"stage_id"}},
		{"unknown company", crm.Deal{Name: "x", CompanyID: "com_nope"}, []string{"company_id"}},
		{"unknown contact", crm.Deal{Name: "x", Contacts: []crm.ContactRole{{ContactID: "con_nope"}}}, []string{"contacts[0].contact_id"}},
		{"close date out of range", crm.Deal{Name: "x", CloseDate: crm.Date{Year: 3000, Month: 1, Day: 1}}, []string{"close_date"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.ws.Deals().Create(e.ctx, tc.d)
			assert.Equal(t, tc.fields, fieldErrors(t, err))
		})
	}
}

func TestPipelineStages(t *testing.T) {
	e := setup(t)
	ps := e.ws.Pipelines()
	_, err := ps.Create(e.ctx, crm.Pipeline{Name: "Bad", Stages: []crm.Stage{{Name: "Only open"}}})
	assert.ErrorIs(t, err, crm.ErrInvalid, "a pipeline needs won and lost stages")
	_, err = ps.Create(e.ctx, crm.Pipeline{Name: "Dup", Stages: []crm.Stage{{Name: "A"}, {Name: "a"}, {Name: "W", Kind: crm.StageWon}, {Name: "L", Kind: crm.StageLost}}})
	assert.ErrorIs(t, err, crm.ErrInvalid, "stage names are unique")

	pl, err := ps.Create(e.ctx, crm.Pipeline{Name: "Partners", Stages: []crm.Stage{
		{Name: "Intro", Probability: 10}, {Name: "Pilot", Probability: 40},
		{Name: "Signed", Kind: crm.StageWon}, {Name: "Dropped", Kind: crm.StageLost},
	}})
	require.NoError(t, err)
	intro, pilot := pl.Stages[0].ID, pl.Stages[1].ID

	pl, err = ps.AddStage(e.ctx, pl.ID, crm.Stage{Name: "Legal", Probability: 80}, 2)
	require.NoError(t, err)
	assert.Equal(t, "Legal", pl.Stages[2].Name)
	legal := pl.Stages[2].ID

	pl, err = ps.RenameStage(e.ctx, pl.ID, pilot, "Trial")
	require.NoError(t, err)
	st, _ := pl.Stage(pilot)
	assert.Equal(t, "Trial", st.Name, "the ID survives a rename")

	pl, err = ps.ReorderStages(e.ctx, pl.ID, []string{pilot, intro, legal, pl.Stages[3].ID, pl.Stages[4].ID})
	require.NoError(t, err)
	assert.Equal(t, "Trial", pl.Stages[0].Name)
	_, err = ps.ReorderStages(e.ctx, pl.ID, []string{pilot, pilot, legal, pl.Stages[3].ID, pl.Stages[4].ID})
	assert.ErrorIs(t, err, crm.ErrInvalid)

	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Pilot deal", PipelineID: pl.ID, StageID: pilot})
	require.NoError(t, err)
	_, err = ps.Update(e.ctx, pl.ID, func(p *crm.Pipeline) error {
		p.Stages = p.Stages[1:]
		return nil
	})
	assert.ErrorIs(t, err, crm.ErrInvalid, "a stage holding deals cannot just vanish")
	_, err = ps.RemoveStage(e.ctx, pl.ID, pilot, "")
	assert.ErrorIs(t, err, crm.ErrInvalid, "removing a stage with deals needs a destination")
	pl, err = ps.RemoveStage(e.ctx, pl.ID, pilot, legal)
	require.NoError(t, err)
	_, ok := pl.Stage(pilot)
	assert.False(t, ok)
	d, err = e.ws.Deals().Get(e.ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, legal, d.StageID)
	assert.Len(t, d.StageHistory, 2)
	pl, err = ps.RemoveStage(e.ctx, pl.ID, intro, "")
	require.NoError(t, err, "an empty stage needs no destination")
	assert.Len(t, pl.Stages, 3)
}

// TestConcurrentDealUpdates has many goroutines change one deal at once:
// unpinned updates are retried and none is lost; pinned ones either apply
// or fail with ErrConflict.
func TestConcurrentDealUpdates(t *testing.T) {
	e := setup(t)
	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Hot", Amount: crm.Money{Amount: 0, Currency: "EUR"}})
	require.NoError(t, err)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := e.ws.Deals().Update(e.ctx, d.ID, func(d *crm.Deal) error {
					d.Amount.Amount++
					d.Amount.Currency = "EUR"
					return nil
				})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := e.ws.Deals().Get(e.ctx, d.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(workers*each), got.Amount.Amount, "no update was lost")
	assert.Equal(t, int64(workers*each+1), got.Version)

	// Pinned: exactly one of several writers holding the same version wins.
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			_, err := e.ws.Deals().Update(e.ctx, d.ID, func(d *crm.Deal) error {
				d.Source = "writer"
				d.Amount.Amount += 1000
				return nil
			}, crm.IfVersion(got.Version))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case assert.ErrorIs(t, err, crm.ErrConflict):
				conflicts++
			}
		}(w)
	}
	wg.Wait()
	assert.Equal(t, 1, wins)
	assert.Equal(t, workers-1, conflicts)
}

func TestMoveTakesAStageNameAndListsStages(t *testing.T) {
	e := setup(t)
	pl, stages := sales(t, e)
	d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Acme", PipelineID: pl.ID})
	require.NoError(t, err)
	var name string
	for n := range stages {
		if n != pl.Stages[0].Name {
			name = n
			break
		}
	}
	d, err = e.ws.Deals().Move(e.ctx, d.ID, strings.ToUpper(name))
	require.NoError(t, err)
	assert.Equal(t, stages[name], d.StageID, "a name is stored as the stage's ID")

	_, err = e.ws.Deals().Move(e.ctx, d.ID, "Negotiation-ish")
	require.ErrorIs(t, err, crm.ErrInvalid)
	for n, id := range stages {
		assert.Contains(t, err.Error(), n)
		assert.Contains(t, err.Error(), id)
	}
}
