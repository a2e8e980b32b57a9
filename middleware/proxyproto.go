package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/pires/go-proxyproto"
)

// ProxyHeaderTimeout bounds how long a connection has to deliver its PROXY
// protocol header. A load balancer sends it with its first bytes; anything
// slower is a client holding a goroutine.
const ProxyHeaderTimeout = 5 * time.Second

// ProxyProtocolListener wraps inner (a TCP listener) so that connections
// from a load balancer in trusted (addresses and CIDR prefixes) carry the
// real client address in a PROXY protocol v1 or v2 header, which becomes
// the connection's RemoteAddr. Put it directly on the TCP listener, under
// the capture listener:
//
//	TCP → ProxyProtocolListener → fingerprints.NewListener → tls → http
//
// # Policy
//
// A peer in trusted must send the header (go-proxyproto's REQUIRE): the
// PROXY protocol specification forbids guessing whether one is present,
// and a balancer that stopped sending it would otherwise make every client
// look like the balancer. Its connection fails on the first read if the
// header is missing.
//
// Any other peer is a direct client. Its connection is served with its own
// address, and a PROXY header from it is refused (REJECT): the connection
// fails instead of letting a client name its own address.
//
// The header must arrive within [ProxyHeaderTimeout]. Failures are logged
// once per connection at Warn (nil logger: discard); the address is
// logged for a trusted peer (infrastructure) and left out for others.
func ProxyProtocolListener(inner net.Listener, trusted []string, logger *slog.Logger) (net.Listener, error) {
	set, err := parseTrusted("trusted", trusted)
	if err != nil {
		return nil, err
	}
	if len(set) == 0 {
		return nil, invalid("trusted", "no trusted load balancer: without one no PROXY header may be believed")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &proxyListener{logger: logger}
	l.Listener = &proxyproto.Listener{
		Listener:          inner,
		ReadHeaderTimeout: ProxyHeaderTimeout,
		ConnPolicy: func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			a := addrOf(o.Upstream)
			if !a.IsValid() {
				// Not a TCP peer we can place: drop only this connection
				// (wrapping ErrInvalidUpstream keeps Accept going).
				return proxyproto.REJECT, fmt.Errorf("%w: peer %v", proxyproto.ErrInvalidUpstream, o.Upstream)
			}
			if set.contains(a) {
				return proxyproto.REQUIRE, nil
			}
			return proxyproto.REJECT, nil
		},
	}
	l.trusted = set
	return l, nil
}

// proxyListener is go-proxyproto's Listener with per-connection logging of
// header failures.
type proxyListener struct {
	*proxyproto.Listener
	trusted trustedSet
	logger  *slog.Logger
}

var _ net.Listener = (*proxyListener)(nil)

func (l *proxyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	pc, ok := c.(*proxyproto.Conn)
	if !ok {
		return c, nil
	}
	return &proxyConn{Conn: pc, l: l}, nil
}

// proxyConn logs the first PROXY header failure of its connection.
type proxyConn struct {
	*proxyproto.Conn
	l      *proxyListener
	logged atomic.Bool
}

// NetConn returns the go-proxyproto connection, for unwrapping.
func (c *proxyConn) NetConn() net.Conn { return c.Conn }

func (c *proxyConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && c.logged.CompareAndSwap(false, true) {
		c.logFailure(err)
	}
	return n, err
}

func (c *proxyConn) logFailure(err error) {
	peer := addrOf(c.Raw().RemoteAddr())
	trusted := c.l.trusted.contains(peer)
	var msg string
	switch {
	case errors.Is(err, proxyproto.ErrSuperfluousProxyHeader):
		msg = "middleware: PROXY header from an untrusted peer refused"
	case errors.Is(err, proxyproto.ErrNoProxyProtocol):
		msg = "middleware: trusted load balancer sent no PROXY header; connection refused"
	case isProxyHeaderError(err):
		msg = "middleware: invalid PROXY header; connection refused"
	default:
		return // an ordinary read error (EOF, reset) after the header
	}
	attrs := []any{"err", err}
	if trusted {
		attrs = append(attrs, "peer", peer.String())
	}
	c.l.logger.Warn(msg, attrs...)
}

// isProxyHeaderError reports errors go-proxyproto returns for a header it
// could not parse or validate.
func isProxyHeaderError(err error) bool {
	for _, e := range []error{
		proxyproto.ErrCantReadVersion1Header, proxyproto.ErrVersion1HeaderTooLong,
		proxyproto.ErrLineMustEndWithCrlf, proxyproto.ErrCantReadProtocolVersionAndCommand,
		proxyproto.ErrCantReadAddressFamilyAndProtocol, proxyproto.ErrCantReadLength,
		proxyproto.ErrCantResolveSourceUnixAddress, proxyproto.ErrCantResolveDestinationUnixAddress,
		proxyproto.ErrNoProxyProtocol, proxyproto.ErrUnknownProxyProtocolVersion,
		proxyproto.ErrUnsupportedProtocolVersionAndCommand, proxyproto.ErrUnsupportedAddressFamilyAndProtocol,
		proxyproto.ErrInvalidLength, proxyproto.ErrInvalidAddress, proxyproto.ErrInvalidPortNumber,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// addrOf extracts the IP of a net.Addr (TCP or UDP; anything else gives
// the zero Addr).
func addrOf(a net.Addr) netip.Addr {
	switch v := a.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(v.IP)
		return ip.Unmap()
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(v.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
