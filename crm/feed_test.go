package crm_test

import (
	"context"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWatchFromNowEndsQuietly starts a watch from now after some writes:
// it sees only later events, and when its context is cancelled the loop
// just ends, with no error yielded.
func TestWatchFromNowEndsQuietly(t *testing.T) {
	e := setup(t)
	_, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Before"})
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	type result struct {
		types []crm.EventType
		errs  []error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		first := true
		for ev, err := range e.ws.Watch(ctx, crm.FromNow, 10*time.Millisecond) {
			if err != nil {
				r.errs = append(r.errs, err)
				continue
			}
			r.types = append(r.types, ev.Type)
			if first {
				first = false
				cancel() // the first event is enough
			}
		}
		done <- r
	}()
	// Companies are created until the watch has seen one: however late it
	// reads the head, a later one is after it.
	stop, stopped := make(chan struct{}), make(chan struct{})
	defer func() { close(stop); <-stopped }()
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				_, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "After"})
				assert.NoError(t, err)
			}
		}
	}()
	select {
	case r := <-done:
		assert.Empty(t, r.errs, "a cancelled watch yields no error")
		require.NotEmpty(t, r.types)
		assert.Equal(t, crm.CompanyCreated, r.types[0], "the contact created before the watch is not seen")
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not end after its context was cancelled")
	}
}
