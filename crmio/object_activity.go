package crmio

import (
	"context"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

var activityKind = &kind[crm.Activity]{
	name:   ObjectActivity,
	meta:   func(r *crm.Activity) *crm.Meta { return &r.Meta },
	custom: func(r *crm.Activity) *crm.Custom { return &r.Custom },
	key:    func(*rowCtx, *crm.Activity, string) string { return "" },
	lookup: lookupByID(func(ctx context.Context, ws *crm.Workspace, id string) (crm.Activity, error) {
		return ws.Activities().Get(ctx, id)
	}),
	createMany: func(ctx context.Context, ws *crm.Workspace, rs []crm.Activity) ([]crm.Activity, error) {
		return ws.Activities().LogMany(ctx, rs)
	},
	create: func(ctx context.Context, ws *crm.Workspace, r crm.Activity) (crm.Activity, error) {
		return ws.Activities().Log(ctx, r)
	},
	update: func(ctx context.Context, ws *crm.Workspace, id string, mutate func(*crm.Activity) error) (crm.Activity, error) {
		return ws.Activities().Update(ctx, id, mutate)
	},
	list: func(ctx context.Context, ws *crm.Workspace, opts crm.ListOptions) iter.Seq2[crm.Activity, error] {
		return ws.Activities().List(ctx, opts)
	},
	writer:  func(tx *crm.Tx) crm.RecordWriter[crm.Activity] { return tx.Activities() },
	depends: map[string][]string{"contact_ids": {"company_ids", "deal_ids"}},
}

// refsField is a list of references resolved one by one.
func refsField[T any](name string, paths []string, get func(*T) *[]string,
	resolve func(rc *rowCtx, ref string) (string, bool), ref func(x *exportCtx, id string) string, aliases ...string) *field[T] {
	return &field[T]{
		name: name, aliases: aliases, paths: paths, multi: true,
		parse: func(rc *rowCtx, r *T, c cell) {
			for _, s := range rc.list(c) {
				if id, ok := resolve(rc, s); ok && !slices.Contains(*get(r), id) {
					*get(r) = append(*get(r), id)
				}
			}
		},
		merge: func(dst, src *T, replace bool) {
			*get(dst) = mergeStrings(*get(dst), *get(src), replace, func(a, b string) bool { return a == b })
		},
		export: func(x *exportCtx, r *T) any {
			out := make([]string, len(*get(r)))
			for i, id := range *get(r) {
				out[i] = ref(x, id)
			}
			return out
		},
	}
}

func init() {
	type A = crm.Activity
	k := activityKind
	typ := textField("type", func(r *A) *string { return (*string)(&r.Type) }, "type", "activity_type", "kind")
	parseType := typ.parse
	typ.parse = func(rc *rowCtx, r *A, c cell) {
		parseType(rc, r, c)
		r.Type = crm.ActivityType(strings.ToLower(string(r.Type)))
	}
	k.fields = []*field[A]{
		idField(k.meta),
		typ,
		textField("subject", func(r *A) *string { return &r.Subject }, "subject", "title", "summary"),
		textField("body", func(r *A) *string { return &r.Body }, "body", "description", "notes", "note", "content", "details", "text"),
		timeField("occurred_at", func(r *A) *time.Time { return &r.OccurredAt }, "occurred_at", "date", "timestamp", "time", "when", "activity_date", "datetime", "date_time"),
		refsField("contacts", []string{"contact_ids"}, func(r *A) *[]string { return &r.ContactIDs },
			func(rc *rowCtx, s string) (string, bool) { return rc.rv.contact(rc, s) },
			func(x *exportCtx, id string) string { return x.contactRef(id) },
			"contacts", "contact", "contact_email", "contact_emails", "email", "contact_id"),
		refsField("companies", []string{"company_ids"}, func(r *A) *[]string { return &r.CompanyIDs },
			func(rc *rowCtx, s string) (string, bool) { return rc.rv.company(rc, s) },
			func(x *exportCtx, id string) string { return x.companyRef(id) },
			"companies", "company", "company_name", "account", "organization"),
		refsField("deals", []string{"deal_ids"}, func(r *A) *[]string { return &r.DealIDs },
			func(_ *rowCtx, s string) (string, bool) { return s, true },
			func(_ *exportCtx, id string) string { return id },
			"deals", "deal", "deal_id", "deal_ids"),
		textField("owner_id", func(r *A) *string { return &r.OwnerID }, "owner_id", "owner", "user", "logged_by"),
		textField("direction", func(r *A) *string { return &r.Direction }, "direction"),
		durationField("duration", func(r *A) *time.Duration { return &r.Duration }, "duration", "length"),
		textField("outcome", func(r *A) *string { return &r.Outcome }, "outcome", "result", "disposition"),
		timeField("due_at", func(r *A) *time.Time { return &r.DueAt }, "due_at", "due", "due_date", "deadline"),
		textField("assignee_id", func(r *A) *string { return &r.AssigneeID }, "assignee_id", "assignee", "assigned_to"),
		boolField("done", func(r *A) *bool { return &r.Done }, "done", "completed", "is_done", "complete"),
		timeField("remind_at", func(r *A) *time.Time { return &r.RemindAt }, "remind_at", "reminder"),
		textField("status", func(r *A) *string { return &r.Status }, "status", "ticket_status"),
		textField("priority", func(r *A) *string { return &r.Priority }, "priority"),
		stampField("done_at", func(r *A) time.Time { return r.DoneAt }),
		stampField("opened_at", func(r *A) time.Time { return r.OpenedAt }),
		stampField("resolved_at", func(r *A) time.Time { return r.ResolvedAt }),
	}
	for _, f := range k.fields {
		if f.name == "direction" || f.name == "status" || f.name == "priority" {
			p := f.parse
			f.parse = func(rc *rowCtx, r *A, c cell) {
				p(rc, r, c)
				r.Direction, r.Status, r.Priority = strings.ToLower(r.Direction), strings.ToLower(r.Status), strings.ToLower(r.Priority)
			}
		}
	}
	k.stamps = stamps(k.meta)
}
