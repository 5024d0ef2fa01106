package plugins

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/proto"
)

// recordOps are the host service's operations on one record kind, through
// the CRM's own validated API.
type recordOps struct {
	get    func(ctx context.Context, w *crm.Workspace, id string) (any, error)
	create func(ctx context.Context, w *crm.Workspace, record []byte) (any, error)
	update func(ctx context.Context, w *crm.Workspace, id string, changes []*proto.FieldValue) (any, error)
}

type updateFunc[T any] func(ctx context.Context, id string, mutate func(*T) error, opts ...crm.UpdateOption) (T, error)

func opsOf[T any](
	get func(*crm.Workspace) func(context.Context, string) (T, error),
	create func(*crm.Workspace) func(context.Context, T) (T, error),
	update func(*crm.Workspace) updateFunc[T],
) recordOps {
	return recordOps{
		get: func(ctx context.Context, w *crm.Workspace, id string) (any, error) { return get(w)(ctx, id) },
		create: func(ctx context.Context, w *crm.Workspace, b []byte) (any, error) {
			var r T
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				return nil, &ChangeError{Field: "record", Reason: err.Error()}
			}
			return create(w)(ctx, r)
		},
		update: func(ctx context.Context, w *crm.Workspace, id string, ch []*proto.FieldValue) (any, error) {
			return update(w)(ctx, id, func(r *T) error { return applyChanges(r, ch) })
		},
	}
}

// records maps each kind a plugin may be granted to its operations.
var records = map[string]recordOps{
	"contact": opsOf(
		func(w *crm.Workspace) func(context.Context, string) (crm.Contact, error) { return w.Contacts().Get },
		func(w *crm.Workspace) func(context.Context, crm.Contact) (crm.Contact, error) {
			return w.Contacts().Create
		},
		func(w *crm.Workspace) updateFunc[crm.Contact] { return w.Contacts().Update }),
	"company": opsOf(
		func(w *crm.Workspace) func(context.Context, string) (crm.Company, error) { return w.Companies().Get },
		func(w *crm.Workspace) func(context.Context, crm.Company) (crm.Company, error) {
			return w.Companies().Create
		},
		func(w *crm.Workspace) updateFunc[crm.Company] { return w.Companies().Update }),
	"deal": opsOf(
		func(w *crm.Workspace) func(context.Context, string) (crm.Deal, error) { return w.Deals().Get },
		func(w *crm.Workspace) func(context.Context, crm.Deal) (crm.Deal, error) { return w.Deals().Create },
		func(w *crm.Workspace) updateFunc[crm.Deal] { return w.Deals().Update }),
	"activity": opsOf(
		func(w *crm.Workspace) func(context.Context, string) (crm.Activity, error) { return w.Activities().Get },
		func(w *crm.Workspace) func(context.Context, crm.Activity) (crm.Activity, error) {
			return w.Activities().Log
		},
		func(w *crm.Workspace) updateFunc[crm.Activity] { return w.Activities().Update }),
	"purchase": opsOf(
		func(w *crm.Workspace) func(context.Context, string) (crm.Purchase, error) { return w.Purchases().Get },
		func(w *crm.Workspace) func(context.Context, crm.Purchase) (crm.Purchase, error) {
			return w.Purchases().Record
		},
		func(w *crm.Workspace) updateFunc[crm.Purchase] { return w.Purchases().Update }),
}
