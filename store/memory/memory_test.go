package memory_test

import (
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/memory"
	"github.com/crmkit/crmkit/store/storetest"
)

var backend = storetest.Backend{
	Open: func(testing.TB) store.Store { return memory.New() },
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
