package crm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrForbidden means the principal's roles do not allow the action on the
// kind (or a field of it). A *ForbiddenError carries the detail. A read of
// a record the principal cannot see is not forbidden but not found, so a
// refusal never tells which records exist.
var ErrForbidden = errors.New("forbidden")

// ForbiddenError is a refused call: what was asked, and why.
type ForbiddenError struct {
	// Principal is the ID of the principal refused ("" for a call without
	// one).
	Principal string
	Action    Action
	// Kind is the record kind (KindDeal) or KindWorkspace.
	Kind Kind
	// Field is set when the refusal is about one field ("amount").
	Field string
	// Reason says why, in lower case.
	Reason string
}

func (e *ForbiddenError) Error() string {
	what := e.Kind.name
	if e.Field != "" {
		what += "." + e.Field
	}
	who := "principal " + e.Principal
	if e.Principal == "" {
		who = "a call without a principal"
	}
	return fmt.Sprintf("crm: %s may not %s %s: %s", who, e.Action, what, e.Reason)
}

// Is makes a *ForbiddenError match ErrForbidden.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// Action is what a principal does to records of a kind.
type Action string

// Actions a policy grants.
const (
	ActionRead   Action = "read"
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete" // soft delete and restore
	ActionExport Action = "export" // crmio's export, ExportContact; of "workspace": Backup
	ActionErase  Action = "erase"  // erasure, and merge of the merged record
)

// Actions lists every action, in the order policies show them.
var Actions = []Action{ActionRead, ActionCreate, ActionUpdate, ActionDelete, ActionExport, ActionErase}

// Scope is which records of a kind an action reaches.
type Scope string

// Scopes, from narrowest to widest.
const (
	// ScopeNone reaches no record.
	ScopeNone Scope = "none"
	// ScopeOwn reaches the records the principal owns (OwnerID is its ID).
	ScopeOwn Scope = "own"
	// ScopeTeam reaches the records owned by the principal and by the members
	// of its teams and of their sub-teams.
	ScopeTeam Scope = "team"
	// ScopeAll reaches every record of the kind, owned or not.
	ScopeAll Scope = "all"
)

var scopeRank = map[Scope]int{ScopeNone: 0, "": 0, ScopeOwn: 1, ScopeTeam: 2, ScopeAll: 3}

// AccessKinds are the kinds a policy grants on: the record kinds, and
// KindSegment (definitions; members are records of their own kind) and
// KindWorkspace (read: see the policy; update: change the policy, settings,
// custom fields and indexes; export: Backup). Only contacts, companies,
// deals and activities have owners: for the other kinds a scope is none
// or all. Whoever reads (or exports) deals reads (or exports) pipelines,
// whose stages the deals name.
var AccessKinds = []Kind{KindContact, KindCompany, KindDeal, KindActivity, KindPurchase, KindPipeline, KindSegment, KindWorkspace}

var ownedKinds = map[string]bool{"contact": true, "company": true, "deal": true, "activity": true}

// FieldAccess restricts one field for a role.
type FieldAccess string

// Field restrictions.
const (
	// FieldHidden fields are left out (zero) of every record, history entry,
	// event, export and report the principal gets, and may not be
	// filtered, sorted or grouped by, nor written.
	FieldHidden FieldAccess = "hidden"
	// FieldReadOnly fields are shown but may not be written.
	FieldReadOnly FieldAccess = "read_only"
)

// Principal is who is asking: a user or integration of the host
// application. Put one in the context with As; with a workspace's Policy
// set, every call needs one.
type Principal struct {
	// ID is the user's ID, as records' OwnerID holds it.
	ID string `msgpack:"id" json:"id"`
	// Teams are the teams the principal belongs to, besides those whose
	// Members list it in the policy.
	Teams []string `msgpack:"teams,omitempty" json:"teams,omitempty"`
	// Roles name roles of the workspace's policy (or built-in ones); a
	// name the policy does not know grants nothing.
	Roles  []string `msgpack:"roles,omitempty" json:"roles,omitempty"`
	system bool
}

// System returns the principal of trusted host code, migrations and
// automation: it may do everything, whatever the policy. Use it
// explicitly, where the host acts on its own behalf.
func System() Principal { return Principal{ID: "system", system: true} }

// IsSystem reports whether p is the System principal.
func (p Principal) IsSystem() bool { return p.system }

type principalKey struct{}

type exportKey struct{}

// As returns a context whose calls act as p: the workspace's policy
// decides what they may see and change, and history records p.ID as the
// actor unless WithActor says otherwise.
func As(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, &p)
}

