package sdk

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestManifestRoleIsACapability(t *testing.T) {
	m := Manifest{Capabilities: []string{"read:contact"}}
	assert.Equal(t, []string{"read:contact"}, m.capabilities())
	m.Role = "read_only"
	assert.Equal(t, []string{"read:contact", "role:read_only"}, m.capabilities())
	assert.Equal(t, []string{"read:contact"}, m.Capabilities, "the manifest is left as it is")
	m.Capabilities = []string{"role:read_only"}
	assert.Equal(t, []string{"role:read_only"}, m.capabilities(), "not twice")
	assert.Equal(t, []string{"role:rep"}, (&Manifest{Role: "rep"}).capabilities())
}
