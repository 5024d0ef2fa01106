package crm

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// Purchase is something a contact or company bought: the basis of
// lifetime value and cross-sell reports.
type Purchase struct {
	Meta `msgpack:",inline"`
	// ContactID and CompanyID name the buyer: at least one.
	ContactID string     `msgpack:"contact_id,omitempty" json:"contact_id,omitempty"`
	CompanyID string     `msgpack:"company_id,omitempty" json:"company_id,omitempty"`
	Items     []LineItem `msgpack:"items" json:"items"`
	// Total is the sum of the items' totals; the CRM computes it.
	Total         Money     `msgpack:"total" json:"total"`
	PurchasedAt   time.Time `msgpack:"purchased_at" json:"purchased_at"`
	PaymentMethod string    `msgpack:"payment_method,omitempty" json:"payment_method,omitempty"`
	Custom        Custom    `msgpack:"custom,omitempty" json:"custom,omitempty"`
}

// LineItem is one product line of a purchase.
type LineItem struct {
	Product  string `msgpack:"product" json:"product"`
	Quantity int64  `msgpack:"quantity" json:"quantity"`
	// UnitPrice and Discount (for the whole line) share the purchase's
	// currency.
	UnitPrice Money `msgpack:"unit_price" json:"unit_price"`
	Discount  Money `msgpack:"discount,omitempty" json:"discount,omitzero"`
}

// Total returns quantity x unit price - discount.
func (li LineItem) Total() Money {
	return Money{Amount: li.Quantity*li.UnitPrice.Amount - li.Discount.Amount, Currency: li.UnitPrice.Currency}
}

var kindPurchase = &kind[Purchase]{
	name: "purchase", code: 'p', prefix: "pur_",
	meta:    func(p *Purchase) *Meta { return &p.Meta },
	custom:  func(p *Purchase) *Custom { return &p.Custom },
	indexes: purchaseIndexes,
}

func preparePurchase(t *txn, pu, _ *Purchase, p *problems) error {
	if pu.ContactID == "" && pu.CompanyID == "" {
		p.add("contact_id", "a purchase needs a contact or a company")
	}
	if err := checkRef(t, p, "contact_id", kindContact, pu.ContactID); err != nil {
		return err
	}
	if err := checkRef(t, p, "company_id", kindCompany, pu.CompanyID); err != nil {
		return err
	}
	if pu.PurchasedAt.IsZero() {
		pu.PurchasedAt = t.now
	}
	pu.PurchasedAt = checkTime(p, "purchased_at", pu.PurchasedAt)
	pu.PaymentMethod = cleanText(p, "payment_method", pu.PaymentMethod, maxShortText)
	if len(pu.Items) == 0 || len(pu.Items) > 1000 {
		p.add("items", "a purchase needs 1 to 1000 items")
	}
	currency := ""
	var total int64
	for i := range pu.Items {
		f := fmt.Sprintf("items[%d]", i)
		li := &pu.Items[i]
		li.Product = cleanText(p, f+".product", li.Product, maxShortText)
		if li.Product == "" {
			p.add(f+".product", "is required")
		}
		if li.Quantity <= 0 {
			p.add(f+".quantity", "must be positive")
		}
		li.UnitPrice = checkMoney(p, f+".unit_price", li.UnitPrice, t.info.Currency, false)
		if li.UnitPrice.Currency == "" {
			li.UnitPrice.Currency = t.info.Currency
		}
		if currency == "" {
			currency = li.UnitPrice.Currency
		}
		if li.UnitPrice.Currency != currency {
			p.add(f+".unit_price.currency", "%s differs from the purchase's currency %s", li.UnitPrice.Currency, currency)
		}
		li.Discount = checkMoney(p, f+".discount", li.Discount, currency, false)
		if !li.Discount.IsZero() && li.Discount.Currency != currency {
			p.add(f+".discount.currency", "%s differs from the purchase's currency %s", li.Discount.Currency, currency)
		}
		if li.Quantity > 0 && li.UnitPrice.Amount > 0 && li.Quantity > MaxAmount/li.UnitPrice.Amount {
			p.add(f+".quantity", "quantity x unit price is beyond the limit of %d minor units", int64(MaxAmount))
			continue
		}
		lt := li.Total().Amount
		if lt < 0 {
			p.add(f+".discount", "is larger than the line's price")
		}
		total += lt
		if total > MaxAmount {
			p.add("items", "the purchase's total is beyond the limit of %d minor units", int64(MaxAmount))
			break
		}
	}
	pu.Total = Money{Amount: total, Currency: currency}
	return nil
}

func purchaseIndexes(w *Workspace, pu *Purchase, ix []indexEntry) []indexEntry {
	if pu.ContactID != "" {
		ix = append(ix, plainEntry("contact_id", w.indexKey('p', "contact").str(pu.ContactID), pu.ID))
	}
	if pu.CompanyID != "" {
		ix = append(ix, plainEntry("company_id", w.indexKey('p', "company").str(pu.CompanyID), pu.ID))
	}
	return ix
}

// Purchases manages a workspace's purchases.
type Purchases struct{ o objects[Purchase] }

// Purchases returns the workspace's purchase service.
func (w *Workspace) Purchases() *Purchases { return &Purchases{objects[Purchase]{w, kindPurchase}} }

// Record validates and stores a purchase, computing its total.
func (s *Purchases) Record(ctx context.Context, p Purchase) (Purchase, error) {
	return s.o.create(ctx, p)
}

// Get returns a purchase.
func (s *Purchases) Get(ctx context.Context, id string) (Purchase, error) { return s.o.get(ctx, id) }

// Update applies mutate to the stored purchase; see Contacts.Update.
func (s *Purchases) Update(ctx context.Context, id string, mutate func(*Purchase) error, opts ...UpdateOption) (Purchase, error) {
	return s.o.update(ctx, id, mutate, opts...)
}

// Delete soft-deletes a purchase.
func (s *Purchases) Delete(ctx context.Context, id string) error {
	return s.o.setDeleted(ctx, id, true)
}

// Erase removes a purchase permanently. A person's erasure request is
// Contacts.Erase.
func (s *Purchases) Erase(ctx context.Context, id string) error { return s.o.erase(ctx, id) }

// ByContact streams a contact's live purchases.
func (s *Purchases) ByContact(ctx context.Context, contactID string) iter.Seq2[Purchase, error] {
	return s.o.byIndex(ctx, s.o.w.indexKey('p', "contact").str(contactID))
}

// ByCompany streams a company's live purchases.
func (s *Purchases) ByCompany(ctx context.Context, companyID string) iter.Seq2[Purchase, error] {
	return s.o.byIndex(ctx, s.o.w.indexKey('p', "company").str(companyID))
}
