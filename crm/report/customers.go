package report

import (
	"cmp"
	"context"
	"errors"
	"io"
	"slices"

	"github.com/crmkit/crmkit/crm"
)

// A customer, in purchase reports, is the buyer of a purchase: its
// company when it names one, else its contact. A purchase's industry and
// region are its company's (for a contact's purchase, the contact's first
// company's).

type buyer struct {
	kind crm.Kind
	id   string
}

func (s *reportScan) purchaseBuyer(p *crm.Purchase) (buyer, string, error) {
	if p.CompanyID != "" {
		return buyer{crm.KindCompany, p.CompanyID}, p.CompanyID, nil
	}
	c, err := s.rt.Contacts().Get(p.ContactID)
	if err != nil {
		if errors.Is(err, crm.ErrNotFound) {
			return buyer{crm.KindContact, p.ContactID}, "", nil
		}
		return buyer{}, "", err
	}
	co := ""
	if len(c.Companies) > 0 {
		co = c.Companies[0].CompanyID
	}
	return buyer{crm.KindContact, p.ContactID}, co, nil
}

func (s *reportScan) purchaseGroup(g Group, p *crm.Purchase, companyID string) (string, error) {
	switch g {
	case GroupIndustry, GroupRegion:
		c, err := s.company(companyID)
		if err != nil {
			return "", err
		}
		if g == GroupIndustry {
			return c.industry, nil
		}
		return c.region, nil
	}
	if isPeriod(g) {
		return PeriodLabel(g, p.PurchasedAt.In(s.loc)), nil
	}
	return "", nil
}

// RevenueReport is revenue and customer lifetime value from purchases,
// per group and currency.
type RevenueReport struct {
	Filter Filter       `json:"filter"`
	Rows   []RevenueRow `json:"rows"`
}

// RevenueRow is one group's purchases in one currency, over the live
// purchases made (PurchasedAt) in [From, To). Revenue sums their totals;
// Purchases counts them; Customers counts their distinct buyers; LifetimeValue
// is Revenue ÷ Customers, the average a customer spent (over all time when
// the filter has no dates). With GroupProduct each line item counts in its
// product's group with its own total, and Purchases counts lines.
type RevenueRow struct {
	Group         string  `json:"group"`
	Currency      string  `json:"currency"`
	Revenue       int64   `json:"revenue"`
	Purchases     int64   `json:"purchases"`
	Customers     int64   `json:"customers"`
	LifetimeValue float64 `json:"lifetime_value"`
	buyers        map[buyer]bool
}

