package postgres

import (
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults of the options.
const (
	// DefaultTablePrefix is the prefix of the store's table names when
	// WithTablePrefix is not given: the tables are crmkit_kv and
	// crmkit_schema_version.
	DefaultTablePrefix = "crmkit_"
	// DefaultPageSize is the largest number of entries a scan fetches in one
	// round trip when WithPageSize is not given.
	DefaultPageSize = 1024
	// DefaultLockTimeout bounds how long a statement of Update waits for a
	// row lock held by another transaction when WithLockTimeout is not
	// given.
	DefaultLockTimeout = 5 * time.Second
)

// maxIdentifier is PostgreSQL's limit on identifier length, in bytes.
const maxIdentifier = 63

// longestSuffix is the longest table name suffix the store appends to the
// prefix.
const longestSuffix = "schema_version"

// identifierPattern is what WithSchema and WithTablePrefix accept: lower-case
// ASCII letters, digits and underscores, not starting with a digit, so that
// the names read the same quoted or unquoted in psql.
var identifierPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Option configures Open.
type Option func(*config)

// config is what the options set.
type config struct {
	prefix      string
	schema      string
	logger      *slog.Logger
	maxConns    int32
	pageSize    int
	lockTimeout time.Duration
	pool        *pgxpool.Pool
	notify      bool
}

func defaultConfig() config {
	return config{
		prefix:      DefaultTablePrefix,
		logger:      slog.New(slog.DiscardHandler),
		pageSize:    DefaultPageSize,
		lockTimeout: DefaultLockTimeout,
	}
}

// WithTablePrefix sets the prefix of the store's table names, so that
// several stores share one schema: with prefix "acme_" the data lives in
// acme_kv and the schema version in acme_schema_version. The prefix may be
// empty or consist of lower-case ASCII letters, digits and underscores, not
// starting with a digit; the default is DefaultTablePrefix.
func WithTablePrefix(prefix string) Option {
	return func(c *config) { c.prefix = prefix }
}

// WithSchema puts the store's tables in the named PostgreSQL schema, which
// Open creates if it does not exist. The name follows the rules of
// WithTablePrefix and may not be empty. By default the tables live in the
// connection's current schema (the first existing schema of search_path,
// normally public), resolved once at Open.
func WithSchema(schema string) Option {
	return func(c *config) { c.schema = schema }
}

// WithLogger sets the logger for migrations, retried connections and
// conflicts. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithMaxConns sets the size of the connection pool (the pgxpool default,
// the larger of 4 and the number of CPUs, otherwise). Each running View,
// Update or Batch holds one connection. It cannot be combined with
// WithPool.
func WithMaxConns(n int32) Option {
	return func(c *config) { c.maxConns = n }
}

// WithPageSize sets the largest number of entries a scan fetches per round
// trip; it must be at least 1. Scans start with smaller pages and grow, and
// shrink pages whose values are large, so this bounds the memory of a scan
// of small values and the round trips of a long one.
func WithPageSize(n int) Option {
	return func(c *config) { c.pageSize = n }
}

// WithLockTimeout bounds how long a statement inside Update waits for a row
// lock held by a concurrent transaction before giving up with an error
// matching store.ErrConflict. Zero waits for ever (PostgreSQL's own
// deadlock detector still breaks cycles). The default is
// DefaultLockTimeout.
func WithLockTimeout(d time.Duration) Option {
	return func(c *config) { c.lockTimeout = d }
}

// WithPool makes the store use a pool the caller built, for settings the
// options do not cover (TLS, tracing, AfterConnect hooks). The dsn given to
// Open must then be empty; Close leaves the pool open, as the caller owns
// it.
func WithPool(p *pgxpool.Pool) Option {
	return func(c *config) { c.pool = p }
}

// validate checks the options against each other and PostgreSQL's rules.
func (c *config) validate(dsn string) error {
	if c.prefix != "" && !identifierPattern.MatchString(c.prefix) {
		return fmt.Errorf("%w: table prefix %q: use lower-case letters, digits and underscores, not starting with a digit", ErrInvalidConfig, c.prefix)
	}
	if n := len(c.prefix) + len(longestSuffix); n > maxIdentifier {
		return fmt.Errorf("%w: table prefix %q: table names would be %d bytes, limit is %d", ErrInvalidConfig, c.prefix, n, maxIdentifier)
	}
	if c.schema != "" {
		if !identifierPattern.MatchString(c.schema) {
			return fmt.Errorf("%w: schema %q: use lower-case letters, digits and underscores, not starting with a digit", ErrInvalidConfig, c.schema)
		}
		if len(c.schema) > maxIdentifier {
			return fmt.Errorf("%w: schema %q is %d bytes, limit is %d", ErrInvalidConfig, c.schema, len(c.schema), maxIdentifier)
		}
	}
	if c.pageSize < 1 {
		return fmt.Errorf("%w: page size %d, must be at least 1", ErrInvalidConfig, c.pageSize)
	}
	if c.lockTimeout < 0 {
		return fmt.Errorf("%w: negative lock timeout %v", ErrInvalidConfig, c.lockTimeout)
	}
	if c.maxConns < 0 {
		return fmt.Errorf("%w: negative pool size %d", ErrInvalidConfig, c.maxConns)
	}
	if c.pool != nil {
		if dsn != "" {
			return fmt.Errorf("%w: give either a dsn or WithPool, not both", ErrInvalidConfig)
		}
		if c.maxConns != 0 {
			return fmt.Errorf("%w: WithMaxConns cannot resize a pool given by WithPool", ErrInvalidConfig)
		}
	} else if dsn == "" {
		return fmt.Errorf("%w: empty dsn", ErrInvalidConfig)
	}
	return nil
}
