// Command testplugin is the plugin the host's tests run: a deal guard
// whose behaviour the deal's name selects ("veto", "crash", "hang",
// "unknown-field", "bad-type", "oversize", "rename"), and an event handler
// that records what it receives to the file in TESTPLUGIN_OUT and, for
// contact events, probes the host service's limits (without
// TESTPLUGIN_OUT it only receives). TESTPLUGIN_FLOOD=1
// floods the log; TESTPLUGIN_PROTOCOL=1 speaks protocol version 1.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/proto"
	"github.com/crmkit/crmkit/plugins/sdk"
	"google.golang.org/grpc/status"
)

type testPlugin struct{ out string }

func (testPlugin) Manifest() sdk.Manifest {
	return sdk.Manifest{
		Name: "testplugin", Version: "1.0.0",
		Before: []string{"deal.*"}, Events: []string{"*"},
		Capabilities: []string{"read:contact", "write:contact", "read:deal"},
	}
}

func (testPlugin) Before(ctx context.Context, w *sdk.Write) error {
	var d crm.Deal
	if err := w.Decode(&d); err != nil {
		return err
	}
	switch {
	case strings.Contains(d.Name, "veto"):
		return sdk.Veto("no deals named " + d.Name)
	case strings.Contains(d.Name, "crash"):
		os.Exit(2)
	case strings.Contains(d.Name, "hang"):
		time.Sleep(time.Minute)
	case strings.Contains(d.Name, "unknown-field"):
		return w.Set("no_such_field", 1)
	case strings.Contains(d.Name, "bad-type"):
		return w.Set("amount", "a lot")
	case strings.Contains(d.Name, "oversize"):
		return w.Set("name", strings.Repeat("x", 2<<20))
	case strings.Contains(d.Name, "rename"):
		return w.Set("name", strings.ToUpper(d.Name))
	case strings.HasPrefix(d.Name, "peek "):
		var c crm.Contact
		if err := w.Host.Get(ctx, "contact", strings.TrimPrefix(d.Name, "peek "), &c); err != nil {
			return err
		}
		return w.Set("name", "for "+c.FirstName)
	}
	return nil
}

func (p testPlugin) Handle(ctx context.Context, ev *sdk.Event, h *sdk.Host) error {
	if p.out == "" {
		return nil // benchmarks: receive only
	}
	var rec struct {
		Name string `json:"name"`
	}
	_ = ev.Decode(&rec)
	if rec.Name == "crash-deliver" && ev.Type == "deal.created" {
		if _, err := os.Stat(p.out + ".crashed"); os.IsNotExist(err) {
			_ = os.WriteFile(p.out+".crashed", nil, 0o644)
			os.Exit(2)
		}
	}
	line := fmt.Sprintf("%s %d %s", ev.Workspace, ev.Seq, ev.Type)
	if ev.Type == "contact.created" && h != nil {
		line += " " + probe(ctx, ev, h)
	}
	f, err := os.OpenFile(p.out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintln(f, line)
	return err
}

// probe tries what the plugin may and may not do, and reports the
// outcomes as "name=code" pairs.
func probe(ctx context.Context, ev *sdk.Event, h *sdk.Host) string {
	code := func(err error) string { return status.Code(err).String() }
	var out []string
	err := h.Update(ctx, "contact", ev.RecordID, map[string]any{"title": "scored"}, nil)
	out = append(out, "write-own="+code(err))
	_, err = h.Client().Get(ctx, &proto.GetRequest{Grant: h.Grant(), Workspace: "other", Kind: "contact", Id: ev.RecordID})
	out = append(out, "other-workspace="+code(err))
	_, err = h.Client().Get(ctx, &proto.GetRequest{Grant: h.Grant(), Workspace: ev.Workspace, Kind: "company", Id: "x"})
	out = append(out, "undeclared-read="+code(err))
	_, err = h.Client().Update(ctx, &proto.UpdateRequest{Grant: h.Grant(), Workspace: ev.Workspace, Kind: "deal", Id: "x"})
	out = append(out, "undeclared-write="+code(err))
	_, err = h.Client().Get(ctx, &proto.GetRequest{Grant: "forged", Workspace: ev.Workspace, Kind: "contact", Id: ev.RecordID})
	out = append(out, "forged-grant="+code(err))
	return strings.Join(out, " ")
}

func main() {
	if os.Getenv("TESTPLUGIN_FLOOD") == "1" {
		go func() {
			log := sdk.Logger()
			for i := 0; ; i++ {
				log.Info("flood", "i", i)
			}
		}()
	}
	var opts []sdk.ServeOption
	if os.Getenv("TESTPLUGIN_PROTOCOL") == "1" {
		opts = append(opts, sdk.WithProtocolVersion(1))
	}
	sdk.Serve(testPlugin{out: os.Getenv("TESTPLUGIN_OUT")}, opts...)
}