// PrincipalOf returns the principal As put in ctx.
func PrincipalOf(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	if !ok {
		return Principal{}, false
	}
	return *p, true
}

// ForExport returns a context whose reads are exports: checked against
// ActionExport instead of ActionRead. Package crmio's export uses it.
func ForExport(ctx context.Context) context.Context {
	return context.WithValue(ctx, exportKey{}, true)
}

// Policy is a workspace's access policy: its roles and teams. A workspace
// without one lets every call do everything (as before policies existed);
// once one is set, every call needs a principal (As) and does what the
// principal's roles allow. Roles not defined here by name are the
// built-in ones (BuiltinRoles).
type Policy struct {
	// Version counts the policy's changes; the CRM sets it.
	Version int64     `msgpack:"version" json:"version"`
	Roles   []Role    `msgpack:"roles,omitempty" json:"roles,omitempty"`
	Teams   []TeamDef `msgpack:"teams,omitempty" json:"teams,omitempty"`
}

// Role is a set of grants and field rules. A principal with several roles
// gets the widest scope any of them grants, and a field is restricted only
// as far as every role that reads the kind restricts it.
type Role struct {
	Name   string      `msgpack:"name" json:"name"`
	Grants []Grant     `msgpack:"grants,omitempty" json:"grants,omitempty"`
	Fields []FieldRule `msgpack:"fields,omitempty" json:"fields,omitempty"`
}

// Grant gives a scope for some actions on a kind. Kind AnyKind ("*") is
// every kind and action "*" every action; a later grant of the same kind
// and action overrides an earlier one.
type Grant struct {
	Kind    Kind     `msgpack:"kind" json:"kind"`
	Actions []Action `msgpack:"actions" json:"actions"`
	Scope   Scope    `msgpack:"scope" json:"scope"`
}

// FieldRule restricts a field of a kind: Field is "<kind>.<field>" with
// the field named as filters name it ("deal.amount", "contact.custom.score",
// "contact.address").
type FieldRule struct {
	Field  string      `msgpack:"field" json:"field"`
	Access FieldAccess `msgpack:"access" json:"access"`
}

// TeamDef is a team of the workspace: its members (user IDs) and the team
// it belongs to. A principal whose scope is ScopeTeam reaches the records of its
// teams' members and of every team below them.
type TeamDef struct {
	Name    string   `msgpack:"name" json:"name"`
	Parent  string   `msgpack:"parent,omitempty" json:"parent,omitempty"`
	Members []string `msgpack:"members,omitempty" json:"members,omitempty"`
}

// BuiltinRoles returns the roles every policy has unless it defines a
// role of the same name:
//
//   - admin: everything, on every kind and the workspace.
//   - manager: everything but erase on the team's records; reads
//     pipelines and segments, creates segments.
//   - rep: reads, creates, updates and deletes its own records; reads
//     and records purchases (which have no owner); reads pipelines and
//     segments.
//   - read_only: reads every record.
//   - integration: reads, creates and updates every record; no delete,
//     export or erase.
func BuiltinRoles() []Role {
	records := []string{"contact", "company", "deal", "activity", "purchase"}
	owned := records[:4]
	grants := func(kinds []string, scope Scope, actions ...Action) []Grant {
		var g []Grant
		for _, k := range kinds {
			s := scope
			if !ownedKinds[k] && s != ScopeNone {
				s = ScopeAll
			}
			g = append(g, Grant{Kind: Kind{k}, Actions: actions, Scope: s})
		}
		return g
	}
	view := []Grant{{Kind: KindPipeline, Actions: []Action{ActionRead}, Scope: ScopeAll}, {Kind: KindSegment, Actions: []Action{ActionRead}, Scope: ScopeAll}}
	return []Role{
		{Name: "admin", Grants: []Grant{{Kind: AnyKind, Actions: []Action{"*"}, Scope: ScopeAll}}},
		{Name: "manager", Grants: append(append(grants(records, ScopeTeam, ActionRead, ActionCreate, ActionUpdate, ActionDelete, ActionExport), view...),
			Grant{Kind: KindSegment, Actions: []Action{ActionCreate, ActionUpdate, ActionDelete}, Scope: ScopeAll})},
		{Name: "rep", Grants: append(append(grants(owned, ScopeOwn, ActionRead, ActionCreate, ActionUpdate, ActionDelete), view...),
			Grant{Kind: KindPurchase, Actions: []Action{ActionRead, ActionCreate}, Scope: ScopeAll})},
		{Name: "read_only", Grants: append(grants(records, ScopeAll, ActionRead), view...)},
		{Name: "integration", Grants: append(grants(records, ScopeAll, ActionRead, ActionCreate, ActionUpdate), view...)},
	}
}

