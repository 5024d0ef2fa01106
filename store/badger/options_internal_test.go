package badger

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultProfile(t *testing.T) {
	c := newConfig(nil)
	o := c.badgerOptions("/data")
	require.NoError(t, checkOptions(&o))

	assert.Equal(t, "/data", o.Dir)
	assert.Equal(t, "/data", o.ValueDir)
	assert.True(t, o.SyncWrites, "durable by default")
	assert.Nil(t, o.Logger, "silent by default")
	assert.False(t, o.InMemory)
	assert.True(t, o.DetectConflicts)
	assert.Equal(t, uint16(formatVersion), o.ExternalMagicVersion)
	assert.Equal(t, defaultGCInterval, c.gcInterval)

	// The embedded budget stated in the package documentation.
	assert.Equal(t, int64(8<<20), o.MemTableSize)
	assert.Equal(t, 1, o.NumMemtables)
	assert.Equal(t, options.None, o.Compression)
	assert.Equal(t, int64(0), o.BlockCacheSize)
	assert.Equal(t, int64(16<<20), o.IndexCacheSize)
	assert.Equal(t, 3, o.NumLevelZeroTables)
	assert.Equal(t, 8, o.NumLevelZeroTablesStall)
	assert.Equal(t, int64(4<<20), o.BaseTableSize)
	assert.Equal(t, 1, o.TableSizeMultiplier)
	assert.Equal(t, 2, o.NumCompactors)
	assert.Equal(t, int64(32<<10), o.ValueThreshold)
	assert.Equal(t, int64(64<<20), o.ValueLogFileSize)

	// A value of store.MaxValueSize fits in one value-log file and goes to
	// the value log, so it counts a few bytes against the batch limit.
	assert.Greater(t, o.ValueLogFileSize, int64(store.MaxValueSize))
	assert.Less(t, o.ValueThreshold, int64(store.MaxValueSize))
	// One transaction holds at least 1 MiB of inline data.
	assert.GreaterOrEqual(t, maxBatchSize(&o), int64(1<<20))
}

func TestInMemoryProfile(t *testing.T) {
	c := newConfig([]Option{WithInMemory()})
	o := c.badgerOptions("/ignored")
	require.NoError(t, checkOptions(&o))
	assert.True(t, o.InMemory)
	assert.Empty(t, o.Dir, "dir is ignored")
	assert.Empty(t, o.ValueDir)
	assert.Equal(t, options.None, o.Compression)
	// One transaction holds a value of store.MaxValueSize, in chunks.
	assert.Greater(t, maxBatchSize(&o), int64(store.MaxValueSize))
	cd := newCodec(&o)
	assert.Less(t, cd.chunk, int(o.ValueThreshold), "chunks stay below the threshold")
	assert.Equal(t, 0, cd.chunks(cd.inlineMax))
	assert.Equal(t, 1, cd.chunks(cd.inlineMax+1))
	assert.Equal(t, 17, cd.chunks(store.MaxValueSize))
}

func TestOptionsApply(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	var hatchSaw badger.Options
	c := newConfig([]Option{
		WithSyncWrites(false),
		WithLogger(logger),
		WithGCInterval(time.Second),
		WithMemTableSize(32 << 20),
		WithCompression(64 << 20),
		WithBadgerOptions(func(o *badger.Options) {
			hatchSaw = *o
			o.NumCompactors = 3
		}),
		WithBadgerOptions(nil),
		nil,
	})
	o := c.badgerOptions("/data")
	require.NoError(t, checkOptions(&o))
	assert.False(t, o.SyncWrites)
	assert.Equal(t, slogLogger{logger}, o.Logger)
	assert.Equal(t, time.Second, c.gcInterval)
	assert.Equal(t, int64(32<<20), o.MemTableSize)
	assert.Equal(t, int64(64<<20), o.BlockCacheSize)
	assert.Equal(t, options.Snappy, o.Compression)
	assert.Equal(t, 3, o.NumCompactors)
	// The escape hatch runs last and sees the other options applied.
	assert.Equal(t, int64(32<<20), hatchSaw.MemTableSize)
	assert.False(t, hatchSaw.SyncWrites)

	o = newConfig([]Option{WithCompression(8 << 20), WithInMemory()}).badgerOptions("")
	require.NoError(t, checkOptions(&o))
	assert.Equal(t, options.None, o.Compression, "no compression in memory")
}

