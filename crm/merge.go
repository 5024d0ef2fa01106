package crm

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/store"
)

// Keep names the record of a merge whose value of a field the survivor
// keeps.
type Keep string

// The records of a merge.
const (
	KeepSurvivor Keep = "survivor"
	KeepMerged   Keep = "merged"
)

// MergeOptions chooses the values a merge keeps. The zero value keeps,
// for each field, the survivor's value if it is not empty and else the
// merged record's; lists (emails, phones, tags, companies, ...) and maps
// (external IDs, custom fields) are combined, the survivor's entries
// first and winning on a clash.
type MergeOptions struct {
	// Fields maps a field's JSON name ("first_name", "emails",
	// "custom.score", or "custom" for all custom fields) to the record
	// whose value the survivor keeps, as it is.
	Fields map[string]Keep
}

// MergedError reports the ID of a record that was merged into another: it
// no longer exists, and Into is the survivor that holds its data now. It
// matches ErrMerged and ErrNotFound.
type MergedError struct {
	// Kind is KindContact or KindCompany.
	Kind Kind
	// ID is the merged record's ID.
	ID string
	// Into is the survivor's ID.
	Into string
}

func (e *MergedError) Error() string {
	return fmt.Sprintf("crm: %s %s was merged into %s", e.Kind, e.ID, e.Into)
}

// Is reports whether target is ErrMerged or ErrNotFound.
func (e *MergedError) Is(target error) bool { return target == ErrMerged || target == ErrNotFound }

// Merge merges the contact mergedID into the contact survivorID, in one
// transaction: the survivor takes the values opts chooses; every deal,
// activity and purchase of the merged contact (soft-deleted ones too) is
// re-pointed to the survivor; the merged contact's history, timeline and
// outbox events become the survivor's (moved history entries keep the
// merged contact's ID as their RecordID); and the merged contact is
// removed, so its email addresses and external IDs are free for the
// survivor. Its ID stays resolvable: Lookup returns a *MergedError naming
// the survivor.
//
// The survivor's history gets an entry with Op OpMerged whose Fields name
// the merged contact ("merged_id"), and the write emits contact.erased for
// the merged contact (it no longer exists), contact.updated for the
// survivor if its values changed, and contact.merged, whose Before is the
// merged contact as it was and After the survivor. Before-hooks see the
// merge first, with Op OpMerged, Old the merged contact and New the
// survivor as it will be, and then every write it makes; any veto or
// failure leaves everything as it was.
func (s *Contacts) Merge(ctx context.Context, survivorID, mergedID string, opts MergeOptions) (Contact, error) {
	return merge(ctx, s.o.w, contactMerge, survivorID, mergedID, opts)
}

// Merge merges the company mergedID into the company survivorID: its
// contacts, deals, activities, purchases and subsidiaries are re-pointed
// to the survivor, and the rest happens as in Contacts.Merge, with
// company.merged. A survivor that was a subsidiary of the merged company
// takes the merged company's parent.
func (s *Companies) Merge(ctx context.Context, survivorID, mergedID string, opts MergeOptions) (Company, error) {
	return merge(ctx, s.o.w, companyMerge, survivorID, mergedID, opts)
}

// Lookup returns the contact with the given ID, like Get, and for the ID of
// a contact that was merged into another a *MergedError naming the
// survivor.
func (s *Contacts) Lookup(ctx context.Context, id string) (Contact, error) {
	return lookup(ctx, s.o, id)
}

// Lookup returns the company with the given ID, like Get, and for the ID of
// a company that was merged into another a *MergedError naming the
// survivor.
func (s *Companies) Lookup(ctx context.Context, id string) (Company, error) {
	return lookup(ctx, s.o, id)
}

// mergeRules are what merging differs in between kinds.
type mergeRules[T any] struct {
	k     *kind[T]
	event EventType
	// fix settles the survivor's combined values s against the merged
	// record m.
	fix func(s, m *T)
	// relink re-points every link to record from to record to.
	relink func(t *txn, from, to string) error
}

