package crm

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/crmkit/crmkit/store"
)

// A guard is a workspace's policy applied to one principal, for one call:
// which records of each kind each action reaches and which fields are
// restricted. A nil guard allows everything: the workspace has no policy,
// or the principal is System.
type guard struct {
	p Principal
	// read is the action reads are checked against: ActionRead, or
	// ActionExport under ForExport.
	read   Action
	scopes map[string]map[Action]Scope
	// team holds the owners Team scope reaches, sorted.
	team []string
	// hidden and readOnly are the restricted field paths of each kind
	// (readOnly includes the hidden ones).
	hidden, readOnly map[string][][]string
}

func (w *Workspace) policyKey() key { return w.k(tagMeta).str("policy") }

// policyCache keeps the last policy decoded for each workspace with the
// stored bytes it came from, so a call decodes it only after a change.
type policyCache struct {
	mu sync.Mutex
	m  map[string]*cachedPolicy // by workspace key prefix
}

// cachedPolicy is a decoded policy and the guards compiled from it, by
// principal (guards are not changed once compiled).
type cachedPolicy struct {
	raw    []byte
	p      *Policy
	mu     sync.Mutex
	guards map[string]*guard
}

// maxCachedGuards bounds the guards kept per policy; past it, the cache
// starts over.
const maxCachedGuards = 4096

// guardFor returns the guard of p under the cached policy.
func (c *cachedPolicy) guardFor(p Principal) *guard {
	k := p.ID + "\x00" + strings.Join(p.Roles, "\x01") + "\x00" + strings.Join(p.Teams, "\x01")
	c.mu.Lock()
	g, ok := c.guards[k]
	c.mu.Unlock()
	if ok {
		return g
	}
	g = compileGuard(c.p, p)
	c.mu.Lock()
	if c.guards == nil || len(c.guards) >= maxCachedGuards {
		c.guards = map[string]*guard{}
	}
	c.guards[k] = g
	c.mu.Unlock()
	return g
}

// loadPolicy reads the workspace's policy, or nil if it has none.
func (w *Workspace) loadPolicy(tx store.Reader) (*Policy, error) {
	c, err := w.cachedPolicy(tx)
	if c == nil || err != nil {
		return nil, err
	}
	return c.p, nil
}

// cachedPolicy reads the workspace's policy through the CRM's cache, or
// nil if it has none.
func (w *Workspace) cachedPolicy(tx store.Reader) (*cachedPolicy, error) {
	raw, err := tx.Get(w.policyKey())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := &w.crm.policies
	c.mu.Lock()
	hit, ok := c.m[string(w.prefix)]
	c.mu.Unlock()
	if ok && bytes.Equal(hit.raw, raw) {
		return hit, nil
	}
	p := new(Policy)
	if err := decode(raw, p); err != nil {
		return nil, err
	}
	hit = &cachedPolicy{raw: bytes.Clone(raw), p: p}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*cachedPolicy{}
	}
	c.m[string(w.prefix)] = hit
	c.mu.Unlock()
	return hit, nil
}

// guard returns the guard of the call ctx makes in tx: nil when the
// workspace has no policy or ctx acts as System, and an error matching
// ErrForbidden when there is a policy and ctx has no principal.
func (w *Workspace) guard(ctx context.Context, tx store.Reader) (*guard, error) {
	pr, hasPrincipal := PrincipalOf(ctx)
	if hasPrincipal && pr.system {
		return nil, nil
	}
	pol, err := w.cachedPolicy(tx)
	if err != nil || pol == nil {
		return nil, err
	}
	if !hasPrincipal {
		return nil, &ForbiddenError{Action: ActionRead, Kind: KindWorkspace, Reason: "the workspace has an access policy: act as a principal (crm.As)"}
	}
	if pr.ID == "" {
		return nil, &ForbiddenError{Action: ActionRead, Kind: KindWorkspace, Reason: "the principal has no ID"}
	}
	g := pol.guardFor(pr)
	if ctx.Value(exportKey{}) != nil {
		ge := *g
		ge.read = ActionExport
		return &ge, nil
	}
	return g, nil
}

