package plugins

import (
	"strings"
	"testing"

	"github.com/crmkit/crmkit/plugins/proto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestManifestRole(t *testing.T) {
	pm := func(caps ...string) *proto.Manifest { return &proto.Manifest{Name: "p", Capabilities: caps} }

	m, caps, err := checkManifest(pm("read:contact", "role:contacts_reader"))
	require.NoError(t, err)
	assert.Equal(t, "contacts_reader", m.Role)
	assert.Equal(t, []string{"read:contact", "role:contacts_reader"}, m.Capabilities)
	assert.Equal(t, capabilities{"read:contact": true}, caps, "a role grants no capability of its own")

	m, _, err = checkManifest(pm("write:*"))
	require.NoError(t, err)
	assert.Empty(t, m.Role)

	for _, bad := range [][]string{
		{"role:"},
		{"role:two words"},
		{"role:" + strings.Repeat("r", 129)},
		{"role:a\x00b"},
		{"role:admin", "role:rep"},
		{"role:admin", "role:admin"},
		{"roles:admin"},
	} {
		_, _, err := checkManifest(pm(bad...))
		require.ErrorIs(t, err, ErrMalformed, "%q", bad)
		assert.Contains(t, err.Error(), "manifest:")
	}
}

func TestRoleFor(t *testing.T) {
	for _, tc := range []struct{ configured, asked, want string }{
		{"", "", DefaultRole},
		{"", "read_only", "read_only"},
		{"rep", "", "rep"},
		{"rep", "rep", "rep"},
	} {
		got, err := roleFor(tc.configured, tc.asked)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "configured %q, asked %q", tc.configured, tc.asked)
	}
	_, err := roleFor("rep", "admin")
	require.ErrorIs(t, err, ErrMalformed)
	assert.Contains(t, err.Error(), `asks for role "admin", but the host configured role "rep"`)
}
