package storetest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testReadYourWrites checks that Get and Scan inside Update see the
// transaction's own sets and deletes merged in order.
func testReadYourWrites(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	put(t, s, kv{"a", "1"}, kv{"b", "2"}, kv{"c", "3"}, kv{"d", "4"}, kv{"f", "6"})

	want := []kv{{"0", "new0"}, {"a", "1"}, {"a0", "new"}, {"b", "20"}, {"d", "40"}, {"e", ""}, {"f", "6"}, {"g", "7"}}
	check := func(t *testing.T, tx store.Reader) {
		for _, e := range want {
			v, err := tx.Get([]byte(e.K))
			if assert.NoError(t, err, "get %q", e.K) {
				assert.Equal(t, e.V, string(v), "get %q", e.K)
			}
		}
		for _, k := range []string{"c", "x", "y"} {
			_, err := tx.Get([]byte(k))
			assert.ErrorIs(t, err, store.ErrNotFound, "get %q", k)
		}
		got, err := scanTx(tx, store.Range{})
		assert.NoError(t, err)
		assert.Equal(t, want, got, "forward scan")
		got, err = scanTx(tx, store.Range{Reverse: true})
		assert.NoError(t, err)
		assert.Equal(t, reversed(want), got, "reverse scan")
		got, err = scanTx(tx, store.Range{Start: []byte("a0"), End: []byte("f")})
		assert.NoError(t, err)
		assert.Equal(t, want[2:6], got, "bounded scan")
		got, err = scanTx(tx, store.Range{Start: []byte("a0"), End: []byte("f"), Reverse: true})
		assert.NoError(t, err)
		assert.Equal(t, reversed(want[2:6]), got, "bounded reverse scan")
		got, err = scanTx(tx, store.Range{Prefix: []byte("a"), Reverse: true})
		assert.NoError(t, err)
		assert.Equal(t, []kv{{"a0", "new"}, {"a", "1"}}, got, "prefix reverse scan")
		got, err = scanTx(tx, store.Range{Prefix: []byte("a"), KeysOnly: true})
		assert.NoError(t, err)
		assert.Equal(t, []string{"a", "a0"}, keysOf(got), "prefix keys-only scan")
	}

	err := s.Update(ctx, func(tx store.Tx) error {
		ops := []struct {
			del  bool
			k, v string
		}{
			{false, "b", "20"},     // overwrite a committed key
			{true, "c", ""},        // delete a committed key
			{true, "d", ""},        // delete a committed key ...
			{false, "d", "40"},     // ... and set it again
			{false, "x", "tmp"},    // set a new key ...
			{true, "x", ""},        // ... and delete it again
			{false, "a0", "first"}, // set a new key ...
			{false, "a0", "new"},   // ... and overwrite it
			{false, "e", ""},       // new empty value
			{false, "0", "new0"},   // new first key
			{false, "g", "7"},      // new last key
			{true, "y", ""},        // delete a key that never existed
		}
		for _, op := range ops {
			var err error
			if op.del {
				err = tx.Delete([]byte(op.k))
			} else {
				err = tx.Set([]byte(op.k), []byte(op.v))
			}
			if err != nil {
				return err
			}
		}
		check(t, tx)
		return nil
	})
	require.NoError(t, err)

	// After commit, a new transaction sees exactly the same.
	err = s.View(ctx, func(tx store.Tx) error {
		check(t, tx)
		return nil
	})
	require.NoError(t, err)
}

// testUncommittedInvisible checks that a transaction's writes are not
// visible to others until it commits.
func testUncommittedInvisible(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	put(t, s, kv{"k1", "old"})

	written := make(chan struct{})
	proceed := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Set([]byte("k1"), []byte("new")); err != nil {
				return err
			}
			if err := tx.Set([]byte("k2"), []byte("new")); err != nil {
				return err
			}
			close(written)
			<-proceed
			return nil
		})
	}()
	select {
	case <-written:
	case err := <-done:
		require.FailNow(t, "writer finished early", "%v", err)
	}
	assertValue(t, s, "k1", "old")
	assertMissing(t, s, "k2")
	assert.Equal(t, []kv{{"k1", "old"}}, scanAll(t, s, store.Range{}))
	close(proceed)
	require.NoError(t, recv(t, done, "writer"))
	assert.Equal(t, []kv{{"k1", "new"}, {"k2", "new"}}, scanAll(t, s, store.Range{}))
}

