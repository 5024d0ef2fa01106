package main

// The test plugin's hostile behaviours, selected by env vars:
//
//   - TESTPLUGIN_SPAWN=<token> starts, before serving, a child sharing its
//     stdout and stderr and a detached one (its own session, where the
//     system has them), both sleeping for an hour, with argv[0]
//     "<token>-child" and "<token>-detached" so the tests find them.
//   - TESTPLUGIN_STALL=1 prints a handshake line and then never completes
//     the TLS handshake of any connection.
//   - TESTPLUGIN_ENV=1 records, before serving, the names of its
//     environment variables and whether its stdin is the null device (and
//     whether it can read the file TESTPLUGIN_READ names, if set).
//   - TESTPLUGIN_ESCALATE=<file> declares no capabilities until <file>
//     exists, and "write:*" once it does; the "crash" deal creates it. A
//     contact created then has it create a company through the host.
//   - TESTPLUGIN_TIMELINE=1 reads a contact's timeline on each of its
//     updates and records the entries.
//   - TESTPLUGIN_FLOOD=2 writes lines to stdout and stderr as fast as it
//     can once it is serving.
//   - TESTPLUGIN_FORGE=1 writes log lines forging the host's and another
//     plugin's before serving; the "forge" deal writes more to stdout,
//     stderr and the go-plugin stdio stream.
//   - TESTPLUGIN_SLOW=<duration> has the event handler record
//     "start <workspace> <seq>", sleep that long without heeding its
//     context, and record "end <workspace> <seq>": with a duration longer
//     than the host's delivery timeout, its runs outlast the calls that
//     started them.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crmkit/crmkit/plugins/sdk"
)

// hostile runs the behaviours that start before serving.
func hostile() {
	if os.Getenv("TESTPLUGIN_ENV") == "1" {
		recordEnv()
	}
	if token := os.Getenv("TESTPLUGIN_SPAWN"); token != "" {
		spawn(token)
	}
	if os.Getenv("TESTPLUGIN_FORGE") == "1" {
		forgeStderr()
	}
	if os.Getenv("TESTPLUGIN_STALL") == "1" {
		stallTLS()
	}
}

// spawn starts the children of TESTPLUGIN_SPAWN.
func spawn(token string) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		sleep = "/bin/sleep"
	}
	child := exec.Command(sleep, "3600")
	child.Args[0] = token + "-child"
	child.Stdout, child.Stderr = os.Stdout, os.Stderr
	if err := child.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "spawn:", err)
		os.Exit(1)
	}
	detached := exec.Command(sleep, "3600")
	detached.Args[0] = token + "-detached"
	detached.Stderr = os.Stderr
	detach(detached)
	if err := detached.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "spawn:", err)
		os.Exit(1)
	}
}

// stallTLS prints a handshake line for a listener that accepts
// connections and never answers on them.
func stallTLS() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(1)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	fmt.Printf("1|2|tcp|%s|grpc|%s\n", l.Addr(), base64.RawStdEncoding.EncodeToString(der))
	var held []net.Conn
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(1)
		}
		held = append(held, c)
	}
}

// recordEnv records the names of the environment variables, whether the
// environment holds a secret of the test host, and whether stdin is the
// null device.
func recordEnv() {
	var names []string
	secret := false
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		names = append(names, k)
		secret = secret || strings.Contains(v, "hunter2")
	}
	sort.Strings(names)
	in, err1 := os.Stdin.Stat()
	null, err2 := os.Stat(os.DevNull)
	devnull := err1 == nil && err2 == nil && os.SameFile(in, null)
	line := fmt.Sprintf("env %s secret=%t stdin-devnull=%t", strings.Join(names, ","), secret, devnull)
	if path := os.Getenv("TESTPLUGIN_READ"); path != "" {
		_, err := os.ReadFile(path)
		line += fmt.Sprintf(" read=%t", err == nil)
	}
	line += "\n"
	f, err := os.OpenFile(os.Getenv("TESTPLUGIN_OUT"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		os.Exit(1)
	}
	_, _ = f.WriteString(line)
	_ = f.Close()
}

// capabilities are the manifest's capabilities: see TESTPLUGIN_ESCALATE.
func (p testPlugin) capabilities() []string {
	if p.escalate == "" {
		return []string{"read:contact", "write:contact", "read:deal"}
	}
	if _, err := os.Stat(p.escalate); err == nil {
		return []string{"write:*"}
	}
	return nil
}

// readTimeline reads the timeline of an event's contact and reports its
// entries as JSON.
func readTimeline(ctx context.Context, ev *sdk.Event, h *sdk.Host) string {
	entries, _, err := h.Timeline(ctx, "contact", ev.RecordID, "", 50)
	if err != nil {
		return "timeline-error=" + err.Error()
	}
	b, _ := json.Marshal(entries)
	return "timeline=" + string(b)
}

var floodOnce sync.Once

// startFlood starts TESTPLUGIN_FLOOD=2 once the plugin serves (the host
// calls Manifest after the handshake).
func startFlood() {
	if os.Getenv("TESTPLUGIN_FLOOD") != "2" {
		return
	}
	floodOnce.Do(func() {
		line := []byte(`{"@level":"info","@message":"flood","i":1}` + "\n")
		buf := bytes.Repeat(line, (64<<10)/len(line))
		for _, fd := range []uintptr{1, 2} {
			f := os.NewFile(fd, "out")
			go func() {
				for {
					if _, err := f.Write(buf); err != nil {
						return
					}
				}
			}()
		}
	})
}

// forged are log lines pretending to come from the host and from another
// plugin, dealguard.
var forged = []string{
	`{"@level":"error","@message":"plugins: plugin isolated: it cannot be restarted","plugin":"dealguard","err":"forged"}`,
	`{"@level":"error","@message":"fine\nlevel=ERROR msg=\"plugins: forged\" plugin=dealguard","plugin ":"dealguard"}`,
	`level=ERROR msg="plugins: forged raw line" plugin=dealguard` + "\r" + `level=ERROR plugin=dealguard`,
}

// forgeStderr writes the forged lines to stderr before serving.
func forgeStderr() {
	for _, l := range forged {
		fmt.Fprintln(os.Stderr, l)
	}
}

// forge writes the forged lines to stdout and stderr and to the go-plugin
// stdio stream (os.Stderr while serving).
func forge() {
	for _, fd := range []uintptr{1, 2} {
		f := os.NewFile(fd, "out")
		for _, l := range forged {
			fmt.Fprintln(f, l)
		}
	}
	for _, l := range forged {
		fmt.Fprintln(os.Stderr, l)
	}
}

// handleSlowly is the event handler of TESTPLUGIN_SLOW.
func (p testPlugin) handleSlowly(ev *sdk.Event) error {
	record := func(what string) error {
		f, err := os.OpenFile(p.out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintf(f, "%s %s %d\n", what, ev.Workspace, ev.Seq)
		return err
	}
	if err := record("start"); err != nil {
		return err
	}
	time.Sleep(p.slow)
	return record("end")
}
