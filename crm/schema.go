package crm

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
)

// Filters (package filter) name a record's fields by their JSON names:
// first_name, address.country, custom.score. Besides the stored fields,
// contacts, companies and deals have behavioural fields computed from
// related records at evaluation time:
//
//   - company.<field>: a field of the contact's first linked company, or
//     the deal's company (any company field, custom ones included);
//   - open_deal_pipelines, open_deal_stages: the pipelines and stages
//     (as "pipeline_id/stage_id") of the record's open deals, so
//     open_deal_pipelines CONTAINS "pl_..." is "has an open deal in that
//     pipeline" and NOT ... CONTAINS is "has none" (contacts, companies);
//   - deal_count, open_deal_count: how many live deals the record has
//     (contacts, companies);
//   - activity_count.<type>.last_<n>d: how many live activities of a
//     type ("email", "call", ...; "any" for every type) the record has,
//     with an occurred time in the last n days up to now (1 to 3650):
//     activity_count.email.last_30d >= 3;
//   - last_activity_at: the latest occurred time of the record's live
//     activities (unset without any): last_activity_at < now() - 60d;
//   - purchase_products, purchase_count, total_spend: the products of the
//     record's live purchases, how many there are, and their total in
//     minor units of the workspace currency (purchases in other currencies
//     do not count) (contacts, companies);
//   - contact_count: how many live contacts are linked (companies).
//
// Money fields are numbers in minor units (amount, annual_revenue); a
// money field's currency is <field>_currency (amount_currency). Phones are
// a list of their numbers.

// behaviour fields shared by kinds: name -> type.
var behaviourFields = map[string]filter.Type{
	"open_deal_pipelines": filter.TypeList,
	"open_deal_stages":    filter.TypeList,
	"deal_count":          filter.TypeNumber,
	"open_deal_count":     filter.TypeNumber,
	"last_activity_at":    filter.TypeTime,
	"purchase_products":   filter.TypeList,
	"purchase_count":      filter.TypeNumber,
	"total_spend":         filter.TypeNumber,
}

var metaFields = map[string]filter.Type{
	"id": filter.TypeText, "created_at": filter.TypeTime, "updated_at": filter.TypeTime,
	"created_by": filter.TypeText, "updated_by": filter.TypeText,
}

var addressFields = []string{"street", "city", "region", "postal_code", "country"}

// builtinFields are the stored fields of each kind that filters may name.
var builtinFields = map[string]map[string]filter.Type{
	"contact": withAddress(map[string]filter.Type{
		"first_name": filter.TypeText, "last_name": filter.TypeText, "title": filter.TypeText,
		"emails": filter.TypeList, "phones": filter.TypeList, "birthday": filter.TypeDate,
		"preferred_channel": filter.TypeText, "interests": filter.TypeList,
		"lead_source": filter.TypeText, "lifecycle": filter.TypeText, "owner_id": filter.TypeText,
		"tags": filter.TypeList, "company_ids": filter.TypeList,
	}),
	"company": withAddress(map[string]filter.Type{
		"name": filter.TypeText, "domain": filter.TypeText, "industry": filter.TypeText,
		"employees": filter.TypeNumber, "annual_revenue": filter.TypeNumber,
		"annual_revenue_currency": filter.TypeText, "parent_id": filter.TypeText,
		"owner_id": filter.TypeText, "tags": filter.TypeList,
	}),
	"deal": withMeta(map[string]filter.Type{
		"name": filter.TypeText, "pipeline_id": filter.TypeText, "stage_id": filter.TypeText,
		"amount": filter.TypeNumber, "amount_currency": filter.TypeText, "close_date": filter.TypeDate,
		"owner_id": filter.TypeText, "company_id": filter.TypeText, "contact_ids": filter.TypeList,
		"source": filter.TypeText, "lost_reason": filter.TypeText, "status": filter.TypeText,
		"closed_at": filter.TypeTime,
	}),
}

func withAddress(m map[string]filter.Type) map[string]filter.Type {
	for _, f := range addressFields {
		m["address."+f] = filter.TypeText
	}
	return withMeta(m)
}

func withMeta(m map[string]filter.Type) map[string]filter.Type {
	for f, t := range metaFields {
		m[f] = t
	}
	return m
}

// behaviours says which behavioural fields each kind has.
var behaviours = map[string]map[string]bool{
	"contact": {"company": true, "open_deal_pipelines": true, "open_deal_stages": true, "deal_count": true,
		"open_deal_count": true, "last_activity_at": true, "activity_count": true, "purchase_products": true,
		"purchase_count": true, "total_spend": true},
	"company": {"open_deal_pipelines": true, "open_deal_stages": true, "deal_count": true, "open_deal_count": true,
		"last_activity_at": true, "activity_count": true, "purchase_products": true, "purchase_count": true,
		"total_spend": true, "contact_count": true},
	"deal": {"company": true, "last_activity_at": true, "activity_count": true},
}