// Check validates the policy, naming every problem: unknown kinds,
// actions and scopes, own or team scopes of kinds without owners, field
// rules of unknown fields, duplicate roles and teams, unknown or cyclic
// parent teams.
func (p *Policy) Check() error {
	pr := problems{kind: "policy"}
	roles := map[string]bool{}
	for i, r := range p.Roles {
		at := fmt.Sprintf("roles[%d]", i)
		switch {
		case strings.TrimSpace(r.Name) == "":
			pr.add(at+".name", "is empty")
		case roles[r.Name]:
			pr.add(at+".name", "%q is defined twice", r.Name)
		case len(r.Name) > maxShortText:
			pr.add(at+".name", "is longer than %d bytes", maxShortText)
		}
		roles[r.Name] = true
		for j, g := range r.Grants {
			checkGrant(&pr, fmt.Sprintf("%s.grants[%d]", at, j), g)
		}
		for j, f := range r.Fields {
			fat := fmt.Sprintf("%s.fields[%d]", at, j)
			if f.Access != FieldHidden && f.Access != FieldReadOnly {
				pr.add(fat+".access", "is %q, not %q or %q", f.Access, FieldHidden, FieldReadOnly)
			}
			if _, _, err := parseFieldRule(f.Field); err != "" {
				pr.add(fat+".field", "%s", err)
			}
		}
	}
	teams := map[string]*TeamDef{}
	for i := range p.Teams {
		t := &p.Teams[i]
		at := fmt.Sprintf("teams[%d]", i)
		switch {
		case strings.TrimSpace(t.Name) == "":
			pr.add(at+".name", "is empty")
		case teams[t.Name] != nil:
			pr.add(at+".name", "%q is defined twice", t.Name)
		}
		teams[t.Name] = t
	}
	for i, t := range p.Teams {
		if t.Parent == "" {
			continue
		}
		at := fmt.Sprintf("teams[%d].parent", i)
		if teams[t.Parent] == nil {
			pr.add(at, "%q is not a team of the policy", t.Parent)
			continue
		}
		seen := map[string]bool{t.Name: true}
		for up := teams[t.Parent]; up != nil; up = teams[up.Parent] {
			if seen[up.Name] {
				pr.add(at, "team %q is its own ancestor", t.Name)
				break
			}
			seen[up.Name] = true
		}
	}
	return pr.err()
}

func checkGrant(pr *problems, at string, g Grant) {
	if g.Kind != AnyKind && !slices.Contains(AccessKinds, g.Kind) {
		pr.add(at+".kind", "%q is not one of %s or *", g.Kind, kindNames(AccessKinds))
	}
	if len(g.Actions) == 0 {
		pr.add(at+".actions", "is empty")
	}
	for k, a := range g.Actions {
		if a != "*" && !slices.Contains(Actions, a) {
			pr.add(fmt.Sprintf("%s.actions[%d]", at, k), "%q is not an action (read, create, update, delete, export, erase or *)", a)
		}
	}
	if _, ok := scopeRank[g.Scope]; !ok || g.Scope == "" {
		pr.add(at+".scope", "%q is not none, own, team or all", g.Scope)
	} else if (g.Scope == ScopeOwn || g.Scope == ScopeTeam) && g.Kind != AnyKind && !ownedKinds[g.Kind.name] {
		pr.add(at+".scope", "%ss have no owner: their scope is none or all", g.Kind)
	}
}

// parseFieldRule splits "deal.amount" into its kind and field path,
// or says what is wrong with it.
func parseFieldRule(s string) (kind string, path []string, problem string) {
	kind, field, ok := strings.Cut(s, ".")
	if !ok || field == "" {
		return "", nil, fmt.Sprintf("%q is not <kind>.<field>", s)
	}
	if !ownedKinds[kind] && kind != "purchase" {
		return "", nil, fmt.Sprintf("%q: fields of %q cannot be restricted (contact, company, deal, activity or purchase)", s, kind)
	}
	path = strings.Split(field, ".")
	if path[0] == "id" || path[0] == "version" {
		return "", nil, fmt.Sprintf("%q: a record's %s cannot be restricted", s, path[0])
	}
	if !fieldPathExists(kind, path) {
		return "", nil, fmt.Sprintf("%q: %ss have no field %q", s, kind, field)
	}
	return kind, path, ""
}
