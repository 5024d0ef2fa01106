package crm

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
)

// Contact is a person the workspace has a relationship with.
type Contact struct {
	Meta      `msgpack:",inline"`
	FirstName string `msgpack:"first_name,omitempty" json:"first_name,omitempty"`
	LastName  string `msgpack:"last_name,omitempty" json:"last_name,omitempty"`
	// Emails are the contact's addresses, the primary first, stored as
	// NormalizeEmail writes them. Each is unique in the workspace,
	// compared as EmailKey compares them.
	Emails []string `msgpack:"emails,omitempty" json:"emails,omitempty"`
	Phones []Phone  `msgpack:"phones,omitempty" json:"phones,omitempty"`
	// Title is the job title.
	Title    string  `msgpack:"title,omitempty" json:"title,omitempty"`
	Address  Address `msgpack:"address,omitempty" json:"address,omitzero"`
	Birthday Date    `msgpack:"birthday,omitempty" json:"birthday,omitzero"`
	// PreferredChannel is one of Channels, or empty.
	PreferredChannel string   `msgpack:"preferred_channel,omitempty" json:"preferred_channel,omitempty"`
	Interests        []string `msgpack:"interests,omitempty" json:"interests,omitempty"`
	// LeadSource says where the contact came from ("web", "referral").
	LeadSource string `msgpack:"lead_source,omitempty" json:"lead_source,omitempty"`
	// Lifecycle is one of the workspace's lifecycle stages, or empty.
	Lifecycle string `msgpack:"lifecycle,omitempty" json:"lifecycle,omitempty"`
	// OwnerID is the user (of the host application) who owns the contact.
	OwnerID string   `msgpack:"owner_id,omitempty" json:"owner_id,omitempty"`
	Tags    []string `msgpack:"tags,omitempty" json:"tags,omitempty"`
	// ExternalIDs maps a system's name to the contact's ID there, for
	// sync. Each is unique in the workspace.
	ExternalIDs map[string]string `msgpack:"external_ids,omitempty" json:"external_ids,omitempty"`
	// Companies links the contact to companies, with the role at each.
	Companies []CompanyRole `msgpack:"companies,omitempty" json:"companies,omitempty"`
	Custom    Custom        `msgpack:"custom,omitempty" json:"custom,omitempty"`
}

// Phone is a phone number with a label ("work", "mobile"). The CRM
// parses Number when the contact is saved (see ParsePhone) and sets E164
// and Extension; phones are indexed and compared by E164.
type Phone struct {
	// Number is the number as written: "+1 (650) 253-0000 ext. 123",
	// "030 12345678".
	Number string `msgpack:"number" json:"number"`
	Label  string `msgpack:"label,omitempty" json:"label,omitempty"`
	// Region is the ISO 3166-1 country a number written without its
	// country code is dialled in; empty means the workspace's
	// PhoneRegion.
	Region string `msgpack:"region,omitempty" json:"region,omitempty"`
	// E164 is the number in E.164 form without extension
	// ("+16502530000"). It is set by the CRM; what a caller puts here is
	// replaced.
	E164 string `msgpack:"e164,omitempty" json:"e164,omitempty"`
	// Extension is the extension's digits ("123"). It is set by the CRM.
	Extension string `msgpack:"extension,omitempty" json:"extension,omitempty"`
}

// CompanyRole links a contact to a company.
type CompanyRole struct {
	CompanyID string `msgpack:"company_id" json:"company_id"`
	// Role is the contact's role there ("decision maker", "billing").
	Role string `msgpack:"role,omitempty" json:"role,omitempty"`
}

// Name returns the contact's full name, or the primary email if there is no
// name.
func (c *Contact) Name() string {
	if n := strings.TrimSpace(c.FirstName + " " + c.LastName); n != "" {
		return n
	}
	if len(c.Emails) > 0 {
		return c.Emails[0]
	}
	return ""
}

// grandfathered runs clean on a value, reporting its problems on p,
// except for a value the record already held (kept): one stored before
// the CRM checked it as strictly (a national phone number in a workspace
// with no PhoneRegion, an address of a domain now refused) stays as it
// was, so that the record's other fields can still be changed.
func grandfathered[V any](p *problems, kept bool, v V, clean func(*problems) V) V {
	var sub problems
	out := clean(&sub)
	if len(sub.list) > 0 && kept {
		return v
	}
	p.list = append(p.list, sub.list...)
	return out
}

// Channels are the values of Contact.PreferredChannel.
var Channels = []string{"email", "phone", "sms", "mail", "chat", "in_person", "none"}

var kindContact = &kind[Contact]{
	name: "contact", code: 'c', prefix: "con_",
	meta:     func(c *Contact) *Meta { return &c.Meta },
	custom:   func(c *Contact) *Custom { return &c.Custom },
	sortName: func(c *Contact) string { return c.LastName + " " + c.FirstName },
	indexes:  contactIndexes,
}

