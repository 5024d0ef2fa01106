package badger_test

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deadline bounds every wait in these tests.
const deadline = 30 * time.Second

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	timeout := time.After(deadline)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-timeout:
			require.FailNow(t, "timed out waiting for "+what)
		case <-tick.C:
		}
	}
}

// recorder is a slog.Handler that keeps the records it handles.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

// find returns the records whose message contains s.
func (r *recorder) find(s string) []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []slog.Record
	for _, rec := range r.records {
		if strings.Contains(rec.Message, s) {
			out = append(out, rec)
		}
	}
	return out
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.records)
}

func TestLoggerReceivesBadgerLogs(t *testing.T) {
	rec := &recorder{}
	s, err := badger.Open(t.TempDir(), badger.WithLogger(slog.New(rec)))
	require.NoError(t, err)
	putValue(t, s, "k", "v")
	require.NoError(t, s.Close())

	require.Positive(t, rec.len(), "Badger logs while opening and closing")
	for _, r := range rec.find("") {
		var component string
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "component" {
				component = a.Value.String()
			}
			return true
		})
		assert.Equal(t, "badger", component, "record %q", r.Message)
		assert.False(t, strings.HasSuffix(r.Message, "\n"), "record %q", r.Message)
	}
	// Badger reports its replay at Info level on open.
	infos := 0
	for _, r := range rec.find("") {
		if r.Level == slog.LevelInfo {
			infos++
		}
	}
	assert.Positive(t, infos, "Info records")
}

func TestGCGoroutineStopsOnClose(t *testing.T) {
	before := runtime.NumGoroutine()
	rec := &recorder{}
	s, err := badger.Open(t.TempDir(), badger.WithGCInterval(5*time.Millisecond), badger.WithLogger(slog.New(rec)))
	require.NoError(t, err)
	putValue(t, s, "k", strings.Repeat("v", 64<<10)) // a value-log value
	// The collector runs on its own, several times.
	eventually(t, "value log GC runs", func() bool { return len(rec.find("value log gc finished")) >= 3 })
	require.NoError(t, s.Close())
	runs := len(rec.find("value log gc"))

	// Close waited for the collector and Badger's goroutines.
	eventually(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
	assert.Equal(t, runs, len(rec.find("value log gc")), "no GC after Close")
}

func TestNoGoroutineLeak(t *testing.T) {
	cases := []struct {
		name string
		opts []badger.Option
	}{
		{"disk", nil},
		{"disk without GC", []badger.Option{badger.WithGCInterval(0)}},
		{"memory", []badger.Option{badger.WithInMemory()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			s, err := badger.Open(t.TempDir(), tc.opts...)
			require.NoError(t, err)
			putValue(t, s, "k", "v")
			ctx := context.Background()
			require.NoError(t, s.Batch(ctx, func(w store.Writer) error { return w.Set([]byte("b"), []byte("1")) }))
			require.NoError(t, s.View(ctx, func(tx store.Tx) error {
				for _, err := range tx.Scan(store.Range{}) {
					if err != nil {
						return err
					}
				}
				return nil
			}))
			require.Greater(t, runtime.NumGoroutine(), before, "Badger runs goroutines while open")
			require.NoError(t, s.Close())
			eventually(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
		})
	}
}

// TestUpdateTooLarge checks that an Update over Badger's transaction limit
// fails with ErrTooLarge and writes nothing, even if fn ignores the error.
func TestUpdateTooLarge(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("fn ignores error=%v", ignore), func(t *testing.T) {
			s, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
			require.NoError(t, err)
			defer s.Close()
			ctx := context.Background()
			putValue(t, s, "before", "1")
			val := bytes.Repeat([]byte{'v'}, 1000)
			var setErr error
			written := 0
			err = s.Update(ctx, func(tx store.Tx) error {
				for i := range 10_000 { // 10 MB, over the 1.2 MiB limit
					if setErr = tx.Set(fmt.Appendf(nil, "k%05d", i), val); setErr != nil {
						break
					}
					written++
				}
				// Writes after the failure fail too.
				assert.ErrorIs(t, tx.Set([]byte("after"), []byte("x")), store.ErrTooLarge)
				assert.ErrorIs(t, tx.Delete([]byte("before")), store.ErrTooLarge)
				if ignore {
					return nil
				}
				return setErr
			})
			assert.ErrorIs(t, setErr, store.ErrTooLarge)
			assert.ErrorIs(t, err, store.ErrTooLarge)
			assert.Greater(t, written, 1000, "a transaction holds about 1.2 MiB")

			var keys []string
			require.NoError(t, s.View(ctx, func(tx store.Tx) error {
				for e, err := range tx.Scan(store.Range{KeysOnly: true}) {
					if err != nil {
						return err
					}
					keys = append(keys, string(e.Key))
				}
				return nil
			}))
			assert.Equal(t, []string{"before"}, keys, "nothing written")
		})
	}
}