// compileGuard applies pol to p.
func compileGuard(pol *Policy, p Principal) *guard {
	g := &guard{p: p, read: ActionRead, scopes: map[string]map[Action]Scope{}, hidden: map[string][][]string{}, readOnly: map[string][][]string{}}
	byName := map[string]*Role{}
	builtin := BuiltinRoles()
	for i := range builtin {
		byName[builtin[i].Name] = &builtin[i]
	}
	for i := range pol.Roles {
		byName[pol.Roles[i].Name] = &pol.Roles[i]
	}
	var roles []*Role
	for _, name := range p.Roles {
		if r := byName[name]; r != nil && !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	// Each role's scopes (a later grant overrides an earlier one), then
	// the widest over the roles.
	perRole := make([]map[string]map[Action]Scope, len(roles))
	for i, r := range roles {
		m := map[string]map[Action]Scope{}
		for _, gr := range r.Grants {
			kinds := []Kind{gr.Kind}
			if gr.Kind == AnyKind {
				kinds = AccessKinds
			}
			for _, k := range kinds {
				s := gr.Scope
				if (s == ScopeOwn || s == ScopeTeam) && !ownedKinds[k.name] {
					s = ScopeNone
				}
				if m[k.name] == nil {
					m[k.name] = map[Action]Scope{}
				}
				for _, a := range gr.Actions {
					if a == "*" {
						for _, a := range Actions {
							m[k.name][a] = s
						}
					} else {
						m[k.name][a] = s
					}
				}
			}
		}
		perRole[i] = m
		for k, acts := range m {
			if g.scopes[k] == nil {
				g.scopes[k] = map[Action]Scope{}
			}
			for a, s := range acts {
				if scopeRank[s] > scopeRank[g.scopes[k][a]] {
					g.scopes[k][a] = s
				}
			}
		}
	}
	// Pipelines are reference data: whoever reads or exports deals reads
	// and exports the pipelines that name their stages.
	for _, a := range []Action{ActionRead, ActionExport} {
		if g.scopes["deal"][a] != "" && g.scopes["deal"][a] != ScopeNone {
			if g.scopes["pipeline"] == nil {
				g.scopes["pipeline"] = map[Action]Scope{}
			}
			g.scopes["pipeline"][a] = ScopeAll
		}
	}
	// A field is restricted as far as every role reaching the kind
	// restricts it.
	for kind := range kindTypes {
		g.hidden[kind] = commonRules(roles, perRole, kind, []Action{ActionRead, ActionExport}, FieldHidden)
		g.readOnly[kind] = commonRules(roles, perRole, kind, []Action{ActionCreate, ActionUpdate}, FieldReadOnly)
	}
	g.team = teamOwners(pol, p)
	return g
}

// commonRules returns the fields of kind that every role granting one of
// acts on it restricts to at least access.
func commonRules(roles []*Role, perRole []map[string]map[Action]Scope, kind string, acts []Action, access FieldAccess) [][]string {
	var common map[string]int
	n := 0
	for i, r := range roles {
		reaches := false
		for _, a := range acts {
			reaches = reaches || scopeRank[perRole[i][kind][a]] > 0
		}
		if !reaches {
			continue
		}
		n++
		mine := map[string]bool{}
		for _, f := range r.Fields {
			k, path, bad := parseFieldRule(f.Field)
			if bad != "" || k != kind || (access == FieldHidden && f.Access != FieldHidden) {
				continue
			}
			mine[joinPath(path)] = true
		}
		if common == nil {
			common = map[string]int{}
		}
		for f := range mine {
			common[f]++
		}
	}
	var out [][]string
	for f, c := range common {
		if c == n {
			out = append(out, splitPath(f))
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return slices.Compare(a, b) })
	return out
}

// teamOwners returns the owners Team scope reaches for p: p itself, and
// the members of p's teams (its own and those listing it) and of every
// team below them, sorted.
func teamOwners(pol *Policy, p Principal) []string {
	kids := map[string][]string{}
	for _, t := range pol.Teams {
		if t.Parent != "" {
			kids[t.Parent] = append(kids[t.Parent], t.Name)
		}
	}
	seen := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		for _, k := range kids[name] {
			walk(k)
		}
	}
	for _, t := range p.Teams {
		walk(t)
	}
	for _, t := range pol.Teams {
		if slices.Contains(t.Members, p.ID) {
			walk(t.Name)
		}
	}
	owners := map[string]bool{p.ID: true}
	for _, t := range pol.Teams {
		if seen[t.Name] {
			for _, m := range t.Members {
				owners[m] = true
			}
		}
	}
	out := make([]string, 0, len(owners))
	for o := range owners {
		if o != "" {
			out = append(out, o)
		}
	}
	slices.Sort(out)
	return out
}

// scope returns the scope of action on kind (ScopeAll for a nil guard).
func (g *guard) scope(kind string, a Action) Scope {
	if g == nil {
		return ScopeAll
	}
	s := g.scopes[kind][a]
	if s == "" {
		return ScopeNone
	}
	return s
}