func prepareContact(t *txn, c, old *Contact, p *problems) error {
	c.FirstName = cleanText(p, "first_name", c.FirstName, maxShortText)
	c.LastName = cleanText(p, "last_name", c.LastName, maxShortText)
	c.Title = cleanText(p, "title", c.Title, maxShortText)
	if !checkListLen(p, "emails", len(c.Emails)) {
		return nil
	}
	seen := map[string]bool{}
	emails := c.Emails[:0:0]
	for i, e := range c.Emails {
		e = grandfathered(p, old != nil && slices.Contains(old.Emails, e), e, func(p *problems) string {
			return cleanEmail(p, fmt.Sprintf("emails[%d]", i), e)
		})
		if l := storedEmailKey(e); !seen[l] {
			seen[l] = true
			emails = append(emails, e)
		}
	}
	c.Emails = emails
	if c.FirstName == "" && c.LastName == "" && len(c.Emails) == 0 {
		p.add("first_name", "a contact needs a name or an email")
	}
	if !checkListLen(p, "phones", len(c.Phones)) {
		return nil
	}
	for i := range c.Phones {
		ph := c.Phones[i]
		kept := old != nil && slices.ContainsFunc(old.Phones, func(o Phone) bool { return o.Number == ph.Number && o.Region == ph.Region })
		c.Phones[i] = grandfathered(p, kept, ph, func(p *problems) Phone {
			return cleanPhone(p, fmt.Sprintf("phones[%d].number", i), ph, t.info.PhoneRegion)
		})
		c.Phones[i].Label = cleanText(p, fmt.Sprintf("phones[%d].label", i), c.Phones[i].Label, maxShortText)
	}
	c.Address = cleanAddress(p, "address", c.Address)
	checkDate(p, "birthday", c.Birthday)
	if !c.Birthday.IsZero() && t.now.Before(c.Birthday.Time()) {
		p.add("birthday", "%s is in the future", c.Birthday)
	}
	if c.PreferredChannel != "" {
		c.PreferredChannel = strings.ToLower(strings.TrimSpace(c.PreferredChannel))
		if !slices.Contains(Channels, c.PreferredChannel) {
			p.add("preferred_channel", "%q is not one of %s", c.PreferredChannel, strings.Join(Channels, ", "))
		}
	}
	c.Interests = cleanKeywords(p, "interests", c.Interests)
	c.LeadSource = cleanText(p, "lead_source", c.LeadSource, maxShortText)
	if c.Lifecycle != "" {
		c.Lifecycle = strings.ToLower(strings.TrimSpace(c.Lifecycle))
		if !slices.Contains(t.info.LifecycleStages, c.Lifecycle) {
			p.add("lifecycle", "%q is not a lifecycle stage of this workspace (%s)", c.Lifecycle, strings.Join(t.info.LifecycleStages, ", "))
		}
	}
	c.OwnerID = cleanText(p, "owner_id", c.OwnerID, maxShortText)
	c.Tags = cleanKeywords(p, "tags", c.Tags)
	c.ExternalIDs = cleanExternalIDs(p, "external_ids", c.ExternalIDs)
	if !checkListLen(p, "companies", len(c.Companies)) {
		return nil
	}
	seenCo := map[string]bool{}
	for i := range c.Companies {
		f := fmt.Sprintf("companies[%d]", i)
		cr := &c.Companies[i]
		cr.Role = cleanText(p, f+".role", cr.Role, maxShortText)
		if seenCo[cr.CompanyID] {
			p.add(f+".company_id", "company %s is linked twice", cr.CompanyID)
			continue
		}
		seenCo[cr.CompanyID] = true
		if cr.CompanyID == "" {
			p.add(f+".company_id", "is empty")
		} else if err := checkRef(t, p, f+".company_id", kindCompany, cr.CompanyID); err != nil {
			return err
		}
	}
	return nil
}

func contactIndexes(w *Workspace, c *Contact, ix []indexEntry) []indexEntry {
	for i, e := range c.Emails {
		ix = append(ix, uniqueEntry(fmt.Sprintf("emails[%d]", i), w.uniqueKey('c', "email").str(storedEmailKey(e)), c.ID))
	}
	for sys, id := range c.ExternalIDs {
		ix = append(ix, uniqueEntry("external_ids."+sys, w.uniqueKey('c', "ext").str(sys).str(id), c.ID))
	}
	for _, cr := range c.Companies {
		ix = append(ix, plainEntry("companies", w.indexKey('c', "company").str(cr.CompanyID), c.ID))
	}
	if c.OwnerID != "" {
		ix = append(ix, plainEntry("owner_id", w.indexKey('c', "owner").str(c.OwnerID), c.ID))
	}
	for _, ph := range c.Phones {
		if n := phoneKey(ph, w.info.PhoneRegion); n != "" {
			ix = append(ix, plainEntry("phones", w.indexKey('c', "phone").str(n), c.ID))
		}
	}
	return ix
}

