package crmio

import (
	"context"
	"iter"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// keepCase makes an update keep a stored company name that differs from
// the row's only in case and spacing (the name an upsert matched on).
func keepCase(f *field[crm.Company]) *field[crm.Company] {
	f.merge = func(dst, src *crm.Company, _ bool) {
		if foldName(dst.Name) != foldName(src.Name) {
			dst.Name = src.Name
		}
	}
	return f
}

var companyKind = &kind[crm.Company]{
	name:   ObjectCompany,
	meta:   func(r *crm.Company) *crm.Meta { return &r.Meta },
	custom: func(r *crm.Company) *crm.Custom { return &r.Custom },
	extIDs: func(r *crm.Company) *map[string]string { return &r.ExternalIDs },
	upsert: []string{"domain", "name"},
	key: func(rc *rowCtx, r *crm.Company, by string) string {
		switch by {
		case "domain":
			return normDomain(r.Domain)
		case "name":
			return foldName(r.Name)
		}
		return ""
	},
	lookup: func(ctx context.Context, ws *crm.Workspace, by, key string) (crm.Company, bool, error) {
		switch by {
		case "domain":
			return found(ws.Companies().GetByDomain(ctx, key))
		case "id":
			return found(ws.Companies().Get(ctx, key))
		}
		return found(ws.Companies().GetByExternalID(ctx, strings.TrimPrefix(by, "external_id."), key))
	},
	createMany: func(ctx context.Context, ws *crm.Workspace, rs []crm.Company) ([]crm.Company, error) {
		return ws.Companies().CreateMany(ctx, rs)
	},
	create: func(ctx context.Context, ws *crm.Workspace, r crm.Company) (crm.Company, error) {
		return ws.Companies().Create(ctx, r)
	},
	update: func(ctx context.Context, ws *crm.Workspace, id string, mutate func(*crm.Company) error) (crm.Company, error) {
		return ws.Companies().Update(ctx, id, mutate)
	},
	list: func(ctx context.Context, ws *crm.Workspace, opts crm.ListOptions) iter.Seq2[crm.Company, error] {
		return ws.Companies().List(ctx, opts)
	},
	writer: func(tx *crm.Tx) crm.RecordWriter[crm.Company] { return tx.Companies() },
	names: func(r *crm.Company) []string {
		out := []string{"name:" + foldName(r.Name)}
		if r.Domain != "" {
			out = append(out, "domain:"+normDomain(r.Domain))
		}
		return out
	},
}

func init() {
	type C = crm.Company
	k := companyKind
	k.fields = append([]*field[C]{
		idField(k.meta),
		keepCase(textField("name", func(r *C) *string { return &r.Name }, "name", "company", "company_name", "account", "account_name", "organization", "organisation", "business_name")),
		textField("domain", func(r *C) *string { return &r.Domain }, "domain", "website", "web_site", "url", "web", "homepage", "company_domain", "domain_name"),
		textField("industry", func(r *C) *string { return &r.Industry }, "industry", "sector", "vertical"),
		intField("employees", func(r *C) *int64 { return &r.Employees }, "employees", "employee_count", "number_of_employees", "num_employees", "headcount", "head_count", "staff"),
		moneyField("annual_revenue", func(r *C) *crm.Money { return &r.AnnualRevenue }, "annual_revenue", "revenue", "turnover", "annual_turnover"),
	}, addressFields(func(r *C) *crm.Address { return &r.Address })...)
	k.fields = append(k.fields,
		&field[C]{
			name: "parent", aliases: []string{"parent", "parent_company", "parent_account", "subsidiary_of", "parent_name", "parent_id"},
			paths: []string{"parent_id"},
			parse: func(rc *rowCtx, r *C, c cell) {
				if s, ok := rc.text(c); ok && s != "" {
					if id, ok := rc.rv.company(rc, s); ok {
						r.ParentID = id
					}
				}
			},
			merge:  func(dst, src *C, _ bool) { dst.ParentID = src.ParentID },
			export: func(x *exportCtx, r *C) any { return x.companyRef(r.ParentID) },
		},
		textField("owner_id", func(r *C) *string { return &r.OwnerID }, "owner_id", "owner", "account_owner", "company_owner"),
		listField("tags", func(r *C) *[]string { return &r.Tags }, "tags", "tag", "labels"),
		externalIDsField(k.extIDs),
	)
	k.stamps = stamps(k.meta)
}
