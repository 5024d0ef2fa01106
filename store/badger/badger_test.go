package badger_test

import (
	"sync"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/crmkit/crmkit/store/storetest"
	"github.com/stretchr/testify/require"
)

// diskBackend opens on-disk stores in fresh temporary directories, with the
// default options, and reopens them in the same directory.
func diskBackend(opts ...badger.Option) storetest.Backend {
	var mu sync.Mutex
	dirs := map[store.Store]string{}
	return storetest.Backend{
		Open: func(t testing.TB) store.Store {
			dir := t.TempDir()
			s, err := badger.Open(dir, opts...)
			require.NoError(t, err)
			mu.Lock()
			dirs[s] = dir
			mu.Unlock()
			return s
		},
		Reopen: func(t testing.TB, old store.Store) store.Store {
			mu.Lock()
			dir := dirs[old]
			mu.Unlock()
			require.NotEmpty(t, dir, "store not opened by this backend")
			require.NoError(t, old.Close())
			s, err := badger.Open(dir, opts...)
			require.NoError(t, err)
			mu.Lock()
			dirs[s] = dir
			mu.Unlock()
			return s
		},
	}
}

// memoryBackend opens in-memory stores; they do not survive a reopen.
func memoryBackend() storetest.Backend {
	return storetest.Backend{
		Open: func(t testing.TB) store.Store {
			s, err := badger.Open("", badger.WithInMemory())
			require.NoError(t, err)
			return s
		},
	}
}

func TestConformanceDisk(t *testing.T) {
	storetest.Run(t, diskBackend())
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, memoryBackend())
}

func FuzzScan(f *testing.F) { storetest.FuzzScan(f, memoryBackend()) }
