package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

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

// ExampleStore_Committed waits for commits of other processes sharing the
// tables, re-reading after each wake-up, with a poll as the fallback. It
// needs a server, so it is compiled but not run by go test.
func ExampleStore_Committed() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, os.Getenv("CRMKIT_POSTGRES"), postgres.WithNotifications())
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for {
		wake := s.Committed() // before reading, so no commit slips between
		err := s.View(ctx, func(tx store.Tx) error {
			v, err := tx.Get([]byte("status"))
			if err == nil {
				fmt.Printf("status: %s\n", v)
			}
			return nil
		})
		if err != nil {
			log.Fatal(err)
		}
		select {
		case <-wake:
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
			return
		}
	}
}
