package contactgen

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGenerate(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	const n = 20_000
	rows := Generate(1, n, now)
	require.Len(t, rows, n)
	assert.Equal(t, rows, Generate(1, n, now), "deterministic for a seed")

	var deCustomers, recent, recentHigh, customers int
	emails := map[string]bool{}
	for i, r := range rows {
		if i > 0 {
			require.False(t, r.CreatedAt.Before(rows[i-1].CreatedAt), "oldest first")
		}
		require.False(t, r.CreatedAt.After(now))
		require.False(t, r.CreatedAt.Before(now.AddDate(-3, 0, -1)))
		c := r.Contact
		require.Len(t, c.Emails, 1)
		require.False(t, emails[c.Emails[0]], "unique emails")
		emails[c.Emails[0]] = true
		score := c.Custom["score"].(float64)
		require.True(t, score >= 0 && score <= 100)
		if c.Lifecycle == "customer" {
			customers++
			if c.Address.Country == "DE" {
				deCustomers++
			}
		}
		if r.CreatedAt.After(now.Add(-30 * 24 * time.Hour)) {
			recent++
			if score > 50 {
				recentHigh++
			}
		}
	}
	// The shares the benchmarks' segments rely on, with slack for chance.
	assert.InDelta(t, 0.15, float64(customers)/n, 0.01)
	assert.InDelta(t, 0.0083, float64(deCustomers)/n, 0.002, "DE customers: about 8,000 of a million")
	assert.InDelta(t, 0.054, float64(recent)/n, 0.01, "signed up in the last 30 days")
	assert.InDelta(t, 0.3, float64(recentHigh)/float64(recent), 0.05, "of those, scoring over 50")
}
