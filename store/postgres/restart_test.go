package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFaultServerRestart restarts the server, immediate mode, while four
// goroutines write through one store. Each Update writes two keys; the
// writers go on through the outage. Afterwards every acknowledged write is
// present, no Update is half-written, every failure was ErrUnavailable, and
// the pool serves writes again without being reopened.
func TestFaultServerRestart(t *testing.T) {
	t.Parallel() // a cluster of its own: runs beside the other tests
	ps := startPrivateServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, ps.dsn(), postgres.WithMaxConns(4))
	require.NoError(t, err)
	defer s.Close()

	const writers = 4
	var (
		stop     atomic.Bool
		acked    [writers]atomic.Int64 // writes acknowledged so far, per writer
		mu       sync.Mutex
		failures []error
		wg       sync.WaitGroup
	)
	ackedKeys := make([][]int, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				err := s.Update(ctx, func(tx store.Tx) error {
					if err := tx.Set(fmt.Appendf(nil, "a/%d/%06d", w, i), []byte("x")); err != nil {
						return err
					}
					return tx.Set(fmt.Appendf(nil, "b/%d/%06d", w, i), []byte("x"))
				})
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
					time.Sleep(10 * time.Millisecond) // the server is away
					continue
				}
				ackedKeys[w] = append(ackedKeys[w], i)
				acked[w].Add(1)
			}
		}()
	}
	// waitAcked waits until every writer has n more acknowledged writes.
	waitAcked := func(n int64, what string) {
		t.Helper()
		var from [writers]int64
		for w := range writers {
			from[w] = acked[w].Load()
		}
		deadline := time.Now().Add(time.Minute)
		for w := range writers {
			for acked[w].Load() < from[w]+n {
				require.True(t, time.Now().Before(deadline), "writer %d made no progress %s", w, what)
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	waitAcked(20, "before the restart")
	ps.restart(t)
	waitAcked(20, "after the restart: the pool did not recover")
	stop.Store(true)
	wg.Wait()

	// Every failure is typed, and there were some: the restart cut
	// sessions in the middle of Updates.
	require.NotEmpty(t, failures, "the restart cut no write; the test proves nothing")
	for _, err := range failures {
		assert.ErrorIs(t, err, postgres.ErrUnavailable)
		assert.False(t, errors.Is(err, store.ErrConflict), "a lost session is no conflict: %v", err)
	}
	t.Logf("%d writes failed during the restart", len(failures))

	// Every acknowledged write is there, and both keys of every Update or
	// neither.
	present := map[string]bool{}
	require.NoError(t, s.View(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{KeysOnly: true}) {
			if err != nil {
				return err
			}
			present[string(e.Key)] = true
		}
		return nil
	}))
	for w := range writers {
		for _, i := range ackedKeys[w] {
			assert.True(t, present[fmt.Sprintf("a/%d/%06d", w, i)], "acknowledged write %d/%d lost", w, i)
		}
	}
	for k := range present {
		if k[0] == 'a' {
			assert.True(t, present["b"+k[1:]], "half-written Update: %s without its pair", k)
		} else {
			assert.True(t, present["a"+k[1:]], "half-written Update: %s without its pair", k)
		}
	}
}
