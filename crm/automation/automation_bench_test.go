package automation_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/automation"
)

// hundredRules are 100 active rules of a busy workspace: most watch
// contact updates with conditions, the others other events and times.
func hundredRules() []automation.Rule {
	var rules []automation.Rule
	note := []automation.Action{{Type: automation.ActionLogNote, Subject: "rule fired"}}
	for i := range 40 {
		rules = append(rules, automation.Rule{Name: fmt.Sprint("updated ", i), Object: crm.KindContact,
			Trigger: automation.Trigger{Event: crm.ContactUpdated},
			Where:   fmt.Sprintf(`lifecycle = "customer" AND tags CONTAINS "segment-%d"`, i), Actions: note})
	}
	for i := range 10 {
		rules = append(rules, automation.Rule{Name: fmt.Sprint("lifecycle ", i), Object: crm.KindContact,
			Trigger: automation.Trigger{Event: crm.ContactUpdated, Fields: []string{"lifecycle"}}, Actions: note})
	}
	for i := range 20 {
		rules = append(rules, automation.Rule{Name: fmt.Sprint("created ", i), Object: crm.KindContact,
			Trigger: automation.Trigger{Event: crm.ContactCreated}, Where: fmt.Sprintf(`lead_source = "source-%d"`, i), Actions: note})
	}
	for i := range 10 {
		rules = append(rules, automation.Rule{Name: fmt.Sprint("won ", i), Object: crm.KindDeal,
			Trigger: automation.Trigger{Event: crm.DealWon}, Actions: note})
	}
	for i := range 10 {
		rules = append(rules, automation.Rule{Name: fmt.Sprint("activity ", i), Object: crm.KindContact,
			Trigger: automation.Trigger{Event: crm.ActivityCreated}, Where: `lifecycle = "lead"`, Actions: note})
	}
	for i := range 10 {
		rules = append(rules, automation.Rule{Name: fmt.Sprint("idle ", i), Object: crm.KindContact,
			Trigger: automation.Trigger{Time: &automation.TimeTrigger{Field: "idle_since", Offset: automation.Offset(time.Duration(30+i) * 24 * time.Hour)}},
			Where:   `lifecycle = "lead"`, Actions: note})
	}
	return rules
}

