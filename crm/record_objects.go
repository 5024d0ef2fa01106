package crm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmkit/crmkit/store"
)

// objects is the generic service behind each typed service: create, get,
// update, delete, restore, erase and list for one kind.
type objects[T any] struct {
	w *Workspace
	k *kind[T]
}

// UpdateOption adjusts an update.
type UpdateOption func(*updateOptions)

type updateOptions struct{ version int64 }

func updateOptionsOf(opts []UpdateOption) updateOptions {
	var uo updateOptions
	for _, opt := range opts {
		opt(&uo)
	}
	return uo
}

// IfVersion makes an update or delete fail with ErrConflict unless the
// record's stored version is v: the optimistic lock for a caller that read
// the record, showed it to a user, and saves the user's edit.
func IfVersion(v int64) UpdateOption { return func(o *updateOptions) { o.version = v } }

func (o objects[T]) create(ctx context.Context, r T) (T, error) {
	var out T
	_, err := o.w.write(ctx, func(t *txn) error {
		c, err := o.createIn(t, r)
		out = c
		return err
	})
	return out, err
}

func (o objects[T]) createIn(t *txn, r T) (T, error) {
	if err := t.checkWorkspace(); err != nil {
		return r, err
	}
	rec := &r
	m := o.k.meta(rec)
	*m = Meta{ID: t.newID(o.k.prefix)}
	if err := put(t, o.k, nil, rec, OpCreated); err != nil {
		return r, err
	}
	return *rec, nil
}

func (o objects[T]) get(ctx context.Context, id string) (T, error) {
	var out T
	err := o.w.view(ctx, func(tx store.Tx, g *guard) error {
		r, err := get(tx, o.w, o.k, id)
		if err == nil {
			err = see(g, o.k, r)
		}
		if err == nil {
			out = *r
		}
		return err
	})
	return out, err
}

// update loads the record, lets mutate change it and saves it. mutate may
// run more than once if the write is retried after a conflict.
func (o objects[T]) update(ctx context.Context, id string, mutate func(*T) error, opts ...UpdateOption) (T, error) {
	uo := updateOptionsOf(opts)
	var out T
	_, err := o.w.write(ctx, func(t *txn) error {
		r, err := o.updateIn(t, id, uo.version, mutate)
		if err == nil {
			out = *r
		}
		return err
	})
	return out, err
}

func (o objects[T]) updateIn(t *txn, id string, version int64, mutate func(*T) error) (*T, error) {
	old, err := get(t.tx, t.w, o.k, id)
	if err != nil {
		return nil, err
	}
	// A record the principal cannot read is not found, deleted or not.
	if g, err := t.guard(); err != nil {
		return nil, err
	} else if g != nil && !g.allows(o.k.name, ActionRead, ownerOf(o.k, old)) {
		return nil, notFound(o.k.name, id)
	}
	if o.k.meta(old).Deleted() {
		return nil, fmt.Errorf("crm: %s %s: %w", o.k.name, id, ErrDeleted)
	}
	if err := checkVersion(o.k.name, o.k.meta(old), version); err != nil {
		return nil, err
	}
	r, err := clone(old)
	if err != nil {
		return nil, err
	}
	if err := mutate(r); err != nil {
		return nil, err
	}
	// The identity and audit stamps are the CRM's, whatever mutate did.
	*o.k.meta(r) = *o.k.meta(old)
	if err := put(t, o.k, old, r, OpUpdated); err != nil {
		return nil, err
	}
	return r, nil
}

func checkVersion(kindName string, m *Meta, want int64) error {
	if want != 0 && m.Version != want {
		return fmt.Errorf("crm: %s %s is at version %d, not %d: %w", kindName, m.ID, m.Version, want, ErrConflict)
	}
	return nil
}

func (o objects[T]) setDeleted(ctx context.Context, id string, deleted bool, opts ...UpdateOption) error {
	_, err := o.w.write(ctx, func(t *txn) error {
		return o.setDeletedIn(t, id, deleted, updateOptionsOf(opts).version)
	})
	return err
}

// setDeletedIn soft-deletes or restores a record in t; a record already
// in the state asked for is left alone.
func (o objects[T]) setDeletedIn(t *txn, id string, deleted bool, version int64) error {
	old, err := get(t.tx, t.w, o.k, id)
	if err != nil {
		return err
	}
	om := o.k.meta(old)
	if err := checkVersion(o.k.name, om, version); err != nil {
		return err
	}
	if om.Deleted() == deleted {
		return nil
	}
	r, err := clone(old)
	if err != nil {
		return err
	}
	op := OpRestored
	m := o.k.meta(r)
	m.DeletedAt = time.Time{}
	if deleted {
		op = OpDeleted
		m.DeletedAt = t.now
	}
	return put(t, o.k, old, r, op)
}

