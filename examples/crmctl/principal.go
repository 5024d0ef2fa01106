package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// Who crmctl acts as. It is an operator's tool: without --as every
// command acts as crm.System(), the trusted principal that no access
// policy restricts. With --as USER (and --roles, --teams) every command
// acts as that principal, seeing and changing only what the workspace's
// policy lets it, as the host application's users do.

// principalOpts are the flags that choose the principal.
type principalOpts struct {
	as    string
	roles listFlag
	teams listFlag
	// asGiven is whether --as was given, even empty.
	asGiven bool
}

// principalFlags are the flags principalOpts registers.
var principalFlags = []string{"as", "roles", "teams"}

// isPrincipalFlag reports whether a flag is one of the principal flags
// every command takes.
func isPrincipalFlag(name string) bool { return slices.Contains(principalFlags, name) }

// isCommandFlag reports whether a flag is a command's own, neither a store
// flag nor a principal flag.
func isCommandFlag(name string) bool { return !isStoreFlag(name) && !isPrincipalFlag(name) }

// principalHelp ends the list of commands and each command's help: who
// crmctl acts as.
const principalHelp = "Without --as, crmctl acts as the trusted System principal: no access policy restricts it."

// register declares the principal flags on fs, keeping the values given
// before the command as register of globalOpts does.
func (p *principalOpts) register(fs *flag.FlagSet) {
	fs.Func("as", "act as the user `ID` (as records' owner IDs hold it) under the workspace's access policy (default: the System principal)", func(s string) error {
		p.as, p.asGiven = s, true
		return nil
	})
	fs.Var(&p.roles, "roles", "with --as, the principal's `roles`, comma-separated, repeatable: the policy's own or built-in ("+roleNames(crm.BuiltinRoles())+")")
	fs.Var(&p.teams, "teams", "with --as, the `teams` the principal belongs to, comma-separated, repeatable (besides the policy's teams that list it as a member)")
	for _, name := range principalFlags {
		fs.Lookup(name).DefValue = ""
	}
}

// context returns ctx acting as the principal the flags name, or as
// System without --as.
func (p *principalOpts) context(ctx context.Context) (context.Context, error) {
	if !p.asGiven {
		if len(p.roles) > 0 || len(p.teams) > 0 {
			return nil, usagef("--roles and --teams need --as USER: without it crmctl acts as the System principal, which has every right")
		}
		return crm.As(ctx, crm.System()), nil
	}
	if strings.TrimSpace(p.as) == "" {
		return nil, usagef("--as needs a user ID")
	}
	return crm.As(ctx, crm.Principal{ID: p.as, Roles: p.roles, Teams: p.teams}), nil
}

// checkPrincipal compares the principal of e's context with the policy
// of ws, as System reads it: a role or team that the policy does not
// know is a usage error, since it would silently grant nothing, and a
// workspace without a policy is worth a note, since --as changes nothing
// there.
func (e *env) checkPrincipal(ws *crm.Workspace) error {
	p, ok := crm.PrincipalOf(e.ctx)
	if !ok || p.IsSystem() {
		return nil
	}
	pol, has, err := ws.Policy(crm.As(e.ctx, crm.System()))
	if err != nil {
		return err
	}
	if !has {
		fmt.Fprintf(e.stderr, "crmctl: workspace %s has no access policy: acting as %s changes nothing\n", ws.ID(), p.ID)
		return nil
	}
	roles := effectiveRoles(pol)
	known := make([]string, len(roles))
	for i, r := range roles {
		known[i] = r.role.Name
	}
	for _, r := range p.Roles {
		if !slices.Contains(known, r) {
			return unknownName("role", r, ws.ID(), known)
		}
	}
	teams := make([]string, len(pol.Teams))
	for i, t := range pol.Teams {
		teams[i] = t.Name
	}
	for _, t := range p.Teams {
		if !slices.Contains(teams, t) {
			return unknownName("team", t, ws.ID(), teams)
		}
	}
	return nil
}

// unknownName is the usage error of a --roles or --teams value that
// names no role or team of the workspace's policy.
func unknownName(what, name, wsID string, known []string) error {
	msg := fmt.Sprintf("--%ss: the policy of workspace %s has no %s %q", what, wsID, what, name)
	if c, ok := closest(name, known); ok {
		return usagef("%s; did you mean %q?", msg, c)
	}
	if len(known) == 0 {
		return usagef("%s: it defines no %ss", msg, what)
	}
	return usagef("%s (%ss: %s)", msg, what, strings.Join(known, ", "))
}

// roleNames joins the names of roles: "admin, manager, rep".
func roleNames(roles []crm.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}
