package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, t.TempDir()))
	s := out.String()
	assert.Contains(t, s, `workspace "Demo Inc."`)
	assert.Contains(t, s, `refused: crm: invalid contact: emails[1]: "not-an-email" is not a valid email address; emails[0]: already used by contact`)
	assert.Contains(t, s, "updated  by user-1 lifecycle sales_qualified -> opportunity")
	assert.Contains(t, s, "meeting  On-site demo")
	assert.Regexp(t, `Proposal\s+60%\s+2 deals\s+210000\.00 EUR`, s)
	assert.Regexp(t, `Won\s+100%\s+1 deal\s+45000\.00 EUR`, s)
	assert.Regexp(t, `Lost\s+0%\s+1 deal\s`, s)
}
