package fingerprints

import (
	"context"
	"errors"
	"net"
)

// ErrNoCapture is returned by [ClientHelloFromContext] when the context
// carries no capturing [Conn]: the server was not wired with [Listener]
// and [ConnContext], or the request did not come through such a listener.
var ErrNoCapture = errors.New("fingerprints: no ClientHello capture for this connection")

// connKey is the context key for the *Conn; unexported, so that no other
// package can read or overwrite the value.
type connKey struct{}

// maxUnwrap bounds the NetConn chain ConnContext follows, so that a
// wrapper whose NetConn returns itself (or a cycle) cannot loop forever.
const maxUnwrap = 16

// ConnContext is meant for http.Server.ConnContext. It looks for the
// capturing *[Conn] under c, unwrapping *tls.Conn and any other wrapper
// with a NetConn() net.Conn method, and returns ctx carrying it. The
// request contexts of that connection, HTTP/1.1 and HTTP/2 alike, derive
// from the result. If there is no *Conn, ctx is returned unchanged.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	for range maxUnwrap {
		switch v := c.(type) {
		case *Conn:
			return context.WithValue(ctx, connKey{}, v)
		case interface{ NetConn() net.Conn }:
			next := v.NetConn()
			if next == c {
				return ctx
			}
			c = next
		default:
			return ctx
		}
	}
	return ctx
}

// ConnFromContext returns the capturing *[Conn] that [ConnContext] stored
// in ctx.
func ConnFromContext(ctx context.Context) (*Conn, bool) {
	c, ok := ctx.Value(connKey{}).(*Conn)
	return c, ok && c != nil
}

// ClientHelloFromContext returns the ClientHello captured on the request's
// connection, or the capture's error (see [Conn.ClientHello]), or
// [ErrNoCapture] when ctx carries no capturing connection.
func ClientHelloFromContext(ctx context.Context) (*ClientHello, error) {
	c, ok := ConnFromContext(ctx)
	if !ok {
		return nil, ErrNoCapture
	}
	return c.ClientHello()
}
