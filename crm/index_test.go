package crm_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func countOf(t *testing.T, e *env, ws *crm.Workspace, text string) (int64, string) {
	t.Helper()
	f, err := filter.Parse(text)
	require.NoError(t, err)
	q := ws.Query(crm.KindContact, f)
	n, err := q.Count(e.ctx)
	require.NoError(t, err, text)
	plan, err := q.Explain(e.ctx)
	require.NoError(t, err)
	return n, plan
}

// TestCustomFieldIndexFollowsDefinitions redefines an indexed custom field
// under the same name and switches indexing off, and checks counts.
func TestCustomFieldIndexFollowsDefinitions(t *testing.T) {
	e := setup(t)
	_, err := e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "tier", Type: crm.FieldSelect, Options: []string{"gold", "silver"}, Indexed: true})
	require.NoError(t, err)
	for i, tier := range []string{"gold", "gold", "silver"} {
		_, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: fmt.Sprint(i), Custom: crm.Custom{"tier": tier}})
		require.NoError(t, err)
	}
	n, plan := countOf(t, e, e.ws, `custom.tier = "gold"`)
	assert.EqualValues(t, 2, n)
	assert.Contains(t, plan, "index f.custom.tier")

	// Removed and defined again as text: the records keep their values,
	// and the first write rebuilds the index from them.
	require.NoError(t, e.ws.Fields().Remove(e.ctx, crm.KindContact, "tier"))
	_, err = e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "tier", Type: crm.FieldText, Indexed: true})
	require.NoError(t, err)
	n, plan = countOf(t, e, e.ws, `custom.tier = "GOLD"`)
	assert.EqualValues(t, 2, n)
	assert.Contains(t, plan, "all records (", "not indexed until a write brings the index in line")
	_, err = e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "x", Custom: crm.Custom{"tier": "Gold"}})
	require.NoError(t, err)
	n, plan = countOf(t, e, e.ws, `custom.tier = "GOLD"`)
	assert.EqualValues(t, 3, n)
	assert.Contains(t, plan, "index f.custom.tier: 1 value prefix(es) [3, counted, exact]")

	// Indexing switched off: the entries and counters go at the next write.
	_, err = e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "tier", Type: crm.FieldText})
	require.NoError(t, err)
	_, err = e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "y"})
	require.NoError(t, err)
	n, plan = countOf(t, e, e.ws, `custom.tier = "gold"`)
	assert.EqualValues(t, 3, n)
	assert.Contains(t, plan, "all records (")
	assertNoKeysMention(t, e, "f.custom.tier")
}

// TestCountsUnderConflicts writes from two CRMs over one store, so their
// transactions collide and are retried, and checks the counters.
func TestCountsUnderConflicts(t *testing.T) {
	e := setup(t)
	other := crm.New(e.st, crm.WithClock(e.clock.Now))
	ws2, err := other.Workspace(e.ctx, "acme")
	require.NoError(t, err)
	var ids []string
	for i := range 20 {
		c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: fmt.Sprint(i), Lifecycle: "lead", Tags: []string{"a"}})
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	stages := []string{"lead", "customer", "churned"}
	var wg sync.WaitGroup
	for w, ws := range []*crm.Workspace{e.ws, ws2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				id := ids[(i*7+w)%len(ids)]
				_, err := ws.Contacts().Update(e.ctx, id, func(c *crm.Contact) error {
					c.Lifecycle = stages[(i+w)%3]
					c.Tags = []string{"a", stages[i%3]}
					return nil
				})
				// A write may lose every retry (ErrConflict) and then
				// leaves nothing behind; the counts must hold either way.
				if err != nil && !errors.Is(err, crm.ErrConflict) {
					t.Error(err)
					return
				}
				if i%10 == 9 {
					_, err := ws.Contacts().CreateMany(e.ctx, []crm.Contact{{FirstName: "m", Lifecycle: "customer"}, {FirstName: "n", Lifecycle: "bogus"}})
					var be *crm.BatchError
					if !errors.As(err, &be) && !errors.Is(err, crm.ErrConflict) {
						t.Errorf("want a batch error, got %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	for _, text := range []string{`lifecycle = "lead"`, `lifecycle = "customer"`, `lifecycle IN ("churned", "lead")`, `tags CONTAINS "customer"`, `tags CONTAINS "a"`} {
		f, err := filter.Parse(text)
		require.NoError(t, err)
		var want int64
		for c, err := range e.ws.Contacts().List(e.ctx, crm.ListOptions{}) {
			require.NoError(t, err)
			if ok, _ := filter.Eval(f, filter.MapRecord{"lifecycle": c.Lifecycle, "tags": c.Tags}, e.clock.Now()); ok {
				want++
			}
		}
		n, plan := countOf(t, e, e.ws, text)
		assert.Equal(t, want, n, text)
		assert.Contains(t, plan, "counted, exact")
	}
}
