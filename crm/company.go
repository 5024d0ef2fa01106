package crm

import (
	"context"
	"iter"
	"strings"
)

// Company is an organisation (an account): a customer, prospect or partner.
type Company struct {
	Meta `msgpack:",inline"`
	Name string `msgpack:"name" json:"name"`
	// Domain is the company's web domain ("example.com"), unique in the
	// workspace; stored as NormalizeDomain writes it (lower case, Unicode
	// form, without "www.") and compared in its ASCII form.
	Domain   string `msgpack:"domain,omitempty" json:"domain,omitempty"`
	Industry string `msgpack:"industry,omitempty" json:"industry,omitempty"`
	// Employees is the head count.
	Employees     int64   `msgpack:"employees,omitempty" json:"employees,omitempty"`
	AnnualRevenue Money   `msgpack:"annual_revenue,omitempty" json:"annual_revenue,omitzero"`
	Address       Address `msgpack:"address,omitempty" json:"address,omitzero"`
	// ParentID is the company this one is a subsidiary of.
	ParentID    string            `msgpack:"parent_id,omitempty" json:"parent_id,omitempty"`
	OwnerID     string            `msgpack:"owner_id,omitempty" json:"owner_id,omitempty"`
	Tags        []string          `msgpack:"tags,omitempty" json:"tags,omitempty"`
	ExternalIDs map[string]string `msgpack:"external_ids,omitempty" json:"external_ids,omitempty"`
	Custom      Custom            `msgpack:"custom,omitempty" json:"custom,omitempty"`
}

var kindCompany = &kind[Company]{
	name: "company", code: 'o', prefix: "com_",
	meta:     func(c *Company) *Meta { return &c.Meta },
	custom:   func(c *Company) *Custom { return &c.Custom },
	sortName: func(c *Company) string { return c.Name },
	indexes:  companyIndexes,
}

func prepareCompany(t *txn, c, _ *Company, p *problems) error {
	c.Name = cleanText(p, "name", c.Name, maxShortText)
	if c.Name == "" {
		p.add("name", "is required")
	}
	c.Domain = cleanDomain(p, "domain", c.Domain)
	c.Industry = cleanText(p, "industry", c.Industry, maxShortText)
	if c.Employees < 0 {
		p.add("employees", "must not be negative")
	}
	c.AnnualRevenue = checkMoney(p, "annual_revenue", c.AnnualRevenue, t.info.Currency, false)
	c.Address = cleanAddress(p, "address", c.Address)
	c.OwnerID = cleanText(p, "owner_id", c.OwnerID, maxShortText)
	c.Tags = cleanKeywords(p, "tags", c.Tags)
	c.ExternalIDs = cleanExternalIDs(p, "external_ids", c.ExternalIDs)
	if c.ParentID != "" {
		if c.ParentID == c.ID {
			p.add("parent_id", "a company cannot be its own parent")
			return nil
		}
		if err := checkRef(t, p, "parent_id", kindCompany, c.ParentID); err != nil {
			return err
		}
		// Refuse cycles: walk up from the parent.
		for id, depth := c.ParentID, 0; id != "" && depth < 100; depth++ {
			parent, err := get(t.tx, t.w, kindCompany, id)
			if err != nil {
				break
			}
			if parent.ParentID == c.ID && c.ID != "" {
				p.add("parent_id", "company %s is already below this company", c.ParentID)
				break
			}
			id = parent.ParentID
		}
	}
	return nil
}

func companyIndexes(w *Workspace, c *Company, ix []indexEntry) []indexEntry {
	if c.Domain != "" {
		ix = append(ix, uniqueEntry("domain", w.uniqueKey('o', "domain").str(domainKey(c.Domain)), c.ID))
	}
	for sys, id := range c.ExternalIDs {
		ix = append(ix, uniqueEntry("external_ids."+sys, w.uniqueKey('o', "ext").str(sys).str(id), c.ID))
	}
	if c.ParentID != "" {
		ix = append(ix, plainEntry("parent_id", w.indexKey('o', "parent").str(c.ParentID), c.ID))
	}
	if c.OwnerID != "" {
		ix = append(ix, plainEntry("owner_id", w.indexKey('o', "owner").str(c.OwnerID), c.ID))
	}
	return ix
}

