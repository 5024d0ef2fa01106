package badger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/crmkit/crmkit/store"
)

// versions counts every version Badger holds, and those that are
// deletions.
func versions(t *testing.T, s *Store) (all, deleted int) {
	t.Helper()
	err := s.db.View(func(txn *badgerdb.Txn) error {
		it := txn.NewIterator(badgerdb.IteratorOptions{AllVersions: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			all++
			if it.Item().IsDeletedOrExpired() {
				deleted++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all, deleted
}

// TestCompactDropsTombstones writes keys into small tables, so that they
// spread over several levels, deletes two thirds of them, closes the
// store (its memtables go to tables) and compacts it: the tombstones and
// the deleted versions are gone, and the live keys read as before.
func TestCompactDropsTombstones(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	small := WithBadgerOptions(func(o *badgerdb.Options) {
		o.MemTableSize, o.BaseTableSize, o.BaseLevelSize, o.LevelSizeMultiplier = 1<<20, 64<<10, 256<<10, 2
	})
	s, err := Open(dir, small)
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) []byte { return fmt.Appendf(nil, "k%05d", i) }
	pad := make([]byte, 1000)
	for chunk := 0; chunk < 3000; chunk += 50 {
		err := s.Update(ctx, func(tx store.Tx) error {
			for i := chunk; i < chunk+50; i++ {
				if err := tx.Set(key(i), append(fmt.Appendf(nil, "v%d/", i), pad...)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for chunk := 0; chunk < 3000; chunk += 300 {
		err = s.Update(ctx, func(tx store.Tx) error {
			for i := chunk; i < chunk+300; i++ {
				if i%3 != 0 {
					if err := tx.Delete(key(i)); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, small); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, deleted := versions(t, s); deleted < 2000 {
		t.Fatalf("%d deletions before Compact; the test wants its 2,000 in the tables", deleted)
	}
	// Two at once: the second waits for the first.
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- s.Compact(ctx) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if all, deleted := versions(t, s); deleted != 0 || all < 1000 || all > 1010 {
		t.Errorf("after Compact: %d versions, %d deletions; want the 1,000 live keys (and a few of Badger's own)", all, deleted)
	}
	n := 0
	err = s.View(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{}) {
			if err != nil {
				return err
			}
			if want := key(n * 3); string(e.Key) != string(want) || !strings.HasPrefix(string(e.Value), fmt.Sprintf("v%d/", n*3)) {
				return fmt.Errorf("entry %d is %s=%s, want %s", n, e.Key, e.Value, want)
			}
			n++
		}
		return nil
	})
	if err != nil || n != 1000 {
		t.Errorf("%d live keys after Compact, %v; want 1,000", n, err)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Compact(canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("Compact with a canceled context: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Compact(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Compact after Close: %v, want store.ErrClosed", err)
	}
}
