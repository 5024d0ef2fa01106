package crmio

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// The object types Import and Export handle (ImportOptions.Object).
const (
	ObjectContact  = "contact"
	ObjectCompany  = "company"
	ObjectDeal     = "deal"
	ObjectActivity = "activity"
	ObjectPurchase = "purchase"
)

// kind describes one object type to the generic import and export code.
type kind[T any] struct {
	name   string
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

var contactKind = &kind[crm.Contact]{
	name:   ObjectContact,
	meta:   func(r *crm.Contact) *crm.Meta { return &r.Meta },
	custom: func(r *crm.Contact) *crm.Custom { return &r.Custom },
	extIDs: func(r *crm.Contact) *map[string]string { return &r.ExternalIDs },
	upsert: []string{"email"},
	key: func(rc *rowCtx, r *crm.Contact, by string) string {
		if by == "email" && len(r.Emails) > 0 {
			return strings.ToLower(r.Emails[0])
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
						if len(rc.problems) == 0 {
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
	finish: func(rc *rowCtx, r, existing *crm.Deal) {
		if rc.stage == "" {
			return
		}
		rc.col = rc.stageCol
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
		stampField("closed_at", func(r *D) time.Time { return r.ClosedAt }),
	}
	k.stamps = stamps(k.meta)
}

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

var purchaseKind = &kind[crm.Purchase]{
	name:   ObjectPurchase,
	meta:   func(r *crm.Purchase) *crm.Meta { return &r.Meta },
	custom: func(r *crm.Purchase) *crm.Custom { return &r.Custom },
	key:    func(*rowCtx, *crm.Purchase, string) string { return "" },
	lookup: lookupByID(func(ctx context.Context, ws *crm.Workspace, id string) (crm.Purchase, error) {
		return ws.Purchases().Get(ctx, id)
	}),
	createMany: func(ctx context.Context, ws *crm.Workspace, rs []crm.Purchase) ([]crm.Purchase, error) {
		// Purchases have no CreateMany: record them one by one, keeping
		// CreateMany's contract (invalid ones reported, the rest kept).
		out := make([]crm.Purchase, len(rs))
		var bad []crm.ItemError
		for i, r := range rs {
			p, err := ws.Purchases().Record(ctx, r)
			if err != nil {
				if ctx.Err() != nil || !rowError(err) {
					return out[:i], err
				}
				bad = append(bad, crm.ItemError{Index: i, Err: err})
				continue
			}
			out[i] = p
		}
		if len(bad) > 0 {
			return out, &crm.BatchError{Items: bad}
		}
		return out, nil
	},
	create: func(ctx context.Context, ws *crm.Workspace, r crm.Purchase) (crm.Purchase, error) {
		return ws.Purchases().Record(ctx, r)
	},
	update: func(ctx context.Context, ws *crm.Workspace, id string, mutate func(*crm.Purchase) error) (crm.Purchase, error) {
		return ws.Purchases().Update(ctx, id, mutate)
	},
	list: func(ctx context.Context, ws *crm.Workspace, opts crm.ListOptions) iter.Seq2[crm.Purchase, error] {
		return purchasesList(ctx, ws, opts)
	},
	grouped: true,
	group: func(leader, follower *crm.Purchase) {
		leader.Items = append(leader.Items, follower.Items...)
	},
	rows: func(r *crm.Purchase) []*crm.Purchase {
		if len(r.Items) <= 1 {
			return []*crm.Purchase{r}
		}
		out := make([]*crm.Purchase, len(r.Items))
		for i := range r.Items {
			p := *r
			p.Items = r.Items[i : i+1]
			out[i] = &p
		}
		return out
	},
	finish: func(_ *rowCtx, r, _ *crm.Purchase) {
		for i := range r.Items {
			if r.Items[i].Quantity == 0 && r.Items[i].Product != "" {
				r.Items[i].Quantity = 1
			}
		}
	},
}

// lineField is a field of a purchase's line item; each row holds one.
func lineField(name string, path string, parse func(rc *rowCtx, li *crm.LineItem, c cell), export func(li *crm.LineItem) any, aliases ...string) *field[crm.Purchase] {
	return &field[crm.Purchase]{
		name: name, aliases: aliases, paths: []string{path},
		parse: func(rc *rowCtx, r *crm.Purchase, c cell) {
			if len(r.Items) == 0 {
				r.Items = []crm.LineItem{{}}
			}
			parse(rc, &r.Items[0], c)
		},
		// The items of a purchase are replaced as a whole.
		merge: func(dst, src *crm.Purchase, _ bool) { dst.Items = slices.Clone(src.Items) },
		export: func(_ *exportCtx, r *crm.Purchase) any {
			if len(r.Items) == 0 {
				return nil
			}
			return export(&r.Items[0])
		},
	}
}

func moneyLine(f *field[crm.Purchase]) *field[crm.Purchase] {
	f.object = true
	return f
}

func init() {
	type P = crm.Purchase
	k := purchaseKind
	k.fields = []*field[P]{
		// Rows with the same id are the line items of one purchase.
		idField(k.meta, "purchase_id", "order_id", "order", "order_number", "order_no", "invoice", "invoice_id", "invoice_number"),
		{
			name: "contact", aliases: []string{"contact", "contact_email", "customer_email", "email", "customer", "contact_id", "buyer"},
			paths: []string{"contact_id"},
			parse: func(rc *rowCtx, r *P, c cell) {
				if s, ok := rc.text(c); ok && s != "" {
					if id, ok := rc.rv.contact(rc, s); ok {
						r.ContactID = id
					}
				}
			},
			merge:  func(dst, src *P, _ bool) { dst.ContactID = src.ContactID },
			export: func(x *exportCtx, r *P) any { return x.contactRef(r.ContactID) },
		},
		{
			name: "company", aliases: []string{"company", "company_name", "account", "organization", "organisation"},
			paths: []string{"company_id"},
			parse: func(rc *rowCtx, r *P, c cell) {
				if s, ok := rc.text(c); ok && s != "" {
					if id, ok := rc.rv.company(rc, s); ok {
						r.CompanyID = id
					}
				}
			},
			merge:  func(dst, src *P, _ bool) { dst.CompanyID = src.CompanyID },
			export: func(x *exportCtx, r *P) any { return x.companyRef(r.CompanyID) },
		},
		timeField("purchased_at", func(r *P) *time.Time { return &r.PurchasedAt }, "purchased_at", "purchase_date", "order_date", "date", "ordered_at", "created"),
		textField("payment_method", func(r *P) *string { return &r.PaymentMethod }, "payment_method", "payment", "paid_with"),
		lineField("product", "items.product", func(rc *rowCtx, li *crm.LineItem, c cell) {
			if s, ok := rc.text(c); ok {
				li.Product = s
			}
		}, func(li *crm.LineItem) any { return li.Product }, "product", "product_name", "item", "item_name", "sku"),
		lineField("quantity", "items.quantity", func(rc *rowCtx, li *crm.LineItem, c cell) {
			if n, ok := rc.int(c); ok {
				li.Quantity = n
			}
		}, func(li *crm.LineItem) any { return li.Quantity }, "quantity", "qty", "units", "count"),
		moneyLine(lineField("unit_price", "items.unit_price", func(rc *rowCtx, li *crm.LineItem, c cell) {
			if m, ok := rc.money(c); ok {
				li.UnitPrice = m
			}
		}, func(li *crm.LineItem) any { return li.UnitPrice }, "unit_price", "price", "unit_cost", "amount")),
		moneyLine(lineField("discount", "items.discount", func(rc *rowCtx, li *crm.LineItem, c cell) {
			if m, ok := rc.money(c); ok {
				li.Discount = m
			}
		}, func(li *crm.LineItem) any { return li.Discount }, "discount")),
		{name: "total", readOnly: true, export: func(_ *exportCtx, r *P) any { return r.Total }},
	}
	k.stamps = stamps(k.meta)
}
