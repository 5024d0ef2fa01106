package plugins

import (
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/proto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestApplyChanges(t *testing.T) {
	fv := func(f, j string) *proto.FieldValue { return &proto.FieldValue{Field: f, Json: []byte(j)} }
	base := crm.Contact{Meta: crm.Meta{ID: "con_1", Version: 3}, FirstName: "Ada", Custom: crm.Custom{"tier": "gold"}}

	c := base
	require.NoError(t, applyChanges(&c, []*proto.FieldValue{fv("title", `"CTO"`), fv("custom.score", `42`), fv("custom.tier", `null`)}))
	assert.Equal(t, "CTO", c.Title)
	assert.Equal(t, "Ada", c.FirstName)
	assert.Equal(t, "con_1", c.ID)
	assert.Equal(t, crm.Custom{"score": float64(42)}, c.Custom)

	for _, tc := range []struct {
		name  string
		ch    *proto.FieldValue
		field string
	}{
		{"unknown field", fv("shoe_size", `44`), "shoe_size"},
		{"owned by the CRM", fv("version", `9`), "version"},
		{"nested non-custom", fv("address.city", `"Oslo"`), "address.city"},
		{"not JSON", fv("title", `{`), "title"},
		{"wrong type", fv("emails", `"a@b.c"`), "emails"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			err := applyChanges(&c, []*proto.FieldValue{fv("title", `"CTO"`), tc.ch})
			require.ErrorIs(t, err, ErrMalformed)
			var ce *ChangeError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tc.field, ce.Field)
			assert.Equal(t, "", c.Title, "a refused set of changes changes nothing")
		})
	}
}

func TestKindOfReadsOnlyKindNames(t *testing.T) {
	for _, k := range crm.RecordKinds() {
		got, err := kindOf(k.String())
		require.NoError(t, err)
		assert.Equal(t, k, got)
	}
	// A plural, a misspelling or an empty kind on the wire is the
	// plugin's fault.
	for _, bad := range []string{"contacts", "lead", "Contact", ""} {
		_, err := kindOf(bad)
		assert.ErrorIs(t, err, ErrMalformed, bad)
	}
}
