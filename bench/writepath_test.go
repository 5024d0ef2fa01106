package bench

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/crmkit/crmkit/bench/contactgen"
	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/crmkit/crmkit/store/postgres"
)

// The write-path benchmarks create the same generated contacts three ways,
// in one run, so that their ratios are measured under the same machine
// load:
//
//   - sqlite: SQLite (github.com/mattn/go-sqlite3, WAL) doing the
//     equivalent work per contact: a contacts row with five secondary
//     indexes and a unique email, a row per tag in a junction table, a
//     history row and an outbox row holding the record as JSON.
//   - raw: Badger, through store/badger, writing a minimal design of the
//     same facts: the record (msgpack), a unique email key, six index keys
//     and a small change-log entry.
//   - crm: the CRM on Badger (Create, or CreateMany of 1,000), and for the
//     bulk modes also crm-bulkprofile: the CRM on Badger opened for a bulk
//     load (a 64 MiB memtable, badger.WithMemTableSize).
//
// Single creates one contact per transaction (200 per iteration), Bulk1000 1,000 per
// transaction (CreateMany), both without syncing commits to disk;
// Bulk1000Durable syncs every commit (SQLite synchronous=FULL, Badger
// sync writes). Each reports contacts/s; crm also reports its time per
// contact as a ratio to sqlite's and raw's, and the bytes (keys and
// values) it writes per contact.
//
//	cd bench && go test -run '^$' -bench WritePath -benchtime 20x
//
// BenchmarkConcurrentWriters has four writers create disjoint contacts in
// one workspace: four CRM instances over one store (instances4), four
// goroutines on one CRM (goroutines4), and, for the baseline, four
// goroutines writing to four workspaces (workspaces4). It reports
// creates/s, conflicts per create (writes run again after losing a
// conflict) and failed creates, on Badger and, with CRMKIT_BENCH_POSTGRES
// set to a DSN, on PostgreSQL (four store handles for instances4).
//
//	cd bench && CRMKIT_BENCH_POSTGRES=postgres://... go test -run '^$' -bench ConcurrentWriters -benchtime 5x

var writeEpoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// writeRows returns n generated contacts, the same on every call.
var writeRows = sync.OnceValue(func() []contactgen.Row { return contactgen.Generate(11, 100_000, writeEpoch) })

// contactsFor returns the contacts of batch i of size n (wrapping around the
// generated rows), with emails unique across batches.
func contactsFor(i, n int) []crm.Contact {
	rows := writeRows()
	out := make([]crm.Contact, n)
	for j := range out {
		k := i*n + j
		c := rows[k%len(rows)].Contact
		c.Emails = []string{fmt.Sprintf("c%d.%s", k, c.Emails[0])}
		c.Tags = slices.Clone(c.Tags)
		out[j] = c
	}
	return out
}

// writeResult is a sub-benchmark's time per contact, in ns.
type writeResult struct{ perContact float64 }

func report(b *testing.B, contacts int) writeResult {
	per := float64(b.Elapsed().Nanoseconds()) / float64(contacts)
	b.ReportMetric(1e9/per, "contacts/s")
	return writeResult{per}
}

