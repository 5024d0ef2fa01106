// Command changefeed tails a workspace's change feed, the way a sync job or
// a warehouse loader would: it prints every committed event from a cursor
// on, and keeps waiting for new ones. A writer goroutine makes changes
// while it runs; the program stops once the writer is done and every one of
// its events has been printed.
//
//	go run ./examples/changefeed
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store/badger"
)

func main() {
	flag.Parse()
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "changefeed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
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

	ctx, stop := context.WithCancel(ctx)
	defer stop()

	// A writer making changes while we watch; its changes are marked with a
	// source, as a sync job would mark its own writes to skip their echoes.
	// When it is done it publishes the outbox head, the feed's last event,
	// and whichever side sees the feed reach it first ends the watch.
	var head, last atomic.Uint64 // a real sync job stores last after each event
	writerErr := make(chan error, 1)
	go func() {
		wctx := crm.WithSource(crm.WithActor(ctx, "alice"), "web")
		err := write(wctx, ws)
		if err == nil {
			var h uint64
			if h, err = ws.OutboxHead(ctx); err == nil {
				head.Store(h)
			}
		}
		if err != nil || last.Load() >= head.Load() {
			stop()
		}
		writerErr <- err
	}()

	for ev, err := range ws.Watch(ctx, last.Load(), 0) {
		if err != nil {
			return err // a watch stopped by its context just ends
		}
		fmt.Fprintf(out, "%3d %-26s %-9s by %-6s from %s\n", ev.Seq, ev.Type, ev.Kind, orDash(ev.Actor), orDash(ev.Source))
		last.Store(ev.Seq)
		if h := head.Load(); h != 0 && ev.Seq >= h {
			break
		}
	}
	return <-writerErr
}

// write makes the changes the feed shows: a contact created and turned into
// a customer, and a deal for them created and won.
func write(ctx context.Context, ws *crm.Workspace) error {
	co, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}})
	if err != nil {
		return err
	}
	if _, err = ws.Contacts().Update(ctx, co.ID, func(c *crm.Contact) error { c.Lifecycle = "customer"; return nil }); err != nil {
		return err
	}
	d, err := ws.Deals().Create(ctx, crm.Deal{Name: "Pilot", Contacts: []crm.ContactRole{{ContactID: co.ID}}})
	if err != nil {
		return err
	}
	_, err = ws.Deals().Win(ctx, d.ID)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