// testFnErrorDiscards checks that an error from fn discards all writes and
// is returned unchanged.
func testFnErrorDiscards(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	put(t, s, kv{"keep", "1"}, kv{"change", "1"})
	want := fmt.Errorf("domain rule broken: %w", errSentinel)
	err := s.Update(ctx, func(tx store.Tx) error {
		for _, k := range []string{"new1", "new2"} {
			if err := tx.Set([]byte(k), []byte("x")); err != nil {
				return err
			}
		}
		if err := tx.Set([]byte("change"), []byte("2")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("keep")); err != nil {
			return err
		}
		return want
	})
	assert.ErrorIs(t, err, errSentinel)
	assert.Equal(t, want, err, "Update returns fn's error unchanged")
	assert.Equal(t, []kv{{"change", "1"}, {"keep", "1"}}, scanAll(t, s, store.Range{}))

	err = s.View(ctx, func(store.Tx) error { return want })
	assert.ErrorIs(t, err, errSentinel)
	assert.Equal(t, want, err, "View returns fn's error unchanged")
}

// observation is what a transaction saw, reported to the test goroutine.
type observation struct {
	k1, k2, k3 string
	scan       []kv
	err        error
}

// observe reads the keys of testSnapshotIsolation; a missing key reads as
// "<missing>".
func observe(tx store.Reader, o *observation) error {
	for _, p := range []struct {
		key string
		out *string
	}{{"k1", &o.k1}, {"k2", &o.k2}, {"k3", &o.k3}} {
		v, err := tx.Get([]byte(p.key))
		switch {
		case errors.Is(err, store.ErrNotFound):
			*p.out = "<missing>"
		case err != nil:
			return err
		default:
			*p.out = string(v)
		}
	}
	var err error
	o.scan, err = scanTx(tx, store.Range{})
	return err
}

// testSnapshotIsolation checks that a transaction that began before a
// concurrent commit does not see it, in Get or Scan.
func testSnapshotIsolation(t *testing.T, b Backend) {
	for _, update := range []bool{false, true} {
		name := "View"
		if update {
			name = "Update"
		}
		t.Run(name, func(t *testing.T) {
			s := open(t, b)
			ctx := context.Background()
			put(t, s, kv{"k1", "v1"}, kv{"k2", "v1"})
			run := s.View
			if update {
				run = s.Update
			}
			started := make(chan struct{})
			proceed := make(chan struct{})
			seen := make(chan [2]observation, 1)
			go func() {
				var before, after observation
				err := run(ctx, func(tx store.Tx) error {
					if err := observe(tx, &before); err != nil {
						return err
					}
					close(started)
					<-proceed
					if err := observe(tx, &after); err != nil {
						return err
					}
					if update {
						return errSentinel // abort: only the reads matter here
					}
					return nil
				})
				if update && errors.Is(err, errSentinel) {
					err = nil
				}
				after.err = err
				seen <- [2]observation{before, after}
			}()
			recv(t, started, "reader to start")
			err := s.Update(ctx, func(tx store.Tx) error {
				if err := tx.Set([]byte("k1"), []byte("v2")); err != nil {
					return err
				}
				if err := tx.Delete([]byte("k2")); err != nil {
					return err
				}
				return tx.Set([]byte("k3"), []byte("v2"))
			})
			require.NoError(t, err)
			close(proceed)
			got := recv(t, seen, "reader to finish")
			require.NoError(t, got[1].err)
			old := observation{k1: "v1", k2: "v1", k3: "<missing>", scan: []kv{{"k1", "v1"}, {"k2", "v1"}}}
			assert.Equal(t, old, got[0], "before the concurrent commit")
			assert.Equal(t, old, got[1], "after the concurrent commit")

			var now observation
			require.NoError(t, s.View(ctx, func(tx store.Tx) error { return observe(tx, &now) }))
			assert.Equal(t, observation{k1: "v2", k2: "<missing>", k3: "v2", scan: []kv{{"k1", "v2"}, {"k3", "v2"}}}, now)
		})
	}
}

