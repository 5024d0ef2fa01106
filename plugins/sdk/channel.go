package sdk

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/crmkit/crmkit/plugins/internal/wire"
	"github.com/crmkit/crmkit/plugins/proto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxCallBytes bounds a before-hook call the plugin reads from the
// channel: far above any record the host sends, it only keeps a
// corrupted length from allocating without end.
const maxCallBytes = 64 << 20

// handshakeTimeout bounds the TLS handshake of a channel connection.
const handshakeTimeout = 10 * time.Second

// OpenChannel serves the before-hook channel of protocol version 3 (see
// plugins/proto): a listener from go-plugin's broker (a socket in the
// same place, with the same permissions, as go-plugin's own), behind
// mutual TLS with a one-time certificate that accepts only the host's.
// Each connection carries one call at a time, served on a goroutine of
// its own: the host opens more connections for calls at once.
func (s *server) OpenChannel(ctx context.Context, req *proto.ChannelRequest) (*proto.ChannelReply, error) {
	if s.version < 3 {
		return nil, status.Errorf(codes.Unimplemented, "sdk: the before-hook channel needs protocol version 3, not %d", s.version)
	}
	id, err := wire.NewIdentity()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "sdk: channel certificate: %v", err)
	}
	cfg, err := wire.ServerConfig(id, req.HostCertificate)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "sdk: %v", err)
	}
	l, err := s.broker.Accept(s.broker.NextId())
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "sdk: channel listener: %v", err)
	}
	if n := l.Addr().Network(); n != "unix" && n != "tcp" {
		// A broker multiplexed over the gRPC connection has no socket
		// to offer: the host calls Before instead.
		l.Close()
		return nil, status.Errorf(codes.Unimplemented, "sdk: no before-hook channel over a %q listener", n)
	}
	s.mu.Lock()
	if s.channel != nil {
		s.channel.Close() // the host opens one channel per process; a second replaces the first
	}
	s.channel = l
	s.mu.Unlock()
	go s.serveChannel(l, cfg)
	return &proto.ChannelReply{Network: l.Addr().Network(), Address: l.Addr().String(), PluginCertificate: id.DER}, nil
}

// serveChannel accepts the host's connections until l is closed.
func (s *server) serveChannel(l net.Listener, cfg *tls.Config) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go s.serveConn(tls.Server(c, cfg))
	}
}

// serveConn answers the calls of one connection, one at a time, until the
// host closes it.
func (s *server) serveConn(c *tls.Conn) {
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	err := c.HandshakeContext(ctx)
	cancel()
	if err != nil {
		return
	}
	r := bufio.NewReader(c)
	var in, out []byte
	for {
		var call proto.ChannelCall
		if err := wire.Read(r, &in, maxCallBytes, &call); err != nil {
			return
		}
		if err := wire.Write(c, &out, s.channelCall(&call)); err != nil {
			return
		}
	}
}

// channelCall runs one before-hook call under the host's deadline, as
// Before does for a gRPC call.
func (s *server) channelCall(call *proto.ChannelCall) *proto.ChannelResult {
	ctx := context.Background()
	if call.TimeoutNanos > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(call.TimeoutNanos))
		defer cancel()
	}
	res := &proto.ChannelResult{Id: call.Id}
	if call.Request == nil {
		res.Code, res.Message = uint32(codes.InvalidArgument), "sdk: a channel call without a request"
		return res
	}
	resp, err := s.Before(ctx, call.Request)
	if err != nil {
		st := status.Convert(err)
		res.Code, res.Message = uint32(st.Code()), st.Message()
		if st.Code() == codes.OK {
			res.Code = uint32(codes.Unknown)
		}
		return res
	}
	res.Response = resp
	return res
}
