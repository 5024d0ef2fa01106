package postgres_test

import (
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// proxy is a TCP proxy in front of the test server that can cut every
// connection passing through it, as a failing network would, while the
// server itself keeps running.
type proxy struct {
	ln      net.Listener
	network string // of the server: "tcp" or "unix"
	target  string

	mu    sync.Mutex
	pairs [][2]net.Conn
}

// startProxy starts a proxy to the server dsn names, stopped when the test
// ends.
func startProxy(t testing.TB, dsn string) *proxy {
	t.Helper()
	cfg, err := pgconn.ParseConfig(dsn)
	require.NoError(t, err)
	p := &proxy{network: "tcp", target: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))}
	if strings.HasPrefix(cfg.Host, "/") {
		p.network, p.target = "unix", cfg.Host+"/.s.PGSQL."+strconv.Itoa(int(cfg.Port))
	}
	p.ln, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go p.serve()
	t.Cleanup(func() {
		_ = p.ln.Close()
		p.cut()
	})
	return p
}

func (p *proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial(p.network, p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		p.pairs = append(p.pairs, [2]net.Conn{client, server})
		p.mu.Unlock()
		go pipe(client, server)
		go pipe(server, client)
	}
}

// pipe copies from one side to the other and closes both when either ends.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}

// cut closes every connection through the proxy, both sides, and returns
// how many there were. New connections are still accepted.
func (p *proxy) cut() int {
	p.mu.Lock()
	pairs := p.pairs
	p.pairs = nil
	p.mu.Unlock()
	for _, pair := range pairs {
		_ = pair[0].Close()
		_ = pair[1].Close()
	}
	return len(pairs)
}

// dsn returns dsn with its host and port replaced by the proxy's.
func (p *proxy) dsn(t testing.TB, dsn string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(p.ln.Addr().String())
	require.NoError(t, err)
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		require.NoError(t, err)
		u.Host = net.JoinHostPort(host, port)
		q := u.Query()
		q.Del("host")
		q.Del("port")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " host=" + host + " port=" + port
}