func BenchmarkWritePath(b *testing.B) {
	writeRows() // generate the contacts before any timing
	for _, mode := range []struct {
		name    string
		batch   int // contacts per transaction
		txns    int // transactions per iteration
		durable bool
	}{{"Single", 1, 200, false}, {"Bulk1000", 1000, 1, false}, {"Bulk1000Durable", 1000, 1, true}} {
		b.Run(mode.name, func(b *testing.B) {
			var lite, raw writeResult
			b.Run("sqlite", func(b *testing.B) {
				db := openSQLite(b, mode.durable)
				w := &sqliteWriter{db: db}
				b.ResetTimer()
				for i := range b.N * mode.txns {
					if err := w.write(contactsFor(i, mode.batch)); err != nil {
						b.Fatal(err)
					}
				}
				lite = report(b, b.N*mode.txns*mode.batch)
			})
			b.Run("raw", func(b *testing.B) {
				st := openWriteBadger(b, mode.durable)
				w := &rawWriter{st: st}
				b.ResetTimer()
				for i := range b.N * mode.txns {
					if err := w.write(contactsFor(i, mode.batch)); err != nil {
						b.Fatal(err)
					}
				}
				raw = report(b, b.N*mode.txns*mode.batch)
			})
			for _, profile := range []struct {
				name string
				opts []badger.Option
			}{{"crm", nil}, {"crm-bulkprofile", []badger.Option{badger.WithMemTableSize(64 << 20)}}} {
				if profile.opts != nil && mode.batch == 1 {
					continue
				}
				b.Run(profile.name, func(b *testing.B) {
					cs := &countingStore{Store: openWriteBadger(b, mode.durable, profile.opts...)}
					ws := newWriteCRM(b, cs)
					ctx := context.Background()
					b.ResetTimer()
					for i := range b.N * mode.txns {
						in := contactsFor(i, mode.batch)
						var err error
						if mode.batch == 1 {
							_, err = ws.Contacts().Create(ctx, in[0])
						} else {
							_, err = ws.Contacts().CreateMany(ctx, in)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					r := report(b, b.N*mode.txns*mode.batch)
					b.ReportMetric(float64(cs.bytes.Load())/float64(b.N*mode.txns*mode.batch), "B/contact")
					if lite.perContact > 0 {
						b.ReportMetric(r.perContact/lite.perContact, "ratio-sqlite")
					}
					if raw.perContact > 0 {
						b.ReportMetric(r.perContact/raw.perContact, "ratio-raw")
					}
				})
			}
		})
	}
}

func openWriteBadger(tb testing.TB, durable bool, opts ...badger.Option) store.Store {
	tb.Helper()
	st, err := badger.Open(tb.TempDir(), append([]badger.Option{badger.WithSyncWrites(durable)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

func newWriteCRM(tb testing.TB, st store.Store) *crm.Workspace {
	tb.Helper()
	c := crm.New(st, crm.WithClock(func() time.Time { return writeEpoch }))
	ws, err := c.CreateWorkspace(context.Background(), crm.WorkspaceInfo{ID: "bench", Name: "Bench"})
	if err != nil {
		tb.Fatal(err)
	}
	_, err = ws.Fields().Define(context.Background(), crm.FieldDef{Object: crm.KindContact, Name: "score", Type: crm.FieldNumber, Indexed: true})
	if err != nil {
		tb.Fatal(err)
	}
	return ws
}

// --- SQLite -----------------------------------------------------------

func openSQLite(tb testing.TB, durable bool) *sql.DB {
	tb.Helper()
	sync := "NORMAL"
	if durable {
		sync = "FULL"
	}
	path := filepath.Join(tb.TempDir(), "crm.db")
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous="+sync+"&_busy_timeout=5000")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { _ = db.Close() })
	for _, stmt := range []string{
		`CREATE TABLE contacts (id TEXT PRIMARY KEY, first_name TEXT, last_name TEXT, email TEXT NOT NULL UNIQUE,
			title TEXT, lifecycle TEXT, lead_source TEXT, channel TEXT, owner_id TEXT, country TEXT, city TEXT,
			score REAL, created_at INTEGER, updated_at INTEGER, version INTEGER)`,
		`CREATE INDEX contacts_lifecycle ON contacts (lifecycle)`,
		`CREATE INDEX contacts_owner ON contacts (owner_id)`,
		`CREATE INDEX contacts_country ON contacts (country, city)`,
		`CREATE INDEX contacts_created ON contacts (created_at)`,
		`CREATE INDEX contacts_score ON contacts (score)`,
		`CREATE TABLE contact_tags (tag TEXT, contact_id TEXT, PRIMARY KEY (tag, contact_id))`,
		`CREATE TABLE history (id INTEGER PRIMARY KEY, contact_id TEXT, op TEXT, actor TEXT, at INTEGER)`,
		`CREATE TABLE outbox (seq INTEGER PRIMARY KEY, type TEXT, record_id TEXT, payload TEXT)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

type sqliteWriter struct {
	db *sql.DB
	n  int
}

// write inserts the contacts in one transaction.
func (w *sqliteWriter) write(cs []crm.Contact) error {
	tx, err := w.db.Begin()
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	for _, c := range cs {
		w.n++
		id := fmt.Sprintf("con_%016d", w.n)
		now := writeEpoch.UnixMicro()
		score, _ := c.Custom["score"].(float64)
		_, err := tx.Exec(`INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			id, c.FirstName, c.LastName, strings.ToLower(c.Emails[0]), c.Title, c.Lifecycle, c.LeadSource,
			c.PreferredChannel, c.OwnerID, c.Address.Country, c.Address.City, score, now, now)
		if err != nil {
			return err
		}
		for _, tag := range c.Tags {
			if _, err := tx.Exec(`INSERT INTO contact_tags VALUES (?, ?)`, tag, id); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`INSERT INTO history (contact_id, op, actor, at) VALUES (?, 'created', 'u_bench', ?)`, id, now); err != nil {
			return err
		}
		c.ID = id
		payload, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO outbox (type, record_id, payload) VALUES ('contact.created', ?, ?)`, id, payload); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// --- raw Badger ---------------------------------------------------------

type rawWriter struct {
	st store.Store
	n  uint64
}

// write stores the minimal design of the contacts in one transaction.
func (w *rawWriter) write(cs []crm.Contact) error {
	return w.st.Update(context.Background(), func(tx store.Tx) error {
		for _, c := range cs {
			w.n++
			id := binary.BigEndian.AppendUint64([]byte("con_"), w.n)
			c.ID = string(id)
			rec, err := msgpack.Marshal(&c)
			if err != nil {
				return err
			}
			set := func(k, v []byte) error { return tx.Set(k, v) }
			if err := set(append([]byte("r"), id...), rec); err != nil {
				return err
			}
			email := append([]byte("u"), strings.ToLower(c.Emails[0])...)
			if _, err := tx.Get(email); err == nil {
				return fmt.Errorf("duplicate email %s", c.Emails[0])
			}
			if err := set(email, id); err != nil {
				return err
			}
			score, _ := c.Custom["score"].(float64)
			for _, ix := range [][]string{
				{"l", c.Lifecycle}, {"o", c.OwnerID}, {"c", c.Address.Country}, {"y", c.Address.City},
				{"t", writeEpoch.Format(time.RFC3339)}, {"s", fmt.Sprintf("%03.0f", score)},
			} {
				k := append(append(append([]byte("i"), ix[0]...), ix[1]...), id...)
				if err := set(k, nil); err != nil {
					return err
				}
			}
			if err := set(binary.BigEndian.AppendUint64([]byte("h"), w.n), append([]byte("created "), id...)); err != nil {
				return err
			}
		}
		return nil
	})
}

// --- counting ---------------------------------------------------------------

// countingStore counts the key and value bytes written through it.
type countingStore struct {
	store.Store
	bytes atomicInt
}

type atomicInt struct {
	mu sync.Mutex
	n  int64
}

func (a *atomicInt) Add(n int64) {
	a.mu.Lock()
	a.n += n
	a.mu.Unlock()
}

func (a *atomicInt) Load() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}

func (s *countingStore) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(&countingTx{tx, s}) })
}

func (s *countingStore) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(&countingTx{tx, s}) })
}

type countingTx struct {
	store.Tx
	s *countingStore
}

func (t *countingTx) Set(k, v []byte) error {
	t.s.bytes.Add(int64(len(k) + len(v)))
	return t.Tx.Set(k, v)
}

func (t *countingTx) Delete(k []byte) error {
	t.s.bytes.Add(int64(len(k)))
	return t.Tx.Delete(k)
}

// Append counts and forwards an append (see store.Appender).
func (t *countingTx) Append(prefix, value []byte, seq *uint64) error {
	a, ok := t.Tx.(store.Appender)
	if !ok {
		return fmt.Errorf("the store does not offer store.Appender")
	}
	t.s.bytes.Add(int64(len(prefix) + store.SeqSize + len(value)))
	return a.Append(prefix, value, seq)
}

// --- concurrency -------------------------------------------------------------

func BenchmarkConcurrentWriters(b *testing.B) {
	writeRows()
	backends := []struct {
		name string
		open func(b *testing.B) func() store.Store // a store per instance
	}{
		{"badger", func(b *testing.B) func() store.Store {
			st := openWriteBadger(b, false)
			return func() store.Store { return st }
		}},
	}
	if dsn := os.Getenv("CRMKIT_BENCH_POSTGRES"); dsn != "" {
		backends = append(backends, struct {
			name string
			open func(b *testing.B) func() store.Store
		}{"postgres", func(b *testing.B) func() store.Store {
			schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
			return func() store.Store {
				st, err := postgres.Open(context.Background(), dsn, postgres.WithSchema(schema))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = st.Close() })
				return st
			}
		}})
	}
	const perWriter = 250
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for _, shape := range []string{"workspaces4", "goroutines4", "instances4"} {
				b.Run(shape, func(b *testing.B) {
					next := be.open(b)
					ctx := context.Background()
					var crms []*crm.CRM
					var wss []*crm.Workspace
					first := crm.New(next())
					for w := range 4 {
						id := "busy"
						if shape == "workspaces4" {
							id = fmt.Sprintf("ws%d", w)
						}
						if _, err := first.Workspace(ctx, id); err != nil {
							ws, err := first.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: id})
							if err != nil {
								b.Fatal(err)
							}
							_, err = ws.Fields().Define(ctx, crm.FieldDef{Object: crm.KindContact, Name: "score", Type: crm.FieldNumber, Indexed: true})
							if err != nil {
								b.Fatal(err)
							}
						}
						c := first
						if shape == "instances4" {
							c = crm.New(next())
						}
						ws, err := c.Workspace(ctx, id)
						if err != nil {
							b.Fatal(err)
						}
						crms, wss = append(crms, c), append(wss, ws)
					}
					failed := 0
					var mu sync.Mutex
					b.ResetTimer()
					for round := range b.N {
						var wg sync.WaitGroup
						for w, ws := range wss {
							wg.Add(1)
							go func() {
								defer wg.Done()
								in := contactsFor((round*4+w)*perWriter, 1)
								for n := range perWriter {
									c := contactsFor((round*4+w)*perWriter+n, 1)[0]
									c.FirstName = in[0].FirstName
									if _, err := ws.Contacts().Create(ctx, c); err != nil {
										mu.Lock()
										if failed == 0 {
											b.Logf("first failure: %v", err)
										}
										failed++
										mu.Unlock()
									}
								}
							}()
						}
						wg.Wait()
					}
					b.StopTimer()
					creates := b.N * 4 * perWriter
					seen := map[*crm.CRM]bool{}
					var conflicts int64
					for _, c := range crms {
						if !seen[c] {
							seen[c] = true
							conflicts += c.Stats().Conflicts
						}
					}
					b.ReportMetric(float64(creates)/b.Elapsed().Seconds(), "creates/s")
					b.ReportMetric(float64(conflicts)/float64(creates), "conflicts/create")
					b.ReportMetric(float64(failed), "failed")
				})
			}
		})
	}
}

// TestWritePathBaselines checks that the three writers of the write-path
// benchmark do what they claim, on a few hundred contacts: SQLite stores
// every row and refuses a duplicate email, raw Badger writes its nine keys
// per contact, and the CRM stores every contact.
func TestWritePathBaselines(t *testing.T) {
	in := contactsFor(0, 200)

	db := openSQLite(t, false)
	lite := &sqliteWriter{db: db}
	require.NoError(t, lite.write(in))
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM contacts`).Scan(&n))
	assert.Equal(t, 200, n)
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM outbox`).Scan(&n))
	assert.Equal(t, 200, n)
	assert.Error(t, lite.write(in[:1]), "a duplicate email")

	st := openWriteBadger(t, false)
	raw := &rawWriter{st: st}
	require.NoError(t, raw.write(in))
	keys := 0
	require.NoError(t, st.View(context.Background(), func(tx store.Tx) error {
		for _, err := range tx.Scan(store.Range{}) {
			if err != nil {
				return err
			}
			keys++
		}
		return nil
	}))
	assert.Equal(t, 200*9, keys)

	cs := &countingStore{Store: openWriteBadger(t, false)}
	ws := newWriteCRM(t, cs)
	got, err := ws.Contacts().CreateMany(context.Background(), in)
	require.NoError(t, err)
	assert.Len(t, got, 200)
	assert.Positive(t, cs.bytes.Load())
}
