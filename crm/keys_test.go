package crm

import "testing"

// TestWorkspaceTagsAreUnique guards the key layout: two kinds of keys with
// one tag would read each other's entries.
func TestWorkspaceTagsAreUnique(t *testing.T) {
	seen := map[byte]int{}
	for i, tag := range workspaceTags {
		if j, ok := seen[tag]; ok {
			t.Errorf("tag %q is declared twice (entries %d and %d of workspaceTags)", tag, j, i)
		}
		seen[tag] = i
	}
	if len(seen) < 16 {
		t.Errorf("workspaceTags lists %d tags; keys.go declares 16", len(seen))
	}
}
