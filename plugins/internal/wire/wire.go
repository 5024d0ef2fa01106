// Package wire is what the host (package plugins) and the plugin side
// (plugins/sdk) share of the before-hook channel of protocol version 3
// (see plugins/proto): one-time certificates for its mutual TLS, and its
// frames, a 4-byte big-endian length followed by a protobuf message.
//
// It imports only the standard library and the protobuf runtime.
package wire

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"google.golang.org/protobuf/proto"
)

// serverName is the name in every one-time certificate, and the name the
// client side checks.
const serverName = "localhost"

// ErrTooLarge is a frame longer than the reader's limit. Its payload is
// left unread: the connection is unusable.
var ErrTooLarge = errors.New("wire: frame too large")

// ErrMalformed is a frame whose payload is not the message expected.
var ErrMalformed = errors.New("wire: malformed frame")

// Identity is a one-time certificate and its key.
type Identity struct {
	Cert tls.Certificate
	// DER is the certificate, as the other side pins it.
	DER []byte
}

// NewIdentity generates a self-signed ECDSA P-256 certificate valid for a
// day, the way go-plugin's AutoMTLS does: each side pins the other's.
func NewIdentity() (*Identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: serverName, Organization: []string{"crmkit plugin channel"}},
		DNSNames:              []string{serverName},
		NotBefore:             now.Add(-30 * time.Second),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &Identity{Cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, DER: der}, nil
}

// pool returns a pool holding only the peer's certificate.
func pool(peerDER []byte) (*x509.CertPool, error) {
	c, err := x509.ParseCertificate(peerDER)
	if err != nil {
		return nil, fmt.Errorf("wire: peer certificate: %w", err)
	}
	p := x509.NewCertPool()
	p.AddCert(c)
	return p, nil
}

// ServerConfig is the TLS configuration of the side that listens (the
// plugin): it presents id and accepts only clients presenting peerDER.
func ServerConfig(id *Identity, peerDER []byte) (*tls.Config, error) {
	p, err := pool(peerDER)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{id.Cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p,
		MinVersion:   tls.VersionTLS13,
	}, nil
}

// ClientConfig is the TLS configuration of the side that dials (the
// host): it presents id and accepts only a server presenting peerDER.
func ClientConfig(id *Identity, peerDER []byte) (*tls.Config, error) {
	p, err := pool(peerDER)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{id.Cert},
		RootCAs:      p,
		ServerName:   serverName,
		MinVersion:   tls.VersionTLS13,
	}, nil
}

// Append appends m's frame to buf.
func Append(buf []byte, m proto.Message) ([]byte, error) {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0)
	buf, err := proto.MarshalOptions{}.MarshalAppend(buf, m)
	if err != nil {
		return buf[:start], err
	}
	binary.BigEndian.PutUint32(buf[start:], uint32(len(buf)-start-4))
	return buf, nil
}

// Write writes m's frame to w in one write, reusing *buf.
func Write(w io.Writer, buf *[]byte, m proto.Message) error {
	b, err := Append((*buf)[:0], m)
	if err != nil {
		return err
	}
	*buf = b
	_, err = w.Write(b)
	return err
}

// Read reads one frame from r into m, refusing frames longer than max
// bytes (ErrTooLarge), reusing *buf.
func Read(r *bufio.Reader, buf *[]byte, max int, m proto.Message) error {
	b, err := ReadFrame(r, buf, max)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// ReadFrame reads one frame's payload from r into *buf (grown as needed)
// and returns it, refusing frames longer than max bytes (ErrTooLarge).
func ReadFrame(r *bufio.Reader, buf *[]byte, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n > max {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, n, max)
	}
	if cap(*buf) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// WriteFrame writes payload as one frame to w in one write, reusing *buf.
func WriteFrame(w io.Writer, buf *[]byte, payload []byte) error {
	b := append((*buf)[:0], 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	*buf = b
	_, err := w.Write(b)
	return err
}
