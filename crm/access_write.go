package crm

import (
	"reflect"
	"slices"
)

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

// ChangeAs lets mutate change the record being written on behalf of
// principal p, as an out-of-process hook does: the change is refused
// (ErrForbidden, the record left as it was) when it touches a field that
// is read-only or hidden for p's roles under the workspace's policy.
func (b *Before[T]) ChangeAs(p Principal, mutate func(*T) error) error {
	g, err := b.t.w.guard(As(b.t.ctx, p), b.t.tx)
	if err != nil {
		return err
	}
	if g == nil {
		return mutate(b.New)
	}
	c, err := clone(b.New)
	if err != nil {
		return err
	}
	if err := mutate(c); err != nil {
		return err
	}
	kind := kindOfType[T]()
	for _, path := range slices.Concat(g.hidden[kind], g.readOnly[kind]) {
		if !sameValues(fieldValues(b.New, path), fieldValues(c, path)) {
			return g.forbidden(kind, ActionUpdate, joinPath(path), "the field is read-only for the principal's roles")
		}
	}
	*b.New = *c
	return nil
}

// kindOfType returns the name of the record kind of type T ("" for none).
func kindOfType[T any]() string {
	for name, t := range kindTypes {
		if t == reflect.TypeFor[T]() {
			return name
		}
	}
	return ""
}
