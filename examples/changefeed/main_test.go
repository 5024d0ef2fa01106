package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChangefeedExample(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 8, "every event of the writer, then stop")
	var types []string
	for i, l := range lines {
		f := strings.Fields(l)
		assert.Equal(t, i+1, mustAtoi(t, f[0]), "in order, without gaps")
		types = append(types, f[1])
	}
	assert.Equal(t, []string{
		"pipeline.created", "contact.created", "contact.updated", "contact.lifecycle_changed",
		"deal.created", "deal.updated", "deal.stage_changed", "deal.won",
	}, types)
	assert.Contains(t, lines[1], "by alice  from web")
}

func mustAtoi(t *testing.T, s string) int {
	n := 0
	for _, r := range s {
		require.True(t, r >= '0' && r <= '9', s)
		n = n*10 + int(r-'0')
	}
	return n
}