var contactMerge = mergeRules[Contact]{
	k: kindContact, event: ContactMerged,
	fix: func(s, _ *Contact) {
		// A company linked by both keeps the survivor's link, and the
		// merged record's role if the survivor's has none.
		at := map[string]int{}
		companies := s.Companies[:0:0]
		for _, cr := range s.Companies {
			i, dup := at[cr.CompanyID]
			if !dup {
				at[cr.CompanyID] = len(companies)
				companies = append(companies, cr)
			} else if companies[i].Role == "" {
				companies[i].Role = cr.Role
			}
		}
		s.Companies = companies
		seenPhone := map[string]bool{}
		s.Phones = slices.DeleteFunc(s.Phones, func(p Phone) bool {
			n := p.E164
			if n == "" {
				n = p.Number
			}
			dup := seenPhone[n]
			seenPhone[n] = true
			return dup
		})
	},
	relink: func(t *txn, from, to string) error { return relinkContact(t, from, to, func(any) {}) },
}

var companyMerge = mergeRules[Company]{
	k: kindCompany, event: CompanyMerged,
	fix: func(s, m *Company) {
		if s.ParentID == m.ID {
			s.ParentID = m.ParentID
		}
		if s.ParentID == s.ID {
			s.ParentID = ""
		}
	},
	relink: func(t *txn, from, to string) error { return relinkCompany(t, from, to, to) },
}

func merge[T any](ctx context.Context, w *Workspace, r mergeRules[T], survivorID, mergedID string, opts MergeOptions) (T, error) {
	var out T
	k := r.k
	_, err := w.write(ctx, func(t *txn) error {
		if err := t.checkWorkspace(); err != nil {
			return err
		}
		if survivorID == mergedID {
			return &ValidationError{Kind: k.name, ID: survivorID, Fields: []FieldError{{"merged_id", "is the survivor itself"}}}
		}
		old, err := getLiveFollowing(t.tx, w, k, survivorID)
		if err != nil {
			return err
		}
		m, err := getLiveFollowing(t.tx, w, k, mergedID)
		if err != nil {
			return err
		}
		if err := authorize(t, k, old, old, OpUpdated); err != nil {
			return err
		}
		if err := authorize(t, k, m, nil, OpErased); err != nil {
			return err
		}
		// Both records are the principal's to merge; what the merge does
		// to them and to the records referring to the merged one follows.
		return t.trusted(func() error {
			s, err := mergeIn(t, r, old, m, opts)
			if err == nil {
				out = *s
			}
			return err
		})
	})
	return out, err
}