// Schema is the filter schema of one record kind in one workspace: its
// built-in fields, its custom fields and its behavioural fields. It
// implements filter.Schema, so filter.Check(e, schema) validates a filter
// before it is saved or run.
type Schema struct {
	object  string
	custom  map[string]filter.Type
	money   map[string]bool // custom money fields (integer amounts)
	company *Schema         // the company schema, for company.<field>
}

// FieldNames lists the fields of the schema's kind: built-in, custom
// ("custom.<name>") and computed ones (activity counts as
// "activity_count"), sorted; filter.Check suggests the close ones for an
// unknown field.
func (s *Schema) FieldNames() []string {
	names := slices.Collect(maps.Keys(builtinFields[s.object]))
	for c := range s.custom {
		names = append(names, "custom."+c)
	}
	for b := range behaviours[s.object] {
		if b != "company" {
			names = append(names, b)
		}
	}
	slices.Sort(names)
	return names
}

// FieldType returns the type of a field of the schema's kind.
func (s *Schema) FieldType(name string) (filter.Type, bool) {
	if t, ok := builtinFields[s.object][name]; ok {
		return t, true
	}
	if c, ok := strings.CutPrefix(name, "custom."); ok {
		t, ok := s.custom[c]
		return t, ok
	}
	b := behaviours[s.object]
	if rest, ok := strings.CutPrefix(name, "company."); ok && b["company"] && s.company != nil {
		if strings.HasPrefix(rest, "company.") {
			return 0, false
		}
		return s.company.FieldType(rest)
	}
	if _, _, ok := parseActivityCount(name); ok && b["activity_count"] {
		return filter.TypeNumber, true
	}
	if name == "contact_count" && b[name] {
		return filter.TypeNumber, true
	}
	if t, ok := behaviourFields[name]; ok && b[name] {
		return t, true
	}
	return 0, false
}

// parseActivityCount reads "activity_count.<type>.last_<n>d".
func parseActivityCount(name string) (ActivityType, int, bool) {
	rest, ok := strings.CutPrefix(name, "activity_count.")
	if !ok {
		return "", 0, false
	}
	typ, win, ok := strings.Cut(rest, ".")
	win, ok2 := strings.CutPrefix(win, "last_")
	if !ok || !ok2 || !strings.HasSuffix(win, "d") {
		return "", 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(win, "d"))
	if err != nil || n < 1 || n > 3650 || strconv.Itoa(n)+"d" != win {
		return "", 0, false
	}
	switch t := ActivityType(typ); t {
	case ActivityCall, ActivityEmail, ActivityMeeting, ActivityNote, ActivityTask, ActivityTicket, "any":
		return t, n, true
	}
	return "", 0, false
}

// customType maps a custom field type to the filter's type.
func customType(t FieldType) filter.Type {
	switch t {
	case FieldNumber, FieldMoney:
		return filter.TypeNumber
	case FieldDate:
		return filter.TypeDate
	case FieldBool:
		return filter.TypeBool
	case FieldMultiSelect:
		return filter.TypeList
	}
	return filter.TypeText
}

func newSchema(object string, defs []FieldDef) *Schema {
	s := &Schema{object: object, custom: make(map[string]filter.Type, len(defs)), money: map[string]bool{}}
	for _, d := range defs {
		s.custom[d.Name] = customType(d.Type)
		if d.Type == FieldMoney {
			s.money[d.Name] = true
		}
	}
	return s
}

// intField reports whether a number field holds integers (which index
// keys hold as floats, exact only up to 2^53).
func (s *Schema) intField(name string) bool {
	switch name {
	case "employees", "annual_revenue", "amount":
		return true
	}
	c, ok := strings.CutPrefix(name, "custom.")
	return ok && s.money[c]
}

// loadSchema reads the schema of a kind: its custom fields and, for
// contacts and deals, the company schema behind company.<field>.
func loadSchema(tx store.Reader, w *Workspace, object string) (*Schema, []FieldDef, error) {
	defs, err := loadFieldDefs(tx, w, object)
	if err != nil {
		return nil, nil, err
	}
	s := newSchema(object, defs)
	if behaviours[object]["company"] {
		cdefs, err := loadFieldDefs(tx, w, "company")
		if err != nil {
			return nil, nil, err
		}
		s.company = newSchema("company", cdefs)
	}
	return s, defs, nil
}

// filterObjects are the kinds segments and queries select.
var filterObjects = map[string]byte{"contact": 'c', "company": 'o', "deal": 'd'}
