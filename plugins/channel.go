package plugins

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crmkit/crmkit/plugins/internal/wire"
	"github.com/crmkit/crmkit/plugins/proto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// channel is the host's end of a plugin's before-hook channel (protocol
// version 3, see plugins/proto): connections to a socket of the plugin's,
// with mutual TLS on one-time certificates exchanged over the gRPC
// connection (itself mutual TLS), each carrying one call at a time.
//
// A gRPC unary call costs several times a socket round trip in its own
// machinery (streams, HTTP/2 framing, goroutine hand-offs on both sides);
// on the channel a call is one write and one read on the calling
// goroutine, and the plugin answers on the goroutine that read it. Calls
// at once take connections of their own: an idle one, or a new one.
type channel struct {
	network, addr string
	tls           *tls.Config
	max           int // the longest result accepted (Config.MaxMessageBytes)
	ids           atomic.Uint64

	mu     sync.Mutex
	idle   []*chanConn
	closed bool
}

// chanConn is one connection of a channel, with its buffers.
type chanConn struct {
	c       *tls.Conn
	r       *bufio.Reader
	in, out []byte
}

// maxIdleConns is how many idle connections a channel keeps: as many
// writes at once as that reuse theirs, more dial (a TLS handshake each).
const maxIdleConns = 16

// errChannelClosed is a call on a channel of an instance taken down.
var errChannelClosed = errors.New("plugins: the before-hook channel is closed")

// openChannel asks the plugin to open its before-hook channel and dials
// its first connection.
func openChannel(ctx context.Context, inst *instance, maxBytes int) (*channel, error) {
	id, err := wire.NewIdentity()
	if err != nil {
		return nil, err
	}
	reply, err := inst.remote.OpenChannel(ctx, &proto.ChannelRequest{HostCertificate: id.DER})
	if err != nil {
		return nil, err
	}
	if reply.Network != "unix" && reply.Network != "tcp" {
		return nil, fmt.Errorf("%w: channel on network %q", ErrMalformed, reply.Network)
	}
	cfg, err := wire.ClientConfig(id, reply.PluginCertificate)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	ch := &channel{network: reply.Network, addr: reply.Address, tls: cfg, max: maxBytes}
	cc, err := ch.dial(ctx)
	if err != nil {
		return nil, err
	}
	ch.put(cc)
	return ch, nil
}

func (ch *channel) dial(ctx context.Context) (*chanConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, ch.network, ch.addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(c, ch.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return &chanConn{c: tc, r: bufio.NewReaderSize(tc, 16<<10)}, nil
}

// get returns an idle connection, or dials one.
func (ch *channel) get(ctx context.Context) (*chanConn, error) {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return nil, errChannelClosed
	}
	if n := len(ch.idle); n > 0 {
		cc := ch.idle[n-1]
		ch.idle = ch.idle[:n-1]
		ch.mu.Unlock()
		return cc, nil
	}
	ch.mu.Unlock()
	return ch.dial(ctx)
}

// put keeps a connection for the next call, or closes it.
func (ch *channel) put(cc *chanConn) {
	ch.mu.Lock()
	if ch.closed || len(ch.idle) >= maxIdleConns {
		ch.mu.Unlock()
		cc.c.Close()
		return
	}
	ch.idle = append(ch.idle, cc)
	ch.mu.Unlock()
}

// close closes the idle connections; those of calls under way close as
// their calls end.
func (ch *channel) close() {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.closed = true
	for _, cc := range ch.idle {
		cc.c.Close()
	}
	ch.idle = nil
}

// longAgo is a deadline that has passed: setting it ends a blocked read.
var longAgo = time.Unix(1, 0)

// call sends one before-hook call and reads its result, by deadline and
// while ctx lasts. A connection whose call failed is closed: a result may
// still be on its way.
func (ch *channel) call(ctx context.Context, deadline time.Time, req *proto.BeforeRequest) (*proto.ChannelResult, error) {
	cc, err := ch.get(ctx)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if ok {
			ch.put(cc)
		} else {
			cc.c.Close()
		}
	}()
	if err := cc.c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { _ = cc.c.SetDeadline(longAgo) })
		defer func() {
			if !stop() {
				ok = false // the deadline may be set after the connection is reused
			}
		}()
	}
	id := ch.ids.Add(1)
	call := proto.ChannelCall{Id: id, Request: req, TimeoutNanos: int64(time.Until(deadline))}
	if err := wire.Write(cc.c, &cc.out, &call); err != nil {
		return nil, err
	}
	res := new(proto.ChannelResult)
	if err := wire.Read(cc.r, &cc.in, ch.max, res); err != nil {
		return nil, err
	}
	if res.Id != id {
		return nil, fmt.Errorf("%w: result %d for call %d", wire.ErrMalformed, res.Id, id)
	}
	ok = true
	return res, nil
}

// channelBefore runs a before-hook call on the instance's channel, within
// the plugin's deadline, and returns the response or the failure's cause
// (one of the Err conditions).
func (p *proc) channelBefore(ctx context.Context, ch *channel, req *proto.BeforeRequest) (*proto.BeforeResponse, error) {
	deadline := time.Now().Add(p.spec.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	res, err := ch.call(ctx, deadline, req)
	if err != nil {
		return nil, p.channelCause(ctx, err)
	}
	if res.Code != uint32(codes.OK) {
		return nil, p.callCause(status.Error(codes.Code(res.Code), res.Message))
	}
	if res.Response == nil {
		return nil, fmt.Errorf("%w: a result without a response", ErrMalformed)
	}
	return res.Response, nil
}

// channelCause maps a failed channel call to the matching condition, as
// callCause does a failed gRPC call.
func (p *proc) channelCause(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, wire.ErrTooLarge):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.Is(err, wire.ErrMalformed):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w: no answer within %v", ErrTimeout, p.spec.Timeout)
	}
	p.suspect()
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}
