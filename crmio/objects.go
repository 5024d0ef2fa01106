package crmio

import (
	"context"
	"errors"
	"iter"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// The object types Import and Export handle (ImportOptions.Object): the
// crm kinds of the same names, spelt here so that an import reads as one.
var (
	ObjectContact  = crm.KindContact
	ObjectCompany  = crm.KindCompany
	ObjectDeal     = crm.KindDeal
	ObjectActivity = crm.KindActivity
	ObjectPurchase = crm.KindPurchase
)

// kind describes one object type to the generic import and export code.
type kind[T any] struct {
	name   crm.Kind
	fields []*field[T] // in export order; custom fields go before stamps
	stamps []*field[T] // created_at, updated_at
	meta   func(*T) *crm.Meta
	custom func(*T) *crm.Custom
	// extIDs is nil for kinds without external IDs.
	extIDs func(*T) *map[string]string
	// upsert names the UpsertBy values besides "id" and external IDs.
	upsert []string
	// key returns the row's value of the upsert key by.
	key func(rc *rowCtx, r *T, by string) string
	// lookup finds the stored record with the key, if any.
	lookup     func(ctx context.Context, ws *crm.Workspace, by, key string) (T, bool, error)
	createMany func(ctx context.Context, ws *crm.Workspace, rs []T) ([]T, error)
	create     func(ctx context.Context, ws *crm.Workspace, r T) (T, error)
	update     func(ctx context.Context, ws *crm.Workspace, id string, mutate func(*T) error) (T, error)
	list       func(ctx context.Context, ws *crm.Workspace, opts crm.ListOptions) iter.Seq2[T, error]
	// writer writes the kind in a transaction (see importer.validate).
	writer func(tx *crm.Tx) crm.RecordWriter[T]
	// depends maps a crm field path to the paths the CRM's check of it
	// depends on: when one of those did not convert, the CRM's
	// complaint about the field is a consequence, not news (a deal's
	// amount checked against the default pipeline's currency because
	// the row's pipeline was not found).
	depends map[string][]string
	// finish completes a parsed row once the stored record (nil for a new
	// one) is known.
	finish func(rc *rowCtx, r, existing *T)
	// names returns the references by which other rows of the same import
	// may name the record (companies: name and domain).
	names func(r *T) []string
	// grouped kinds merge consecutive rows with the same "id" into one
	// record (purchases: one row per line item).
	grouped bool
	// group appends the items of a follower row to the leader.
	group func(leader, follower *T)
	// rows splits a record into the rows it is exported as.
	rows func(r *T) []*T
}

// Generic helpers shared by the kinds.

func idField[T any](meta func(*T) *crm.Meta, aliases ...string) *field[T] {
	return &field[T]{
		name: "id", aliases: append([]string{"id", "crm_id", "record_id"}, aliases...),
		parse: func(rc *rowCtx, _ *T, c cell) {
			if s, ok := rc.text(c); ok {
				rc.id = s
			}
		},
		merge:  func(_, _ *T, _ bool) {},
		export: func(_ *exportCtx, r *T) any { return meta(r).ID },
	}
}

func stamps[T any](meta func(*T) *crm.Meta) []*field[T] {
	return []*field[T]{
		stampField("created_at", func(r *T) time.Time { return meta(r).CreatedAt }),
		stampField("updated_at", func(r *T) time.Time { return meta(r).UpdatedAt }),
	}
}

func lookupByID[T any](get func(ctx context.Context, ws *crm.Workspace, id string) (T, error)) func(context.Context, *crm.Workspace, string, string) (T, bool, error) {
	return func(ctx context.Context, ws *crm.Workspace, _, key string) (T, bool, error) {
		r, err := get(ctx, ws, key)
		return found(r, err)
	}
}

func found[T any](r T, err error) (T, bool, error) {
	if errors.Is(err, crm.ErrNotFound) {
		var zero T
		return zero, false, nil
	}
	return r, err == nil, err
}

// foldName is how names are compared: lower case, single-spaced.
func foldName(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// normDomain normalises a domain as the CRM stores it.
func normDomain(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	return strings.TrimPrefix(s, "www.")
}

// companyRefs parses a cell of company references. The whole cell is
// tried as one reference first, so a name holding ';' or '|' still works.
func companyRefs(rc *rowCtx, c cell) []string {
	if c.kind == cText {
		s := strings.TrimSpace(c.s)
		if _, ok := rc.rv.peekCompany(s); ok || !strings.ContainsAny(s, ";|") {
			return []string{s}
		}
	}
	return rc.list(c)
}