// allows reports whether action on kind reaches a record owned by owner.
func (g *guard) allows(kind string, a Action, owner string) bool {
	switch g.scope(kind, a) {
	case ScopeAll:
		return true
	case ScopeOwn:
		return owner != "" && owner == g.p.ID
	case ScopeTeam:
		_, ok := slices.BinarySearch(g.team, owner)
		return owner != "" && ok
	}
	return false
}

// owners returns the owners action on kind reaches, and all=true when it
// reaches every record.
func (g *guard) owners(kind string, a Action) (owners []string, all bool) {
	switch g.scope(kind, a) {
	case ScopeAll:
		return nil, true
	case ScopeOwn:
		return []string{g.p.ID}, false
	case ScopeTeam:
		return g.team, false
	}
	return nil, false
}

// check refuses action on kind when it reaches no record at all.
func (g *guard) check(kind string, a Action) error {
	if g.scope(kind, a) == ScopeNone {
		return g.forbidden(kind, a, "", "no role of the principal grants it")
	}
	return nil
}

func (g *guard) forbidden(kind string, a Action, field, reason string) error {
	return &ForbiddenError{Principal: g.p.ID, Action: a, Kind: Kind{kind}, Field: field, Reason: reason}
}

// hiddenOf returns the hidden field paths of kind.
func (g *guard) hiddenOf(kind string) [][]string {
	if g == nil {
		return nil
	}
	return g.hidden[kind]
}

// redact blanks the hidden fields of rec (a pointer to a record of kind).
func (g *guard) redact(kind string, rec any) {
	for _, path := range g.hiddenOf(kind) {
		blankField(rec, path)
	}
}

// redactChanges drops the changes of hidden fields of kind.
func (g *guard) redactChanges(kind string, fields []FieldChange) []FieldChange {
	hidden := g.hiddenOf(kind)
	if len(hidden) == 0 {
		return fields
	}
	return slices.DeleteFunc(slices.Clone(fields), func(f FieldChange) bool {
		for _, path := range hidden {
			if fieldCovers(path, f.Field) {
				return true
			}
		}
		return false
	})
}

// checkField refuses a filter, sort or grouping by a hidden field
// of kind: its results would tell the hidden values.
func (g *guard) checkField(kind, field string) error {
	for _, path := range g.hiddenOf(kind) {
		if fieldCovers(path, field) {
			return g.forbidden(kind, g.read, field, "the field is hidden from the principal's roles")
		}
	}
	return nil
}

// checkWrite checks a write of a record of kind: the action's scope
// reaches the record as it was (old, nil on create) and as it will be
// (r, nil on erase), and no read-only or hidden field changes.
func (g *guard) checkWrite(kind string, a Action, oldOwner, newOwner string, old, r any) error {
	if g == nil {
		return nil
	}
	if err := g.check(kind, a); err != nil {
		return err
	}
	if old != nil && !g.allows(kind, a, oldOwner) {
		return g.forbidden(kind, a, "", "the record is outside the principal's "+string(g.scope(kind, a))+" scope")
	}
	if r != nil && !g.allows(kind, a, newOwner) {
		return g.forbidden(kind, a, "owner_id", "the record would be outside the principal's "+string(g.scope(kind, a))+" scope")
	}
	if old == nil || r == nil {
		if r == nil || a != ActionCreate {
			return nil
		}
	}
	for _, path := range g.readOnly[kind] {
		var before []any
		if old != nil {
			before = fieldValues(old, path)
		}
		after := fieldValues(r, path)
		if !sameValues(before, after) {
			return g.forbidden(kind, a, joinPath(path), "the field is read-only for the principal's roles")
		}
	}
	return nil
}

// sameValues compares field values; none and all-zero are the same (a
// create that leaves a restricted field empty).
func sameValues(a, b []any) bool {
	if len(a) == 0 || len(b) == 0 {
		return allZero(a) && allZero(b)
	}
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalValues(a[i], b[i]) {
			return false
		}
	}
	return true
}

func allZero(vs []any) bool {
	for _, v := range vs {
		if v != nil && !isZeroValue(v) {
			return false
		}
	}
	return true
}

func joinPath(path []string) string { return strings.Join(path, ".") }

func splitPath(s string) []string { return strings.Split(s, ".") }

func isZeroValue(v any) bool { return reflect.ValueOf(v).IsZero() }

// readAction is the action g checks reads against (ActionRead for a nil
// guard).
func (g *guard) readAction() Action {
	if g == nil {
		return ActionRead
	}
	return g.read
}
