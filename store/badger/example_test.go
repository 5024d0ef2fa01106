package badger_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
)

func Example() {
	dir, err := os.MkdirTemp("", "crmkit-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := badger.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	// Write two contacts in one transaction.
	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Set([]byte("contact/1"), []byte("Ada Lovelace")); err != nil {
			return err
		}
		return tx.Set([]byte("contact/2"), []byte("Grace Hopper"))
	})
	if err != nil {
		log.Fatal(err)
	}

	// Read them back from a snapshot.
	err = s.View(ctx, func(tx store.Tx) error {
		v, err := tx.Get([]byte("contact/2"))
		if err != nil {
			return err
		}
		fmt.Printf("contact/2 = %s\n", v)
		for e, err := range tx.Scan(store.Range{Prefix: []byte("contact/"), Reverse: true}) {
			if err != nil {
				return err
			}
			fmt.Printf("%s: %s\n", e.Key, e.Value)
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// contact/2 = Grace Hopper
	// contact/2: Grace Hopper
	// contact/1: Ada Lovelace
}

func ExampleWithInMemory() {
	s, err := badger.Open("", badger.WithInMemory())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	_ = s.Update(ctx, func(tx store.Tx) error { return tx.Set([]byte("k"), []byte("v")) })
	_ = s.View(ctx, func(tx store.Tx) error {
		_, err := tx.Get([]byte("missing"))
		fmt.Println(errors.Is(err, store.ErrNotFound))
		return nil
	})
	// Output: true
}

// After a bulk load that wrote and deleted many keys (crm's counter
// deltas, replaced index entries), Compact drops the deleted keys so
// that scans no longer step over them.
func ExampleStore_Compact() {
	dir, err := os.MkdirTemp("", "crmkit-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := badger.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()

	err = s.Update(ctx, func(tx store.Tx) error {
		for i := range 1000 {
			k := fmt.Appendf(nil, "delta/%04d", i)
			if err := tx.Set(k, []byte{1}); err != nil {
				return err
			}
			if i%10 != 0 {
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Compact(ctx); err != nil {
		log.Fatal(err)
	}
	n := 0
	err = s.View(ctx, func(tx store.Tx) error {
		for _, err := range tx.Scan(store.Range{Prefix: []byte("delta/")}) {
			if err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n, "keys left")
	// Output: 100 keys left
}
