package crm

import (
	"strings"

	"github.com/crmkit/crmkit/store"
)

// The records that refer to a contact or company, found through the
// indexes their links write (and, for soft-deleted records, which keep no
// such index entries, through the kind's "deleted" index). Merge re-points
// them; erasure unlinks them.

// referrers returns the records of kind k that refer(r) says refer to a
// record: the live ones whose IDs end the keys under live, and the
// soft-deleted ones. Keys under live whose IDs are not of kind k (a
// timeline holds changes too) are skipped.
func referrers[T any](tx store.Reader, w *Workspace, k *kind[T], live key, refers func(*T) bool) ([]*T, error) {
	var ids []string
	seen := map[string]bool{}
	for _, prefix := range []key{live, w.indexKey(k.code, "deleted")} {
		for e, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
			if err != nil {
				return nil, err
			}
			id, err := idFromIndexKey(e.Key, len(k.prefix)+idLength)
			if err != nil {
				return nil, err
			}
			if strings.HasPrefix(id, k.prefix) && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	var out []*T
	for _, id := range ids {
		r, err := get(tx, w, k, id)
		if err != nil {
			return nil, err
		}
		if refers(r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// relink rewrites each record of kind k that refers to a record (see
// referrers) with fix, soft-deleted ones too. fix returns false when the
// record only existed for the one it referred to and must be erased instead.
func relink[T any](t *txn, k *kind[T], live key, refers func(*T) bool, fix func(*T) bool) error {
	rs, err := referrers(t.tx, t.w, k, live, refers)
	if err != nil {
		return err
	}
	for _, old := range rs {
		r, err := clone(old)
		if err != nil {
			return err
		}
		if !fix(r) {
			if err := erase(t, k, old); err != nil {
				return err
			}
			continue
		}
		if err := put(t, k, old, r, OpUpdated); err != nil {
			return err
		}
	}
	return nil
}

// replaceID replaces from with to in ids; the caller's validation drops a
// duplicate. An empty to removes from.
func replaceID(ids []string, from, to string) []string {
	out := ids[:0]
	for _, id := range ids {
		switch {
		case id != from:
			out = append(out, id)
		case to != "":
			out = append(out, to)
		}
	}
	return out
}

// hasID reports whether ids holds id.
func hasID(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// The records linked to contact id, as referrers finds them: where their
// live index entries are and whether a record is one.
func contactDeals(w *Workspace, id string) (key, func(*Deal) bool) {
	return w.indexKey('d', "contact").str(id), func(d *Deal) bool {
		for _, c := range d.Contacts {
			if c.ContactID == id {
				return true
			}
		}
		return false
	}
}

func contactActivities(w *Workspace, id string) (key, func(*Activity) bool) {
	return w.timelinePrefix('c', id), func(a *Activity) bool { return hasID(a.ContactIDs, id) }
}

func contactPurchases(w *Workspace, id string) (key, func(*Purchase) bool) {
	return w.indexKey('p', "contact").str(id), func(p *Purchase) bool { return p.ContactID == id }
}

// relinkContact re-points, or with to empty removes, every link to contact
// from: deals' contacts, activities' contacts and purchases' buyer. scrub
// adjusts each linked record further (erasure removes mentions); an
// activity or purchase left without any link is erased.
func relinkContact(t *txn, from, to string, scrub func(r any)) error {
	live, refers := contactDeals(t.w, from)
	err := relink(t, kindDeal, live, refers, func(d *Deal) bool {
		d.Contacts = relinkRoles(d.Contacts, from, to,
			func(c *ContactRole) *string { return &c.ContactID }, func(c *ContactRole) *string { return &c.Role })
		scrub(d)
		return true
	})
	if err != nil {
		return err
	}
	live, refersA := contactActivities(t.w, from)
	err = relink(t, kindActivity, live, refersA, func(a *Activity) bool {
		a.ContactIDs = replaceID(a.ContactIDs, from, to)
		scrub(a)
		return len(a.ContactIDs)+len(a.CompanyIDs)+len(a.DealIDs) > 0
	})
	if err != nil {
		return err
	}
	live, refersP := contactPurchases(t.w, from)
	return relink(t, kindPurchase, live, refersP, func(p *Purchase) bool {
		p.ContactID = to
		scrub(p)
		return p.ContactID != "" || p.CompanyID != ""
	})
}

// relinkRoles re-points the links to from in a list of role links (a
// deal's contacts, a contact's companies) to to, or removes them when to is
// empty. When to is already linked, from's link goes and lends its role if
// to's has none.
func relinkRoles[L any](links []L, from, to string, id, role func(*L) *string) []L {
	hasTo := false
	for i := range links {
		hasTo = hasTo || to != "" && *id(&links[i]) == to
	}
	var fromRole string
	out := links[:0:0]
	for _, l := range links {
		if *id(&l) == from {
			fromRole = *role(&l)
			if to == "" || hasTo {
				continue
			}
			*id(&l) = to
		}
		out = append(out, l)
	}
	for i := range out {
		if hasTo && *id(&out[i]) == to && *role(&out[i]) == "" {
			*role(&out[i]) = fromRole
		}
	}
	return out
}

// relinkCompany re-points every link to company from to company to:
// contacts' companies, deals' and purchases' company, activities'
// companies, and subsidiaries' parent (except skip, the survivor itself,
// whose parent the merge sets).
func relinkCompany(t *txn, from, to, skip string) error {
	w := t.w
	err := relink(t, kindContact, w.indexKey('c', "company").str(from),
		func(c *Contact) bool {
			for _, cr := range c.Companies {
				if cr.CompanyID == from {
					return true
				}
			}
			return false
		},
		func(c *Contact) bool {
			c.Companies = relinkRoles(c.Companies, from, to,
				func(c *CompanyRole) *string { return &c.CompanyID }, func(c *CompanyRole) *string { return &c.Role })
			return true
		})
	if err != nil {
		return err
	}
	err = relink(t, kindDeal, w.indexKey('d', "company").str(from),
		func(d *Deal) bool { return d.CompanyID == from },
		func(d *Deal) bool { d.CompanyID = to; return true })
	if err != nil {
		return err
	}
	err = relink(t, kindActivity, w.timelinePrefix('o', from),
		func(a *Activity) bool { return hasID(a.CompanyIDs, from) },
		func(a *Activity) bool { a.CompanyIDs = replaceID(a.CompanyIDs, from, to); return true })
	if err != nil {
		return err
	}
	err = relink(t, kindPurchase, w.indexKey('p', "company").str(from),
		func(p *Purchase) bool { return p.CompanyID == from },
		func(p *Purchase) bool { p.CompanyID = to; return true })
	if err != nil {
		return err
	}
	return relink(t, kindCompany, w.indexKey('o', "parent").str(from),
		func(c *Company) bool { return c.ParentID == from && c.ID != skip },
		func(c *Company) bool { c.ParentID = to; return true })
}
