package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignupExample(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	got := regexp.MustCompile(`con_[0-9a-z]+`).ReplaceAllString(out.String(), "con_ID")
	assert.Equal(t, `registered Globex
refused Initech: crm: invalid contact: emails[0]: already used by contact con_ID
companies: 1
contacts: 2
deals: 1
`, got)
}
