package crmio

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
)

// exportRecords returns the records an export writes: every record of the
// kind (as o.List says), or the members of o.Segment and matches of o.Where.
func exportRecords[T any](ctx context.Context, ws *crm.Workspace, o ExportOptions, k *kind[T]) (iter.Seq2[T, error], error) {
	if o.Segment == "" && o.Where == "" {
		return k.list(ctx, ws, o.List), nil
	}
	if o.Object != ObjectContact && o.Object != ObjectCompany && o.Object != ObjectDeal {
		return nil, fmt.Errorf("%w: a %s export cannot be limited to a segment or a filter (only contacts, companies and deals)", ErrOptions, o.Object)
	}
	var where filter.Expr
	if o.Where != "" {
		e, err := filter.Parse(o.Where)
		if err != nil {
			return nil, fmt.Errorf("%w: where: %w", ErrOptions, err)
		}
		where = e
	}
	var members iter.Seq2[crm.Member, error]
	var also *crm.Query // a filter members must match too (static segments)
	if o.Segment != "" {
		seg, err := ws.Segments().Get(ctx, o.Segment)
		if err != nil {
			return nil, fmt.Errorf("crmio: segment: %w", err)
		}
		if seg.Object != o.Object {
			return nil, fmt.Errorf("%w: segment %s holds %ss, not %ss", ErrOptions, o.Segment, seg.Object, o.Object)
		}
		switch {
		case where == nil:
			members = ws.Segments().Members(ctx, o.Segment, "")
		case seg.Static:
			members, also = ws.Segments().Members(ctx, o.Segment, ""), ws.Query(o.Object, where)
		default:
			// A dynamic segment and a filter are one query: both filters.
			segExpr, err := filter.Parse(seg.Filter)
			if err != nil {
				return nil, fmt.Errorf("crmio: segment %s: %w", o.Segment, err)
			}
			where = filter.And(segExpr, where)
		}
	}
	if members == nil {
		q := ws.Query(o.Object, where)
		// A filter naming an unknown field, or comparing a field with a
		// value of another type, is refused before anything is written.
		if _, err := q.Explain(ctx); err != nil {
			if errors.Is(err, filter.ErrInvalid) {
				return nil, fmt.Errorf("%w: where: %w", ErrOptions, err)
			}
			return nil, err
		}
		members = q.Members(ctx, "")
	}
	return func(yield func(T, error) bool) {
		var zero T
		for m, err := range members {
			if err != nil {
				yield(zero, err)
				return
			}
			if also != nil {
				ok, err := also.Contains(ctx, m.ID)
				if err != nil {
					yield(zero, err)
					return
				}
				if !ok {
					continue
				}
			}
			r, ok := m.Record.(T)
			if !ok {
				yield(zero, fmt.Errorf("crmio: member %s is a %T, not a %s", m.ID, m.Record, k.name))
				return
			}
			if !yield(r, nil) {
				return
			}
		}
	}, nil
}

// purchasesList streams every live purchase. The CRM lists purchases only
// by company and by contact, so it walks the companies, then the contacts
// for the purchases that have no company.
func purchasesList(ctx context.Context, ws *crm.Workspace, _ crm.ListOptions) iter.Seq2[crm.Purchase, error] {
	return func(yield func(crm.Purchase, error) bool) {
		var companies []string
		for c, err := range ws.Companies().List(ctx, crm.ListOptions{}) {
			if err != nil {
				yield(crm.Purchase{}, err)
				return
			}
			companies = append(companies, c.ID)
			if len(companies) < 1000 {
				continue
			}
			if !yieldPurchases(ctx, ws, companies, true, yield) {
				return
			}
			companies = companies[:0]
		}
		if !yieldPurchases(ctx, ws, companies, true, yield) {
			return
		}
		var contacts []string
		for c, err := range ws.Contacts().List(ctx, crm.ListOptions{}) {
			if err != nil {
				yield(crm.Purchase{}, err)
				return
			}
			contacts = append(contacts, c.ID)
			if len(contacts) < 1000 {
				continue
			}
			if !yieldPurchases(ctx, ws, contacts, false, yield) {
				return
			}
			contacts = contacts[:0]
		}
		yieldPurchases(ctx, ws, contacts, false, yield)
	}
}

// yieldPurchases yields the purchases of a chunk of companies, or of
// contacts (only those without a company), outside the listing's
// transaction.
func yieldPurchases(ctx context.Context, ws *crm.Workspace, ids []string, companies bool, yield func(crm.Purchase, error) bool) bool {
	for _, id := range ids {
		seq := ws.Purchases().ByContact(ctx, id)
		if companies {
			seq = ws.Purchases().ByCompany(ctx, id)
		}
		for p, err := range seq {
			if err != nil {
				yield(crm.Purchase{}, err)
				return false
			}
			if !companies && p.CompanyID != "" {
				continue
			}
			if !yield(p, nil) {
				return false
			}
		}
	}
	return true
}
