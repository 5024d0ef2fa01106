package badger

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Option configures Open.
type Option func(*config)

// config is what the options set; Open turns it into badger.Options.
type config struct {
	syncWrites   bool
	logger       *slog.Logger
	inMemory     bool
	gcInterval   time.Duration
	memTableSize int64
	compression  bool
	cacheSize    int64
	tune         []func(*badger.Options)
}

// The default ("embedded") profile. See the package documentation for the
// budget these numbers add up to, and BENCHMARKS.md for how they were
// chosen.
const (
	defaultMemTableSize    = 8 << 20
	defaultNumMemtables    = 1
	defaultIndexCacheSize  = 16 << 20
	defaultL0Tables        = 3
	defaultL0Stall         = 8
	defaultBaseTableSize   = 4 << 20
	defaultTableSizeMult   = 1
	defaultBaseLevelSize   = 10 << 20
	defaultNumCompactors   = 2
	defaultValueThreshold  = 32 << 10
	defaultValueLogSize    = 64 << 20
	defaultGCInterval      = 10 * time.Minute
	defaultPendingBatchTxn = 4

	// In-memory mode keeps values in the LSM tree, where Badger accepts
	// values of at most 1 MiB and counts them in full against the
	// transaction limit (15% of the memtable). Larger values are split into
	// chunks (see codec.go), and the memtable is large enough for one
	// transaction to hold a value of store.MaxValueSize.
	memMemTableSize   = 128 << 20
	memValueThreshold = 1 << 20

	// gcDiscardRatio is the share of a value-log file that must be garbage
	// before the file is rewritten.
	gcDiscardRatio = 0.5

	// formatVersion is crmkit's on-disk format, recorded in Badger's
	// manifest (Options.ExternalMagicVersion). Badger refuses to open a
	// directory whose manifest holds another number.
	formatVersion = 0xC4D1
)

// WithSyncWrites sets whether each commit is synced to disk before Update
// (or Batch) returns. The default is true: a commit that returned survives a
// crash of the process or the machine. With false, a crash of the machine
// may lose the last commits (Badger then recovers the database as of an
// earlier commit). It has no effect in in-memory mode.
func WithSyncWrites(sync bool) Option {
	return func(c *config) { c.syncWrites = sync }
}

// WithLogger routes Badger's log output to l, at matching levels (Badger's
// debug, info, warning and error messages become slog Debug, Info, Warn and
// Error records with the attribute component=badger). Without it the store
// logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithInMemory keeps the whole database in memory, using Badger's in-memory
// mode: nothing touches the disk, the dir argument of Open is ignored (it
// may be ""), and everything is lost on Close. It suits tests and caches.
//
// Badger keeps in-memory values in its LSM tree, which accepts values of
// less than 1 MiB; larger values are split into chunks stored under
// internal keys, invisibly to the caller. To find and replace a value's
// chunks, every Set and Delete in this mode also reads the key, so blind
// writes to the same key conflict here (the store contract allows either).
// The memtable is 128 MiB, so that one transaction can hold a value of
// store.MaxValueSize.
func WithInMemory() Option {
	return func(c *config) { c.inMemory = true }
}

// WithGCInterval sets how often the background goroutine runs value-log
// garbage collection: each run rewrites value-log files that are at least
// half garbage, one after another, until none is left. The default is 10
// minutes; zero or a negative duration disables the goroutine (the log then
// only grows). It has no effect in in-memory mode.
func WithGCInterval(d time.Duration) Option {
	return func(c *config) { c.gcInterval = d }
}

// WithMemTableSize sets the size of Badger's memtable (default 8 MiB; a
// second one may be flushing to disk meanwhile). It bounds one transaction
// to 15% of it, so a larger memtable allows larger transactions and faster
// bulk loads at the cost of memory: about 2.6 times the size in skiplist
// arenas, plus up to 8 table-building buffers of about the same size each,
// which Badger keeps for reuse.
func WithMemTableSize(bytes int64) Option {
	return func(c *config) { c.memTableSize = bytes }
}

// WithCompression compresses tables with Snappy and keeps a cache of
// cacheBytes of decompressed blocks (every read of a compressed block that
// is not cached decompresses it). It saves disk space, and file pages
// mapped into memory, for compressible records, at the cost of CPU and
// memory: besides the cache, table builds hold the compressed copy of every
// block, roughly doubling their buffers. Off by default; cacheBytes must be
// positive. It has no effect in in-memory mode.
func WithCompression(cacheBytes int64) Option {
	return func(c *config) {
		c.compression = true
		c.cacheSize = cacheBytes
	}
}

