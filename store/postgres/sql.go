package postgres

import (
	"fmt"
	"strings"
)

// lowerOp is how a scan page bounds keys from below.
type lowerOp uint8

const (
	lowerNone      lowerOp = iota // no lower bound
	lowerInclusive                // key >= $n: the range's start
	lowerExclusive                // key > $n: after the previous page
)

// scanShape selects one of the prepared scan statements.
type scanShape struct {
	lower    lowerOp
	upper    bool // key < $n: the range's end, or before the previous page
	reverse  bool
	keysOnly bool
}

// statements are the SQL texts of a store, built once at Open. pgx
// prepares each once per connection and caches it.
type statements struct {
	get      string
	upsert   string
	delete   string
	validate string
	probe    string
	notify   string
	scan     map[scanShape]string
	// lockLast takes a prefix's append lock and reads the last key of
	// its numbered keys and the last number the append sequence gave; catchUp
	// draws $1 numbers to move the sequence past keys copied in, jumpTo
	// moves it to at least $1 at once; draw draws $1 numbers (see
	// append.go).
	lockLast string
	catchUp  string
	jumpTo   string
	draw     string
}

func newStatements(t tables) statements {
	st := statements{
		get: `SELECT value FROM ` + t.kv + ` WHERE key = $1`,
		upsert: `INSERT INTO ` + t.kv + ` (key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[]) ` +
			`ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
		delete: `DELETE FROM ` + t.kv + ` WHERE key = ANY($1::bytea[])`,
		// Locks, until commit, the rows of the snapshot that lie in the
		// read spans; in REPEATABLE READ this fails with SQLSTATE 40001 if
		// any of them was updated or deleted by a transaction that
		// committed after the snapshot was taken.
		validate: `SELECT count(*) FROM (SELECT 1 FROM ` + t.kv + ` AS k ` +
			`JOIN unnest($1::bytea[], $2::bytea[]) AS r(lo, hi) ON k.key >= r.lo AND k.key <= r.hi ` +
			`FOR SHARE OF k) AS locked`,
		// Claims, until commit, keys that were read as missing; in
		// REPEATABLE READ this fails with SQLSTATE 40001 if one of them was
		// created by a transaction that committed after the snapshot was
		// taken. The rows it returns are placeholders, deleted at once.
		probe: `INSERT INTO ` + t.kv + ` (key, value) SELECT unnest($1::bytea[]), ''::bytea ` +
			`ON CONFLICT (key) DO NOTHING RETURNING key`,
		// Announces a commit on the store's channel (see WithNotifications).
		notify: `SELECT pg_notify($1, '')`,
		lockLast: `SELECT pg_advisory_xact_lock($1, $2), ` +
			`(SELECT key FROM ` + t.kv + ` WHERE key >= $3 AND key < $4 ` +
			`AND length(key) = $5 ORDER BY key DESC LIMIT 1), ` +
			`(SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM ` + t.seq + `)`,
		catchUp: `SELECT count(nextval($2::regclass)) FROM generate_series(1, $1::bigint)`,
		jumpTo:  `SELECT setval($2::regclass, greatest($1::bigint, nextval($2::regclass)))`,
		draw:    `SELECT nextval($2::regclass) FROM generate_series(1, $1::int)`,
		scan:    map[scanShape]string{},
	}
	for _, lower := range []lowerOp{lowerNone, lowerInclusive, lowerExclusive} {
		for _, upper := range []bool{false, true} {
			for _, reverse := range []bool{false, true} {
				for _, keysOnly := range []bool{false, true} {
					sh := scanShape{lower: lower, upper: upper, reverse: reverse, keysOnly: keysOnly}
					st.scan[sh] = scanSQL(t.kv, sh)
				}
			}
		}
	}
	return st
}

// scanSQL builds one page query: the keys (and values) within the bounds,
// in key order or reverse key order, at most $last of them.
func scanSQL(table string, sh scanShape) string {
	var b strings.Builder
	cols := "key, value"
	if sh.keysOnly {
		cols = "key"
	}
	b.WriteString("SELECT " + cols + " FROM " + table)
	n := 0
	var conds []string
	switch sh.lower {
	case lowerInclusive:
		n++
		conds = append(conds, fmt.Sprintf("key >= $%d", n))
	case lowerExclusive:
		n++
		conds = append(conds, fmt.Sprintf("key > $%d", n))
	}
	if sh.upper {
		n++
		conds = append(conds, fmt.Sprintf("key < $%d", n))
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	b.WriteString(" ORDER BY key")
	if sh.reverse {
		b.WriteString(" DESC")
	}
	fmt.Fprintf(&b, " LIMIT $%d", n+1)
	return b.String()
}