// TestLargeValues checks values around the value-log threshold and of
// store.MaxValueSize, many in one transaction (they count little against
// the limit) and through Batch past its flush size.
func TestLargeValues(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 150 MB")
	}
	s, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	value := func(i, n int) []byte {
		v := make([]byte, n)
		for j := range v {
			v[j] = byte(i + j*7)
		}
		return v
	}
	sizes := map[string]int{"u/max1": store.MaxValueSize, "u/max2": store.MaxValueSize, "u/max3": store.MaxValueSize,
		"u/t-1": 32<<10 - 1, "u/t": 32 << 10, "u/t+1": 32<<10 + 1}
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		for k, n := range sizes {
			if err := tx.Set([]byte(k), value(len(k), n)); err != nil {
				return err
			}
		}
		return nil
	}))
	const batchN = 100 // 100 MiB, more than one Batch flush
	require.NoError(t, s.Batch(ctx, func(w store.Writer) error {
		for i := range batchN {
			if err := w.Set(fmt.Appendf(nil, "b/%03d", i), value(i, 1<<20)); err != nil {
				return err
			}
		}
		return nil
	}))

	require.NoError(t, s.View(ctx, func(tx store.Tx) error {
		for k, n := range sizes {
			v, err := tx.Get([]byte(k))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(value(len(k), n), v), "Get %s", k)
		}
		n := 0
		for e, err := range tx.Scan(store.Range{Prefix: []byte("u/")}) {
			require.NoError(t, err)
			assert.True(t, bytes.Equal(value(len(e.Key), sizes[string(e.Key)]), e.Value), "Scan %s", e.Key)
			n++
		}
		assert.Equal(t, len(sizes), n)
		n = 0
		for e, err := range tx.Scan(store.Range{Prefix: []byte("b/"), Reverse: true}) {
			require.NoError(t, err)
			i := batchN - 1 - n
			assert.Equal(t, fmt.Sprintf("b/%03d", i), string(e.Key))
			assert.True(t, bytes.Equal(value(i, 1<<20), e.Value), "Scan %s", e.Key)
			n++
		}
		assert.Equal(t, batchN, n)
		return nil
	}))
}

