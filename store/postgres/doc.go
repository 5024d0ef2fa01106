// Package postgres is a store.Store on PostgreSQL, for deployments where
// several processes or hosts share one CRM, or where data must live in a
// database that operations already run.
//
// It sits beside store/badger and store/memory in the architecture: it
// implements the contract of package store, passes the shared conformance
// suite (store/storetest), and is the only crmkit package that imports
// pgx. It imports package store, github.com/jackc/pgx/v5 (pgx, pgconn,
// pgxpool) and the standard library.
//
// # When to choose it
//
// The embedded default (store/badger) is faster per call and needs no
// server: use it for a single process. Choose PostgreSQL when
//
//   - more than one process must read and write the same CRM (web servers
//     behind a load balancer, workers, an import job next to the app);
//   - backups, point-in-time recovery, replication and monitoring should be
//     the ones the database team already runs;
//   - the data should sit next to other data of the application.
//
// Every Update costs a few network round trips and, with the server's
// default synchronous_commit, one WAL flush, so per-call latency is that of
// the server and its disk, not of memory.
//
// # Configuration
//
//	s, err := postgres.Open(ctx, "postgres://crm@db:5432/app?sslmode=verify-full",
//		postgres.WithSchema("crm"), postgres.WithTablePrefix("acme_"))
//
// The dsn is a URL or key=value string as pgx accepts (including pool
// settings such as pool_max_conns); WithPool takes a pool built by the
// caller instead. A store keeps its data in one table, <schema>.<prefix>kv
// (key bytea primary key, value bytea not null), and the versions applied
// to it in <schema>.<prefix>schema_version. WithTablePrefix and WithSchema
// let several CRMs share one database; the schema defaults to the
// connection's current schema (normally public), the prefix to "crmkit_".
// Sessions opened from a dsn are named application_name=crmkit unless the
// dsn names them.
// WithMaxConns sizes the pool (each running View, Update or Batch holds one
// connection), WithPageSize bounds scan pages, WithLockTimeout bounds row
// lock waits, WithNotifications announces commits to other processes (see
// Change notifications), and WithLogger receives migrations, retried
// connections and lost conflicts.
//
// Open creates the schema and tables, or migrates older ones, in one
// transaction under an advisory lock on the schema, so processes starting
// together take turns. The database user needs CREATE on the schema for
// the first Open (and for later migrations), then only SELECT, INSERT,
// UPDATE and DELETE on the two tables. A database migrated by a newer
// program (version above SchemaVersion) is refused with ErrSchemaTooNew and
// left untouched. Unlike an embedded engine, the store is meant to be
// shared, so Open never returns store.ErrLocked.
//
// # Consistency
//
// View runs in a REPEATABLE READ, READ ONLY transaction. PostgreSQL takes a
// REPEATABLE READ snapshot at the first query, not at BEGIN, so the store
// sends "SELECT 1" with BEGIN, in the same round trip: the snapshot is taken
// when the transaction begins, as the contract says.
//
// Update runs in a REPEATABLE READ transaction as well, which gives the
// snapshot, read-your-writes (the transaction's writes are real rows,
// visible to its later reads) and first-updater-wins on rows written by
// both sides. That alone does not meet the contract: a transaction that read
// a key another one changed and committed, and then wrote other keys, would
// still commit (write skew, and stale read-modify-writes through a second
// key). SERIALIZABLE does not meet it either: PostgreSQL's serializable
// snapshot isolation aborts only when no serial order exists, and "T1 reads
// k, T2 writes k and commits, T1 writes j" has one (T1 before T2), yet the
// contract requires T1 to fail. It would also add predicate-lock overhead
// and false conflicts on large transactions.
//
// So Update checks its read set itself, at commit, inside the transaction:
//
//   - Each key Get found, and the span of keys each scan yielded (from its
//     first to its last entry, so a scan left early guards only what it
//     returned), is locked with SELECT ... FOR SHARE. Under REPEATABLE READ
//     that fails with SQLSTATE 40001 if any of those rows was updated or
//     deleted by a transaction that committed after the snapshot.
//   - Each key Get found missing gets a placeholder row, INSERT ... ON
//     CONFLICT DO NOTHING, which fails with 40001 if the key was created by
//     a transaction that committed after the snapshot, and is deleted again
//     before commit.
//
// The share locks and placeholders are held until the commit, so nothing
// read can change between the check and the commit. Serialization failures
// (40001), deadlocks (40P01) and lock timeouts (55P03) are returned as
// errors matching store.ErrConflict, wrapping the *pgconn.PgError; nothing
// of the transaction is written. Beyond the contract: a blind write
// conflicts when another transaction wrote the same key and committed after
// the snapshot; phantoms (keys inserted into a scanned span) are not
// detected, as the contract allows; a key read as missing that others create
// and delete again before the commit is not detected either. An Update that
// wrote nothing commits without the check, since a snapshot's reads are
// consistent by themselves.
//
// Writes are buffered in the transaction (the last write of each key wins)
// and sent as one multi-row upsert over arrays plus one delete: before a
// scan, when 10,000 keys or 8 MiB are buffered, and at commit, together with
// the read-set check, in one round trip. Get answers a buffered key from the
// buffer. Sent writes hold row locks until the commit; a concurrent writer
// of the same row waits for them at most the lock timeout (default 5s), so
// that two transactions driven by one goroutine fail with ErrConflict
// instead of waiting for each other for ever.
//
// A transaction of any size commits whole: PostgreSQL has no transaction
// size limit the store could hit, so store.ErrTooLarge appears only if the
// server reports a program limit (SQLSTATE 54000).
//
// # Scans
//
// Scans use keyset pagination inside the transaction: each page is one
// query, WHERE key > $last ORDER BY key LIMIT n (or the reverse), on the
// primary key index. bytea compares byte-wise, then by length, which is
// exactly the contract's order. No result set stays open while the loop body
// runs, so the body may use the transaction, and later pages see the
// transaction's own writes. Pages start at 32 entries and double up to the
// page size (default 1024), and shrink when a page holds more than 4 MiB,
// so a scan never holds more than one page.
//
// # Batch
//
// Batch buffers writes like Update and commits every 10,000 keys or 8 MiB
// as one implicit transaction (the upsert and the delete, pipelined in one
// round trip). Chunks commit in order, so after a failure a prefix of the
// writes is committed, as the contract says. A Set followed by a Delete of
// the same key (or the reverse) in one Batch leaves the last one's result.
//
// # Several instances
//
// Any number of stores, in one process or many, may open the same tables;
// each has its own pool. What one commits, the others see in their next
// transaction, and the read-set check above holds across them, so package
// crm's read-modify-write changes, its per-workspace outbox sequence and
// its dispatcher leases stay exact when several application instances
// share one database. The tests of package crm run this against a real
// server: two CRM instances over two stores, in one process and in two
// processes, increment the same deal and contact from several goroutines
// each, and every acknowledged increment survives, with one outbox event
// each, numbered without gaps; two dispatchers with the same consumer
// deliver each event exactly once in total, in order, and the second takes
// over from the stored cursor when the first stops and its lease expires;
// and one instance's change feed (Workspace.Watch) sees the other's writes
// within its poll interval.
//
// # Change notifications
//
// A process learns of other processes' commits by polling (crm's Watch and
// Dispatcher do, every poll interval), or at once with WithNotifications:
// each commit that wrote something then sends a PostgreSQL NOTIFY on a
// channel named after the tables, and Committed returns a channel closed by
// the next such commit of any store with notifications on. A listener
// connection, opened on the first call to Committed, receives them; when
// its session is lost it fires (it cannot know what it missed) and
// reconnects with backoff. In the tests a watcher is woken within a
// fraction of a millisecond of the writer's commit returning, where a poll
// waits half its interval on average. A caller that does not import this
// package reaches Committed through an interface:
//
//	if n, ok := st.(interface{ Committed() <-chan struct{} }); ok { ... }
//
// PostgreSQL serialises the commits of notifying transactions briefly, so
// leave notifications off where nothing waits for other processes' writes.
// A hot standby cannot LISTEN: watch the primary.
//
// # Faults
//
// Every failure to get or keep a session matches ErrUnavailable: a wrong
// host or port, a server that refuses the login (unknown user or database,
// failed authentication; the *pgconn.PgError with its SQLSTATE stays
// matchable), a server restart or shutdown, a cut network connection,
// pg_terminate_backend. A malformed dsn or option is ErrInvalidConfig
// instead, a database migrated by a newer program ErrSchemaTooNew, and a
// write refused by a read-only server store.ErrReadOnly.
//
// A pooled connection whose session died while idle is detected when its
// BEGIN fails and replaced, so the caller does not see it. A session lost
// during a transaction fails that call with ErrUnavailable; PostgreSQL
// rolls the transaction back, so nothing of it is written, and the next
// call gets a new connection. The one case no client can rule out is a
// session lost while its COMMIT was in flight: that Update may or may not
// have committed. A scan whose session is lost yields the error once and
// stops. A context that ends interrupts the statement in flight (pgx sends
// a cancel request) and the call returns an error matching the context's.
// An unreachable server fails Open when its context ends.
//
// The tests cut connections through a TCP proxy during scans and Updates,
// terminate sessions, and restart a PostgreSQL cluster of their own in
// immediate mode (as a crash would) while four goroutines write: every
// acknowledged Update is present afterwards, no Update is half-written,
// every failure is ErrUnavailable, and the same store serves writes again
// once the server is back, without being reopened.
//
// # Scaling past one server
//
// One PostgreSQL server takes the CRM's writes: every instance writes to
// the primary. The writes of one workspace are ordered by its outbox
// counter, one row, so they commit one at a time whatever the number of
// instances; different workspaces write in parallel.
//
// Reports and other reads can go to read replicas. A store opened on a hot
// standby (streaming replication) serves View and scans, and so a crm.CRM's
// reads, from the replica's copy, which lags the primary by the
// replication delay; Update and Batch fail with store.ErrReadOnly and write
// nothing. Open succeeds on a standby once the primary has created or
// migrated the tables (before that it fails with store.ErrReadOnly). A test
// here runs this against a primary and a standby of its own.
//
// PostgreSQL-compatible distributed databases (CockroachDB, YugabyteDB
// and the like) spread data and writes over many nodes. The store needs of
// them what it uses of PostgreSQL: bytea keys ordered byte-wise, REPEATABLE
// READ snapshots in which SELECT ... FOR SHARE and INSERT ... ON CONFLICT
// fail with SQLSTATE 40001 on rows changed since the snapshot, unnest over
// arrays, two-key advisory locks for Open's migration, and NOTIFY for
// WithNotifications. None of them is tested here: run the conformance
// suite (store/storetest) against one before relying on it.
//
// # Scale, as tested
//
// The tests run the conformance suite (including a 200,000-key Update, a
// 300,000-key, 60 MB Batch, 16 MiB values and 2,048-byte keys), concurrent
// writers and readers, conflict, deadlock and lock-timeout cases, lost
// sessions, cut connections, parallel Opens and several CRM instances
// against one PostgreSQL 15 server, and a restart and a read replica on
// clusters of their own. On a 2-core machine with a local server and
// durable commits, a one-key Update takes 0.5 to 2 ms, about as long as a
// synced Badger commit; reads cost a round trip each (a Get is 10 to 100
// times slower than Badger's), bulk writes are 1 to 3 times slower, and
// concurrent writers on disjoint keys reach 600 to 900 Updates/s through
// group commit. BENCHMARKS.md at the repository root has the figures,
// measured beside Badger in the same runs, and the commands. Larger
// tables, many hosts and distributed databases are not tested here.
// Concurrency is bound by the pool size and the server's max_connections;
// hot keys show up as ErrConflict retries, not as lost updates.
//
// Update transactions offer store.Appender. At commit, for each prefix
// appended to, the transaction takes a transaction-scoped advisory lock on
// the prefix, draws its numbers from a sequence (table layout version 2
// adds it; Open migrates version 1 databases) and inserts the rows; the
// lock is held to the commit, so committers of one prefix take turns only
// for that last step, and a reader never sees a number before a smaller
// one of the same prefix.
package postgres
