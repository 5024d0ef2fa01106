package crmhttp_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/internal/crmtest"
)

// BenchmarkHTTP runs each call over HTTP on loopback and on the Go API,
// alternately in one loop, and reports the median of each and their ratio.
// The HTTP side includes what a client pays: the request, the handler's
// authentication and JSON, the loopback, and decoding the answer.
func BenchmarkHTTP(b *testing.B) {
	e := setup(b)
	if _, err := e.WS.Contacts().CreateMany(e.Ctx, crmtest.Contacts(0, 500)); err != nil {
		b.Fatal(err)
	}
	// Many deals, each moved a few times: a deal's stage history grows
	// with every move, and one deal moved thousands of times would
	// measure that instead.
	deals := make([]crm.Deal, 500)
	for i := range deals {
		d, err := e.WS.Deals().Create(e.Ctx, crm.Deal{Name: "Bench"})
		if err != nil {
			b.Fatal(err)
		}
		deals[i] = d
	}
	client := e.srv.Client()
	send := func(method, path, body string, out any) {
		req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("X-User", "u_test")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s %s: %s", method, path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			b.Fatal(err)
		}
	}
	stages := []string{"Proposal", "Negotiation"}

	cases := []struct {
		name        string
		http, goAPI func(i int)
	}{
		{"list50", func(int) {
			var pg crm.Page[crm.Contact]
			send("GET", "/contacts?limit=50", "", &pg)
		}, func(int) {
			if _, err := e.WS.Contacts().Page(e.Ctx, crm.ListOptions{Limit: 50}); err != nil {
				b.Fatal(err)
			}
		}},
		{"move", func(i int) {
			var d crm.Deal
			send("POST", "/deals/"+deals[i%len(deals)].ID+"/move", `{"stage":"`+stages[(i/len(deals))%2]+`"}`, &d)
		}, func(i int) {
			if _, err := e.WS.Deals().Move(e.Ctx, deals[(i+len(deals)/2)%len(deals)].ID, stages[(i/len(deals))%2]); err != nil {
				b.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var viaHTTP, viaGo []time.Duration
			i := 0
			for b.Loop() {
				t0 := time.Now()
				tc.http(i)
				t1 := time.Now()
				tc.goAPI(i + 1) // the other stage, so each move moves
				viaHTTP = append(viaHTTP, t1.Sub(t0))
				viaGo = append(viaGo, time.Since(t1))
				i += 2
			}
			h, g := median(viaHTTP), median(viaGo)
			b.ReportMetric(float64(h.Nanoseconds())/1e3, "http-p50-µs")
			b.ReportMetric(float64(g.Nanoseconds())/1e3, "go-p50-µs")
			if g > 0 {
				b.ReportMetric(float64(h)/float64(g), "ratio")
			}
		})
	}
}

// BenchmarkHTTPThroughput is how many list pages of 50 contacts the
// handler serves per second, with as many concurrent clients as there are
// CPUs times four, over loopback. The clients read each answer whole and
// drop it, as a load generator does: decoding 50 records would take the
// clients about as much CPU as the handler, on the same cores. One page is
// decoded and checked first.
func BenchmarkHTTPThroughput(b *testing.B) {
	e := setup(b)
	if _, err := e.WS.Contacts().CreateMany(e.Ctx, crmtest.Contacts(0, 500)); err != nil {
		b.Fatal(err)
	}
	client := e.srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	get := func() (*http.Response, error) {
		req, err := http.NewRequest("GET", e.srv.URL+"/contacts?limit=50", nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("X-User", "u_test")
		return client.Do(req)
	}
	resp, err := get()
	if err != nil {
		b.Fatal(err)
	}
	var pg crm.Page[crm.Contact]
	err = json.NewDecoder(resp.Body).Decode(&pg)
	resp.Body.Close()
	if err != nil || len(pg.Items) != 50 {
		b.Fatalf("%d contacts, %v", len(pg.Items), err)
	}
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := get()
			if err != nil {
				b.Error(err)
				return
			}
			n, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || n < 50*100 {
				b.Errorf("status %d, %d bytes, %v", resp.StatusCode, n, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
