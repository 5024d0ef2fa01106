package wire

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/crmkit/crmkit/plugins/proto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	var out []byte
	call := &proto.ChannelCall{Id: 7, Request: &proto.BeforeRequest{Kind: "deal", Record: []byte(`{"name":"x"}`)}, TimeoutNanos: 5}
	require.NoError(t, Write(&buf, &out, call))
	require.NoError(t, WriteFrame(&buf, &out, []byte("raw")))
	require.NoError(t, Write(&buf, &out, call))

	r := bufio.NewReader(&buf)
	var in []byte
	var got proto.ChannelCall
	require.NoError(t, Read(r, &in, 1<<10, &got))
	assert.Equal(t, uint64(7), got.Id)
	assert.Equal(t, `{"name":"x"}`, string(got.Request.Record))
	b, err := ReadFrame(r, &in, 1<<10)
	require.NoError(t, err)
	assert.Equal(t, "raw", string(b))
	err = Read(r, &in, 4, &got)
	require.ErrorIs(t, err, ErrTooLarge, "a frame past the limit")
	_, err = ReadFrame(r, &in, 1<<10)
	assert.Error(t, err)
}

func TestTruncatedAndMalformed(t *testing.T) {
	var in []byte
	_, err := ReadFrame(bufio.NewReader(bytes.NewReader([]byte{0, 0, 0, 9, 'a'})), &in, 100)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	_, err = ReadFrame(bufio.NewReader(bytes.NewReader(nil)), &in, 100)
	require.ErrorIs(t, err, io.EOF, "a clean end between frames")
	var m proto.ChannelResult
	err = Read(bufio.NewReader(bytes.NewReader([]byte{0, 0, 0, 2, 0xff, 0xff})), &in, 100, &m)
	require.ErrorIs(t, err, ErrMalformed)
}

// Each side accepts the other's one-time certificate and no other.
func TestMutualTLS(t *testing.T) {
	server, err := NewIdentity()
	require.NoError(t, err)
	client, err := NewIdentity()
	require.NoError(t, err)
	stranger, err := NewIdentity()
	require.NoError(t, err)
	scfg, err := ServerConfig(server, client.DER)
	require.NoError(t, err)

	// handshake connects over a real socket, the client writes a byte
	// and the server reads it: each side's error says whether it accepted
	// the other.
	handshake := func(ccfg *tls.Config) (clientErr, serverErr error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		done := make(chan error, 1)
		go func() {
			c, err := l.Accept()
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_, err = tls.Server(c, scfg).Read(make([]byte, 1))
			done <- err
		}()
		c, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		tc := tls.Client(c, ccfg)
		if clientErr = tc.Handshake(); clientErr == nil {
			_, clientErr = tc.Write([]byte("x"))
		}
		return clientErr, <-done
	}
	ccfg, err := ClientConfig(client, server.DER)
	require.NoError(t, err)
	_, serr := handshake(ccfg)
	assert.NoError(t, serr, "the pinned client is accepted")

	ccfg, err = ClientConfig(stranger, server.DER)
	require.NoError(t, err)
	_, serr = handshake(ccfg)
	assert.Error(t, serr, "another client certificate is refused")

	ccfg, err = ClientConfig(client, stranger.DER)
	require.NoError(t, err)
	cerr, _ := handshake(ccfg)
	assert.Error(t, cerr, "another server certificate is refused")

	_, err = ServerConfig(server, []byte("not a certificate"))
	assert.Error(t, err)
}

func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	var out []byte
	_ = Write(&buf, &out, &proto.ChannelResult{Id: 1, Response: &proto.BeforeResponse{Veto: true, Reason: "no"}})
	f.Add(buf.Bytes())
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var in []byte
		var m proto.ChannelResult
		_ = Read(bufio.NewReader(bytes.NewReader(b)), &in, 1<<16, &m)
	})
}