// mergeIn merges m into old in t.
func mergeIn[T any](t *txn, r mergeRules[T], old, m *T, opts MergeOptions) (*T, error) {
	k := r.k
	survivorID, mergedID := k.meta(old).ID, k.meta(m).ID
	s, err := clone(old)
	if err != nil {
		return nil, err
	}
	mc, err := clone(m)
	if err != nil {
		return nil, err
	}
	p := problems{kind: k.name + " merge", id: survivorID}
	combine(s, mc, opts.Fields, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	r.fix(s, m)
	if _, err := runBefore(t, k, OpMerged, m, s, []EventType{r.event}); err != nil {
		return nil, err
	}
	*k.meta(s) = *k.meta(old) // identity and stamps stay the CRM's

	if err := r.relink(t, mergedID, survivorID); err != nil {
		return nil, err
	}
	if err := moveEntries(t, k.code, mergedID, survivorID); err != nil {
		return nil, err
	}
	if err := erase(t, k, m); err != nil {
		return nil, err
	}
	if err := put(t, k, old, s, OpUpdated); err != nil {
		return nil, err
	}
	ch, err := t.record(k.name, k.code, survivorID, OpMerged, []FieldChange{{Field: "merged_id", Old: mergedID, New: survivorID}})
	if err != nil {
		return nil, err
	}
	before, err := encode(m)
	if err != nil {
		return nil, err
	}
	after, err := encode(s)
	if err != nil {
		return nil, err
	}
	if err := t.emit(ch, []EventType{r.event}, before, after, uint64(k.meta(s).Version), 0); err != nil {
		return nil, err
	}
	return s, redirect(t, k.code, mergedID, survivorID)
}

// combine gives s, the survivor, the values of m, the merged record, that
// keep chooses, and by default its empty fields and the entries of its
// lists and maps that s lacks. It reports unknown field names and choices
// to p.
func combine[T any](s, m *T, keep map[string]Keep, p *problems) {
	for name, k := range keep {
		if k != KeepSurvivor && k != KeepMerged {
			p.add("fields."+name, "%q is not %q or %q", k, KeepSurvivor, KeepMerged)
		}
	}
	sv, mv := reflect.ValueOf(s).Elem(), reflect.ValueOf(m).Elem()
	known := map[string]bool{}
	for i := 0; i < sv.NumField(); i++ {
		f := sv.Type().Field(i)
		if !f.IsExported() || f.Type == reflect.TypeFor[Meta]() {
			continue
		}
		name := fieldName(f)
		known[name] = true
		a, b := sv.Field(i), mv.Field(i)
		switch keep[name] {
		case KeepMerged:
			a.Set(b)
			continue
		case KeepSurvivor:
			continue
		}
		if c, ok := a.Addr().Interface().(*Custom); ok {
			combineCustom(c, b.Interface().(Custom), keep)
			continue
		}
		switch a.Kind() {
		case reflect.Slice:
			for j := 0; j < b.Len(); j++ {
				if !containsValue(a, b.Index(j)) {
					a.Set(reflect.Append(a, b.Index(j)))
				}
			}
		case reflect.Map:
			if a.IsNil() && b.Len() > 0 {
				a.Set(reflect.MakeMap(a.Type()))
			}
			for _, key := range b.MapKeys() {
				if !a.MapIndex(key).IsValid() {
					a.SetMapIndex(key, b.MapIndex(key))
				}
			}
		default:
			if a.IsZero() {
				a.Set(b)
			}
		}
	}
	for name := range keep {
		if !known[name] && !strings.HasPrefix(name, "custom.") {
			p.add("fields."+name, "no such field")
		}
	}
}

// combineCustom adds m's custom fields to s: those s lacks, unless kept
// from the survivor, and those named to be kept from m.
func combineCustom(s *Custom, m Custom, keep map[string]Keep) {
	for name, k := range keep {
		if f, ok := strings.CutPrefix(name, "custom."); ok && k == KeepMerged {
			if v, ok := m[f]; ok {
				if *s == nil {
					*s = Custom{}
				}
				(*s)[f] = v
			} else {
				delete(*s, f)
			}
		}
	}
	for f, v := range m {
		if _, ok := (*s)[f]; ok || keep["custom."+f] == KeepSurvivor {
			continue
		}
		if *s == nil {
			*s = Custom{}
		}
		(*s)[f] = v
	}
}

func containsValue(list, v reflect.Value) bool {
	for i := 0; i < list.Len(); i++ {
		if equalValues(list.Index(i).Interface(), v.Interface()) {
			return true
		}
	}
	return false
}

// Merge redirects: ws 'm' "merged" k str(mergedID) -> survivor ID, and
// ws 'm' "merged_into" k str(survivorID) str(mergedID) -> nothing, the
// IDs merged into a record, so a later merge or erasure of the survivor can
// update them.
func (w *Workspace) mergedKey(code byte, id string) key {
	return w.k(tagMeta).str("merged").byte(code).str(id)
}

func (w *Workspace) mergedIntoPrefix(code byte, survivor string) key {
	return w.k(tagMeta).str("merged_into").byte(code).str(survivor)
}

// redirect makes merged, and every ID merged into it before, resolve to
// survivor.
func redirect(t *txn, code byte, merged, survivor string) error {
	ids, err := mergedInto(t.tx, t.w, code, merged)
	if err != nil {
		return err
	}
	if err := deleteRange(t.tx, t.w.mergedIntoPrefix(code, merged)); err != nil {
		return err
	}
	for _, id := range append(ids, merged) {
		if err := t.tx.Set(t.w.mergedKey(code, id), []byte(survivor)); err != nil {
			return err
		}
		if err := t.tx.Set(t.w.mergedIntoPrefix(code, survivor).str(id), nil); err != nil {
			return err
		}
	}
	return nil
}

// dropRedirects forgets the IDs merged into a record being erased: they
// resolve to nothing now.
func dropRedirects(t *txn, code byte, id string) error {
	ids, err := mergedInto(t.tx, t.w, code, id)
	if err != nil {
		return err
	}
	for _, merged := range ids {
		if err := t.tx.Delete(t.w.mergedKey(code, merged)); err != nil {
			return err
		}
	}
	return deleteRange(t.tx, t.w.mergedIntoPrefix(code, id))
}

// mergedError returns a *MergedError if id was merged into another record,
// else err.
func mergedError(tx store.Reader, w *Workspace, kindName string, code byte, id string, err error) error {
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	into, gerr := tx.Get(w.mergedKey(code, id))
	switch {
	case gerr == nil:
		return &MergedError{Kind: Kind{kindName}, ID: id, Into: string(into)}
	case errors.Is(gerr, store.ErrNotFound), errors.Is(gerr, store.ErrKeyTooLarge):
		return err
	default:
		return gerr
	}
}

// getLiveFollowing is getLive that reports a merged ID as a *MergedError.
func getLiveFollowing[T any](tx store.Reader, w *Workspace, k *kind[T], id string) (*T, error) {
	r, err := getLive(tx, w, k, id)
	if err != nil {
		return nil, mergedError(tx, w, k.name, k.code, id, err)
	}
	return r, nil
}

func lookup[T any](ctx context.Context, o objects[T], id string) (T, error) {
	var out T
	err := o.w.view(ctx, func(tx store.Tx, g *guard) error {
		r, err := get(tx, o.w, o.k, id)
		if err != nil {
			err = mergedError(tx, o.w, o.k.name, o.k.code, id, err)
			var me *MergedError
			if g != nil && errors.As(err, &me) {
				// Where it went is told only to those who may read it.
				if s, gerr := get(tx, o.w, o.k, me.Into); gerr != nil || see(g, o.k, s) != nil {
					return notFound(o.k.name, id)
				}
			}
			return err
		}
		if err := see(g, o.k, r); err != nil {
			return err
		}
		out = *r
		return nil
	})
	return out, err
}

// moveEntries gives record to the history entries, change timeline entries
// and outbox event links of record from. Activity timeline entries are
// not moved: they belong to the activities, re-pointed before.
func moveEntries(t *txn, code byte, from, to string) error {
	type move struct {
		from, to key
		value    []byte
	}
	var moves []move
	for _, p := range []struct {
		from, to    key
		changesOnly bool
	}{
		{t.w.historyPrefix(code, from), t.w.historyPrefix(code, to), false},
		{t.w.timelinePrefix(code, from), t.w.timelinePrefix(code, to), true},
		{t.w.recordEventsPrefix(code, from), t.w.recordEventsPrefix(code, to), false},
	} {
		for e, err := range t.tx.Scan(store.Range{Prefix: p.from}) {
			if err != nil {
				return err
			}
			if p.changesOnly && (len(e.Value) == 0 || e.Value[0] != timelineChange) {
				continue
			}
			suffix := e.Key[len(p.from):]
			moves = append(moves, move{
				from:  append(key(nil), e.Key...),
				to:    append(append(key(nil), p.to...), suffix...),
				value: append([]byte(nil), e.Value...),
			})
		}
	}
	for _, mv := range moves {
		if err := t.tx.Delete(mv.from); err != nil {
			return err
		}
		if err := t.tx.Set(mv.to, mv.value); err != nil {
			return err
		}
	}
	return nil
}
