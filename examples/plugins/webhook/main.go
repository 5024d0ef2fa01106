// Command webhook is an example crmkit plugin that posts every won deal as
// JSON to the URL in WEBHOOK_URL, retrying a failed post three times
// before it gives the event back to the host (which delivers it again
// later).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/sdk"
)

type notifier struct{ url string }

func (notifier) Manifest() sdk.Manifest {
	return sdk.Manifest{Name: "webhook", Version: "1.0.0", Events: []string{"deal.won"}}
}

// payload is what the webhook receives.
type payload struct {
	Event     string    `json:"event"`
	EventID   string    `json:"event_id"` // for the receiver to drop repeats
	Workspace string    `json:"workspace"`
	At        time.Time `json:"at"`
	Deal      crm.Deal  `json:"deal"`
}

func (n notifier) Handle(ctx context.Context, ev *sdk.Event, _ *sdk.Host) error {
	p := payload{Event: ev.Type, EventID: ev.ID, Workspace: ev.Workspace, At: ev.At}
	if err := ev.Decode(&p.Deal); err != nil {
		return err
	}
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err = n.post(ctx, body)
		if err == nil || attempt == 4 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (n notifier) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

func main() { sdk.Serve(notifier{url: os.Getenv("WEBHOOK_URL")}) }
