// Command changefeed tails a workspace's change feed, the way a sync job or
// a warehouse loader would: it prints every committed event from a cursor
// on, and keeps waiting for new ones. A writer goroutine makes changes
// while it runs; the program stops after -n events.
//
//	go run ./examples/changefeed
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store/badger"
)

func main() {
	n := flag.Int("n", 12, "stop after this many events")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *n); err != nil {
		fmt.Fprintln(os.Stderr, "changefeed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, n int) error {
	st, err := badger.Open("", badger.WithInMemory())
	if err != nil {
		return err
	}
	defer st.Close()
	c := crm.New(st)
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "demo"})
	if err != nil {
		return err
	}

	// A writer making changes while we watch; its changes are marked with a
	// source, as a sync job would mark its own writes to skip their echoes.
	writerErr := make(chan error, 1)
	go func() {
		wctx := crm.WithSource(crm.WithActor(ctx, "alice"), "web")
		co, err := ws.Contacts().Create(wctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}})
		if err == nil {
			_, err = ws.Contacts().Update(wctx, co.ID, func(c *crm.Contact) error { c.Lifecycle = "customer"; return nil })
		}
		if err == nil {
			var d crm.Deal
			d, err = ws.Deals().Create(wctx, crm.Deal{Name: "Pilot", Contacts: []crm.ContactRole{{ContactID: co.ID}}})
			if err == nil {
				_, err = ws.Deals().Win(wctx, d.ID)
			}
		}
		writerErr <- err
	}()

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	seen := 0
	var last uint64 // a real sync job stores this cursor after each event
	for ev, err := range ws.Watch(ctx, last, 0) {
		if err != nil {
			return err
		}
		last = ev.Seq
		fmt.Fprintf(out, "%3d %-26s %-9s by %-6s from %s\n", ev.Seq, ev.Type, ev.Kind, orDash(ev.Actor), orDash(ev.Source))
		if seen++; seen == n {
			break
		}
	}
	return <-writerErr
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
