package main

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTablesAreGenerated fails when crm/iso_tables.go is not what the
// lists in data/ generate: run go generate in crm after editing them.
func TestTablesAreGenerated(t *testing.T) {
	want, err := generate("data")
	require.NoError(t, err)
	got, err := os.ReadFile("../../iso_tables.go")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "crm/iso_tables.go is stale: run go generate ./crm")
}
