// Command console serves a web console over a CRM: a pipeline board with
// drag-and-drop stage moves, contact pages with their timeline, a search
// box, a segment builder with a live count and the pipeline, forecast and
// conversion reports with their charts. It opens the embedded Badger
// store, fills a workspace with two sales agents' deals from the Maven
// Analytics dataset (examples/internal/mavencrm), and prints its URL.
//
//	go run ./examples/console                  # a temporary database, removed at exit
//	go run ./examples/console -dir data        # keep the database in ./data
//	go run ./examples/console -addr :8080      # listen elsewhere
//
// Log in as one of the demo users to see the access policy at work: a rep
// sees only their own deals, their manager the team's, the admin all.
// Changes appear in every open browser at once, through the API's event
// stream. The console is plain HTML, CSS and JavaScript modules embedded in
// the binary (no build step), on the HTTP API of package crmhttp mounted
// under /api/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/examples/internal/mavencrm"
	"github.com/crmkit/crmkit/store/badger"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dir := flag.String("dir", "", "database directory (default: a temporary directory, removed at exit)")
	data := flag.String("data", mavencrm.Dir(), "directory of the Maven dataset's CSV files")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *dir, *data); err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, dir, data string) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "crmkit-console-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	st, err := badger.Open(dir)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := crm.Open(ctx, st)
	if err != nil {
		return err
	}
	if _, err := seed(ctx, c, data); err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newServer(c), ReadHeaderTimeout: 10 * time.Second,
		// Event streams end when the console stops.
		BaseContext: func(net.Listener) context.Context { return ctx }}
	fmt.Printf("console: http://%s/ (database in %s; Ctrl-C stops)\n", ln.Addr(), dir)
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