// Revenue reports revenue and lifetime value (see RevenueRow). GroupBy may
// be GroupIndustry, GroupRegion, GroupProduct or a period; OwnerIDs and
// PipelineID do not apply to purchases. Segment takes a segment of
// contacts or companies and keeps the purchases whose buyer of that kind
// is a member: a contact segment the purchases whose ContactID is a
// member, a company segment those whose CompanyID is (a purchase by a
// contact alone is in no company segment). Where does the same with an
// ad-hoc filter and needs WhereObject. Memory grows with the number of
// distinct customers per group.
func Revenue(ctx context.Context, ws *crm.Workspace, f Filter) (*RevenueReport, error) {
	loc, err := f.check("revenue report", GroupIndustry, GroupRegion, GroupProduct, GroupWeek, GroupMonth, GroupQuarter)
	if err != nil {
		return nil, err
	}
	type rowKey struct{ group, currency string }
	rows := map[rowKey]*RevenueRow{}
	var sum sums
	add := func(g, cur string, b buyer, amount int64) {
		r := rows[rowKey{g, cur}]
		if r == nil {
			r = &RevenueRow{Group: g, Currency: cur, buyers: map[buyer]bool{}}
			rows[rowKey{g, cur}] = r
		}
		sum.add(&r.Revenue, amount)
		r.Purchases++
		r.buyers[b] = true
	}
	err = read(ctx, ws, loc, f.selection("revenue report", crm.Kind{}, purchaseSegmentObjects...), func(s *reportScan) error {
		return each(s.rt.Purchases(), func(p *crm.Purchase) error {
			if !f.in(p.PurchasedAt) || !f.currency(p.Total) || !s.purchaseIn(p) {
				return nil
			}
			b, co, err := s.purchaseBuyer(p)
			if err != nil {
				return err
			}
			if f.GroupBy == GroupProduct {
				for _, li := range p.Items {
					add(li.Product, p.Total.Currency, b, li.Total().Amount)
				}
				return nil
			}
			g, err := s.purchaseGroup(f.GroupBy, p, co)
			if err != nil {
				return err
			}
			add(g, p.Total.Currency, b, p.Total.Amount)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if err := sum.err(); err != nil {
		return nil, err
	}
	rep := &RevenueReport{Filter: f, Rows: make([]RevenueRow, 0, len(rows))}
	for _, r := range rows {
		r.Customers = int64(len(r.buyers))
		r.LifetimeValue = ratio(r.Revenue, r.Customers)
		r.buyers = nil
		rep.Rows = append(rep.Rows, *r)
	}
	slices.SortFunc(rep.Rows, func(a, b RevenueRow) int {
		return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Currency, b.Currency))
	})
	return rep, nil
}

// WriteCSV writes the report as CSV.
func (r *RevenueReport) WriteCSV(w io.Writer) error {
	rows := make([][]string, len(r.Rows))
	for i, x := range r.Rows {
		rows[i] = []string{x.Group, x.Currency, itoa(x.Revenue), itoa(x.Purchases), itoa(x.Customers), ftoa(x.LifetimeValue)}
	}
	return writeCSV(w, []string{"group", "currency", "revenue", "purchases", "customers", "lifetime_value"}, rows)
}

// CrossSellOptions selects cross-sell candidates for one product.
type CrossSellOptions struct {
	// Filter's GroupBy is what makes customers alike: GroupIndustry (the
	// default) or GroupRegion. Its Segment, Where and WhereObject limit
	// the customers considered (in the shares and as candidates) to the
	// purchases a contact or company segment, or an ad-hoc filter,
	// selects, as in the revenue report; its From, To and Currency limit
	// the purchases counted.
	Filter
	// Product is the product to sell (a line item's Product).
	Product string `json:"product"`
	// MinShare is the least share of a group's customers that must have
	// bought the product for its other customers to be candidates. Zero
	// means 0.25.
	MinShare float64 `json:"min_share,omitempty"`
}

// CrossSellReport lists, per group, how many customers bought the product,
// and the customers who have not bought it in groups where enough have.
type CrossSellReport struct {
	Options    CrossSellOptions     `json:"options"`
	Groups     []CrossSellGroup     `json:"groups"`
	Candidates []CrossSellCandidate `json:"candidates"`
}

// CrossSellGroup is one group's customers (buyers of anything, live
// purchases, all time), how many of them bought the product, and Share,
// Buyers ÷ Customers.
type CrossSellGroup struct {
	Group     string  `json:"group"`
	Customers int64   `json:"customers"`
	Buyers    int64   `json:"buyers"`
	Share     float64 `json:"share"`
}

// CrossSellCandidate is a customer (Kind crm.KindCompany or
// crm.KindContact) that has not bought the product although at least
// MinShare of its group has.
// Candidates come by Share, highest first, then by ID.
type CrossSellCandidate struct {
	Kind  crm.Kind `json:"kind"`
	ID    string   `json:"id"`
	Group string   `json:"group"`
	Share float64  `json:"share"`
}

// CrossSell finds cross-sell candidates (see CrossSellReport). Memory
// grows with the number of customers.
func CrossSell(ctx context.Context, ws *crm.Workspace, o CrossSellOptions) (*CrossSellReport, error) {
	if o.GroupBy == GroupNone {
		o.GroupBy = GroupIndustry
	}
	loc, err := o.check("cross-sell report", GroupIndustry, GroupRegion)
	var ve *crm.ValidationError // check returns nothing else
	if !errors.As(err, &ve) {
		ve = &crm.ValidationError{Kind: "cross-sell report"}
	}
	if o.Product == "" {
		ve.Add("product", "is required")
	}
	if !(o.MinShare >= 0 && o.MinShare <= 1) { // NaN too
		ve.Add("min_share", "%v is not a share between 0 and 1", o.MinShare)
	}
	if err := ve.Err(); err != nil {
		return nil, err
	}
	if o.MinShare == 0 {
		o.MinShare = 0.25
	}
	type cust struct {
		group  string
		bought bool
	}
	custs := map[buyer]*cust{}
	sel := o.selection("cross-sell report", crm.Kind{}, purchaseSegmentObjects...)
	err = read(ctx, ws, loc, sel, func(s *reportScan) error {
		return each(s.rt.Purchases(), func(pu *crm.Purchase) error {
			if !o.in(pu.PurchasedAt) || !o.currency(pu.Total) || !s.purchaseIn(pu) {
				return nil
			}
			b, co, err := s.purchaseBuyer(pu)
			if err != nil {
				return err
			}
			c := custs[b]
			if c == nil {
				g, err := s.purchaseGroup(o.GroupBy, pu, co)
				if err != nil {
					return err
				}
				c = &cust{group: g}
				custs[b] = c
			}
			c.bought = c.bought || slices.ContainsFunc(pu.Items, func(li crm.LineItem) bool { return li.Product == o.Product })
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	groups := map[string]*CrossSellGroup{}
	for _, c := range custs {
		g := groups[c.group]
		if g == nil {
			g = &CrossSellGroup{Group: c.group}
			groups[c.group] = g
		}
		g.Customers++
		g.Buyers += b2i(c.bought)
	}
	rep := &CrossSellReport{Options: o, Groups: []CrossSellGroup{}, Candidates: []CrossSellCandidate{}}
	for _, k := range sortedKeys(groups) {
		g := groups[k]
		g.Share = ratio(g.Buyers, g.Customers)
		rep.Groups = append(rep.Groups, *g)
	}
	for b, c := range custs {
		if g := groups[c.group]; !c.bought && g.Share >= o.MinShare {
			rep.Candidates = append(rep.Candidates, CrossSellCandidate{Kind: b.kind, ID: b.id, Group: c.group, Share: g.Share})
		}
	}
	slices.SortFunc(rep.Candidates, func(a, b CrossSellCandidate) int {
		return cmp.Or(cmp.Compare(b.Share, a.Share), cmp.Compare(a.ID, b.ID))
	})
	return rep, nil
}

// WriteCSV writes the candidates as CSV.
func (r *CrossSellReport) WriteCSV(w io.Writer) error {
	rows := make([][]string, len(r.Candidates))
	for i, x := range r.Candidates {
		rows[i] = []string{x.Kind.String(), x.ID, x.Group, ftoa(x.Share)}
	}
	return writeCSV(w, []string{"kind", "id", "group", "share"}, rows)
}
