package plugins

import "slices"

// AllWorkspaces, as the only entry of Spec.Workspaces, configures a plugin
// for every workspace of the CRM, present and future.
const AllWorkspaces = "*"

// workspaces is the set of workspaces a plugin is configured for.
type workspaces struct {
	all bool
	set map[string]bool
	// implicit: configured for every workspace by default (Spec.Workspaces
	// nil), not explicitly.
	implicit bool
}

func scopeOf(ids []string) workspaces {
	if ids == nil {
		return workspaces{all: true, implicit: true}
	}
	w := workspaces{set: map[string]bool{}}
	for _, id := range ids {
		w.all = w.all || id == AllWorkspaces
		w.set[id] = true
	}
	return w
}

// reaches reports whether the plugin is configured for workspace ws.
func (w workspaces) reaches(ws string) bool { return w.all || w.set[ws] }

// list returns the workspaces, sorted, or [AllWorkspaces].
func (w workspaces) list() []string {
	if w.all {
		return []string{AllWorkspaces}
	}
	out := make([]string, 0, len(w.set))
	for id := range w.set {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