// TestCommitDuringValueLogScan commits large writes from inside a scan of
// value-log values, enough to rotate the value-log file being read. Badger
// hands out such values under a read lock on the file, which the rotation
// waits for: the scan must not hold it while the caller's loop runs.
func TestCommitDuringValueLogScan(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200 MB")
	}
	s, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
	require.NoError(t, err)
	// No deferred Close: after a deadlock it would wait for the stuck View.
	ctx := context.Background()
	big := bytes.Repeat([]byte{'b'}, 8<<20)
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		for i := range 3 {
			if err := tx.Set(fmt.Appendf(nil, "scan/%d", i), bytes.Repeat([]byte{byte('0' + i)}, 40<<10)); err != nil {
				return err
			}
		}
		return nil
	}))
	done := make(chan error, 1)
	go func() {
		done <- s.View(ctx, func(tx store.Tx) error {
			i := 0
			for e, err := range tx.Scan(store.Range{Prefix: []byte("scan/")}) {
				if err != nil {
					return err
				}
				// 72 MB per entry: more than a value-log file.
				for j := range 9 {
					err := s.Update(ctx, func(tx store.Tx) error {
						return tx.Set(fmt.Appendf(nil, "fill/%d/%d", i, j), big)
					})
					if err != nil {
						return err
					}
				}
				if !bytes.Equal(bytes.Repeat([]byte{byte('0' + i)}, 40<<10), e.Value) {
					return fmt.Errorf("entry %s changed under the loop", e.Key)
				}
				i++
			}
			if i != 3 {
				return fmt.Errorf("scanned %d entries", i)
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(deadline):
		require.FailNow(t, "deadlock: commit inside a value-log scan did not return")
	}
	require.NoError(t, s.Close())
}

// TestReverseScanDoesNotReadUpperBound checks that a reverse scan in Update
// does not conflict with a write to its exclusive upper bound.
func TestReverseScanDoesNotReadUpperBound(t *testing.T) {
	for _, mem := range []bool{false, true} {
		t.Run(fmt.Sprintf("memory=%v", mem), func(t *testing.T) {
			opts := []badger.Option{badger.WithSyncWrites(false)}
			if mem {
				opts = append(opts, badger.WithInMemory())
			}
			s, err := badger.Open(t.TempDir(), opts...)
			require.NoError(t, err)
			defer s.Close()
			ctx := context.Background()
			for _, k := range []string{"a", "b", "c", "d"} {
				putValue(t, s, k, "0")
			}
			var got []string
			err = s.Update(ctx, func(tx store.Tx) error {
				got = got[:0]
				for e, err := range tx.Scan(store.Range{Start: []byte("a"), End: []byte("c"), Reverse: true}) {
					if err != nil {
						return err
					}
					got = append(got, string(e.Key))
				}
				// A concurrent transaction writes the upper bound.
				putValue(t, s, "c", "1")
				return tx.Set([]byte("z"), []byte("1"))
			})
			require.NoError(t, err, "no conflict on a key outside the scanned range")
			assert.Equal(t, []string{"b", "a"}, got)

			// A write inside the range does conflict.
			err = s.Update(ctx, func(tx store.Tx) error {
				for _, err := range tx.Scan(store.Range{Start: []byte("a"), End: []byte("c"), Reverse: true}) {
					if err != nil {
						return err
					}
				}
				putValue(t, s, "b", "1")
				return tx.Set([]byte("z"), []byte("2"))
			})
			assert.ErrorIs(t, err, store.ErrConflict)
		})
	}
}

// TestCloseWaitsForTransactions checks that Close waits for a running
// transaction, and refuses new ones meanwhile.
func TestCloseWaitsForTransactions(t *testing.T) {
	s, err := badger.Open(t.TempDir())
	require.NoError(t, err)
	ctx := context.Background()
	putValue(t, s, "k", "v")

	inside := make(chan struct{})
	release := make(chan struct{})
	viewDone := make(chan error, 1)
	go func() {
		viewDone <- s.View(ctx, func(tx store.Tx) error {
			close(inside)
			<-release
			// The store is closing, but this transaction still works.
			for _, err := range tx.Scan(store.Range{}) {
				if err != nil {
					return err
				}
			}
			_, err := tx.Get([]byte("k"))
			return err
		})
	}()
	<-inside
	closeDone := make(chan error, 1)
	go func() { closeDone <- s.Close() }()
	eventually(t, "Close to start", func() bool {
		return s.View(ctx, func(store.Tx) error { return nil }) != nil
	})
	assert.ErrorIs(t, s.Update(ctx, func(store.Tx) error { return nil }), store.ErrClosed)
	select {
	case <-closeDone:
		require.FailNow(t, "Close returned while a transaction was running")
	default:
	}
	close(release)
	select {
	case err := <-viewDone:
		assert.NoError(t, err)
	case <-time.After(deadline):
		require.FailNow(t, "View did not return")
	}
	select {
	case err := <-closeDone:
		assert.NoError(t, err)
	case <-time.After(deadline):
		require.FailNow(t, "Close did not return")
	}
	assert.NoError(t, s.Close(), "second Close")
}

// TestScanLeftOpen checks that a scan still open when its transaction ends
// (through iter.Pull) is closed by the store, and fails with ErrTxnDone if
// pulled again.
func TestScanLeftOpen(t *testing.T) {
	for _, update := range []bool{false, true} {
		t.Run(fmt.Sprintf("update=%v", update), func(t *testing.T) {
			s, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
			require.NoError(t, err)
			defer s.Close()
			ctx := context.Background()
			putValue(t, s, "a", "1")
			putValue(t, s, "b", "2")
			run := s.View
			if update {
				run = s.Update
			}
			var next func() (store.Entry, error, bool)
			var stop func()
			err = run(ctx, func(tx store.Tx) error {
				next, stop = iter.Pull2(tx.Scan(store.Range{}))
				e, err, ok := next()
				require.True(t, ok)
				require.NoError(t, err)
				assert.Equal(t, "a", string(e.Key))
				if update {
					return tx.Set([]byte("c"), []byte("3"))
				}
				return nil
			})
			require.NoError(t, err, "the transaction ends despite the open scan")
			_, err, ok := next()
			assert.True(t, ok)
			assert.ErrorIs(t, err, store.ErrTxnDone)
			_, _, ok = next()
			assert.False(t, ok, "the scan stopped after the error")
			stop()
			if update {
				assert.Equal(t, "3", getValue(t, s, "c"))
			}
		})
	}
}

// TestTxConcurrentUse uses one transaction from several goroutines: the
// store serialises the calls into Badger (run with -race).
func TestTxConcurrentUse(t *testing.T) {
	s, err := badger.Open(t.TempDir(), badger.WithSyncWrites(false))
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	err = s.Update(ctx, func(tx store.Tx) error {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					k := fmt.Appendf(nil, "g%d/%02d", g, i)
					if err := tx.Set(k, k); err != nil {
						errs <- err
						return
					}
					if _, err := tx.Get(k); err != nil {
						errs <- err
						return
					}
					for _, err := range tx.Scan(store.Range{Prefix: fmt.Appendf(nil, "g%d/", g)}) {
						if err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			return err
		}
		return nil
	})
	require.NoError(t, err)
	n := 0
	require.NoError(t, s.View(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{}) {
			if err != nil {
				return err
			}
			assert.Equal(t, e.Key, e.Value)
			n++
		}
		return nil
	}))
	assert.Equal(t, 200, n)
}

// TestReservedBadgerPrefix checks that keys starting with Badger's reserved
// "!badger!" prefix are ordinary keys here.
func TestReservedBadgerPrefix(t *testing.T) {
	for _, mem := range []bool{false, true} {
		opts := []badger.Option{badger.WithSyncWrites(false)}
		if mem {
			opts = append(opts, badger.WithInMemory())
		}
		s, err := badger.Open(t.TempDir(), opts...)
		require.NoError(t, err)
		putValue(t, s, "!badger!head", "mine")
		assert.Equal(t, "mine", getValue(t, s, "!badger!head"))
		require.NoError(t, s.Close())
	}
}
