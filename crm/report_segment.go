package crm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/store"
)

// Reports restricted to a segment (ReportFilter.Segment) or to an ad-hoc
// filter (ReportFilter.Where) evaluate its membership once, at the start
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
	whereObject string
	// objects are the kinds whose segments the report can use;
	// whereDefault is the kind Where selects when WhereObject is empty
	// ("" when the report has no default and WhereObject is required).
	objects      []string
	whereDefault string
}

// selection returns f's segment and filter for a report that can use
// segments of the kinds objects.
func (f *ReportFilter) selection(report, whereDefault string, objects ...string) selection {
	return selection{report: report, segment: f.Segment, where: f.Where, whereObject: f.WhereObject, objects: objects, whereDefault: whereDefault}
}

// Kinds of segment each family of reports can use.
var (
	dealSegmentObjects     = []string{"deal", "company", "contact"}
	contactSegmentObjects  = []string{"contact"}
	purchaseSegmentObjects = []string{"contact", "company"}
)

// memberSet is the live members of a segment or of an ad-hoc filter.
type memberSet struct {
	object string // "contact", "company" or "deal"
	ids    map[string]struct{}
}

func (m *memberSet) has(id string) bool {
	_, ok := m.ids[id]
	return ok
}

// selectRead runs fn in a report's read transaction, after evaluating
// sel into s.scope. Invalid selections fail with a *ValidationError
// naming "segment", "where" or "where_object"; an unknown segment's error
// also matches ErrNotFound, and an invalid filter's filter.ErrInvalid or
// filter.ErrSyntax.
func (w *Workspace) selectRead(ctx context.Context, sel selection, fn func(s *reportScan) error) error {
	return w.reportRead(ctx, func(s *reportScan) error {
		if err := s.evalSelection(sel); err != nil {
			return err
		}
		return fn(s)
	})
}

