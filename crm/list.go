package crm

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"iter"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// SortField names the order of a list.
type SortField string

// Sort orders. Not every kind has every order: names for contacts,
// companies and deals, amounts for deals.
const (
	SortCreated SortField = "created"
	SortUpdated SortField = "updated"
	SortName    SortField = "name"
	SortAmount  SortField = "amount"
)

// ListOptions selects and orders a list.
type ListOptions struct {
	// Sort is the order; the default is SortCreated.
	Sort SortField
	// Desc reverses the order.
	Desc bool
	// After continues a list after the position a Page's Next cursor
	// names. Cursors are opaque and valid for the same Sort and Desc.
	After string
	// Limit caps a Page (default 50, at most 1000). List ignores it.
	Limit int
	// Deleted lists soft-deleted records (newest deletion first when Desc)
	// instead of live ones; Sort is ignored.
	Deleted bool
}

// Page is one page of a list and the cursor to the next.
type Page[T any] struct {
	Items []T `json:"items"`
	// Next is the cursor for ListOptions.After, or "" at the end.
	Next string `json:"next,omitempty"`
}

// maxCursorLen is the length of the longest cursor a list makes: the
// base64 form of a key of store.MaxKeySize bytes.
var maxCursorLen = base64.RawURLEncoding.EncodedLen(store.MaxKeySize)

// listOf streams what load reads of a workspace in one read transaction:
// the lists of definitions kept in one value (fields, indexes), streamed
// as every other list is.
func listOf[T any](ctx context.Context, w *Workspace, load func(tx store.Reader) ([]T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var items []T
		err := w.read(ctx, func(tx store.Tx) error {
			var err error
			items, err = load(tx)
			return err
		})
		if err != nil {
			var zero T
			yield(zero, err)
			return
		}
		for _, it := range items {
			if !yield(it, nil) {
				return
			}
		}
	}
}

