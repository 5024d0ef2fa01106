package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmhttp"
	"github.com/crmkit/crmkit/examples/internal/mavencrm"
	"github.com/crmkit/crmkit/internal/teststore"
)

// console is the console under test: its server on the store the test run
// selects, seeded with the demo data.
type console struct {
	url string
	crm *crm.CRM
	ws  *crm.Workspace
}

func startConsole(t *testing.T) *console {
	t.Helper()
	ctx := context.Background()
	c, err := crm.Open(ctx, teststore.Open(t))
	require.NoError(t, err)
	ws, err := seed(ctx, c, mavencrm.Dir())
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(newServer(c, crmhttp.WithHeartbeat(time.Second), crmhttp.WithWatchPoll(100*time.Millisecond)))
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return &console{url: srv.URL, crm: c, ws: ws}
}

// chromium finds the browser: $CHROME_PATH, or Chromium or Chrome on the
// PATH. Without one the browser tests are skipped, except under CI, which
// must run them.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium: CI must install it (see .ci/run) or set CHROME_PATH")
	}
	t.Skip("no Chromium on the PATH (set CHROME_PATH): skipping the browser tests")
	return ""
}

// tab is one browser tab, driven by a test.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	log  *consoleLog
}

// consoleLog holds the errors a tab's pages wrote to the console.
type consoleLog struct {
	mu   sync.Mutex
	errs []string
}

// with returns the tab driven by t, a subtest of the test that opened it.
func (b *tab) with(t *testing.T) *tab {
	return &tab{t: t, ctx: b.ctx, base: b.base, log: b.log}
}

// newBrowser starts a headless Chromium for the test and returns its
// first tab.
func newBrowser(t *testing.T, base string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1400, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return openTab(t, ctx, base)
}

// newTab opens another tab of the same browser, sharing its cookies.
func (b *tab) newTab() *tab {
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	return openTab(b.t, ctx, b.base)
}

func openTab(t *testing.T, ctx context.Context, base string) *tab {
	t.Helper()
	tb := &tab{t: t, ctx: ctx, base: base, log: &consoleLog{}}
	require.NoError(t, chromedp.Do(ctx)) // starts the browser or opens the tab
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				tb.log.mu.Lock()
				tb.log.errs = append(tb.log.errs, m.String())
				tb.log.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		tb.log.mu.Lock()
		defer tb.log.mu.Unlock()
		if len(tb.log.errs) > 0 {
			t.Errorf("the console logged errors:\n%s", strings.Join(tb.log.errs, "\n"))
		}
	})
	return tb
}

// do runs actions in the tab, failing the test on an error.
func (b *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, actions...))
}

// eval answers a JavaScript expression's value.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(b.t, err, expr)
	return v
}

// waitFor waits until a JavaScript expression is true.
func (b *tab) waitFor(expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(25*time.Second)))
	require.NoError(b.t, err, "waiting for %s", expr)
}

func (b *tab) open(hash string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + "/" + hash))
}

// screenshot saves the tab's page as name.png in the test's artifact
// directory.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	path := filepath.Join(b.t.ArtifactDir(), name+".png")
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
	b.t.Logf("screenshot: %s", path)
}

// logIn logs the tab in as a demo user and waits for the board.
func (b *tab) logIn(id string) {
	b.t.Helper()
	b.open("")
	b.waitFor(`document.querySelector('[data-user="` + id + `"]') || document.querySelector('[data-testid="me"]')`)
	if eval[bool](b, `!!document.querySelector('[data-testid="me"]')`) {
		b.waitBoard() // the board's requests are answered before the log-out
		b.do(chromedp.Click(chromedp.CSS("#who button")))
	}
	b.do(chromedp.Click(chromedp.CSS(`[data-user="` + id + `"]`)))
	b.waitFor(`document.querySelector('[data-testid="me"]')?.textContent.startsWith(` + jsString(mustUser(id).Name) + `)`)
	b.waitBoard()
}

func (b *tab) waitBoard() {
	b.t.Helper()
	b.waitFor(`document.querySelectorAll('.board .column').length > 0 && !!document.querySelector('.board .card')`)
}

// drag drags an element to the middle of another with the mouse, as a
// person would: press, move in steps, release.
func (b *tab) drag(from, to string) {
	b.t.Helper()
	type point struct{ X, Y float64 }
	center := func(sel string) point {
		return eval[point](b, `(() => { const r = document.querySelector(`+jsString(sel)+`).getBoundingClientRect();
			return {X: r.left + r.width / 2, Y: r.top + Math.min(r.height / 2, 40)}; })()`)
	}
	p, q := center(from), center(to)
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, p.X, p.Y, chromedp.ButtonLeft)}
	for i := 1; i <= 10; i++ {
		f := float64(i) / 10
		steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, p.X+(q.X-p.X)*f, p.Y+(q.Y-p.Y)*f, chromedp.ButtonLeft))
	}
	steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, q.X, q.Y, chromedp.ButtonLeft))
	b.do(steps...)
}

func mustUser(id string) user {
	u, ok := userByID(id)
	if !ok {
		panic("no demo user " + id)
	}
	return u
}

func jsString(s string) string { return fmt.Sprintf("%q", s) }

func parseInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	require.NoError(t, err, "%q", s)
	return n
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