func TestCheckOptions(t *testing.T) {
	cases := []struct {
		name string
		mem  bool
		dir  string
		tune func(o *badger.Options)
	}{
		{"empty dir", false, "", nil},
		{"read-only", false, "/d", func(o *badger.Options) { o.ReadOnly = true }},
		{"no conflict detection", false, "/d", func(o *badger.Options) { o.DetectConflicts = false }},
		{"compression without cache", false, "/d", func(o *badger.Options) { o.Compression = options.ZSTD }},
		{"one compactor", false, "/d", func(o *badger.Options) { o.NumCompactors = 1 }},
		{"value log too small", false, "/d", func(o *badger.Options) { o.ValueLogFileSize = 8 << 20 }},
		{"threshold over batch size", false, "/d", func(o *badger.Options) { o.MemTableSize = 64 << 10 }},
		{"zero memtable", false, "/d", func(o *badger.Options) { o.MemTableSize = 0 }},
		{"in-memory memtable too small", true, "", func(o *badger.Options) { o.MemTableSize = 64 << 20 }},
		{"in-memory threshold too small", true, "", func(o *badger.Options) { o.ValueThreshold = 1 << 10 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []Option
			if tc.mem {
				opts = append(opts, WithInMemory())
			}
			if tc.tune != nil {
				opts = append(opts, WithBadgerOptions(tc.tune))
			}
			o := newConfig(opts).badgerOptions(tc.dir)
			assert.ErrorIs(t, checkOptions(&o), ErrInvalidOptions)

			// Open refuses them the same way, before touching the disk.
			dir := tc.dir
			if dir != "" {
				dir = t.TempDir() + "/db"
			}
			s, err := Open(dir, opts...)
			if s != nil {
				_ = s.Close()
			}
			assert.ErrorIs(t, err, ErrInvalidOptions)
			if dir != "" {
				assert.NoDirExists(t, dir)
			}
		})
	}
}

// recorder is a slog.Handler that keeps the records it handles.
type recorder struct {
	mu      sync.Mutex
	level   slog.Level
	records []slog.Record
}

func (r *recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

func (r *recorder) all() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]slog.Record(nil), r.records...)
}

func TestSlogLoggerLevels(t *testing.T) {
	cases := []struct {
		name string
		log  func(l badger.Logger)
		want slog.Level
	}{
		{"Debugf", func(l badger.Logger) { l.Debugf("d %d\n", 1) }, slog.LevelDebug},
		{"Infof", func(l badger.Logger) { l.Infof("i %d\n", 1) }, slog.LevelInfo},
		{"Warningf", func(l badger.Logger) { l.Warningf("w %d\n", 1) }, slog.LevelWarn},
		{"Errorf", func(l badger.Logger) { l.Errorf("e %d\n", 1) }, slog.LevelError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{level: slog.LevelDebug}
			tc.log(slogLogger{slog.New(rec)})
			got := rec.all()
			require.Len(t, got, 1)
			assert.Equal(t, tc.want, got[0].Level)
			assert.Equal(t, strings.ToLower(tc.name[:1])+" 1", got[0].Message, "formatted, trailing newline trimmed")
			var component string
			got[0].Attrs(func(a slog.Attr) bool {
				if a.Key == "component" {
					component = a.Value.String()
				}
				return true
			})
			assert.Equal(t, "badger", component)
		})
	}

	// Records below the handler's level are not even formatted.
	rec := &recorder{level: slog.LevelWarn}
	l := slogLogger{slog.New(rec)}
	l.Debugf("d")
	l.Infof("i")
	l.Warningf("w")
	assert.Len(t, rec.all(), 1)
}

// chunkKeys counts the internal chunk keys in s (in-memory mode).
func chunkKeys(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsChunk}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	require.NoError(t, err)
	return n
}

// TestMemoryChunks checks that large in-memory values are split into chunks
// and that replacing or deleting them, in Update and in Batch, leaves no
// chunk behind.
func TestMemoryChunks(t *testing.T) {
	s, err := Open("", WithInMemory())
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	chunk := s.codec.chunk
	big := func(n int, seed byte) []byte {
		v := make([]byte, n)
		for i := range v {
			v[i] = seed + byte(i*31)
		}
		return v
	}

	type step struct {
		name   string
		batch  bool
		del    bool
		value  []byte
		chunks int // chunk keys left afterwards
	}
	steps := []step{
		{"big", false, false, big(3*chunk+5, 1), 4},
		{"bigger in Batch", true, false, big(5*chunk, 2), 5},
		{"smaller", false, false, big(2*chunk-1, 3), 2},
		{"inline", false, false, []byte("small"), 0},
		{"big again in Batch", true, false, big(store.MaxValueSize, 4), 17},
		{"delete in Update", false, true, nil, 0},
		{"big once more", false, false, big(chunk+1, 5), 2},
		{"delete in Batch", true, true, nil, 0},
	}
	key := []byte("k")
	for _, st := range steps {
		write := func(w store.Writer) error {
			if st.del {
				return w.Delete(key)
			}
			return w.Set(key, st.value)
		}
		if st.batch {
			require.NoError(t, s.Batch(ctx, write), st.name)
		} else {
			require.NoError(t, s.Update(ctx, func(tx store.Tx) error { return write(tx) }), st.name)
		}
		assert.Equal(t, st.chunks, chunkKeys(t, s), "chunk keys after %s", st.name)
		err := s.View(ctx, func(tx store.Tx) error {
			v, err := tx.Get(key)
			if st.del {
				assert.ErrorIs(t, err, store.ErrNotFound, st.name)
				return nil
			}
			require.NoError(t, err, st.name)
			assert.True(t, bytes.Equal(st.value, v), "value after %s", st.name)
			var scanned int
			for e, err := range tx.Scan(store.Range{}) {
				require.NoError(t, err)
				assert.True(t, bytes.Equal(st.value, e.Value), "scanned value after %s", st.name)
				scanned++
			}
			assert.Equal(t, 1, scanned, "chunk keys are not scanned")
			return nil
		})
		require.NoError(t, err)
	}

	// Several writes of one key within one Batch.
	require.NoError(t, s.Batch(ctx, func(w store.Writer) error {
		for _, n := range []int{4 * chunk, 10, 2 * chunk, 3 * chunk} {
			if err := w.Set(key, big(n, 9)); err != nil {
				return err
			}
		}
		return w.Set(key, big(chunk+3, 7))
	}))
	assert.Equal(t, 2, chunkKeys(t, s), "chunks after rewrites in one batch")
	require.NoError(t, s.View(ctx, func(tx store.Tx) error {
		v, err := tx.Get(key)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(big(chunk+3, 7), v))
		return nil
	}))
}