// cursorBytes decodes a cursor, refusing one no list makes.
func cursorBytes(c string) ([]byte, error) {
	if len(c) > maxCursorLen {
		return nil, ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 {
		return nil, ErrBadCursor
	}
	return b, nil
}

func (o objects[T]) scanPrefix(opts ListOptions) (prefix key, viaIndex bool, err error) {
	if opts.Deleted {
		return o.w.indexKey(o.k.code, "deleted"), true, nil
	}
	switch opts.Sort {
	case "", SortCreated:
		return o.w.k(tagRecord).byte(o.k.code), false, nil
	case SortUpdated:
		return o.w.indexKey(o.k.code, "updated"), true, nil
	case SortName:
		if o.k.sortName != nil {
			return o.w.indexKey(o.k.code, "name"), true, nil
		}
	case SortAmount:
		if o.k.code == kindDeal.code {
			return o.w.indexKey(o.k.code, "amount"), true, nil
		}
	}
	return nil, false, &ValidationError{Kind: o.k.name, Fields: []FieldError{{"sort", fmt.Sprintf("cannot sort %ss by %q", o.k.name, opts.Sort)}}}
}

// list streams records in the order opts asks, each with the cursor that
// continues after it.
func (o objects[T]) list(ctx context.Context, opts ListOptions) iter.Seq2[cursorItem[T], error] {
	return func(yield func(cursorItem[T], error) bool) {
		prefix, viaIndex, err := o.scanPrefix(opts)
		if err != nil {
			yield(cursorItem[T]{}, err)
			return
		}
		rng := store.Range{Prefix: prefix, Reverse: opts.Desc, KeysOnly: viaIndex}
		if opts.After != "" {
			suffix, err := cursorBytes(opts.After)
			if err != nil {
				yield(cursorItem[T]{}, err)
				return
			}
			at := append(append(key{}, prefix...), suffix...)
			if opts.Desc {
				rng.End = at
			} else {
				rng.Start = append(at, 0)
			}
		}
		err = o.w.view(ctx, func(tx store.Tx, g *guard) error {
			if g != nil {
				if err := g.check(o.k.name, g.read); err != nil {
					return err
				}
				if owners, all := g.owners(o.k.name, g.read); !all && !viaIndex && !opts.Desc && ownerIndexed[o.k.code] {
					return o.listOwned(tx, g, owners, opts.After, yield)
				}
			}
			for e, err := range tx.Scan(rng) {
				if err != nil {
					return err
				}
				var r *T
				if viaIndex {
					id, err := idFromIndexKey(e.Key, len(o.k.prefix)+idLength)
					if err != nil {
						return err
					}
					if r, err = get(tx, o.w, o.k, id); err != nil {
						return err
					}
				} else {
					r = new(T)
					if err := decode(e.Value, r); err != nil {
						return err
					}
					if o.k.meta(r).Deleted() {
						continue
					}
				}
				if !sees(g, o.k, r) {
					continue
				}
				cur := base64.RawURLEncoding.EncodeToString(e.Key[len(prefix):])
				if !yield(cursorItem[T]{item: *r, cursor: cur}, nil) {
					return errStop
				}
			}
			return nil
		})
		if err != nil && err != errStop {
			yield(cursorItem[T]{}, err)
		}
	}
}

// listOwned streams, in ID order, the live records of owners after the
// record a cursor of the created order names: a scoped list reads the
// owner index, one range per owner, rather than every record.
func (o objects[T]) listOwned(tx store.Reader, g *guard, owners []string, after string, yield func(cursorItem[T], error) bool) error {
	var afterID string
	if after != "" {
		b, err := cursorBytes(after)
		if err != nil {
			return err
		}
		r := tuple.NewReader(b)
		if afterID = r.Str(); r.Err() != nil || len(r.Rest()) != 0 {
			return ErrBadCursor
		}
	}
	src := o.w.ownerSource(o.k.code, owners)
	for ip, err := range src.stream(tx, len(o.k.prefix)+idLength, afterID, nil) {
		if err != nil {
			return err
		}
		r, err := get(tx, o.w, o.k, ip.id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if o.k.meta(r).Deleted() || !sees(g, o.k, r) {
			continue
		}
		cur := base64.RawURLEncoding.EncodeToString(key{}.str(ip.id))
		if !yield(cursorItem[T]{item: *r, cursor: cur}, nil) {
			return errStop
		}
	}
	return nil
}

type cursorItem[T any] struct {
	item   T
	cursor string
}

func (o objects[T]) iterate(ctx context.Context, opts ListOptions) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for ci, err := range o.list(ctx, opts) {
			if !yield(ci.item, err) || err != nil {
				return
			}
		}
	}
}

func (o objects[T]) page(ctx context.Context, opts ListOptions) (Page[T], error) {
	limit := opts.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	var pg Page[T]
	last := ""
	for ci, err := range o.list(ctx, opts) {
		if err != nil {
			return Page[T]{}, err
		}
		if len(pg.Items) == limit {
			pg.Next = last
			break
		}
		pg.Items = append(pg.Items, ci.item)
		last = ci.cursor
	}
	return pg, nil
}

// idFromIndexKey returns the record ID at the end of an index key: the last
// element, a string of idLen bytes (IDs are generated with a fixed length).
func idFromIndexKey(k []byte, idLen int) (string, error) {
	n := len(k)
	if n < idLen+2 || k[n-2] != 0 || k[n-1] != 1 {
		return "", errBadKey
	}
	return string(k[n-2-idLen : n-2]), nil
}

// byIndex streams the live records whose index entries lie under prefix.
func (o objects[T]) byIndex(ctx context.Context, prefix key) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		stopped := false
		err := o.w.view(ctx, func(tx store.Tx, g *guard) error {
			if err := g.check(o.k.name, g.readAction()); err != nil {
				return err
			}
			return eachIndexed(tx, o.w, o.k, prefix, func(r *T) bool {
				if !sees(g, o.k, r) {
					return true
				}
				stopped = !yield(*r, nil)
				return !stopped
			})
		})
		if err != nil && !stopped {
			yield(zero, err)
		}
	}
}
