package crmio

import (
	"context"
	"iter"
	"slices"
	"time"

	"github.com/crmkit/crmkit/crm"
)

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
	writer:  func(tx *crm.Tx) crm.RecordWriter[crm.Purchase] { return tx.Purchases() },
	depends: map[string][]string{"contact_id": {"company_id"}},
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