// BenchmarkRuleOverhead measures what 100 active rules cost a write: two
// workspaces on one Badger store, one without rules (the baseline) and
// one with hundredRules, take turns; each turn updates 16 contacts and
// lets the automation engine process their events (Step). It reports the
// time per write, engine work included, of each, and ratio, the rules'
// over the baseline's, and cpu-ratio, the same for the process's CPU time.
func BenchmarkRuleOverhead(b *testing.B) {
	st, _ := openBenchBadger(b)
	ctx := context.Background()
	c := crm.New(st, crm.WithClock(func() time.Time { return benchEpoch }))
	const perTurn = 16
	type variant struct {
		ws       *crm.Workspace
		ids      []string
		dur, cpu time.Duration
	}
	vars := make([]*variant, 2)
	for i, n := range []int{0, 100} {
		ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: fmt.Sprint("rules-", n)})
		if err != nil {
			b.Fatal(err)
		}
		if n > 0 {
			for _, r := range hundredRules() {
				if _, err := automation.RulesOf(ws).Save(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		}
		v := &variant{ws: ws}
		cs, err := ws.Contacts().CreateMany(ctx, benchContacts(0, 256))
		if err != nil {
			b.Fatal(err)
		}
		for _, ct := range cs {
			v.ids = append(v.ids, ct.ID)
		}
		vars[i] = v
	}
	a := automation.New(c)
	if _, err := a.Step(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for n := range b.N {
		for j := range vars {
			v := vars[(n+j)%2]
			cpu0, _ := processCPU()
			start := time.Now()
			for k := range perTurn {
				id := v.ids[(n*perTurn+k)%len(v.ids)]
				_, err := v.ws.Contacts().Update(ctx, id, func(ct *crm.Contact) error {
					ct.Title = fmt.Sprint("title ", n)
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			rep, err := a.Step(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if rep.Events < perTurn {
				b.Fatalf("step read %d events, want %d", rep.Events, perTurn)
			}
			v.dur += time.Since(start)
			cpu1, _ := processCPU()
			v.cpu += cpu1 - cpu0
		}
	}
	base := float64(vars[0].dur) / float64(b.N*perTurn)
	with := float64(vars[1].dur) / float64(b.N*perTurn)
	b.ReportMetric(base/1e3, "norules-µs/write")
	b.ReportMetric(with/1e3, "100rules-µs/write")
	b.ReportMetric(with/base, "ratio")
	if vars[0].cpu > 0 {
		b.ReportMetric(float64(vars[1].cpu)/float64(vars[0].cpu), "cpu-ratio")
	}
}

// BenchmarkFireTimers fires 100,000 due timers, one per contact, on
// Badger: under "emit" each emits a custom event (the timer machinery and
// an outbox entry), under "task" each creates a task. The baseline, in the
// same run, creates 100,000 tasks directly with LogMany in a store set up
// the same way. It reports the
// seconds each takes and ratio, firing over the baseline, and the same
// for the process's CPU time (fire-cpu-s, cpu-ratio), which a busy machine
// disturbs less. Set CRMKIT_BENCH_TIMERS for another count.
func BenchmarkFireTimers(b *testing.B) {
	if testing.Short() {
		b.Skip("creates 100,000 contacts")
	}
	n := 100_000
	if s := os.Getenv("CRMKIT_BENCH_TIMERS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("CRMKIT_BENCH_TIMERS=%q: want a positive count", s)
		}
	}
	for _, v := range []struct {
		name   string
		action automation.Action
	}{
		{"emit", automation.Action{Type: automation.ActionEmitEvent, Event: "anniversary"}},
		{"task", automation.Action{Type: automation.ActionCreateTask, Subject: "Call {name}", Assignee: "owner"}},
	} {
		b.Run(v.name, func(b *testing.B) { benchFireTimers(b, n, v.action) })
	}
}

func benchFireTimers(b *testing.B, n int, action automation.Action) {
	var fire, direct, fireCPU, directCPU time.Duration
	for range b.N {
		// Each side gets a store of its own, set up the same way, so
		// both pay the same compaction debt from the setup.
		c, ws, _, clock, done := benchTimerStore(b, n)
		_, err := automation.RulesOf(ws).Save(context.Background(), automation.Rule{Name: "anniversary", Object: crm.KindContact,
			Trigger: automation.Trigger{Time: &automation.TimeTrigger{Field: "created_at", Offset: automation.Offset(24 * time.Hour)}},
			Actions: []automation.Action{action}})
		if err != nil {
			b.Fatal(err)
		}
		*clock = clock.Add(48 * time.Hour)
		a := automation.New(c)
		cpu0, _ := processCPU()
		start := time.Now()
		fired, err := a.FireDue(context.Background())
		fire += time.Since(start)
		cpu1, _ := processCPU()
		fireCPU += cpu1 - cpu0
		if err != nil || fired != n {
			b.Fatalf("fired %d of %d: %v", fired, n, err)
		}
		done()

		_, ws, ids, _, done := benchTimerStore(b, n)
		tasks := make([]crm.Activity, 0, n)
		for _, id := range ids {
			tasks = append(tasks, crm.Activity{Type: crm.ActivityTask, Subject: "Call", ContactIDs: []string{id}})
		}
		cpu0, _ = processCPU()
		start = time.Now()
		if _, err := ws.Activities().LogMany(context.Background(), tasks); err != nil {
			b.Fatal(err)
		}
		direct += time.Since(start)
		cpu1, _ = processCPU()
		directCPU += cpu1 - cpu0
		done()
	}
	b.ReportMetric(fire.Seconds()/float64(b.N), "fire-s")
	b.ReportMetric(direct.Seconds()/float64(b.N), "logmany-s")
	b.ReportMetric(float64(fire)/float64(direct), "ratio")
	if directCPU > 0 {
		b.ReportMetric(fireCPU.Seconds()/float64(b.N), "fire-cpu-s")
		b.ReportMetric(float64(fireCPU)/float64(directCPU), "cpu-ratio")
	}
	b.ReportMetric(0, "ns/op")
}

// benchTimerStore opens a Badger store with a workspace of n contacts
// and a clock the caller moves; done closes it.
func benchTimerStore(b *testing.B, n int) (*crm.CRM, *crm.Workspace, []string, *time.Time, func()) {
	st, _ := openBenchBadger(b)
	ctx := context.Background()
	now := benchEpoch
	c := crm.New(st, crm.WithClock(func() time.Time { return now }))
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "timers"})
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for from := 0; from < n; from += 10_000 {
		cs, err := ws.Contacts().CreateMany(ctx, benchContacts(from, min(10_000, n-from)))
		if err != nil {
			b.Fatal(err)
		}
		for _, ct := range cs {
			ids = append(ids, ct.ID)
		}
	}
	return c, ws, ids, &now, func() { _ = st.Close() }
}
