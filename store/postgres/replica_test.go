package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scanAll returns every entry of s as "key=value".
func scanAll(t *testing.T, s store.Store) []string {
	t.Helper()
	var out []string
	require.NoError(t, s.View(context.Background(), func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{}) {
			if err != nil {
				return err
			}
			out = append(out, string(e.Key)+"="+string(e.Value))
		}
		return nil
	}))
	return out
}

// TestReadReplica opens a store on a hot standby that streams from the
// primary, as a reporting process would: once the replica has caught up it
// serves the primary's data through View and scans, and refuses every
// write with store.ErrReadOnly, writing nothing.
func TestReadReplica(t *testing.T) {
	t.Parallel() // a cluster of its own: runs beside the other tests
	primary := startPrivateServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := postgres.Open(ctx, primary.dsn(), postgres.WithSchema("crm"))
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Batch(ctx, func(w store.Writer) error {
		for i := range 1000 {
			if err := w.Set(fmt.Appendf(nil, "k%04d", i), fmt.Appendf(nil, "v%d", i)); err != nil {
				return err
			}
		}
		return nil
	}))
	standby := startStandby(t, primary)
	r, err := postgres.Open(ctx, standby.dsn(), postgres.WithSchema("crm"), postgres.WithPageSize(100))
	require.NoError(t, err, "a store opens on a standby whose tables are up to date")
	defer r.Close()

	// Writes after the replica was made arrive by streaming.
	put(t, p, "k0000", "changed", "last", "1")
	deadline := time.Now().Add(30 * time.Second)
	for value(t, r, "last") != "1" {
		require.True(t, time.Now().Before(deadline), "the replica did not catch up")
		time.Sleep(10 * time.Millisecond)
	}
	want := scanAll(t, p)
	require.Len(t, want, 1001)
	assert.Equal(t, want, scanAll(t, r), "the replica serves the primary's data")

	err = r.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get([]byte("k0001")); err != nil {
			return err
		}
		return tx.Set([]byte("k0001"), []byte("from the replica"))
	})
	assert.ErrorIs(t, err, store.ErrReadOnly)
	err = r.Batch(ctx, func(w store.Writer) error { return w.Set([]byte("new"), []byte("v")) })
	assert.ErrorIs(t, err, store.ErrReadOnly)
	assert.Equal(t, want, scanAll(t, r), "nothing written")

	_, err = postgres.Open(ctx, standby.dsn(), postgres.WithSchema("crm"), postgres.WithTablePrefix("other_"))
	assert.ErrorIs(t, err, store.ErrReadOnly, "a standby cannot create tables")
}
