// Command testplugin is the plugin the host's tests run: a deal guard
// whose behaviour the deal's name selects ("veto", "crash", "hang",
// "unknown-field", "bad-type", "oversize", "rename", "forge", and
// "custom-nope" and "custom-bad-value", which set a custom field that does
// not exist and the number field "score" to text, and "blank-name" and
// "negative-amount", whose changes fail the CRM's validation), and an
// event handler that records what it receives to the file in
// TESTPLUGIN_OUT and, for contact events, probes the host service's
// limits (without TESTPLUGIN_OUT it only receives). TESTPLUGIN_FLOOD=1
// floods the log; TESTPLUGIN_PROTOCOL=<n> speaks protocol version n;
// TESTPLUGIN_ROLE asks for a role in the manifest; TESTPLUGIN_POISON
// names a record whose events make the handler exit. With TESTPLUGIN_GETS
// ("<kind>/<id> ..."), the handler records each event's record ID, title
// and changed fields, and on contact.created, instead of the limits, what
// reading each of those records and updating the event's contact through
// the host gives. TESTPLUGIN_CPUPROFILE=<file> writes a CPU profile of
// the plugin there. With TESTPLUGIN_ECHO, it is no plugin but the
// benchmarks' raw socket echo (echo.go). modes.go has the hostile
// behaviours: children that outlive it, a stalled handshake, escalation,
// forged log lines, floods.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/proto"
	"github.com/crmkit/crmkit/plugins/sdk"
	"google.golang.org/grpc/status"
)

type testPlugin struct {
	out, role string
	// escalate is the marker file of TESTPLUGIN_ESCALATE (see modes.go).
	escalate string
	// timeline has contact updates read the contact's timeline.
	timeline bool
	// gets are the records TESTPLUGIN_GETS names; probeGets is set with it.
	gets      []string
	probeGets bool
	// poison is TESTPLUGIN_POISON: the handler exits on an event of a
	// record of that name (a contact's first name), and records the
	// others' lines only.
	poison string
	// slow is TESTPLUGIN_SLOW (see modes.go).
	slow time.Duration
}

func (p testPlugin) Manifest() sdk.Manifest {
	startFlood()
	return sdk.Manifest{
		Name: "testplugin", Version: "1.0.0",
		Before: []string{"deal.*"}, Events: []string{"*"},
		Capabilities: p.capabilities(),
		Role:         p.role,
	}
}

func (p testPlugin) Before(ctx context.Context, w *sdk.Write) error {
	var d crm.Deal
	if err := w.Decode(&d); err != nil {
		return err
	}
	switch {
	case strings.Contains(d.Name, "veto"):
		return sdk.Veto("no deals named " + d.Name)
	case strings.Contains(d.Name, "crash"):
		if p.escalate != "" {
			_ = os.WriteFile(p.escalate, nil, 0o644)
		}
		os.Exit(2)
	case d.Name == "forge":
		forge()
	case strings.Contains(d.Name, "hang"):
		time.Sleep(time.Minute)
	case d.Name == "custom-nope":
		return w.Set("custom.nope", 1)
	case d.Name == "custom-bad-value":
		return w.Set("custom.score", "a lot")
	case d.Name == "blank-name":
		return w.Set("name", "")
	case d.Name == "negative-amount":
		return w.Set("amount", crm.Money{Amount: -500, Currency: "EUR"})
	case strings.Contains(d.Name, "unknown-field"):
		return w.Set("no_such_field", 1)
	case strings.Contains(d.Name, "bad-type"):
		return w.Set("amount", "a lot")
	case strings.Contains(d.Name, "oversize"):
		return w.Set("name", strings.Repeat("x", 2<<20))
	case d.Name == "echo":
		// What the hook was handed of the record.
		return w.Set("name", fmt.Sprintf("echo source=%q owner=%q", d.Source, d.OwnerID))
	case d.Name == "set-source":
		return w.Set("source", "plugin")
	case strings.Contains(d.Name, "rename"):
		return w.Set("name", strings.ToUpper(d.Name))
	case strings.HasPrefix(d.Name, "peek "):
		// "peek <contact ID>", or "peek <kind>/<ID>", which tells the
		// title too.
		kind, id, withTitle := strings.Cut(strings.TrimPrefix(d.Name, "peek "), "/")
		if !withTitle {
			kind, id = "contact", kind
		}
		var rec struct {
			FirstName string `json:"first_name"`
			Name      string `json:"name"`
			Title     string `json:"title"`
		}
		if err := w.Host.Get(ctx, kind, id, &rec); err != nil {
			return err
		}
		name := "for " + rec.FirstName + rec.Name
		if withTitle && rec.Title != "" {
			name += ", " + rec.Title
		}
		return w.Set("name", name)
	}
	return nil
}