// Companies manages a workspace's companies.
type Companies struct{ o objects[Company] }

// Companies returns the workspace's company service.
func (w *Workspace) Companies() *Companies { return &Companies{objects[Company]{w, kindCompany}} }

// Create validates and stores a new company.
func (s *Companies) Create(ctx context.Context, c Company) (Company, error) {
	return s.o.create(ctx, c)
}

// CreateMany creates many companies; see Contacts.CreateMany.
func (s *Companies) CreateMany(ctx context.Context, cs []Company) ([]Company, error) {
	return s.o.createMany(ctx, cs)
}

// UpdateMany applies mutate to each company of ids, several per
// transaction; see Contacts.UpdateMany.
func (s *Companies) UpdateMany(ctx context.Context, ids []string, mutate func(*Company) error) ([]Company, error) {
	return s.o.updateMany(ctx, ids, mutate)
}

// Get returns the company with the given ID (also when soft-deleted).
func (s *Companies) Get(ctx context.Context, id string) (Company, error) { return s.o.get(ctx, id) }

// GetByDomain returns the company with the given web domain, written in
// any form NormalizeDomain accepts ("https://www.Acme.com/", the
// punycode or the Unicode form of an IDN).
func (s *Companies) GetByDomain(ctx context.Context, domain string) (Company, error) {
	return s.o.getByUnique(ctx, "domain "+domain, s.o.w.uniqueKey('o', "domain").str(domainKey(strings.TrimSpace(domain))))
}

// GetByExternalID returns the company whose ID in the external system is id.
func (s *Companies) GetByExternalID(ctx context.Context, system, id string) (Company, error) {
	return s.o.getByUnique(ctx, system+" id "+id, s.o.w.uniqueKey('o', "ext").str(strings.ToLower(system)).str(id))
}

// Update applies mutate to the stored company; see Contacts.Update.
func (s *Companies) Update(ctx context.Context, id string, mutate func(*Company) error, opts ...UpdateOption) (Company, error) {
	return s.o.update(ctx, id, mutate, opts...)
}

// Replace saves c in place of the stored company with c.ID; see
// Contacts.Replace.
func (s *Companies) Replace(ctx context.Context, c Company) (Company, error) {
	return s.o.replace(ctx, c.ID, c.Version, c)
}

// Delete soft-deletes a company.
func (s *Companies) Delete(ctx context.Context, id string, opts ...UpdateOption) error {
	return s.o.setDeleted(ctx, id, true, opts...)
}

// Restore undoes Delete.
func (s *Companies) Restore(ctx context.Context, id string) error {
	return s.o.setDeleted(ctx, id, false)
}

// Erase removes a company permanently with its index entries, history and
// timeline. A person's erasure request is Contacts.Erase, which also
// scrubs the person from the records that mention them.
func (s *Companies) Erase(ctx context.Context, id string) error { return s.o.erase(ctx, id) }

// List streams companies in the order opts asks.
func (s *Companies) List(ctx context.Context, opts ListOptions) iter.Seq2[Company, error] {
	return s.o.iterate(ctx, opts)
}

// Page returns one page of companies and the cursor to the next.
func (s *Companies) Page(ctx context.Context, opts ListOptions) (Page[Company], error) {
	return s.o.page(ctx, opts)
}

// Subsidiaries streams the live companies whose parent is id.
func (s *Companies) Subsidiaries(ctx context.Context, id string) iter.Seq2[Company, error] {
	return s.o.byIndex(ctx, s.o.w.indexKey('o', "parent").str(id))
}
