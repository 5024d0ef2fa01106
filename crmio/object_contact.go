package crmio

import (
	"context"
	"iter"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

var contactKind = &kind[crm.Contact]{
	name:   ObjectContact,
	meta:   func(r *crm.Contact) *crm.Meta { return &r.Meta },
	custom: func(r *crm.Contact) *crm.Custom { return &r.Custom },
	extIDs: func(r *crm.Contact) *map[string]string { return &r.ExternalIDs },
	upsert: []string{"email"},
	key: func(rc *rowCtx, r *crm.Contact, by string) string {
		if by == "email" && len(r.Emails) > 0 {
			return emailKey(r.Emails[0])
		}
		return ""
	},
	lookup: func(ctx context.Context, ws *crm.Workspace, by, key string) (crm.Contact, bool, error) {
		switch by {
		case "email":
			return found(ws.Contacts().GetByEmail(ctx, key))
		case "id":
			return found(ws.Contacts().Get(ctx, key))
		}
		return found(ws.Contacts().GetByExternalID(ctx, strings.TrimPrefix(by, "external_id."), key))
	},
	createMany: func(ctx context.Context, ws *crm.Workspace, rs []crm.Contact) ([]crm.Contact, error) {
		return ws.Contacts().CreateMany(ctx, rs)
	},
	create: func(ctx context.Context, ws *crm.Workspace, r crm.Contact) (crm.Contact, error) {
		return ws.Contacts().Create(ctx, r)
	},
	update: func(ctx context.Context, ws *crm.Workspace, id string, mutate func(*crm.Contact) error) (crm.Contact, error) {
		return ws.Contacts().Update(ctx, id, mutate)
	},
	list: func(ctx context.Context, ws *crm.Workspace, opts crm.ListOptions) iter.Seq2[crm.Contact, error] {
		return ws.Contacts().List(ctx, opts)
	},
	writer:  func(tx *crm.Tx) crm.RecordWriter[crm.Contact] { return tx.Contacts() },
	depends: map[string][]string{"first_name": {"last_name", "emails"}},
}

func init() {
	type C = crm.Contact
	k := contactKind
	k.fields = append([]*field[C]{
		idField(k.meta),
		textField("first_name", func(r *C) *string { return &r.FirstName }, "first_name", "firstname", "first", "given_name", "forename"),
		textField("last_name", func(r *C) *string { return &r.LastName }, "last_name", "lastname", "last", "surname", "family_name"),
		{
			name: "name", aliases: []string{"name", "full_name", "contact_name", "contact"}, paths: []string{"first_name", "last_name"},
			late: true, noExport: true,
			parse: func(rc *rowCtx, r *C, c cell) {
				s, ok := rc.text(c)
				if !ok || r.FirstName != "" || r.LastName != "" {
					return
				}
				if last, first, comma := strings.Cut(s, ","); comma {
					r.FirstName, r.LastName = strings.TrimSpace(first), strings.TrimSpace(last)
				} else if i := strings.LastIndexByte(s, ' '); i > 0 {
					r.FirstName, r.LastName = strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
				} else {
					r.FirstName = s
				}
			},
			merge: func(dst, src *C, _ bool) { dst.FirstName, dst.LastName = src.FirstName, src.LastName },
		},
		emailsField("emails", func(r *C) *[]string { return &r.Emails }, "email", "emails", "e_mail", "email_address", "mail", "primary_email", "work_email", "email_1", "email_2"),
		phonesField("phones", func(r *C) *[]crm.Phone { return &r.Phones }, "", "phone", "phones", "phone_number", "telephone", "tel", "work_phone"),
		phonesField("mobile", func(r *C) *[]crm.Phone { return &r.Phones }, "mobile", "mobile", "mobile_phone", "cell", "cell_phone"),
		textField("title", func(r *C) *string { return &r.Title }, "title", "job_title", "position", "job"),
		{
			name: "company", aliases: []string{"company", "company_name", "organization", "organisation", "account", "account_name", "employer", "companies"},
			paths: []string{"companies"}, multi: true,
			parse: func(rc *rowCtx, r *C, c cell) {
				for _, ref := range companyRefs(rc, c) {
					if id, ok := rc.rv.company(rc, ref); ok && !slices.ContainsFunc(r.Companies, func(cr crm.CompanyRole) bool { return cr.CompanyID == id }) {
						r.Companies = append(r.Companies, crm.CompanyRole{CompanyID: id})
					}
				}
			},
			merge: func(dst, src *C, replace bool) {
				if replace {
					dst.Companies = slices.Clone(src.Companies)
					return
				}
				for _, cr := range src.Companies {
					i := slices.IndexFunc(dst.Companies, func(d crm.CompanyRole) bool { return d.CompanyID == cr.CompanyID })
					switch {
					case i < 0:
						dst.Companies = append(dst.Companies, cr)
					case cr.Role != "":
						dst.Companies[i].Role = cr.Role
					}
				}
			},
			export: func(x *exportCtx, r *C) any {
				refs := make([]string, len(r.Companies))
				for i, cr := range r.Companies {
					refs[i] = x.companyRef(cr.CompanyID)
				}
				return refs
			},
		},
		{
			name: "company_role", aliases: []string{"company_role", "role"}, paths: []string{"companies.role"}, late: true,
			parse: func(rc *rowCtx, r *C, c cell) {
				s, ok := rc.text(c)
				if !ok {
					return
				}
				for i, role := range splitPositional(s) {
					if i >= len(r.Companies) {
						if !rc.failed["companies"] {
							rc.fail("role %q has no company to go with", role)
						}
						return
					}
					r.Companies[i].Role = role
				}
			},
			merge: func(_, _ *C, _ bool) {}, // the company field merges the roles
			export: func(_ *exportCtx, r *C) any {
				roles := make([]string, len(r.Companies))
				any := false
				for i, cr := range r.Companies {
					roles[i], any = cr.Role, any || cr.Role != ""
				}
				if !any {
					return nil
				}
				return joinList(roles)
			},
		},
	}, addressFields(func(r *C) *crm.Address { return &r.Address })...)
	k.fields = append(k.fields,
		dateField("birthday", func(r *C) *crm.Date { return &r.Birthday }, "birthday", "date_of_birth", "dob", "birth_date", "birthdate"),
		textField("preferred_channel", func(r *C) *string { return &r.PreferredChannel }, "preferred_channel", "channel"),
		listField("interests", func(r *C) *[]string { return &r.Interests }, "interests", "interest"),
		textField("lead_source", func(r *C) *string { return &r.LeadSource }, "lead_source", "source"),
		textField("lifecycle", func(r *C) *string { return &r.Lifecycle }, "lifecycle", "lifecycle_stage"),
		textField("owner_id", func(r *C) *string { return &r.OwnerID }, "owner_id", "owner", "contact_owner"),
		listField("tags", func(r *C) *[]string { return &r.Tags }, "tags", "tag", "labels"),
		externalIDsField(k.extIDs),
	)
	// Lower-case the lifecycle so that "Customer" matches the stage.
	lc := k.fields[len(k.fields)-4]
	parseLC := lc.parse
	lc.parse = func(rc *rowCtx, r *C, c cell) {
		parseLC(rc, r, c)
		r.Lifecycle = strings.ToLower(r.Lifecycle)
	}
	k.stamps = stamps(k.meta)
}
