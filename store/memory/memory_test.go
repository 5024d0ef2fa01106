package memory_test

import (
	"context"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/memory"
	"github.com/crmkit/crmkit/store/storetest"
	"github.com/stretchr/testify/require"
)

var backend = storetest.Backend{
	Open:         func(testing.TB) store.Store { return memory.New() },
	Reopen:       reopen,
	ReopenCopies: true,
}

// reopen stands in for reopening a persistent database: it copies
// everything s holds into a new store and closes s, so the suite's
// durability test also runs against this backend.
func reopen(t testing.TB, s store.Store) store.Store {
	ctx := context.Background()
	next := memory.New()
	err := s.View(ctx, func(tx store.Tx) error {
		return next.Batch(ctx, func(w store.Writer) error {
			for e, err := range tx.Scan(store.Range{}) {
				if err != nil {
					return err
				}
				if err := w.Set(e.Key, e.Value); err != nil {
					return err
				}
			}
			return nil
		})
	})
	require.NoError(t, err, "copy")
	require.NoError(t, s.Close(), "close")
	return next
}

func TestConformance(t *testing.T) {
	storetest.Run(t, backend)
}

func TestConformanceSmallBatches(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(testing.TB) store.Store { return memory.New(memory.WithBatchSize(7)) },
	})
}

func BenchmarkConformance(b *testing.B) {
	storetest.Bench(b, backend)
}

func FuzzScan(f *testing.F) { storetest.FuzzScan(f, backend) }