// Contacts manages a workspace's contacts.
type Contacts struct{ o objects[Contact] }

// Contacts returns the workspace's contact service.
func (w *Workspace) Contacts() *Contacts { return &Contacts{objects[Contact]{w, kindContact}} }

// Create validates and stores a new contact and returns it with its ID and
// version. Meta fields of c are ignored.
func (s *Contacts) Create(ctx context.Context, c Contact) (Contact, error) {
	return s.o.create(ctx, c)
}

// CreateMany creates many contacts, several per transaction. Invalid
// contacts are skipped and reported in a *BatchError with their index; the
// valid ones are created and returned in input order (the invalid ones as
// zero values).
func (s *Contacts) CreateMany(ctx context.Context, cs []Contact) ([]Contact, error) {
	return s.o.createMany(ctx, cs)
}

// UpdateMany applies mutate to each contact of ids, several per
// transaction: a bulk edit. A contact that is missing, soft-deleted,
// vetoed by a before-hook or invalid after mutate (mutate may return an
// error matching ErrInvalid to refuse one) is skipped and reported in a
// *BatchError with its index in ids; the others are saved and returned in
// input order (the skipped ones as zero values). mutate may run more than
// once for an ID if a transaction is retried after a conflict. Any other
// error (a missing workspace, a failing store) stops the edit: the
// contacts of the transactions committed before it are returned, and the
// error is joined with a *BatchError of the ones those refused.
func (s *Contacts) UpdateMany(ctx context.Context, ids []string, mutate func(*Contact) error) ([]Contact, error) {
	return s.o.updateMany(ctx, ids, mutate)
}

// Get returns the contact with the given ID (also when soft-deleted), or an
// error matching ErrNotFound.
func (s *Contacts) Get(ctx context.Context, id string) (Contact, error) { return s.o.get(ctx, id) }

// GetByEmail returns the contact that has email among its addresses,
// compared as EmailKey compares them (the local part case-insensitively,
// the domain in either of its IDNA forms).
func (s *Contacts) GetByEmail(ctx context.Context, email string) (Contact, error) {
	return s.o.getByUnique(ctx, "email "+email, s.o.w.uniqueKey('c', "email").str(storedEmailKey(email)))
}

// GetByExternalID returns the contact whose ID in the external system is id.
func (s *Contacts) GetByExternalID(ctx context.Context, system, id string) (Contact, error) {
	return s.o.getByUnique(ctx, system+" id "+id, s.o.w.uniqueKey('c', "ext").str(strings.ToLower(system)).str(id))
}

// Update loads the contact, applies mutate to it and saves it: a partial
// update that changes only what mutate changes. mutate may run more than
// once when the write is retried after a concurrent change; with
// IfVersion, the update fails with ErrConflict instead if the contact is
// no longer at that version.
func (s *Contacts) Update(ctx context.Context, id string, mutate func(*Contact) error, opts ...UpdateOption) (Contact, error) {
	return s.o.update(ctx, id, mutate, opts...)
}

// Replace saves c in place of the stored contact with c.ID, replacing
// every field. If c.Version is not zero it must match the stored version.
func (s *Contacts) Replace(ctx context.Context, c Contact) (Contact, error) {
	return s.o.replace(ctx, c.ID, c.Version, c)
}

// Delete soft-deletes a contact: it leaves lists and lookups but keeps its
// data, history and email addresses until it is restored or erased.
func (s *Contacts) Delete(ctx context.Context, id string, opts ...UpdateOption) error {
	return s.o.setDeleted(ctx, id, true, opts...)
}

// Restore undoes Delete.
func (s *Contacts) Restore(ctx context.Context, id string) error {
	return s.o.setDeleted(ctx, id, false)
}

// List streams contacts in the order opts asks (SortCreated, SortUpdated or
// SortName); opts.Limit is ignored.
func (s *Contacts) List(ctx context.Context, opts ListOptions) iter.Seq2[Contact, error] {
	return s.o.iterate(ctx, opts)
}

// Page returns one page of contacts and the cursor to the next.
func (s *Contacts) Page(ctx context.Context, opts ListOptions) (Page[Contact], error) {
	return s.o.page(ctx, opts)
}

// ByCompany streams the live contacts linked to a company.
func (s *Contacts) ByCompany(ctx context.Context, companyID string) iter.Seq2[Contact, error] {
	return s.o.byIndex(ctx, s.o.w.indexKey('c', "company").str(companyID))
}

// ByOwner streams the live contacts owned by a user.
func (s *Contacts) ByOwner(ctx context.Context, ownerID string) iter.Seq2[Contact, error] {
	return s.o.byIndex(ctx, s.o.w.indexKey('c', "owner").str(ownerID))
}
