// Command webhook is an example crmkit plugin that posts every won deal as
// JSON to a URL, signed the Standard Webhooks way
// (https://www.standardwebhooks.com) so that receivers can check it came
// from here and was not replayed.
//
// It reads its configuration from its environment:
//
//	WEBHOOK_URL            where to post (http or https)
//	WEBHOOK_SECRET         the signing secret, "whsec_" followed by base64;
//	                       while rotating, several separated by commas
//	WEBHOOK_ALLOW_PRIVATE  "true" to allow posting to loopback, link-local
//	                       and private addresses (for tests and intranets)
//
// Every post carries the headers webhook-id (the event's ID, the same on
// every retry, for the receiver to drop repeats), webhook-timestamp (Unix
// seconds) and webhook-signature: "v1," followed by the base64
// HMAC-SHA256, under the secret, of id + "." + timestamp + "." + body; with
// several secrets, one such signature per secret, separated by spaces, so
// that a receiver holding any of them verifies the post.
//
// A failed post (a network error or an answer other than 2xx) is retried
// three times with exponential backoff and jitter, within the delivery's
// deadline, before the plugin gives the event back to the host (which
// delivers it again later). A URL whose host resolves to a loopback,
// link-local, private or unspecified address is refused, without retries,
// unless WEBHOOK_ALLOW_PRIVATE is set; the check is repeated on the address
// actually dialled, so a DNS answer that changes in between gains nothing.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/sdk"
)

// Retries: up to maxAttempts posts, waiting about firstWait after the
// first failure, twice as long after each next one, at most maxWait.
const (
	maxAttempts = 4
	firstWait   = 100 * time.Millisecond
	maxWait     = 2 * time.Second
)

type notifier struct {
	url          *url.URL
	secrets      [][]byte
	allowPrivate bool
	client       *http.Client
}

// configure reads the configuration from getenv (os.Getenv in main).
func configure(getenv func(string) string) (*notifier, error) {
	u, err := url.Parse(getenv("WEBHOOK_URL"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("WEBHOOK_URL must be an http or https URL")
	}
	secrets, err := parseSecrets(getenv("WEBHOOK_SECRET"))
	if err != nil {
		return nil, err
	}
	allow := false
	if v := getenv("WEBHOOK_ALLOW_PRIVATE"); v != "" {
		if allow, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("WEBHOOK_ALLOW_PRIVATE: %w", err)
		}
	}
	return &notifier{url: u, secrets: secrets, allowPrivate: allow, client: newClient(allow)}, nil
}

func (*notifier) Manifest() sdk.Manifest {
	return sdk.Manifest{Name: "webhook", Version: "1.1.0", Events: []string{"deal.won"}}
}

// payload is what the webhook receives.
type payload struct {
	Event     string    `json:"event"`
	EventID   string    `json:"event_id"` // also in the webhook-id header
	Workspace string    `json:"workspace"`
	At        time.Time `json:"at"`
	Deal      crm.Deal  `json:"deal"`
}

func (n *notifier) Handle(ctx context.Context, ev *sdk.Event, _ *sdk.Host) error {
	p := payload{Event: ev.Type, EventID: ev.ID, Workspace: ev.Workspace, At: ev.At}
	if err := ev.Decode(&p.Deal); err != nil {
		return err
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	wait := firstWait
	for attempt := 1; ; attempt++ {
		err = n.post(ctx, ev.ID, body)
		if err == nil || attempt == maxAttempts || errors.Is(err, errForbidden) {
			return err
		}
		// Wait between half and all of wait, so that plugins failing
		// together do not retry together.
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait/2 + rand.N(wait/2)):
		}
		wait = min(2*wait, maxWait)
	}
}

func main() {
	n, err := configure(os.Getenv)
	if err != nil {
		sdk.Logger().Error("webhook: " + err.Error())
		os.Exit(1)
	}
	sdk.Serve(n)
}
