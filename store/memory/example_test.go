package memory_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/memory"
)

func Example() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()

	// Write two contacts and an index entry in one transaction.
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Set([]byte("contact/1"), []byte("Ada")); err != nil {
			return err
		}
		if err := tx.Set([]byte("contact/2"), []byte("Grace")); err != nil {
			return err
		}
		return tx.Set([]byte("index/name/Ada"), []byte("contact/1"))
	})
	if err != nil {
		fmt.Println("update:", err)
		return
	}

	// Read them back in key order, and look up a missing key.
	err = s.View(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{Prefix: []byte("contact/")}) {
			if err != nil {
				return err
			}
			fmt.Printf("%s = %s\n", e.Key, e.Value)
		}
		_, err := tx.Get([]byte("contact/3"))
		fmt.Println("contact/3 missing:", errors.Is(err, store.ErrNotFound))
		return nil
	})
	if err != nil {
		fmt.Println("view:", err)
	}
	// Output:
	// contact/1 = Ada
	// contact/2 = Grace
	// contact/3 missing: true
}
