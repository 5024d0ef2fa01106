package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// errForbidden is the error of a post to an address not allowed.
var errForbidden = errors.New("webhook: address not allowed")

// parseSecrets decodes the comma-separated "whsec_<base64>" secrets.
func parseSecrets(s string) ([][]byte, error) {
	var keys [][]byte
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(f, "whsec_"))
		if err != nil || len(key) == 0 {
			// Never echo a secret, even a malformed one, into logs.
			return nil, errors.New("WEBHOOK_SECRET: each secret must be whsec_ followed by base64")
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, errors.New("WEBHOOK_SECRET is not set")
	}
	return keys, nil
}

// sign returns the webhook-signature header: one "v1,<base64 HMAC>" per
// secret, separated by spaces.
func sign(secrets [][]byte, id, timestamp string, body []byte) string {
	sigs := make([]string, len(secrets))
	for i, key := range secrets {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + timestamp + "."))
		mac.Write(body)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return strings.Join(sigs, " ")
}

// post makes one signed attempt.
func (n *notifier) post(ctx context.Context, id string, body []byte) error {
	if err := n.checkHost(ctx); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	timestamp := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", timestamp)
	req.Header.Set("webhook-signature", sign(n.secrets, id, timestamp, body))
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// checkHost refuses, with a clear error, a URL whose host resolves to an
// address not allowed. The dialer checks again (see newClient): DNS may
// answer differently by the time the client connects.
func (n *notifier) checkHost(ctx context.Context) error {
	if n.allowPrivate {
		return nil
	}
	host := n.url.Hostname()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if forbidden(ip) {
			return fmt.Errorf("%w: %s is %s", errForbidden, host, ip)
		}
	}
	return nil
}

// forbidden reports whether ip is an address a webhook may not reach
// without WEBHOOK_ALLOW_PRIVATE: this machine, its link or a private
// network (cloud metadata services live at link-local addresses).
func forbidden(ip netip.Addr) bool {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	return ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsPrivate() || ip.IsUnspecified()
}

// newClient returns the HTTP client of posts: no proxy, no redirects (a
// 3xx is a failure), and unless allowPrivate a dialer that refuses to
// connect to a forbidden address.
func newClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if forbidden(ap.Addr()) {
				return fmt.Errorf("%w: %s", errForbidden, ap.Addr())
			}
			return nil
		}
	}
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{DialContext: dialer.DialContext, ForceAttemptHTTP2: true, TLSHandshakeTimeout: 10 * time.Second},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
