package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
)

// Reports restricted to a segment (Filter.Segment) or to an ad-hoc
// filter (Filter.Where) evaluate its membership once, at the start
// of the report's read transaction, into a set of member IDs; the report
// then streams its records as usual and keeps those the set selects. A
// record is in the report only when both the segment and the filter, if
// set, select it.

// selection is what a report's Segment and Where ask for, and which kinds
// of segment the report can use.
type selection struct {
	report      string // the report's name, for errors ("pipeline report")
	segment     string
	where       string
	whereObject crm.Kind
	// objects are the kinds whose segments the report can use;
	// whereDefault is the kind Where selects when WhereObject is empty
	// ("" when the report has no default and WhereObject is required).
	objects      []crm.Kind
	whereDefault crm.Kind
}

// selection returns f's segment and filter for a report that can use
// segments of the kinds objects.
func (f *Filter) selection(report string, whereDefault crm.Kind, objects ...crm.Kind) selection {
	return selection{report: report, segment: f.Segment, where: f.Where, whereObject: f.WhereObject, objects: objects, whereDefault: whereDefault}
}

// Kinds of segment each family of reports can use.
var (
	dealSegmentObjects     = []crm.Kind{crm.KindDeal, crm.KindCompany, crm.KindContact}
	contactSegmentObjects  = []crm.Kind{crm.KindContact}
	purchaseSegmentObjects = []crm.Kind{crm.KindContact, crm.KindCompany}
)

// memberSet is the live members of a segment or of an ad-hoc filter.
type memberSet struct {
	object crm.Kind // contact, company or deal
	ids    map[string]struct{}
}

func (m *memberSet) has(id string) bool {
	_, ok := m.ids[id]
	return ok
}

// read runs fn in a report's read transaction of ws, in time zone loc
// (nil: the workspace's), after evaluating sel into the scan's scope. Invalid selections fail with a
// *crm.ValidationError naming "segment", "where" or "where_object"; an
// unknown segment's error also matches crm.ErrNotFound, and an invalid
// filter's filter.ErrInvalid or filter.ErrSyntax.
func read(ctx context.Context, ws *crm.Workspace, loc *time.Location, sel selection, fn func(s *reportScan) error) error {
	return ws.View(ctx, func(rt *crm.ReadTx) error {
		if loc == nil {
			loc = rt.Workspace().Location()
		}
		s := &reportScan{rt: rt, loc: loc, companies: map[string]*companyFacts{}, pipelines: map[string]*crm.Pipeline{}}
		if err := s.evalSelection(sel); err != nil {
			return err
		}
		return fn(s)
	})
}

// evalSelection validates sel and collects the member sets it asks for
// into s.scope, reading the segments in the report's own transaction.
func (s *reportScan) evalSelection(sel selection) error {
	if sel.segment == "" && sel.where == "" && sel.whereObject.IsZero() {
		return nil
	}
	ve := &crm.ValidationError{Kind: sel.report}
	var causes []error
	var seg crm.Segment
	var whereExpr filter.Expr
	if sel.segment != "" {
		var err error
		seg, err = s.rt.Segment(sel.segment)
		switch {
		case errors.Is(err, crm.ErrNotFound):
			ve.Add("segment", "no segment %s", sel.segment)
			causes = append(causes, err)
		case err != nil:
			return err
		case !slices.Contains(sel.objects, seg.Object):
			ve.Add("segment", "segment %s holds %s; the %s uses segments of %s", seg.ID, plural(seg.Object), sel.report, pluralList(sel.objects))
		case !seg.Static:
			if _, err = s.checkedFilter(seg.Object, seg.Filter); err != nil {
				if !isFilterError(err) {
					return err
				}
				ve.Add("segment", "segment %s's filter no longer fits the %s schema: %v", seg.ID, seg.Object, err)
				causes = append(causes, err)
			}
		}
	}
	object := cmp.Or(sel.whereObject, sel.whereDefault)
	switch {
	case sel.where == "" && !sel.whereObject.IsZero():
		ve.Add("where_object", "is set without where")
	case sel.where == "":
	case object.IsZero():
		ve.Add("where_object", "is required: the %s's where selects %s", sel.report, pluralList(sel.objects))
	case !slices.Contains(sel.objects, object):
		ve.Add("where_object", "%q: the %s's where selects %s", object, sel.report, pluralList(sel.objects))
	default:
		var err error
		if whereExpr, err = s.checkedFilter(object, sel.where); err != nil {
			if !isFilterError(err) {
				return err
			}
			ve.Add("where", "%v", err)
			causes = append(causes, err)
		}
	}
	if err := ve.Err(); err != nil {
		// The causes stay reachable with errors.Is: crm.ErrNotFound for
		// an unknown segment, the filter's error for an invalid filter.
		args := []any{err}
		for _, c := range causes {
			args = append(args, c)
		}
		if len(causes) > 0 {
			return fmt.Errorf("%w ("+strings.Repeat("%w; ", len(causes)-1)+"%w)", args...)
		}
		return err
	}
	if sel.segment != "" {
		ids, err := collectIDs(s.rt.Members(seg))
		if err != nil {
			return err
		}
		s.scope = append(s.scope, memberSet{object: seg.Object, ids: ids})
	}
	if whereExpr != nil {
		ids, err := collectIDs(s.rt.Matching(object, whereExpr))
		if err != nil {
			return err
		}
		s.scope = append(s.scope, memberSet{object: object, ids: ids})
	}
	return nil
}

