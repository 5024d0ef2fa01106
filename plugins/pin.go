package plugins

import (
	"fmt"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/plugins/proto"
)

// admit checks the manifest a plugin declares as it starts: well formed,
// asking for no other role than the host's (see roleFor), declaring no
// capability beyond Spec.Capabilities when the host sets them, and, after
// the first start, the very manifest the plugin was loaded with: what the
// host granted at load is pinned, and a plugin that comes back asking for
// more (or anything else) is refused with ErrManifestChanged. It returns
// the plugin's capabilities.
func (p *proc) admit(pm *proto.Manifest) (capabilities, error) {
	m, caps, err := checkManifest(pm)
	if err != nil {
		return nil, err
	}
	role, err := roleFor(p.spec.Role, m.Role)
	if err != nil {
		return nil, err
	}
	if err := p.granted(m); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pinned {
		if d := manifestDiff(p.manifest, m); d != "" {
			return nil, fmt.Errorf("%w: %s since it was loaded; the host approves a change by loading the plugin again", ErrManifestChanged, d)
		}
		return p.caps, nil
	}
	p.manifest, p.caps, p.role, p.pinned = m, caps, role, true
	return caps, nil
}

// granted checks m's capabilities against those the host grants the
// plugin (Spec.Capabilities), if it sets them.
func (p *proc) granted(m Manifest) error {
	if p.spec.Capabilities == nil {
		return nil
	}
	grant := capabilities{}
	for _, c := range p.spec.Capabilities {
		grant[c] = true
	}
	for _, c := range m.Capabilities {
		access, kind, _ := strings.Cut(c, ":")
		if access == "role" {
			continue
		}
		if !grant.allows(access, kind) {
			return fmt.Errorf("%w: the manifest declares %q, beyond the capabilities the host grants it %q", ErrCapability, c, p.spec.Capabilities)
		}
	}
	return nil
}

// manifestDiff describes how b differs from a, or returns "".
func manifestDiff(a, b Manifest) string {
	var d []string
	list := func(what string, x, y []string) {
		if !slices.Equal(x, y) {
			d = append(d, fmt.Sprintf("%s %q became %q", what, x, y))
		}
	}
	text := func(what, x, y string) {
		if x != y {
			d = append(d, fmt.Sprintf("%s %q became %q", what, x, y))
		}
	}
	text("name", a.Name, b.Name)
	text("version", a.Version, b.Version)
	list("capabilities", a.Capabilities, b.Capabilities)
	text("role", a.Role, b.Role)
	list("events", a.Events, b.Events)
	list("before", a.Before, b.Before)
	return strings.Join(d, ", ")
}

// validCapability reports whether c is "read:<kind>" or "write:<kind>"
// for a kind a plugin may be granted, or "*".
func validCapability(c string) bool {
	access, kind, _ := strings.Cut(c, ":")
	return (access == "read" || access == "write") && (kind == "*" || knownKind(kind))
}
