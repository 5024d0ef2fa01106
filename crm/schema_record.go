package crm

import (
	"errors"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// Each kind's stored fields, by filter name. Values are string, []string,
// int64, float64, bool, time.Time or Date, as filter.Record wants them.

func metaField(m *Meta, name string) (any, bool) {
	switch name {
	case "id":
		return m.ID, true
	case "created_at":
		return m.CreatedAt, true
	case "updated_at":
		return m.UpdatedAt, true
	case "created_by":
		return m.CreatedBy, true
	case "updated_by":
		return m.UpdatedBy, true
	}
	return nil, false
}

func addressField(a *Address, name string) (any, bool) {
	switch name {
	case "address.street":
		return a.Street, true
	case "address.city":
		return a.City, true
	case "address.region":
		return a.Region, true
	case "address.postal_code":
		return a.PostalCode, true
	case "address.country":
		return a.Country, true
	}
	return nil, false
}

// customField returns a custom value in filter form: money as its amount.
func customField(c Custom, name string) (any, bool) {
	n, ok := strings.CutPrefix(name, "custom.")
	if !ok {
		return nil, false
	}
	v, ok := c[n]
	if m, isMoney := v.(Money); isMoney {
		return m.Amount, true
	}
	return v, ok
}

func contactField(c *Contact, name string) (any, bool) {
	switch name {
	case "first_name":
		return c.FirstName, true
	case "last_name":
		return c.LastName, true
	case "title":
		return c.Title, true
	case "emails":
		return c.Emails, true
	case "phones":
		out := make([]string, len(c.Phones))
		for i, p := range c.Phones {
			out[i] = p.Number
		}
		return out, true
	case "birthday":
		return c.Birthday, true
	case "preferred_channel":
		return c.PreferredChannel, true
	case "interests":
		return c.Interests, true
	case "lead_source":
		return c.LeadSource, true
	case "lifecycle":
		return c.Lifecycle, true
	case "owner_id":
		return c.OwnerID, true
	case "tags":
		return c.Tags, true
	case "company_ids":
		out := make([]string, len(c.Companies))
		for i, cr := range c.Companies {
			out[i] = cr.CompanyID
		}
		return out, true
	}
	if v, ok := addressField(&c.Address, name); ok {
		return v, true
	}
	if v, ok := metaField(&c.Meta, name); ok {
		return v, true
	}
	return customField(c.Custom, name)
}

func companyField(c *Company, name string) (any, bool) {
	switch name {
	case "name":
		return c.Name, true
	case "domain":
		return c.Domain, true
	case "industry":
		return c.Industry, true
	case "employees":
		return c.Employees, c.Employees != 0
	case "annual_revenue":
		return c.AnnualRevenue.Amount, !c.AnnualRevenue.IsZero()
	case "annual_revenue_currency":
		return c.AnnualRevenue.Currency, true
	case "parent_id":
		return c.ParentID, true
	case "owner_id":
		return c.OwnerID, true
	case "tags":
		return c.Tags, true
	}
	if v, ok := addressField(&c.Address, name); ok {
		return v, true
	}
	if v, ok := metaField(&c.Meta, name); ok {
		return v, true
	}
	return customField(c.Custom, name)
}

func dealField(d *Deal, name string) (any, bool) {
	switch name {
	case "name":
		return d.Name, true
	case "pipeline_id":
		return d.PipelineID, true
	case "stage_id":
		return d.StageID, true
	case "amount":
		return d.Amount.Amount, !d.Amount.IsZero()
	case "amount_currency":
		return d.Amount.Currency, true
	case "close_date":
		return d.CloseDate, true
	case "owner_id":
		return d.OwnerID, true
	case "company_id":
		return d.CompanyID, true
	case "contact_ids":
		out := make([]string, len(d.Contacts))
		for i, cr := range d.Contacts {
			out[i] = cr.ContactID
		}
		return out, true
	case "source":
		return d.Source, true
	case "lost_reason":
		return d.LostReason, true
	case "status":
		return string(d.Status), true
	case "closed_at":
		return d.ClosedAt, true
	}
	if v, ok := metaField(&d.Meta, name); ok {
		return v, true
	}
	return customField(d.Custom, name)
}

// recordView is a record as filter.Eval reads it: its stored fields, and
// its behavioural fields read from related records in the transaction tx
// at evaluation time. A store failure is kept in err (filter.Record has no
// error result); callers check it after Eval.
type recordView struct {
	stored    func(name string) (any, bool)
	tx        store.Reader
	w         *Workspace
	code      byte
	id        string
	companyID string
	now       time.Time
	err       error

	company  *Company
	deals    []*Deal
	dealsSet bool
	purch    []*Purchase
	purchSet bool
}

func viewOf(tx store.Reader, w *Workspace, now time.Time, r any) *recordView {
	v := &recordView{tx: tx, w: w, now: now}
	switch x := r.(type) {
	case *Contact:
		v.stored = func(n string) (any, bool) { return contactField(x, n) }
		v.code, v.id = 'c', x.ID
		if len(x.Companies) > 0 {
			v.companyID = x.Companies[0].CompanyID
		}
	case *Company:
		v.stored = func(n string) (any, bool) { return companyField(x, n) }
		v.code, v.id = 'o', x.ID
	case *Deal:
		v.stored = func(n string) (any, bool) { return dealField(x, n) }
		v.code, v.id, v.companyID = 'd', x.ID, x.CompanyID
	}
	return v
}

// Field returns the named field's value.
func (v *recordView) Field(name string) (any, bool) {
	if val, ok := v.stored(name); ok {
		return val, true
	}
	if v.err != nil || v.tx == nil {
		return nil, false
	}
	val, ok, err := v.behaviour(name)
	if err != nil {
		v.err = err
		return nil, false
	}
	return val, ok
}

func (v *recordView) behaviour(name string) (any, bool, error) {
	if rest, ok := strings.CutPrefix(name, "company."); ok {
		if v.companyID == "" {
			return nil, false, nil
		}
		if v.company == nil {
			c, err := get(v.tx, v.w, kindCompany, v.companyID)
			if isNotFoundOrDeleted(err) {
				return nil, false, nil
			}
			if err != nil {
				return nil, false, err
			}
			v.company = c
		}
		if v.company.Deleted() {
			return nil, false, nil
		}
		val, ok := companyField(v.company, rest)
		return val, ok, nil
	}
	if typ, days, ok := parseActivityCount(name); ok {
		n, err := v.activityCount(typ, days)
		return n, true, err
	}
	switch name {
	case "last_activity_at":
		t, err := v.lastActivity()
		return t, true, err
	case "open_deal_pipelines", "open_deal_stages", "deal_count", "open_deal_count":
		if err := v.loadDeals(); err != nil {
			return nil, false, err
		}
		var list []string
		var open int64
		for _, d := range v.deals {
			if d.Status != StatusOpen {
				continue
			}
			open++
			switch name {
			case "open_deal_pipelines":
				list = append(list, d.PipelineID)
			case "open_deal_stages":
				list = append(list, d.PipelineID+"/"+d.StageID)
			}
		}
		switch name {
		case "deal_count":
			return int64(len(v.deals)), true, nil
		case "open_deal_count":
			return open, true, nil
		}
		return list, true, nil
	case "purchase_products", "purchase_count", "total_spend":
		if err := v.loadPurchases(); err != nil {
			return nil, false, err
		}
		switch name {
		case "purchase_count":
			return int64(len(v.purch)), true, nil
		case "total_spend":
			var total int64
			for _, p := range v.purch {
				if p.Total.Currency == v.w.info.Currency || v.w.info.Currency == "" {
					total += p.Total.Amount
				}
			}
			return total, true, nil
		}
		var list []string
		for _, p := range v.purch {
			for _, li := range p.Items {
				list = append(list, li.Product)
			}
		}
		return list, true, nil
	case "contact_count":
		n, err := countKeys(v.tx, v.w.indexKey('c', "company").str(v.id))
		return n, true, err
	}
	return nil, false, nil
}

func (v *recordView) loadDeals() error {
	if v.dealsSet {
		return nil
	}
	v.dealsSet = true
	var prefix key
	switch v.code {
	case 'c':
		prefix = v.w.indexKey('d', "contact").str(v.id)
	case 'o':
		prefix = v.w.indexKey('d', "company").str(v.id)
	default:
		return nil
	}
	return eachIndexed(v.tx, v.w, kindDeal, prefix, func(d *Deal) bool { v.deals = append(v.deals, d); return true })
}

func (v *recordView) loadPurchases() error {
	if v.purchSet {
		return nil
	}
	v.purchSet = true
	var prefix key
	switch v.code {
	case 'c':
		prefix = v.w.indexKey('p', "contact").str(v.id)
	case 'o':
		prefix = v.w.indexKey('p', "company").str(v.id)
	default:
		return nil
	}
	return eachIndexed(v.tx, v.w, kindPurchase, prefix, func(p *Purchase) bool { v.purch = append(v.purch, p); return true })
}

// eachIndexed calls fn with every live record whose index entry lies
// under prefix, until fn returns false.
func eachIndexed[T any](tx store.Reader, w *Workspace, k *kind[T], prefix key, fn func(*T) bool) error {
	for e, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
		if err != nil {
			return err
		}
		id, err := idFromIndexKey(e.Key, len(k.prefix)+idLength)
		if err != nil {
			return err
		}
		r, err := get(tx, w, k, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !k.meta(r).Deleted() && !fn(r) {
			return nil
		}
	}
	return nil
}

func countKeys(tx store.Reader, prefix key) (int64, error) {
	var n int64
	for _, err := range tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// activityLinkKey is the prefix of a record's activity links of one type:
// ws 'i' 'a' "link" code str(id) str(type) time(occurred) str(activityID).
func (w *Workspace) activityLinkKey(code byte, id string, typ ActivityType) key {
	return w.indexKey('a', "link").byte(code).str(id).str(string(typ))
}

var activityTypes = []ActivityType{ActivityCall, ActivityEmail, ActivityMeeting, ActivityNote, ActivityTask, ActivityTicket}

// activityCount counts the live activities of a type linked to the record
// that occurred in the last days days, up to now.
func (v *recordView) activityCount(typ ActivityType, days int) (int64, error) {
	types := []ActivityType{typ}
	if typ == "any" {
		types = activityTypes
	}
	from := v.now.Add(-time.Duration(days) * 24 * time.Hour)
	var n int64
	for _, t := range types {
		p := v.w.activityLinkKey(v.code, v.id, t)
		p = p[:len(p):len(p)] // each bound appends to its own copy
		rng := store.Range{Prefix: p, Start: p.time(from), End: p.time(v.now.Add(time.Nanosecond)), KeysOnly: true}
		for _, err := range v.tx.Scan(rng) {
			if err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, nil
}

// lastActivity returns the latest occurred time of the record's live
// activities, from the newest activity entry of its timeline.
func (v *recordView) lastActivity() (time.Time, error) {
	prefix := v.w.timelinePrefix(v.code, v.id)
	for e, err := range v.tx.Scan(store.Range{Prefix: prefix, Reverse: true}) {
		if err != nil {
			return time.Time{}, err
		}
		if len(e.Value) == 1 && e.Value[0] == timelineActivity {
			r := tuple.NewReader(e.Key[len(prefix):])
			t := r.Time()
			return t, r.Err()
		}
	}
	return time.Time{}, nil
}

// storedOnly reports whether a filter reads only stored fields, so it can
// be evaluated without a transaction.
func storedOnly(e filter.Expr, s *Schema) bool {
	ok := true
	walkConds(e, func(c *filter.Cond) {
		if _, builtin := builtinFields[s.object][c.Field]; !builtin && !strings.HasPrefix(c.Field, "custom.") {
			ok = false
		}
	})
	return ok
}

// walkConds calls fn with every condition of e.
func walkConds(e filter.Expr, fn func(*filter.Cond)) {
	switch x := e.(type) {
	case *filter.AndExpr:
		for _, c := range x.Exprs {
			walkConds(c, fn)
		}
	case *filter.OrExpr:
		for _, c := range x.Exprs {
			walkConds(c, fn)
		}
	case *filter.NotExpr:
		walkConds(x.Expr, fn)
	case *filter.Cond:
		fn(x)
	}
}