// TestValueLogFlag checks which entries are marked as possibly living in
// the value log.
func TestValueLogFlag(t *testing.T) {
	s, err := Open(t.TempDir(), WithSyncWrites(false))
	require.NoError(t, err)
	defer s.Close()
	threshold := int(s.opts.ValueThreshold)
	vals := map[string]int{"a-small": 10, "b-below": threshold - 1, "c-at": threshold, "d-above": 2 * threshold}
	require.NoError(t, s.Update(context.Background(), func(tx store.Tx) error {
		for k, n := range vals {
			if err := tx.Set([]byte(k), bytes.Repeat([]byte{'v'}, n)); err != nil {
				return err
			}
		}
		return nil
	}))
	flags := map[string]bool{}
	require.NoError(t, s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{nsData}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			flags[string(it.Item().Key()[1:])] = it.Item().UserMeta()&flagValueLog != 0
		}
		return nil
	}))
	assert.Equal(t, map[string]bool{"a-small": false, "b-below": false, "c-at": true, "d-above": true}, flags)
}

func TestSeekBelow(t *testing.T) {
	long := func(prefix string, fill byte) string {
		b := []byte(prefix)
		for len(b) < maxDataKey {
			b = append(b, fill)
		}
		return string(b)
	}
	cases := []struct{ hi, want string }{
		{"dc", long("db", 0xff)},
		{"d\x00", "d"},
		{"da\x00", "da"},
		{"e", long("d", 0xff)},
		{"dab", long("daa", 0xff)},
	}
	for _, tc := range cases {
		got := string(seekBelow([]byte(tc.hi)))
		assert.Equal(t, tc.want, got, "seekBelow(%q)", tc.hi)
		assert.Less(t, got, tc.hi)
	}
}

func TestCommonPrefix(t *testing.T) {
	cases := []struct{ lo, hi, want string }{
		{"d", "e", "d"},
		{"d\xff\xffa", "e", "d\xff\xff"},
		{"dab", "dac", "da"},
		{"da", "db", "d"},
		{"da", "da\x00", "da"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, string(commonPrefix([]byte(tc.lo), []byte(tc.hi))), "commonPrefix(%q, %q)", tc.lo, tc.hi)
	}
}

// TestMemoryChunksAcrossBatchFlush writes more than one Batch flush of
// chunked values in in-memory mode and replaces them, within the batch and
// after it.
func TestMemoryChunksAcrossBatchFlush(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 80 MiB")
	}
	s, err := Open("", WithInMemory())
	require.NoError(t, err)
	defer s.Close()
	ctx := context.Background()
	big := bytes.Repeat([]byte{'x'}, store.MaxValueSize)
	keys := []string{"a", "b", "c", "d", "e"} // 80 MiB: the batch flushes once
	require.NoError(t, s.Batch(ctx, func(w store.Writer) error {
		for _, k := range keys {
			if err := w.Set([]byte(k), big); err != nil {
				return err
			}
		}
		// "a" was written before the flush; its chunks must still go.
		return w.Set([]byte("a"), []byte("small"))
	}))
	perValue := s.codec.chunks(store.MaxValueSize)
	assert.Equal(t, 4*perValue, chunkKeys(t, s))
	require.NoError(t, s.Batch(ctx, func(w store.Writer) error {
		if err := w.Delete([]byte("b")); err != nil {
			return err
		}
		return w.Set([]byte("c"), []byte("small"))
	}))
	assert.Equal(t, 2*perValue, chunkKeys(t, s))
	require.NoError(t, s.View(ctx, func(tx store.Tx) error {
		for k, want := range map[string][]byte{"a": []byte("small"), "c": []byte("small"), "d": big, "e": big} {
			v, err := tx.Get([]byte(k))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, v), "value of %s", k)
		}
		_, err := tx.Get([]byte("b"))
		assert.ErrorIs(t, err, store.ErrNotFound)
		return nil
	}))
}