// WithBadgerOptions gives fn the final badger.Options, after the profile and
// the other options were applied, to change anything else (compression,
// encryption, table sizes, ...). It is an escape hatch: Open still checks
// that the result can hold store.MaxValueSize values and refuses options
// that would break the store's contract, but tuning is at the caller's risk.
// Several calls apply in order.
func WithBadgerOptions(fn func(*badger.Options)) Option {
	return func(c *config) {
		if fn != nil {
			c.tune = append(c.tune, fn)
		}
	}
}

// newConfig applies opts over the defaults.
func newConfig(opts []Option) config {
	c := config{
		syncWrites: true,
		gcInterval: defaultGCInterval,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// badgerOptions builds the badger.Options for dir from the configuration.
func (c config) badgerOptions(dir string) badger.Options {
	if c.inMemory {
		dir = ""
	}
	o := badger.DefaultOptions(dir)
	o.Logger = nil
	if c.logger != nil {
		o.Logger = slogLogger{c.logger}
	}
	o.SyncWrites = c.syncWrites
	o.MetricsEnabled = false
	o.DetectConflicts = true
	o.NumVersionsToKeep = 1
	o.ExternalMagicVersion = formatVersion

	o.NumMemtables = defaultNumMemtables
	o.NumLevelZeroTables = defaultL0Tables
	o.NumLevelZeroTablesStall = defaultL0Stall
	o.BaseTableSize = defaultBaseTableSize
	o.TableSizeMultiplier = defaultTableSizeMult
	o.BaseLevelSize = defaultBaseLevelSize
	o.NumCompactors = defaultNumCompactors
	o.IndexCacheSize = defaultIndexCacheSize
	o.ValueLogFileSize = defaultValueLogSize
	// Uncompressed tables are read in place from their memory-mapped
	// files, so they need no block cache; compression is opt-in.
	o.Compression = options.None
	o.BlockCacheSize = 0

	if c.inMemory {
		o.InMemory = true
		o.MemTableSize = memMemTableSize
		o.ValueThreshold = memValueThreshold
		// Tables live in memory already: an index cache would only copy.
		o.IndexCacheSize = 0
	} else {
		o.MemTableSize = defaultMemTableSize
		o.ValueThreshold = defaultValueThreshold
		if c.compression {
			o.Compression = options.Snappy
			o.BlockCacheSize = c.cacheSize
		}
	}
	if c.memTableSize > 0 {
		o.MemTableSize = c.memTableSize
	}
	for _, fn := range c.tune {
		fn(&o)
	}
	if o.InMemory {
		o.Dir, o.ValueDir = "", ""
	}
	return o
}

// maxBatchSize is Badger's limit on one transaction's size, in bytes.
func maxBatchSize(o *badger.Options) int64 { return o.MemTableSize * 15 / 100 }

// checkOptions refuses options that would make Badger panic or break the
// store contract.
func checkOptions(o *badger.Options) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, args...)...)
	}
	switch {
	case !o.InMemory && o.Dir == "":
		return bad("directory is empty")
	case o.ReadOnly:
		return bad("read-only mode is not supported")
	case o.MemTableSize <= 0:
		return bad("memtable size %d", o.MemTableSize)
	case !o.DetectConflicts:
		return bad("conflict detection cannot be disabled")
	case o.Compression != options.None && o.BlockCacheSize <= 0:
		return bad("compression needs a block cache")
	case o.NumCompactors < 2:
		return bad("%d compactors, Badger needs at least 2", o.NumCompactors)
	case o.ValueThreshold <= 0 || o.ValueThreshold > maxBatchSize(o):
		return bad("value threshold %d must be in (0, %d], 15%% of the memtable size",
			o.ValueThreshold, maxBatchSize(o))
	}
	if o.InMemory {
		if o.ValueThreshold < 4<<10 {
			return bad("in-memory mode needs a value threshold of at least 4 KiB, got %d", o.ValueThreshold)
		}
		if need := int64(store.MaxValueSize) + 1<<20; maxBatchSize(o) < need {
			return bad("in-memory mode needs a memtable of at least %d bytes to hold a value of %d bytes in one transaction",
				need*100/15+1, store.MaxValueSize)
		}
		return nil
	}
	if o.ValueLogFileSize < store.MaxValueSize+1<<20 {
		return bad("value log file size %d cannot hold a value of %d bytes", o.ValueLogFileSize, store.MaxValueSize)
	}
	return nil
}