func (o objects[T]) erase(ctx context.Context, id string) error {
	_, err := o.w.write(ctx, func(t *txn) error {
		r, err := get(t.tx, t.w, o.k, id)
		if err != nil {
			return err
		}
		if err := authorize(t, o.k, r, nil, OpErased); err != nil {
			return err
		}
		return erase(t, o.k, r)
	})
	return err
}

func (o objects[T]) replace(ctx context.Context, id string, version int64, r T) (T, error) {
	var opts []UpdateOption
	if version != 0 {
		opts = append(opts, IfVersion(version))
	}
	return o.update(ctx, id, func(cur *T) error {
		*cur = r
		return nil
	}, opts...)
}

// createMany creates records in transactions of up to batchSize, skipping
// invalid ones and reporting them in a *BatchError.
func (o objects[T]) createMany(ctx context.Context, rs []T) ([]T, error) {
	return o.batch(ctx, len(rs), isInvalid, func(t *txn, i int) (T, error) {
		return o.createIn(t, rs[i])
	})
}

// updateMany applies mutate to the records with the given IDs, in
// transactions of up to batchSize. A record that is missing, deleted,
// refused by a before-hook or invalid after mutate (which may also return
// an error matching ErrInvalid) is skipped and reported in a *BatchError;
// mutate may run more than once for an ID if a batch is retried.
func (o objects[T]) updateMany(ctx context.Context, ids []string, mutate func(*T) error) ([]T, error) {
	skip := func(err error) bool {
		return isInvalid(err) || isNotFoundOrDeleted(err) || errors.Is(err, ErrVetoed)
	}
	return o.batch(ctx, len(ids), skip, func(t *txn, i int) (T, error) {
		r, err := o.updateIn(t, ids[i], 0, mutate)
		if err != nil {
			var zero T
			return zero, err
		}
		return *r, nil
	})
}

func isInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// batch runs write for the items 0..n-1, up to batchSize of them per
// transaction. An item whose error skip accepts leaves no trace and is
// reported in a *BatchError; any other error stops the batch, returning
// the items of the committed transactions before it, joined with the
// *BatchError of the items those refused.
func (o objects[T]) batch(ctx context.Context, n int, skip func(error) bool, write func(t *txn, i int) (T, error)) ([]T, error) {
	const batchSize = 256
	out := make([]T, n)
	var bad []ItemError
	for start := 0; start < n; start += batchSize {
		end := min(start+batchSize, n)
		var chunkBad []ItemError
		_, err := o.w.write(ctx, func(t *txn) error {
			chunkBad = chunkBad[:0]
			// A missing workspace fails the batch, never one item.
			if err := t.checkWorkspace(); err != nil {
				return err
			}
			for i := start; i < end; i++ {
				r, err := write(t, i)
				if err != nil {
					if !skip(err) {
						return err
					}
					chunkBad = append(chunkBad, ItemError{Index: i, Err: err})
					continue
				}
				out[i] = r
			}
			return nil
		})
		if err != nil {
			if len(bad) > 0 {
				err = errors.Join(err, &BatchError{Items: bad})
			}
			return out[:start], err
		}
		bad = append(bad, chunkBad...)
		for _, b := range chunkBad {
			var zero T
			out[b.Index] = zero
		}
	}
	if len(bad) > 0 {
		return out, &BatchError{Items: bad}
	}
	return out, nil
}

// getByUnique returns the live record a unique index entry points at.
func (o objects[T]) getByUnique(ctx context.Context, what string, k key) (T, error) {
	var out T
	err := o.w.view(ctx, func(tx store.Tx, g *guard) error {
		id, err := tx.Get(k)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrKeyTooLarge) {
			return notFound(o.k.name, "with "+what)
		}
		if err != nil {
			return err
		}
		r, err := getLive(tx, o.w, o.k, string(id))
		if err == nil {
			err = see(g, o.k, r)
		}
		if isNotFoundOrDeleted(err) {
			return notFound(o.k.name, "with "+what)
		}
		if err == nil {
			out = *r
		}
		return err
	})
	return out, err
}

func isNotFoundOrDeleted(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrDeleted)
}
