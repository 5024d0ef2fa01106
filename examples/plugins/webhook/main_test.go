package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/examples/plugins/internal/plugintest"
	"github.com/crmkit/crmkit/plugins/sdk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	oldSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	newSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
)

// verified is what a receiver holding secret does (written apart from the
// plugin's code, as receivers are): recompute the HMAC of
// id.timestamp.body and look for it among the signatures sent.
func verified(t *testing.T, secret string, r *http.Request, body []byte) bool {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	require.NoError(t, err)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, key)
	io.WriteString(mac, id+"."+ts+"."+string(body))
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
		got, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "v1,"))
		if strings.HasPrefix(sig, "v1,") && err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

func TestWebhookPostsWonDeals(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var got []payload
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		assert.True(t, verified(t, oldSecret, r, body), "signature")
		ids = append(ids, r.Header.Get("webhook-id"))
		if len(ids) <= 2 { // the first two posts fail: the plugin retries
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		var p payload
		assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		assert.NoError(t, json.Unmarshal(body, &p))
		got = append(got, p)
	}))
	defer srv.Close()

	spec := plugintest.Build(t, ".", "webhook")
	// httptest listens on 127.0.0.1, which the plugin refuses by default.
	spec.Env = []string{"WEBHOOK_URL=" + srv.URL, "WEBHOOK_SECRET=" + oldSecret, "WEBHOOK_ALLOW_PRIVATE=true"}
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
	assert.Equal(t, []string{got[0].EventID, got[0].EventID, got[0].EventID}, ids,
		"two failures, one success, all with the event's ID, nothing for the lost deal")
}

// wonEvent is an event as the host delivers it, for tests that call
// Handle directly.
var wonEvent = &sdk.Event{ID: "ev-1", Type: "deal.won", Workspace: "demo", At: time.Now(),
	Record: json.RawMessage(`{"id":"deal-1","name":"Pilot","status":"won"}`)}

func newNotifier(t *testing.T, env map[string]string) *notifier {
	t.Helper()
	n, err := configure(func(k string) string { return env[k] })
	require.NoError(t, err)
	return n
}

func TestRotatingSecrets(t *testing.T) {
	for _, secrets := range []string{oldSecret, oldSecret + "," + newSecret} {
		t.Run(strconv.Itoa(strings.Count(secrets, ",")+1), func(t *testing.T) {
			var req *http.Request
			var body []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, body = r.Clone(context.Background()), must(io.ReadAll(r.Body))
			}))
			defer srv.Close()
			n := newNotifier(t, map[string]string{"WEBHOOK_URL": srv.URL, "WEBHOOK_SECRET": secrets, "WEBHOOK_ALLOW_PRIVATE": "1"})
			require.NoError(t, n.Handle(context.Background(), wonEvent, nil))

			assert.Equal(t, "ev-1", req.Header.Get("webhook-id"))
			assert.True(t, verified(t, oldSecret, req, body), "a receiver with the old secret")
			assert.Equal(t, strings.Contains(secrets, newSecret), verified(t, newSecret, req, body), "a receiver with the new secret")
			req.Header.Set("webhook-id", "ev-2")
			assert.False(t, verified(t, oldSecret, req, body), "the signature covers the ID")
		})
	}
}

func TestRetriesAreBounded(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	n := newNotifier(t, map[string]string{"WEBHOOK_URL": srv.URL, "WEBHOOK_SECRET": oldSecret, "WEBHOOK_ALLOW_PRIVATE": "true"})

	assert.ErrorContains(t, n.Handle(context.Background(), wonEvent, nil), "500")
	assert.Equal(t, maxAttempts, calls)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	assert.ErrorIs(t, n.Handle(ctx, wonEvent, nil), context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second, "the backoff stops with the delivery's context")
}

func TestRefusesPrivateAddresses(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer srv.Close()

	n := newNotifier(t, map[string]string{"WEBHOOK_URL": srv.URL, "WEBHOOK_SECRET": oldSecret})
	assert.ErrorIs(t, n.Handle(context.Background(), wonEvent, nil), errForbidden)
	// The dialer refuses too, whatever the name resolved to before.
	_, err := n.client.Post(srv.URL, "application/json", strings.NewReader("{}"))
	assert.ErrorIs(t, err, errForbidden)
	assert.Zero(t, calls.Load())

	for _, ip := range []string{"127.0.0.1", "::1", "::ffff:127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1",
		"fd00::1", "169.254.169.254", "fe80::1", "0.0.0.0", "::"} {
		assert.True(t, forbidden(netip.MustParseAddr(ip)), ip)
	}
	for _, ip := range []string{"93.184.215.14", "2606:4700::1"} {
		assert.False(t, forbidden(netip.MustParseAddr(ip)), ip)
	}
}

func TestConfigure(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no URL":         {"WEBHOOK_SECRET": oldSecret},
		"not http":       {"WEBHOOK_URL": "file:///etc/passwd", "WEBHOOK_SECRET": oldSecret},
		"no secret":      {"WEBHOOK_URL": "https://example.com/hook"},
		"bad secret":     {"WEBHOOK_URL": "https://example.com/hook", "WEBHOOK_SECRET": "whsec_not base64!"},
		"bad allow flag": {"WEBHOOK_URL": "https://example.com/hook", "WEBHOOK_SECRET": oldSecret, "WEBHOOK_ALLOW_PRIVATE": "maybe"},
	} {
		_, err := configure(func(k string) string { return env[k] })
		assert.Error(t, err, name)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
