package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"github.com/crmkit/crmkit/plugins/internal/wire"
)

// echo runs TESTPLUGIN_ECHO, the benchmarks' baseline: not a plugin but
// a raw length-prefixed echo over mutual TLS on a Unix socket, with the
// before-hook channel's certificates and frames. TESTPLUGIN_ECHO is the
// client's certificate (base64 DER); the process prints "<socket path>
// <its certificate, base64 DER>" on stdout, echoes every frame of every
// connection, and exits when its stdin closes.
func echo(hostCert string) {
	peer, err := base64.StdEncoding.DecodeString(hostCert)
	if err != nil {
		fail(err)
	}
	id, err := wire.NewIdentity()
	if err != nil {
		fail(err)
	}
	cfg, err := wire.ServerConfig(id, peer)
	if err != nil {
		fail(err)
	}
	dir, err := os.MkdirTemp("", "echo")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		fail(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go echoConn(tls.Server(c, cfg))
		}
	}()
	fmt.Println(path, base64.StdEncoding.EncodeToString(id.DER))
	_, _ = io.Copy(io.Discard, os.Stdin)
	l.Close()
}

// echoConn sends every frame of c back.
func echoConn(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	var in, out []byte
	for {
		b, err := wire.ReadFrame(r, &in, 1<<20)
		if err != nil {
			return
		}
		if err := wire.WriteFrame(c, &out, b); err != nil {
			return
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "echo:", err)
	os.Exit(1)
}
