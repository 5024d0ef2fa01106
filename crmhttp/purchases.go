package crmhttp

import (
	"context"
	"errors"
	"iter"
	"net/http"

	"github.com/crmkit/crmkit/crm"
)

// purchaseRecords serves crm.Purchases as the records the shared routes
// read and write: Record creates, and a page runs in ID order (the order
// in which purchases were recorded).
type purchaseRecords struct {
	ws *crm.Workspace
	s  *crm.Purchases
}

func purchasesOf(ws *crm.Workspace) records[crm.Purchase] {
	return purchaseRecords{ws: ws, s: ws.Purchases()}
}

func (p purchaseRecords) Get(ctx context.Context, id string) (crm.Purchase, error) {
	return p.s.Get(ctx, id)
}

func (p purchaseRecords) Create(ctx context.Context, r crm.Purchase) (crm.Purchase, error) {
	return p.s.Record(ctx, r)
}

// CreateMany records purchases one by one; no route batches them.
func (p purchaseRecords) CreateMany(ctx context.Context, rs []crm.Purchase) ([]crm.Purchase, error) {
	out := make([]crm.Purchase, 0, len(rs))
	for _, r := range rs {
		c, err := p.s.Record(ctx, r)
		if err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (p purchaseRecords) Update(ctx context.Context, id string, mutate func(*crm.Purchase) error, opts ...crm.UpdateOption) (crm.Purchase, error) {
	return p.s.Update(ctx, id, mutate, opts...)
}

// Delete soft-deletes a purchase. crm deletes purchases at any version,
// so their DELETE route takes no If-Match.
func (p purchaseRecords) Delete(ctx context.Context, id string, opts ...crm.UpdateOption) error {
	if len(opts) > 0 {
		return errors.New("crmhttp: purchases are not deleted at a version")
	}
	return p.s.Delete(ctx, id)
}

// Page reads one page of the live purchases, in ID order.
func (p purchaseRecords) Page(ctx context.Context, opts crm.ListOptions) (crm.Page[crm.Purchase], error) {
	if opts.Sort != "" || opts.Desc || opts.Deleted {
		return crm.Page[crm.Purchase]{}, &crm.ValidationError{Kind: "purchase",
			Fields: []crm.FieldError{{Field: "sort", Reason: "purchases are listed in the order they were recorded"}}}
	}
	return idPage[crm.Purchase](ctx, p.ws, crm.KindPurchase, opts)
}

// purchaseRoutes are the operations of purchases: those of a record
// without batch and timeline, listed in the order they were recorded or
// by buyer.
func purchaseRoutes() []Route {
	rs := purchases
	return []Route{
		{Method: "GET", Pattern: "/purchases", Summary: "List purchases, or a buyer's",
			Query: []string{"limit", "after", "contact", "company"}, Response: "PurchasePage", Status: http.StatusOK,
			Errors: readErrs, handle: listPurchases},
		{Method: "POST", Pattern: "/purchases", Summary: "Record a purchase",
			Request: "Purchase", Response: "Purchase", Status: http.StatusCreated, Errors: writeErrs,
			Idempotent: true, handle: rs.create},
		{Method: "GET", Pattern: "/purchases/{id}", Summary: "Get a purchase",
			Response: "Purchase", Status: http.StatusOK, Errors: readErrs, handle: rs.get},
		{Method: "PATCH", Pattern: "/purchases/{id}", Summary: "Change fields of a purchase",
			Request: "MergePatch", Response: "Purchase", Status: http.StatusOK, Errors: writeErrs,
			IfMatch: true, handle: rs.patch},
		{Method: "DELETE", Pattern: "/purchases/{id}", Summary: "Delete a purchase",
			Status: http.StatusNoContent, Errors: writeErrs, handle: rs.delete},
	}
}

// listPurchases answers a page of purchases: all of them, or with
// ?contact= or ?company= those of one buyer (its index holds them in ID
// order, so the same cursors page through them).
func listPurchases(c *call) error {
	q := c.r.URL.Query()
	contact, company := q.Get("contact"), q.Get("company")
	if contact == "" && company == "" {
		return purchases.page(c)
	}
	if contact != "" && company != "" {
		return badParam("company", "does not combine with contact: a list is one buyer's")
	}
	limit, err := intParam(q, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	after, err := idCursor(q.Get("after"))
	if err != nil {
		return err
	}
	var all iter.Seq2[crm.Purchase, error]
	if contact != "" {
		all = c.ws.Purchases().ByContact(c.ctx, contact)
	} else {
		all = c.ws.Purchases().ByCompany(c.ctx, company)
	}
	pg := crm.Page[crm.Purchase]{Items: []crm.Purchase{}}
	for p, err := range all {
		if err != nil {
			return err
		}
		if p.ID <= after {
			continue
		}
		if len(pg.Items) == limit {
			pg.Next = nextID(pg.Items[limit-1].ID)
			break
		}
		pg.Items = append(pg.Items, p)
	}
	return c.writeJSON(http.StatusOK, pg)
}
