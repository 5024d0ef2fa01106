package crmio

import (
	"strings"
	"sync"
	"unicode"

	"github.com/crmkit/crmkit/crm"
)

// Mapping maps a file's columns (CSV header names, or JSON keys with dots
// for nested objects: "address.city") to fields of the object being
// imported. A column mapped to "" or "-" is skipped.
//
// Field names are the column names Export writes: for contacts
// first_name, last_name, name (split into first and last), emails, phones,
// mobile, title, company, company_role, address.street, address.city,
// address.region, address.postal_code, address.country, birthday,
// preferred_channel, interests, lead_source, lifecycle, owner_id, tags,
// external_ids; for companies name, domain, industry, employees,
// annual_revenue, the address fields, parent, owner_id, tags,
// external_ids; for deals name, pipeline, stage, amount, close_date,
// owner_id, company, contacts, source, lost_reason; for activities type,
// subject, body, occurred_at, contacts, companies, deals, owner_id,
// direction, duration, outcome, due_at, assignee_id, done, remind_at,
// status, priority; for purchases contact, company, purchased_at,
// payment_method, product, quantity, unit_price, discount. Every object
// also has id (the record's CRM ID, an upsert key) and custom.<name> for
// each custom field; contacts and companies have external_id.<system>
// for one system's ID.
type Mapping map[string]string

// objectInfo is what guessing needs to know about an object type.
type objectInfo struct {
	aliases  map[string]string // normalised header -> field name
	multi    map[string]bool
	readOnly map[string]bool
	known    map[string]bool
	extIDs   bool
}

var (
	infoOnce sync.Once
	infos    map[crm.Kind]*objectInfo
)

func objectInfos() map[crm.Kind]*objectInfo {
	infoOnce.Do(func() {
		infos = map[crm.Kind]*objectInfo{
			ObjectContact:  infoOf(contactKind),
			ObjectCompany:  infoOf(companyKind),
			ObjectDeal:     infoOf(dealKind),
			ObjectActivity: infoOf(activityKind),
			ObjectPurchase: infoOf(purchaseKind),
		}
	})
	return infos
}

func infoOf[T any](k *kind[T]) *objectInfo {
	oi := &objectInfo{aliases: map[string]string{}, multi: map[string]bool{}, readOnly: map[string]bool{}, known: map[string]bool{}, extIDs: k.extIDs != nil}
	fields := append(append([]*field[T](nil), k.fields...), k.stamps...)
	add := func(alias, name string) {
		n := normHeader(alias)
		for _, v := range []string{n, strings.ReplaceAll(n, ".", "_"), compact(n)} {
			if _, taken := oi.aliases[v]; !taken && v != "" {
				oi.aliases[v] = name
			}
		}
	}
	// Exact names first, so that an alias never shadows a field's name.
	for _, f := range fields {
		add(f.name, f.name)
		oi.known[f.name] = true
		oi.multi[f.name] = f.multi
		oi.readOnly[f.name] = f.readOnly
	}
	for _, f := range fields {
		for _, a := range f.aliases {
			add(a, f.name)
		}
	}
	return oi
}

// normHeader is how headers are compared: lower case, with every run of
// characters other than letters, digits and dots turned into one '_'.
func normHeader(h string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
			continue
		}
		under = true
	}
	return strings.Trim(b.String(), "._")
}

// GuessMapping guesses which field each column holds from its header, for
// an application to show for confirmation before Import. Headers are
// compared ignoring case, spaces and punctuation, against each field's
// name and common synonyms ("E-mail Address" is emails, "Zip" is
// address.postal_code, "Sector" is a company's industry). Pass the
// object's custom field definitions (ws.Fields().List) to match columns
// named after a custom field's name or label. A column whose header
// matches nothing is left out of the mapping (and ignored by Import); so
// is a second column for a single-valued field. An unknown object gives
// an empty mapping.
func GuessMapping(headers []string, object crm.Kind, fields ...crm.FieldDef) Mapping {
	m := Mapping{}
	oi := objectInfos()[object]
	if oi == nil {
		return m
	}
	custom := map[string]string{}
	for _, d := range fields {
		if !d.Object.IsZero() && d.Object != object {
			continue
		}
		for _, a := range []string{"custom." + d.Name, "custom_" + d.Name, d.Name, d.Label} {
			if n := normHeader(a); n != "" {
				if _, taken := custom[n]; !taken {
					custom[n] = "custom." + d.Name
				}
			}
		}
	}
	taken := map[string]bool{}
	for _, h := range headers {
		if _, dup := m[h]; dup {
			continue
		}
		target := guessField(oi, custom, normHeader(h))
		if target == "" || oi.readOnly[target] {
			continue
		}
		if taken[target] && !oi.multi[target] {
			continue
		}
		taken[target] = true
		m[h] = target
	}
	return m
}

// compact is a header without its separators, so that "E-Mail Address"
// and "email_address" meet.
func compact(n string) string { return strings.NewReplacer("_", "", ".", "").Replace(n) }

func guessField(oi *objectInfo, custom map[string]string, n string) string {
	if f, ok := oi.aliases[n]; ok {
		return f
	}
	if f, ok := oi.aliases[compact(n)]; ok && !strings.HasPrefix(n, "custom.") {
		return f
	}
	if f, ok := custom[n]; ok {
		return f
	}
	if rest, ok := strings.CutPrefix(n, "custom."); ok && rest != "" {
		return "custom." + rest
	}
	if oi.extIDs {
		for _, p := range []string{"external_id.", "external_id_", "ext."} {
			if sys, ok := strings.CutPrefix(n, p); ok && sys != "" {
				return "external_id." + sys
			}
		}
	}
	return ""
}
