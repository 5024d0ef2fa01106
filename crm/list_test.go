package crm_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListSortingAndPaging(t *testing.T) {
	e := setup(t)
	names := []string{"delta", "Alpha", "charlie", "bravo", "echo"}
	var ids []string
	for i, n := range names {
		e.clock.Advance(time.Minute)
		d, err := e.ws.Deals().Create(e.ctx, crm.Deal{Name: n, Amount: crm.Money{Amount: int64(100 * (i%3 + 1))}})
		require.NoError(t, err)
		ids = append(ids, d.ID)
	}
	e.clock.Advance(time.Minute)
	_, err := e.ws.Deals().Update(e.ctx, ids[0], func(d *crm.Deal) error { d.Source = "web"; return nil })
	require.NoError(t, err)

	collect := func(opts crm.ListOptions) []string {
		var out []string
		for d, err := range e.ws.Deals().List(e.ctx, opts) {
			require.NoError(t, err)
			out = append(out, d.Name)
		}
		return out
	}
	assert.Equal(t, names, collect(crm.ListOptions{}))
	assert.Equal(t, []string{"echo", "bravo", "charlie", "Alpha", "delta"}, collect(crm.ListOptions{Desc: true}))
	assert.Equal(t, []string{"Alpha", "bravo", "charlie", "delta", "echo"}, collect(crm.ListOptions{Sort: crm.SortName}))
	assert.Equal(t, []string{"Alpha", "charlie", "bravo", "echo", "delta"}, collect(crm.ListOptions{Sort: crm.SortUpdated}))
	byAmount := collect(crm.ListOptions{Sort: crm.SortAmount, Desc: true})
	assert.Equal(t, "charlie", byAmount[0])

	// Pages of 2 walk the whole list exactly once, in both directions.
	for _, desc := range []bool{false, true} {
		var seen []string
		opts := crm.ListOptions{Sort: crm.SortName, Desc: desc, Limit: 2}
		for {
			pg, err := e.ws.Deals().Page(e.ctx, opts)
			require.NoError(t, err)
			assert.LessOrEqual(t, len(pg.Items), 2)
			for _, d := range pg.Items {
				seen = append(seen, d.Name)
			}
			if pg.Next == "" {
				break
			}
			opts.After = pg.Next
		}
		assert.Equal(t, collect(crm.ListOptions{Sort: crm.SortName, Desc: desc}), seen, fmt.Sprint("desc=", desc))
	}

	_, err = e.ws.Deals().Page(e.ctx, crm.ListOptions{After: "%%%"})
	assert.ErrorIs(t, err, crm.ErrBadCursor)
	_, err = e.ws.Contacts().Page(e.ctx, crm.ListOptions{Sort: crm.SortAmount})
	assert.ErrorIs(t, err, crm.ErrInvalid)
}

func TestCreateManyKeepsGoodRows(t *testing.T) {
	e := setup(t)
	in := make([]crm.Contact, 600)
	for i := range in {
		in[i] = crm.Contact{FirstName: fmt.Sprint("c", i), Emails: []string{fmt.Sprintf("c%d@example.com", i)}}
	}
	in[3].Emails = []string{"broken"}
	in[400].Emails = []string{"c1@EXAMPLE.com"}   // duplicate of row 1, in a later transaction
	in[401].Emails = []string{"c402@example.com"} // duplicate of the next row, same transaction
	out, err := e.ws.Contacts().CreateMany(e.ctx, in)
	var be *crm.BatchError
	require.ErrorAs(t, err, &be)
	assert.ErrorIs(t, err, crm.ErrInvalid)
	var bad []int
	for _, it := range be.Items {
		bad = append(bad, it.Index)
	}
	assert.Equal(t, []int{3, 400, 402}, bad)
	require.Len(t, out, 600)
	assert.Empty(t, out[3].ID)
	assert.NotEmpty(t, out[401].ID)
	n := 0
	for _, err := range e.ws.Contacts().List(e.ctx, crm.ListOptions{}) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 597, n)
}

func TestHistoryRecordsEveryChange(t *testing.T) {
	e := setup(t)
	ctx := crm.WithSource(e.ctx, "sync-x")
	c, err := e.ws.Companies().Create(ctx, crm.Company{Name: "Hooli", Employees: 10})
	require.NoError(t, err)
	e.clock.Advance(time.Minute)
	_, err = e.ws.Companies().Update(crm.WithActor(ctx, "u_2"), c.ID, func(c *crm.Company) error {
		c.Employees = 20
		c.Tags = []string{"big"}
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, e.ws.Companies().Delete(ctx, c.ID))
	require.NoError(t, e.ws.Companies().Restore(ctx, c.ID))

	var hist []crm.Change
	for ch, err := range e.ws.History(e.ctx, crm.Ref{Kind: crm.KindCompany, ID: c.ID}) {
		require.NoError(t, err)
		hist = append(hist, ch)
	}
	require.Len(t, hist, 4)
	assert.Equal(t, []crm.Op{crm.OpRestored, crm.OpDeleted, crm.OpUpdated, crm.OpCreated},
		[]crm.Op{hist[0].Op, hist[1].Op, hist[2].Op, hist[3].Op})
	up := hist[2]
	assert.Equal(t, "u_2", up.Actor)
	assert.Equal(t, "sync-x", up.Source)
	assert.Equal(t, "acme", up.Workspace)
	require.Len(t, up.Fields, 2)
	assert.Equal(t, "employees", up.Fields[0].Field)
	assert.EqualValues(t, 10, up.Fields[0].Old)
	assert.EqualValues(t, 20, up.Fields[0].New)
	assert.Equal(t, "tags", up.Fields[1].Field)
}