// evalSelection validates sel and collects the member sets it asks for
// into s.scope, reading the segments in the report's own transaction.
func (s *reportScan) evalSelection(sel selection) error {
	if sel.segment == "" && sel.where == "" && sel.whereObject == "" {
		return nil
	}
	p := problems{kind: sel.report}
	var causes []error
	var seg Segment
	var segExpr, whereExpr filter.Expr
	if sel.segment != "" {
		var err error
		seg, _, err = (&Segments{s.w}).find(s.tx, sel.segment)
		switch {
		case errors.Is(err, ErrNotFound):
			p.add("segment", "no segment %s", sel.segment)
			causes = append(causes, err)
		case err != nil:
			return err
		case !slices.Contains(sel.objects, seg.Object):
			p.add("segment", "segment %s holds %s; the %s uses segments of %s", seg.ID, plural(seg.Object), sel.report, pluralList(sel.objects))
		case !seg.Static:
			if segExpr, err = s.checkedFilter(seg.Object, seg.Filter); err != nil {
				if !isFilterError(err) {
					return err
				}
				p.add("segment", "segment %s's filter no longer fits the %s schema: %v", seg.ID, seg.Object, err)
				causes = append(causes, err)
			}
		}
	}
	object := cmpOr(sel.whereObject, sel.whereDefault)
	switch {
	case sel.where == "" && sel.whereObject != "":
		p.add("where_object", "is set without where")
	case sel.where == "":
	case object == "":
		p.add("where_object", "is required: the %s's where selects %s", sel.report, pluralList(sel.objects))
	case !slices.Contains(sel.objects, object):
		p.add("where_object", "%q: the %s's where selects %s", object, sel.report, pluralList(sel.objects))
	default:
		var err error
		if whereExpr, err = s.checkedFilter(object, sel.where); err != nil {
			if !isFilterError(err) {
				return err
			}
			p.add("where", "%v", err)
			causes = append(causes, err)
		}
	}
	if err := p.err(); err != nil {
		// The causes stay reachable with errors.Is: ErrNotFound for an
		// unknown segment, the filter's error for an invalid filter.
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
		m, err := s.segmentMembers(seg, segExpr)
		if err != nil {
			return err
		}
		s.scope = append(s.scope, m)
	}
	if whereExpr != nil {
		ids, err := s.matching(object, whereExpr)
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
func (s *reportScan) checkedFilter(object, text string) (filter.Expr, error) {
	e, err := parseCached(text)
	if err != nil {
		return nil, err
	}
	schema, _, err := loadSchema(s.tx, s.w, object)
	if err != nil {
		return nil, err
	}
	return e, filter.Check(e, schema)
}

// segmentMembers collects a segment's live members: a dynamic segment's
// through the query planner, as Segments.Members would stream them, a
// static segment's from its member list.
func (s *reportScan) segmentMembers(seg Segment, e filter.Expr) (memberSet, error) {
	m := memberSet{object: seg.Object}
	if !seg.Static {
		var err error
		m.ids, err = s.matching(seg.Object, e)
		return m, err
	}
	m.ids = map[string]struct{}{}
	code := filterObjects[seg.Object]
	prefix := s.w.k(tagSegment).str(seg.ID)
	for e, err := range s.tx.Scan(store.Range{Prefix: prefix, KeysOnly: true}) {
		if err != nil {
			return m, err
		}
		r := keyReader{b: e.Key[len(prefix):]}
		id := r.str()
		if r.err != nil {
			return m, r.err
		}
		rec, err := getAny(s.tx, s.w, code, id)
		if err != nil {
			return m, err
		}
		if rec != nil && !metaOf(rec).Deleted() {
			m.ids[id] = struct{}{}
		}
	}
	return m, nil
}

// matching returns the IDs of the live records of object that match e,
// planned and run as a Query.
func (s *reportScan) matching(object string, e filter.Expr) (map[string]struct{}, error) {
	r, err := s.w.Query(object, e).prepare(s.tx)
	if err != nil {
		return nil, err
	}
	pl, err := r.p.planFor(r.expr, "", false)
	if err != nil {
		return nil, err
	}
	ids := map[string]struct{}{}
	err = r.each(pl, "", nil, func(id string, _ any, _ []byte) bool {
		ids[id] = struct{}{}
		return true
	}, false)
	return ids, err
}

// dealIn reports whether the report's segment and filter select a deal:
// a deal segment by the deal itself, a company segment by the deal's
// company (CompanyID), a contact segment by any of the deal's contacts.
func (s *reportScan) dealIn(d *Deal) bool {
	for i := range s.scope {
		m := &s.scope[i]
		var ok bool
		switch m.object {
		case "deal":
			ok = m.has(d.ID)
		case "company":
			ok = m.has(d.CompanyID)
		case "contact":
			ok = slices.ContainsFunc(d.Contacts, func(r ContactRole) bool { return m.has(r.ContactID) })
		}
		if !ok {
			return false
		}
	}
	return true
}

// contactIn reports whether the report's segment and filter select a
// contact (contact reports use contact segments only).
func (s *reportScan) contactIn(c *Contact) bool {
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
func (s *reportScan) purchaseIn(p *Purchase) bool {
	for i := range s.scope {
		m := &s.scope[i]
		id := p.ContactID
		if m.object == "company" {
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
func (s *reportScan) activityIn(a *Activity) bool {
	for i := range s.scope {
		m := &s.scope[i]
		links := a.ContactIDs
		switch m.object {
		case "company":
			links = a.CompanyIDs
		case "deal":
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
func (s *reportScan) changeIn(ch *Change) bool {
	for i := range s.scope {
		if m := &s.scope[i]; ch.Kind != m.object || !m.has(ch.RecordID) {
			return false
		}
	}
	return true
}

func plural(object string) string {
	if object == "company" {
		return "companies"
	}
	return object + "s"
}

func pluralList(objects []string) string {
	out := make([]string, len(objects))
	for i, o := range objects {
		out[i] = plural(o)
	}
	if len(out) == 1 {
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " or " + out[len(out)-1]
}
