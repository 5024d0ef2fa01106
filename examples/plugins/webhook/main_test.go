package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/examples/plugins/internal/plugintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWebhookPostsWonDeals(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var got []payload
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= 2 { // the first two posts fail: the plugin retries
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var p payload
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&p))
		got = append(got, p)
	}))
	defer srv.Close()

	spec := plugintest.Build(t, ".", "webhook")
	spec.Env = []string{"WEBHOOK_URL=" + srv.URL}
	_, ws, _ := plugintest.Open(t, spec)
	won, err := ws.Deals().Create(ctx, crm.Deal{Name: "Pilot", Amount: crm.Money{Amount: 50_000_00}})
	require.NoError(t, err)
	lost, err := ws.Deals().Create(ctx, crm.Deal{Name: "Long shot"})
	require.NoError(t, err)
	_, err = ws.Deals().Win(ctx, won.ID)
	require.NoError(t, err)
	_, err = ws.Deals().Lose(ctx, lost.ID, "budget")
	require.NoError(t, err)

	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 }, 10*time.Second, 20*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "deal.won", got[0].Event)
	assert.Equal(t, "demo", got[0].Workspace)
	assert.Equal(t, won.ID, got[0].Deal.ID)
	assert.Equal(t, crm.StatusWon, got[0].Deal.Status)
	assert.Equal(t, crm.Money{Amount: 50_000_00, Currency: "EUR"}, got[0].Deal.Amount)
	assert.Equal(t, 3, calls, "two failures, one success, nothing for the lost deal")
}
