package plugins_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins"
	"github.com/crmkit/crmkit/store/memory"
)

// Open loads a deal guard plugin; a deal it vetoes is refused with the
// plugin's reason. (Not run: it needs the plugin built beside it.)
func ExampleOpen() {
	ctx := context.Background()
	c := crm.New(memory.New())
	host, err := plugins.Open(ctx, c, plugins.Config{
		Plugins: []plugins.Spec{{
			Path:    "./dealguard",
			SHA256:  "<sha256sum of ./dealguard>",
			Timeout: 100 * time.Millisecond,
			Policy:  plugins.FailClosed,
		}},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		fmt.Println("some plugins did not load:", err)
	}
	defer host.Close()

	ws, _ := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme"})
	_, err = ws.Deals().Create(ctx, crm.Deal{Name: "Huge", Amount: crm.Money{Amount: 250_000_00}})
	var veto *plugins.VetoError
	if errors.As(err, &veto) {
		fmt.Println(veto.Plugin, "said:", veto.Reason)
	}
}