func (p testPlugin) Handle(ctx context.Context, ev *sdk.Event, h *sdk.Host) error {
	if p.out == "" {
		return nil // benchmarks: receive only
	}
	if p.slow > 0 {
		return p.handleSlowly(ev)
	}
	var rec struct {
		Name      string `json:"name"`
		FirstName string `json:"first_name"`
	}
	_ = ev.Decode(&rec)
	if p.poison != "" && (rec.Name == p.poison || rec.FirstName == p.poison) {
		os.Exit(2)
	}
	if rec.Name == "crash-deliver" && ev.Type == "deal.created" {
		if _, err := os.Stat(p.out + ".crashed"); os.IsNotExist(err) {
			_ = os.WriteFile(p.out+".crashed", nil, 0o644)
			os.Exit(2)
		}
	}
	line := fmt.Sprintf("%s %d %s", ev.Workspace, ev.Seq, ev.Type)
	switch {
	case p.poison != "":
	case p.probeGets:
		var c struct {
			Title string `json:"title"`
		}
		_ = ev.Decode(&c)
		var fields []string
		for _, f := range ev.Fields {
			fields = append(fields, f.Field)
		}
		line += fmt.Sprintf(" %s title=%q fields=%s", ev.RecordID, c.Title, strings.Join(fields, ","))
		if ev.Type == "contact.created" && h != nil {
			line += " " + p.getAll(ctx, ev, h)
		}
	case p.escalate != "" && ev.Type == "contact.created" && h != nil:
		line += " escalated=" + status.Code(h.Create(ctx, "company", map[string]any{"name": "escalated"}, nil)).String()
	case p.timeline && ev.Type == "contact.updated" && h != nil:
		line += " " + readTimeline(ctx, ev, h)
	case ev.Type == "contact.created" && h != nil:
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

// getAll reads each of the records in TESTPLUGIN_GETS and updates the
// event's contact, and reports the outcomes as "kind/id=code" pairs (and
// the title of each record read).
func (p testPlugin) getAll(ctx context.Context, ev *sdk.Event, h *sdk.Host) string {
	var out []string
	for _, g := range p.gets {
		kind, id, _ := strings.Cut(g, "/")
		var rec struct {
			Title string `json:"title"`
		}
		err := h.Get(ctx, kind, id, &rec)
		r := g + "=" + status.Code(err).String()
		if err == nil {
			r += fmt.Sprintf(":title=%q", rec.Title)
		}
		out = append(out, r)
	}
	err := h.Update(ctx, "contact", ev.RecordID, map[string]any{"tags": []string{"probed"}}, nil)
	out = append(out, "update="+status.Code(err).String())
	return strings.Join(out, " ")
}

func main() {
	if cert := os.Getenv("TESTPLUGIN_ECHO"); cert != "" {
		echo(cert)
		return
	}
	hostile()
	if os.Getenv("TESTPLUGIN_FLOOD") == "1" {
		go func() {
			log := sdk.Logger()
			for i := 0; ; i++ {
				log.Info("flood", "i", i)
			}
		}()
	}
	var opts []sdk.ServeOption
	if v, err := strconv.Atoi(os.Getenv("TESTPLUGIN_PROTOCOL")); err == nil {
		opts = append(opts, sdk.WithProtocolVersion(v))
	}
	p := testPlugin{
		out: os.Getenv("TESTPLUGIN_OUT"), role: os.Getenv("TESTPLUGIN_ROLE"),
		escalate: os.Getenv("TESTPLUGIN_ESCALATE"), timeline: os.Getenv("TESTPLUGIN_TIMELINE") == "1",
		poison: os.Getenv("TESTPLUGIN_POISON"),
	}
	p.slow, _ = time.ParseDuration(os.Getenv("TESTPLUGIN_SLOW"))
	if gets, ok := os.LookupEnv("TESTPLUGIN_GETS"); ok {
		p.gets, p.probeGets = strings.Fields(gets), true
	}
	if path := os.Getenv("TESTPLUGIN_CPUPROFILE"); path != "" {
		// The benchmarks' view of the plugin's side of a call.
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	sdk.Serve(p, opts...)
}
