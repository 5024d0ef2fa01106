package plugins

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin/runner"
)

// child is one plugin process. The host starts and reaps it itself, as
// go-plugin's runner: from the executable it verified, with the
// environment configured for the plugin and the null device as stdin, in
// a process group of its own (and, on Linux, a PID namespace of its own
// where the system allows one), so that stopping it stops everything it
// started. It reads the plugin's output itself: go-plugin is handed the
// handshake line and nothing else, so that it never waits on the pipes,
// which a process the plugin started may hold open, and every other line
// goes to the plugin's log, throttled before it is parsed.
type child struct {
	path string   // the configured path: argv[0], and the name in messages
	args []string // the configured arguments
	env  []string // set by go-plugin's runner func, before Start
	exe  *os.File // the verified executable, open
	as   *runAs   // the user it runs as, nil for the host's
	sink *logSink

	proc      *os.Process
	contained bool     // in a PID namespace of its own
	out, errs *os.File // the read ends of its stdout and stderr
	hs        *io.PipeReader
	hsw       *io.PipeWriter
	exeOnce   sync.Once

	mu      sync.Mutex // held while the process is started, signalled or reaped
	stopped bool       // killed: not to be started
	reaped  bool
	err     error // how it ended, once done is closed
	done    chan struct{}
}

var _ runner.Runner = (*child)(nil)

// drainTime is how long the host keeps reading a plugin's output after
// the plugin exited: a process that escaped its group may hold the pipes.
const drainTime = 500 * time.Millisecond

// errStopped is Start's answer for a child killed before it started.
var errStopped = errors.New("plugins: the plugin was stopped before it started")

func newChild(p *proc, exe *os.File, as *runAs) *child {
	hs, hsw := io.Pipe()
	return &child{
		path: p.spec.Path, args: p.spec.Args, exe: exe, as: as, sink: p.sink,
		hs: hs, hsw: hsw, done: make(chan struct{}),
	}
}

// closeExe closes the verified executable once the process has it (or
// will never run).
func (c *child) closeExe() { c.exeOnce.Do(func() { c.exe.Close() }) }

// Start starts the process.
func (c *child) Start(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.closeExe()
	if c.stopped {
		return errStopped
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer null.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	files := []*os.File{null, outW, errW}
	path := c.path
	if fd, ok := execPath(); ok {
		path, files = fd, append(files, c.exe)
	}
	argv := append([]string{c.path}, c.args...)
	c.proc, c.contained, err = startProcess(path, argv, c.env, files, c.as)
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	c.out, c.errs = outR, errR
	go c.readStdout()
	go func() {
		c.sink.drain(errR)
		errR.Close()
	}()
	go c.wait()
	return nil
}

// readStdout hands the first line of the plugin's stdout, its handshake,
// to go-plugin, and the rest to the plugin's log.
func (c *child) readStdout() {
	defer c.out.Close()
	r := bufio.NewReaderSize(c.out, maxLine)
	line, err := r.ReadSlice('\n')
	if err == nil {
		_, _ = c.hsw.Write(line)
	}
	c.hsw.Close()
	if err == nil || errors.Is(err, bufio.ErrBufferFull) {
		c.sink.drain(r)
	}
}

// wait reaps the process when it exits, stopping what it left behind.
func (c *child) wait() {
	var st *os.ProcessState
	var err error
	if awaitExit(c.proc) {
		// Exited, not yet reaped: its process group is still its own.
		c.mu.Lock()
		stopGroup(c.proc)
		st, err = c.proc.Wait()
		c.reaped = true
		c.mu.Unlock()
	} else {
		st, err = c.proc.Wait()
		c.mu.Lock()
		stopGroup(c.proc)
		c.reaped = true
		c.mu.Unlock()
	}
	if err == nil && !st.Success() {
		err = errors.New(st.String())
	}
	c.err = err
	deadline := time.Now().Add(drainTime)
	_ = c.out.SetReadDeadline(deadline)
	_ = c.errs.SetReadDeadline(deadline)
	c.hsw.Close()
	close(c.done)
}

// kill stops the process and everything in its group (its namespace,
// where it has one) now, or keeps it from starting.
func (c *child) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.proc == nil || c.reaped {
		return
	}
	stopGroup(c.proc)
	_ = c.proc.Kill()
}

// exited returns why the process ended; call after done is closed.
func (c *child) exited() string {
	if c.err != nil {
		return "process exited: " + c.err.Error()
	}
	return "process exited"
}

// Wait waits for the process to end.
func (c *child) Wait(ctx context.Context) error {
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kill stops the process and everything it started.
func (c *child) Kill(context.Context) error {
	c.kill()
	return nil
}

// Stdout is the handshake line, for go-plugin.
func (c *child) Stdout() io.ReadCloser { return c.hs }

// Stderr is empty: the host reads the plugin's stderr itself.
func (c *child) Stderr() io.ReadCloser { return io.NopCloser(strings.NewReader("")) }

// Name is the configured path.
func (c *child) Name() string { return c.path }

// ID is the process ID, or "" before the process started.
func (c *child) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return ""
	}
	return strconv.Itoa(c.proc.Pid)
}

// Diagnose explains a failed handshake.
func (c *child) Diagnose(context.Context) string {
	return fmt.Sprintf("%s did not print go-plugin's handshake line first on its stdout (see its log)", c.path)
}

// PluginToHost and HostToPlugin keep addresses as they are: the plugin
// shares the host's network and file system.
func (c *child) PluginToHost(network, addr string) (string, string, error) { return network, addr, nil }

// HostToPlugin keeps an address as it is.
func (c *child) HostToPlugin(network, addr string) (string, string, error) { return network, addr, nil }
