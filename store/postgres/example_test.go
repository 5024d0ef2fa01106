package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/postgres"
)

// Example opens a store in its own schema, writes two keys in one
// transaction and reads them back in key order. It needs a server, so it
// is compiled but not run by go test.
func Example() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, os.Getenv("CRMKIT_POSTGRES"),
		postgres.WithSchema("crm"),
		postgres.WithTablePrefix("acme_"),
		postgres.WithMaxConns(8),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	err = s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Set([]byte("contact/1"), []byte("Ada")); err != nil {
			return err
		}
		return tx.Set([]byte("contact/2"), []byte("Grace"))
	})
	if errors.Is(err, store.ErrConflict) {
		// A concurrent transaction changed what this one read: run it again.
		log.Print("conflict, retry")
	} else if err != nil {
		log.Fatal(err)
	}

	err = s.View(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{Prefix: []byte("contact/")}) {
			if err != nil {
				return err
			}
			fmt.Printf("%s = %s\n", e.Key, e.Value)
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
