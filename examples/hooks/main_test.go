package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHooksExample(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	assert.Equal(t, `refused: crm: vetoed by hook "large-deal-guard": deals over 10,000.00 need a company
is a veto: true - the hook's reason: true
won: Initech platform (250000.00 EUR)
won: Stapler refill (49.90 EUR)
`, out.String())
}
