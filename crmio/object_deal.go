package crmio

import (
	"context"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

var dealKind = &kind[crm.Deal]{
	name:   ObjectDeal,
	meta:   func(r *crm.Deal) *crm.Meta { return &r.Meta },
	custom: func(r *crm.Deal) *crm.Custom { return &r.Custom },
	key:    func(*rowCtx, *crm.Deal, string) string { return "" },
	lookup: lookupByID(func(ctx context.Context, ws *crm.Workspace, id string) (crm.Deal, error) {
		return ws.Deals().Get(ctx, id)
	}),
	createMany: func(ctx context.Context, ws *crm.Workspace, rs []crm.Deal) ([]crm.Deal, error) {
		return ws.Deals().CreateMany(ctx, rs)
	},
	create: func(ctx context.Context, ws *crm.Workspace, r crm.Deal) (crm.Deal, error) {
		return ws.Deals().Create(ctx, r)
	},
	update: func(ctx context.Context, ws *crm.Workspace, id string, mutate func(*crm.Deal) error) (crm.Deal, error) {
		return ws.Deals().Update(ctx, id, mutate)
	},
	list: func(ctx context.Context, ws *crm.Workspace, opts crm.ListOptions) iter.Seq2[crm.Deal, error] {
		return ws.Deals().List(ctx, opts)
	},
	writer:  func(tx *crm.Tx) crm.RecordWriter[crm.Deal] { return tx.Deals() },
	depends: map[string][]string{"amount.currency": {"pipeline_id"}, "stage_id": {"pipeline_id"}},
	finish: func(rc *rowCtx, r, existing *crm.Deal) {
		if rc.stage == "" || rc.failed["pipeline_id"] {
			return // no stage, or no pipeline to find it in
		}
		rc.col, rc.paths = rc.stageCol, []string{"stage_id"}
		pl := rc.pipeline
		if pl == nil && existing != nil {
			pl = rc.rv.pipelineByID(rc, existing.PipelineID)
		}
		if pl == nil {
			pl = rc.rv.defaultPipeline(rc)
		}
		if pl == nil {
			return
		}
		st, ok := pl.StageByName(rc.stage)
		if !ok {
			// "won" and "lost" name the pipeline's first stage of that kind.
			for _, s := range pl.Stages {
				if strings.EqualFold(string(s.Kind), rc.stage) && s.Kind != crm.StageOpen {
					st, ok = s, true
					break
				}
			}
		}
		if !ok {
			names := make([]string, len(pl.Stages))
			for i, s := range pl.Stages {
				names[i] = s.Name
			}
			rc.fail("no stage %q in pipeline %q (its stages: %s)", rc.stage, pl.Name, strings.Join(names, ", "))
			return
		}
		r.StageID, r.PipelineID = st.ID, pl.ID
		if existing == nil && st.Kind != crm.StageOpen && r.ClosedAt.IsZero() && !r.CloseDate.IsZero() {
			// A migrated won or lost deal closed on its close date.
			r.ClosedAt = r.CloseDate.Time()
		}
		if existing == nil && len(r.StageHistory) == 1 {
			r.StageHistory = openedHistory(pl, st, r.StageHistory[0].EnteredAt, r.ClosedAt)
		}
	},
}

func init() {
	type D = crm.Deal
	k := dealKind
	k.fields = []*field[D]{
		idField(k.meta),
		textField("name", func(r *D) *string { return &r.Name }, "name", "deal", "deal_name", "opportunity", "opportunity_name", "title"),
		{
			name: "pipeline", aliases: []string{"pipeline", "pipeline_name"}, paths: []string{"pipeline_id"},
			parse: func(rc *rowCtx, r *D, c cell) {
				s, ok := rc.text(c)
				if !ok || s == "" {
					return
				}
				if pl := rc.rv.pipelineByName(rc, s); pl != nil {
					rc.pipeline, r.PipelineID = pl, pl.ID
				}
			},
			merge: func(dst, src *D, _ bool) {
				if src.PipelineID != "" {
					dst.PipelineID = src.PipelineID
				}
			},
			export: func(x *exportCtx, r *D) any { return x.pipelineName(r.PipelineID) },
		},
		{
			name: "stage", aliases: []string{"stage", "deal_stage", "stage_name", "pipeline_stage"}, paths: []string{"stage_id"}, late: true,
			parse: func(rc *rowCtx, _ *D, c cell) {
				if s, ok := rc.text(c); ok {
					rc.stage, rc.stageCol = s, rc.col
				}
			},
			merge: func(dst, src *D, _ bool) {
				if src.StageID != "" {
					dst.StageID, dst.PipelineID = src.StageID, src.PipelineID
				}
			},
			export: func(x *exportCtx, r *D) any { return x.stageName(r.PipelineID, r.StageID) },
		},
		{name: "status", readOnly: true, export: func(_ *exportCtx, r *D) any { return string(r.Status) }},
		moneyField("amount", func(r *D) *crm.Money { return &r.Amount }, "amount", "value", "deal_value", "deal_amount", "close_value", "price"),
		dateField("close_date", func(r *D) *crm.Date { return &r.CloseDate }, "close_date", "expected_close_date", "closing_date", "expected_close", "close"),
		textField("owner_id", func(r *D) *string { return &r.OwnerID }, "owner_id", "owner", "deal_owner", "sales_rep", "rep", "salesperson", "sales_agent", "assigned_to"),
		{
			name: "company", aliases: []string{"company", "company_name", "account", "account_name", "organization", "organisation", "customer"},
			paths: []string{"company_id"},
			parse: func(rc *rowCtx, r *D, c cell) {
				if s, ok := rc.text(c); ok && s != "" {
					if id, ok := rc.rv.company(rc, s); ok {
						r.CompanyID = id
					}
				}
			},
			merge:  func(dst, src *D, _ bool) { dst.CompanyID = src.CompanyID },
			export: func(x *exportCtx, r *D) any { return x.companyRef(r.CompanyID) },
		},
		{
			name: "contacts", aliases: []string{"contacts", "contact", "contact_email", "contact_emails", "contact_id"},
			paths: []string{"contacts"}, multi: true,
			parse: func(rc *rowCtx, r *D, c cell) {
				for _, ref := range rc.list(c) {
					if id, ok := rc.rv.contact(rc, ref); ok && !slices.ContainsFunc(r.Contacts, func(cr crm.ContactRole) bool { return cr.ContactID == id }) {
						r.Contacts = append(r.Contacts, crm.ContactRole{ContactID: id})
					}
				}
			},
			merge: func(dst, src *D, replace bool) {
				if replace {
					dst.Contacts = slices.Clone(src.Contacts)
					return
				}
				for _, cr := range src.Contacts {
					if !slices.ContainsFunc(dst.Contacts, func(d crm.ContactRole) bool { return d.ContactID == cr.ContactID }) {
						dst.Contacts = append(dst.Contacts, cr)
					}
				}
			},
			export: func(x *exportCtx, r *D) any {
				refs := make([]string, len(r.Contacts))
				for i, cr := range r.Contacts {
					refs[i] = x.contactRef(cr.ContactID)
				}
				return refs
			},
		},
		textField("source", func(r *D) *string { return &r.Source }, "source", "lead_source", "deal_source"),
		textField("lost_reason", func(r *D) *string { return &r.LostReason }, "lost_reason", "loss_reason", "reason_lost"),
		timeField("closed_at", func(r *D) *time.Time { return &r.ClosedAt }, "closed_at", "closed", "date_closed", "won_date", "close_time"),
		{
			// When a migrated deal entered the pipeline: its history starts
			// then (see finish). Not exported: an export's deals carry no
			// history.
			name: "opened_at", aliases: []string{"opened_at", "engage_date", "engaged_at", "created_date", "start_date", "opened"},
			paths: []string{"stage_history"}, noExport: true,
			parse: func(rc *rowCtx, r *D, c cell) {
				if t, ok := rc.time(c); ok {
					r.StageHistory = []crm.StageEntry{{EnteredAt: t}}
				}
			},
			merge: func(*D, *D, bool) {}, // the CRM keeps an existing deal's history
		},
	}
	k.stamps = stamps(k.meta)
}

// openedHistory is the history of a migrated deal that entered pipeline
// pl at opened and is now at stage st: in st since then, or, for a deal
// closed later (closed), in the pipeline's first open stage until it
// closed. The stages in between are not known.
func openedHistory(pl *crm.Pipeline, st crm.Stage, opened, closed time.Time) []crm.StageEntry {
	if st.Kind == crm.StageOpen || closed.IsZero() || !closed.After(opened) {
		return []crm.StageEntry{{StageID: st.ID, EnteredAt: opened}}
	}
	for _, first := range pl.Stages {
		if first.Kind == crm.StageOpen {
			return []crm.StageEntry{{StageID: first.ID, EnteredAt: opened}, {StageID: st.ID, EnteredAt: closed}}
		}
	}
	return []crm.StageEntry{{StageID: st.ID, EnteredAt: opened}}
}