func isFilterError(err error) bool {
	return errors.Is(err, filter.ErrInvalid) || errors.Is(err, filter.ErrSyntax)
}

// checkedFilter parses text and checks it against the schema of object.
func (s *reportScan) checkedFilter(object crm.Kind, text string) (filter.Expr, error) {
	e, err := filter.Parse(text)
	if err != nil {
		return nil, err
	}
	schema, err := s.rt.Schema(object)
	if err != nil {
		return nil, err
	}
	return e, filter.Check(e, schema)
}

// collectIDs gathers a stream of IDs into a set.
func collectIDs(seq iter.Seq2[string, error]) (map[string]struct{}, error) {
	ids := map[string]struct{}{}
	for id, err := range seq {
		if err != nil {
			return nil, err
		}
		ids[id] = struct{}{}
	}
	return ids, nil
}

// dealIn reports whether the report's segment and filter select a deal:
// a deal segment by the deal itself, a company segment by the deal's
// company (CompanyID), a contact segment by any of the deal's contacts.
func (s *reportScan) dealIn(d *crm.Deal) bool {
	for i := range s.scope {
		m := &s.scope[i]
		var ok bool
		switch m.object {
		case crm.KindDeal:
			ok = m.has(d.ID)
		case crm.KindCompany:
			ok = m.has(d.CompanyID)
		case crm.KindContact:
			ok = slices.ContainsFunc(d.Contacts, func(r crm.ContactRole) bool { return m.has(r.ContactID) })
		}
		if !ok {
			return false
		}
	}
	return true
}

// contactIn reports whether the report's segment and filter select a
// contact (contact reports use contact segments only).
func (s *reportScan) contactIn(c *crm.Contact) bool {
	for i := range s.scope {
		if !s.scope[i].has(c.ID) {
			return false
		}
	}
	return true
}

// purchaseIn reports whether the report's segment and filter select a
// purchase: its contact (ContactID) must be a member of a contact segment,
// its company (CompanyID) of a company segment.
func (s *reportScan) purchaseIn(p *crm.Purchase) bool {
	for i := range s.scope {
		m := &s.scope[i]
		id := p.ContactID
		if m.object == crm.KindCompany {
			id = p.CompanyID
		}
		if !m.has(id) {
			return false
		}
	}
	return true
}

// activityIn reports whether the report's segment and filter select an
// activity: it must link to a member (ContactIDs, CompanyIDs or DealIDs,
// by the segment's kind).
func (s *reportScan) activityIn(a *crm.Activity) bool {
	for i := range s.scope {
		m := &s.scope[i]
		links := a.ContactIDs
		switch m.object {
		case crm.KindCompany:
			links = a.CompanyIDs
		case crm.KindDeal:
			links = a.DealIDs
		}
		if !slices.ContainsFunc(links, m.has) {
			return false
		}
	}
	return true
}

// changeIn reports whether the report's segment and filter select a
// change from the history: it must be a change of a member.
func (s *reportScan) changeIn(ch *crm.Change) bool {
	for i := range s.scope {
		if m := &s.scope[i]; ch.Kind != m.object || !m.has(ch.RecordID) {
			return false
		}
	}
	return true
}

func plural(object crm.Kind) string {
	if object == crm.KindCompany {
		return "companies"
	}
	return object.String() + "s"
}

func pluralList(objects []crm.Kind) string {
	out := make([]string, len(objects))
	for i, o := range objects {
		out[i] = plural(o)
	}
	if len(out) == 1 {
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " or " + out[len(out)-1]
}
