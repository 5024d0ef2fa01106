package crm

import "reflect"

// actionOf is the action a write of op is checked against.
func actionOf(op Op) Action {
	switch op {
	case OpCreated:
		return ActionCreate
	case OpDeleted, OpRestored:
		return ActionDelete
	case OpErased:
		return ActionErase
	}
	return ActionUpdate
}

// ownerOf returns r's owner, "" for kinds without one.
func ownerOf[T any](k *kind[T], r *T) string {
	if k.owner == nil || r == nil {
		return ""
	}
	return k.owner(r)
}

// defaultOwner makes the principal of t the owner of r, a record it
// creates without one, when a policy applies: a rep's new contact is the
// rep's.
func defaultOwner[T any](t *txn, k *kind[T], r *T) error {
	g, err := t.guard()
	if err != nil || g == nil || k.owner == nil || k.owner(r) != "" {
		return err
	}
	if f, ok := structField(reflect.TypeFor[T](), "owner_id"); ok {
		reflect.ValueOf(r).Elem().FieldByIndex(f.Index).SetString(g.p.ID)
	}
	return nil
}

// authorize checks that t's principal may make a change of op from old
// (nil on create) to r (nil on erase). A record the principal cannot read
// is not found; one it reads but the action does not reach is forbidden.
func authorize[T any](t *txn, k *kind[T], old, r *T, op Op) error {
	g, err := t.guard()
	if err != nil || g == nil {
		return err
	}
	var before, after any
	if old != nil {
		if !g.allows(k.name, ActionRead, ownerOf(k, old)) {
			return notFound(k.name, k.meta(old).ID)
		}
		before = old
	}
	if r != nil {
		after = r
	}
	return g.checkWrite(k.name, actionOf(op), ownerOf(k, old), ownerOf(k, r), before, after)
}

// trusted runs fn with t's checks off: the consequences of a change the
// principal was allowed to make (references relinked by a merge or an
// erasure) are the CRM's own.
func (t *txn) trusted(fn func() error) error {
	g, guarded := t.g, t.guarded
	t.g, t.guarded = nil, true
	defer func() { t.g, t.guarded = g, guarded }()
	return fn()
}
