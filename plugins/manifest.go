package plugins

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/crmkit/crmkit/plugins/proto"
)

// Manifest is what a plugin says about itself when it starts.
type Manifest struct {
	Name, Version string
	// Events are the event types delivered to it after commit, Before
	// those it runs before; "deal.*" and "*" match several.
	Events, Before []string
	// Capabilities are "read:<kind>" and "write:<kind>" (kind "*" for
	// all; write implies read), and at most one "role:<name>", the role of
	// the workspaces' access policies the plugin asks to act with.
	Capabilities []string
	// Role is the role the manifest asks for (its "role:<name>"
	// capability), or "" if it names none. The host decides: see
	// Spec.Role.
	Role string
}

// DefaultRole is the role a plugin acts with when neither its Spec nor its
// manifest names one: crm's built-in "integration" role (read, create and
// update every record; no delete, export or erase).
const DefaultRole = "integration"

// maxRoleBytes bounds a role name a plugin asks for or a host configures.
const maxRoleBytes = 128

// validRole reports whether name can name a role: 1 to maxRoleBytes bytes
// of UTF-8 without spaces or control characters.
func validRole(name string) bool {
	return name != "" && len(name) <= maxRoleBytes && utf8.ValidString(name) &&
		!strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// roleFor returns the role a plugin acts with: the one the host
// configured, else the one its manifest asks for, else DefaultRole. A
// manifest that asks for another role than the host configured is
// refused: the plugin was built for other rights than the host gives it.
func roleFor(configured, asked string) (string, error) {
	switch {
	case configured == "" && asked == "":
		return DefaultRole, nil
	case configured == "":
		return asked, nil
	case asked != "" && asked != configured:
		return "", fmt.Errorf("%w: manifest: asks for role %q, but the host configured role %q for it", ErrMalformed, asked, configured)
	}
	return configured, nil
}

// kinds are the record kinds a plugin may be granted.
var kinds = []string{"contact", "company", "deal", "activity", "purchase"}

// capabilities is a plugin's declared capabilities, as a set.
type capabilities map[string]bool

// allows reports whether the plugin may do access ("read" or "write") to
// records of kind.
func (c capabilities) allows(access, kind string) bool {
	if c["write:"+kind] || c["write:*"] {
		return true
	}
	return access == "read" && (c["read:"+kind] || c["read:*"])
}

const maxManifestEntries = 64

// checkManifest validates a plugin's manifest.
func checkManifest(pm *proto.Manifest) (Manifest, capabilities, error) {
	m := Manifest{Name: pm.Name, Version: pm.Version, Events: pm.Events, Before: pm.Before, Capabilities: pm.Capabilities}
	bad := func(format string, args ...any) (Manifest, capabilities, error) {
		return Manifest{}, nil, fmt.Errorf("%w: manifest: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	if len(m.Name) == 0 || len(m.Name) > 128 || len(m.Version) > 64 {
		return bad("needs a name of 1 to 128 bytes and a version of up to 64")
	}
	if len(m.Events)+len(m.Before)+len(m.Capabilities) > 3*maxManifestEntries {
		return bad("too many entries")
	}
	for _, list := range [][]string{m.Events, m.Before} {
		for _, pat := range list {
			if !validPattern(pat) {
				return bad("event pattern %q is not \"<kind>.<event>\", \"<kind>.*\" or \"*\"", pat)
			}
		}
	}
	caps := capabilities{}
	for _, c := range m.Capabilities {
		if role, ok := strings.CutPrefix(c, "role:"); ok {
			switch {
			case !validRole(role):
				return bad("capability %q does not name a role (1 to %d bytes, no spaces)", c, maxRoleBytes)
			case m.Role != "":
				return bad("capabilities name two roles, %q and %q: a plugin acts with one", "role:"+m.Role, c)
			}
			m.Role = role
			continue
		}
		if !validCapability(c) {
			return bad("capability %q is not read:<kind>, write:<kind> or role:<name>", c)
		}
		caps[c] = true
	}
	return m, caps, nil
}

func knownKind(k string) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

func validPattern(p string) bool {
	if p == "*" {
		return true
	}
	kind, what, ok := strings.Cut(p, ".")
	return ok && kind != "" && what != "" && len(p) <= 128
}

// matches reports whether event type t matches one of the patterns.
func matches(patterns []string, t string) bool {
	for _, p := range patterns {
		if p == "*" || p == t {
			return true
		}
		if kind, ok := strings.CutSuffix(p, ".*"); ok && strings.HasPrefix(t, kind+".") {
			return true
		}
	}
	return false
}

// beforeKinds returns the record kinds the patterns run before.
func beforeKinds(patterns []string) map[string]bool {
	out := map[string]bool{}
	for _, p := range patterns {
		if p == "*" {
			for _, k := range []string{"contact", "company", "deal", "activity", "purchase", "pipeline"} {
				out[k] = true
			}
			continue
		}
		kind, _, _ := strings.Cut(p, ".")
		out[kind] = true
	}
	return out
}
