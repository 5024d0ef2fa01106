package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitLimit bounds every wait on another goroutine.
const waitLimit = 30 * time.Second

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		require.FailNow(t, "timed out waiting for "+what)
		var zero T
		return zero
	}
}

// flush makes the transaction send its buffered writes, by scanning: the
// rows are then written, and locked, in PostgreSQL.
func flush(tx store.Tx) error {
	for _, err := range tx.Scan(store.Range{Prefix: []byte("~flush")}) {
		if err != nil {
			return err
		}
	}
	return nil
}

// sqlState returns the SQLSTATE of the PostgreSQL error in err, if any.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func put(t *testing.T, s store.Store, kvs ...string) {
	t.Helper()
	require.NoError(t, s.Update(context.Background(), func(tx store.Tx) error {
		for i := 0; i < len(kvs); i += 2 {
			if err := tx.Set([]byte(kvs[i]), []byte(kvs[i+1])); err != nil {
				return err
			}
		}
		return nil
	}))
}

func value(t *testing.T, s store.Store, key string) string {
	t.Helper()
	var v []byte
	err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		v, err = tx.Get([]byte(key))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return "<missing>"
	}
	require.NoError(t, err)
	return string(v)
}

// TestConflictLostUpdate checks that the classic lost update fails with
// ErrConflict carrying PostgreSQL's serialization failure.
func TestConflictLostUpdate(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	put(t, s, "a", "0")
	read, proceed := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx store.Tx) error {
			v, err := tx.Get([]byte("a"))
			if err != nil {
				return err
			}
			close(read)
			<-proceed
			return tx.Set([]byte("a"), append(v, '1'))
		})
	}()
	recv(t, read, "T1 to read")
	put(t, s, "a", "02")
	close(proceed)
	err := recv(t, done, "T1")
	assert.ErrorIs(t, err, store.ErrConflict)
	assert.Equal(t, "40001", sqlState(err))
	assert.Equal(t, "02", value(t, s, "a"))
}

// TestConflictWriteSkew checks the anomaly REPEATABLE READ alone allows:
// T1 reads a and writes b, T2 reads b and writes a. The store's read-set
// check makes the later committer lose.
func TestConflictWriteSkew(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	put(t, s, "a", "0", "b", "0")
	read, proceed := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx store.Tx) error {
			if _, err := tx.Get([]byte("a")); err != nil {
				return err
			}
			close(read)
			<-proceed
			return tx.Set([]byte("b"), []byte("t1"))
		})
	}()
	recv(t, read, "T1 to read")
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get([]byte("b")); err != nil {
			return err
		}
		return tx.Set([]byte("a"), []byte("t2"))
	}), "T2")
	close(proceed)
	assert.ErrorIs(t, recv(t, done, "T1"), store.ErrConflict)
	assert.Equal(t, "t2", value(t, s, "a"))
	assert.Equal(t, "0", value(t, s, "b"))
}

// TestConflictScanSpan checks that a scan the caller broke out of guards
// only the entries it yielded: a change after the break point is no
// conflict, a change before it is.
func TestConflictScanSpan(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		for _, changeRead := range []bool{false, true} {
			s := openTest(t)
			ctx := context.Background()
			put(t, s, "p/a", "0", "p/b", "0", "p/c", "0", "p/d", "0")
			// Forward scans yield p/a and p/b; reverse scans p/d and p/c.
			changed := "p/d"
			if changeRead {
				changed = "p/b"
			}
			if reverse {
				changed = map[string]string{"p/d": "p/a", "p/b": "p/c"}[changed]
			}
			read, proceed := make(chan struct{}), make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- s.Update(ctx, func(tx store.Tx) error {
					n := 0
					for _, err := range tx.Scan(store.Range{Prefix: []byte("p/"), Reverse: reverse}) {
						if err != nil {
							return err
						}
						if n++; n == 2 {
							break
						}
					}
					close(read)
					<-proceed
					return tx.Set([]byte("out"), []byte("t1"))
				})
			}()
			recv(t, read, "T1 to scan")
			put(t, s, changed, "t2")
			close(proceed)
			err := recv(t, done, "T1")
			if changeRead {
				assert.ErrorIs(t, err, store.ErrConflict, "reverse=%v: %s was yielded", reverse, changed)
				assert.Equal(t, "<missing>", value(t, s, "out"))
			} else {
				assert.NoError(t, err, "reverse=%v: %s was not yielded", reverse, changed)
				assert.Equal(t, "t1", value(t, s, "out"))
			}
		}
	}
}

// TestConflictOwnWritesAreNoReads checks that reading back one's own
// buffered or flushed writes never makes a transaction conflict.
func TestConflictOwnWritesAreNoReads(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	put(t, s, "other", "0")
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Set([]byte("mine"), []byte("1")); err != nil {
			return err
		}
		if _, err := tx.Get([]byte("mine")); err != nil { // from the buffer
			return err
		}
		if err := flush(tx); err != nil {
			return err
		}
		if _, err := tx.Get([]byte("mine")); err != nil { // from PostgreSQL
			return err
		}
		// A concurrent change of a key this transaction never read.
		return s.Update(ctx, func(tx2 store.Tx) error { return tx2.Set([]byte("other"), []byte("1")) })
	}))
	assert.Equal(t, "1", value(t, s, "mine"))
	assert.Equal(t, "1", value(t, s, "other"))
}

// TestConflictDeadlock builds a lock cycle between two transactions:
// PostgreSQL breaks it with SQLSTATE 40P01, which must match ErrConflict,
// and the other transaction commits.
func TestConflictDeadlock(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	first := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	errs := make(chan error, 2)
	for i, keys := range [2][2]string{{"a", "b"}, {"b", "a"}} {
		go func() {
			errs <- s.Update(ctx, func(tx store.Tx) error {
				if err := tx.Set([]byte(keys[0]), []byte{byte('1' + i)}); err != nil {
					return err
				}
				if err := flush(tx); err != nil {
					return err
				}
				close(first[i])
				<-first[1-i] // both hold their first row lock
				if err := tx.Set([]byte(keys[1]), []byte{byte('1' + i)}); err != nil {
					return err
				}
				return flush(tx)
			})
		}()
	}
	var failed []error
	for range 2 {
		if err := recv(t, errs, "a transaction"); err != nil {
			failed = append(failed, err)
		}
	}
	require.Len(t, failed, 1, "exactly one transaction loses")
	assert.ErrorIs(t, failed[0], store.ErrConflict)
	assert.Equal(t, "40P01", sqlState(failed[0]))
	a, b := value(t, s, "a"), value(t, s, "b")
	assert.Equal(t, a, b, "the winner wrote both keys")
}

// TestConflictLockTimeout checks that a transaction waiting too long for a
// row lock gives up with an error matching ErrConflict (SQLSTATE 55P03)
// instead of waiting for ever, for example on a transaction of its own
// goroutine.
func TestConflictLockTimeout(t *testing.T) {
	s := openTest(t, postgres.WithLockTimeout(200*time.Millisecond))
	ctx := context.Background()
	var inner error
	start := time.Now()
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Set([]byte("k"), []byte("outer")); err != nil {
			return err
		}
		if err := flush(tx); err != nil {
			return err
		}
		// This goroutine holds the row lock the inner Update waits for.
		inner = s.Update(ctx, func(tx store.Tx) error { return tx.Set([]byte("k"), []byte("inner")) })
		return nil
	})
	require.NoError(t, err, "outer")
	assert.ErrorIs(t, inner, store.ErrConflict)
	assert.Equal(t, "55P03", sqlState(inner))
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, "outer", value(t, s, "k"))
}
