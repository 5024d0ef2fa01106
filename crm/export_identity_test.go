package crm

import (
	"context"
	"strings"

	"github.com/crmkit/crmkit/crm/filter"
)

// legacyPhoneKey is how versions before the phonenumbers normaliser keyed
// a phone: its digits, with a leading '+' kept.
func legacyPhoneKey(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MakeLegacyIdentity rewrites a contact and a company as versions before
// the identity normalisers stored them: phones without E.164 form and
// extension, the email unique entries keyed by the folded address as
// written, the phone entries by the number's digits, and the company's
// domain entry by its stored text. It bypasses the write path, as an old
// store on disk would.
func MakeLegacyIdentity(ctx context.Context, w *Workspace, contactID, companyID string, emails []string, domain string) error {
	_, err := w.write(ctx, func(t *txn) error {
		c, err := get(t.tx, w, kindContact, contactID)
		if err != nil {
			return err
		}
		for _, ie := range contactIndexes(w, c, nil) {
			if ie.field == "phones" || strings.HasPrefix(ie.field, "emails[") {
				if err := t.tx.Delete(ie.key); err != nil {
					return err
				}
			}
		}
		c.Emails = emails
		for i := range c.Phones {
			c.Phones[i].E164, c.Phones[i].Extension, c.Phones[i].Region = "", "", ""
		}
		b, err := encode(c)
		if err != nil {
			return err
		}
		if err := t.tx.Set(w.recordKey(kindContact.code, c.ID), b); err != nil {
			return err
		}
		var old []indexEntry
		for _, e := range c.Emails {
			old = append(old, uniqueEntry("emails", w.uniqueKey('c', "email").str(filter.Fold(e)), c.ID))
		}
		for _, ph := range c.Phones {
			old = append(old, plainEntry("phones", w.indexKey('c', "phone").str(legacyPhoneKey(ph.Number)), c.ID))
		}
		co, err := get(t.tx, w, kindCompany, companyID)
		if err != nil {
			return err
		}
		for _, ie := range companyIndexes(w, co, nil) {
			if ie.field == "domain" {
				if err := t.tx.Delete(ie.key); err != nil {
					return err
				}
			}
		}
		co.Domain = domain
		if b, err = encode(co); err != nil {
			return err
		}
		if err := t.tx.Set(w.recordKey(kindCompany.code, co.ID), b); err != nil {
			return err
		}
		old = append(old, uniqueEntry("domain", w.uniqueKey('o', "domain").str(domain), co.ID))
		for _, ie := range old {
			if err := t.tx.Set(ie.key, ie.value); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}