// testConflict checks read-set conflict detection: T1 reads a key, T2
// writes it and commits, T1 writes something else and must fail with
// ErrConflict having written nothing.
func testConflict(t *testing.T, b Backend) {
	cases := []struct {
		name  string
		read  func(tx store.Tx) error
		write func(tx store.Tx) error
		want  []kv // final content
	}{
		{
			name: "Get then Set",
			read: func(tx store.Tx) error {
				_, err := tx.Get([]byte("c/k"))
				return err
			},
			write: func(tx store.Tx) error { return tx.Set([]byte("c/k"), []byte("t2")) },
			want:  []kv{{"c/j", "0"}, {"c/k", "t2"}, {"c/l", "0"}},
		},
		{
			name: "Get then Delete",
			read: func(tx store.Tx) error {
				_, err := tx.Get([]byte("c/k"))
				return err
			},
			write: func(tx store.Tx) error { return tx.Delete([]byte("c/k")) },
			want:  []kv{{"c/j", "0"}, {"c/l", "0"}},
		},
		{
			name: "Scan then Set",
			read: func(tx store.Tx) error {
				got, err := scanTx(tx, store.Range{Prefix: []byte("c/")})
				if err == nil && len(got) != 3 {
					err = fmt.Errorf("scan saw %d entries, want 3", len(got))
				}
				return err
			},
			write: func(tx store.Tx) error { return tx.Set([]byte("c/k"), []byte("t2")) },
			want:  []kv{{"c/j", "0"}, {"c/k", "t2"}, {"c/l", "0"}},
		},
		{
			name: "reverse Scan then Set",
			read: func(tx store.Tx) error {
				got, err := scanTx(tx, store.Range{Prefix: []byte("c/"), Reverse: true})
				if err == nil && len(got) != 3 {
					err = fmt.Errorf("scan saw %d entries, want 3", len(got))
				}
				return err
			},
			write: func(tx store.Tx) error { return tx.Set([]byte("c/l"), []byte("t2")) },
			want:  []kv{{"c/j", "0"}, {"c/k", "0"}, {"c/l", "t2"}},
		},
		{
			name: "Get missing then create",
			read: func(tx store.Tx) error {
				_, err := tx.Get([]byte("c/new"))
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				return fmt.Errorf("get of missing key: %v", err)
			},
			write: func(tx store.Tx) error { return tx.Set([]byte("c/new"), []byte("t2")) },
			want:  []kv{{"c/j", "0"}, {"c/k", "0"}, {"c/l", "0"}, {"c/new", "t2"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, b)
			ctx := context.Background()
			put(t, s, kv{"c/j", "0"}, kv{"c/k", "0"}, kv{"c/l", "0"})
			read := make(chan struct{})
			proceed := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- s.Update(ctx, func(tx store.Tx) error {
					if err := tc.read(tx); err != nil {
						return err
					}
					close(read)
					<-proceed
					if err := tx.Set([]byte("t1/out"), []byte("t1")); err != nil {
						return err
					}
					return tx.Set([]byte("c/j"), []byte("t1"))
				})
			}()
			select {
			case <-read:
			case err := <-done:
				require.FailNow(t, "T1 finished before T2 ran", "%v", err)
			}
			t2 := make(chan error, 1)
			go func() { t2 <- s.Update(ctx, tc.write) }()
			require.NoError(t, recv(t, t2, "T2 to commit"), "T2")
			close(proceed)
			err := recv(t, done, "T1 to finish")
			assert.ErrorIs(t, err, store.ErrConflict, "T1 must lose")
			assert.Equal(t, tc.want, scanAll(t, s, store.Range{}), "T2's write only")
		})
	}
}

// testDisjointCommits checks that transactions with disjoint read and
// write sets both commit.
func testDisjointCommits(t *testing.T, b Backend) {
	s := open(t, b)
	ctx := context.Background()
	put(t, s, kv{"a", "0"}, kv{"b", "0"})
	read := make(chan struct{})
	proceed := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx store.Tx) error {
			if _, err := tx.Get([]byte("a")); err != nil {
				return err
			}
			close(read)
			<-proceed
			return tx.Set([]byte("c"), []byte("t1"))
		})
	}()
	recv(t, read, "T1 to read")
	err := s.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get([]byte("b")); err != nil {
			return err
		}
		return tx.Set([]byte("b"), []byte("t2"))
	})
	require.NoError(t, err, "T2")
	close(proceed)
	assert.NoError(t, recv(t, done, "T1"), "T1 read and wrote keys T2 did not touch")
	assert.Equal(t, []kv{{"a", "0"}, {"b", "t2"}, {"c", "t1"}}, scanAll(t, s, store.Range{}))
}

// increment adds one to the big-endian counter at key, retrying on
// ErrConflict. It returns how many conflicts it saw.
func increment(ctx context.Context, s store.Store, key []byte) (int, error) {
	conflicts := 0
	for range 10000 {
		err := s.Update(ctx, func(tx store.Tx) error {
			var n uint64
			v, err := tx.Get(key)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return err
			case len(v) != 8:
				return fmt.Errorf("counter holds %d bytes", len(v))
			default:
				n = binary.BigEndian.Uint64(v)
			}
			return tx.Set(key, binary.BigEndian.AppendUint64(nil, n+1))
		})
		if !errors.Is(err, store.ErrConflict) {
			return conflicts, err
		}
		conflicts++
	}
	return conflicts, errors.New("storetest: gave up after 10000 conflicts")
}

// testCounter checks that concurrent read-modify-write increments with
// retry on ErrConflict lose no update.
func testCounter(t *testing.T, b Backend) {
	const workers, each = 8, 50
	s := open(t, b)
	ctx := context.Background()
	key := []byte("counter")
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var mu sync.Mutex
	conflicts := 0
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				c, err := increment(ctx, s, key)
				mu.Lock()
				conflicts += c
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	v, err := get(t, s, "counter")
	require.NoError(t, err)
	require.Len(t, v, 8)
	assert.Equal(t, uint64(workers*each), binary.BigEndian.Uint64(v), "counter after %d conflicts", conflicts)
}
