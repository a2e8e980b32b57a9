package middleware

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// Verdict is what the middleware knows about the connection a request
// came on: the classifier's decision, the fingerprints it rests on, the
// client's network and where the fingerprint came from. Its JSON is the
// body of GET /.well-known/tls-interception:
//
//	verdict, product, vendor, kind, confidence, grade, reasons, client, stack
//	ja3, ja3_hash, ja3n, ja3n_hash, ja4, ja4_r, ja4_o, ja4_ro
//	tls_version, alpn, sni, user_agent
//	country, asn, as_org
//	source, error
//
// It never contains the client's address.
type Verdict struct {
	fingerprints.Verdict
	fingerprints.Fingerprints

	// TLSVersion is the highest version the client offers, by name ("TLS
	// 1.3"); not the negotiated one, which an interceptor can change.
	// From an upstream JA4 it is the JA4's version.
	TLSVersion string `json:"tls_version"`
	// ALPN lists the offered application protocols in wire order; [] (never
	// null) when none or unknown. Shared: do not modify.
	ALPN []string `json:"alpn"`
	// SNI is the server_name the client asked for, "" when absent or
	// unknown.
	SNI string `json:"sni"`
	// UserAgent is the User-Agent of the request the verdict was computed
	// for.
	UserAgent string `json:"user_agent"`

	// Location is the client's country and AS, "ZZ" and 0 when unknown.
	Location

	// Source says where the fingerprint came from.
	Source Source `json:"source"`
	// Error says why there is no fingerprint (Source "none"): the capture's
	// error, or a malformed upstream header. Empty otherwise.
	Error string `json:"error,omitempty"`
}

// stateKey is the context key of the middleware's per-connection state
// (*connState) and of a per-request verdict (*entry). Unexported, so no
// other package can read or overwrite them.
type stateKey struct{}

// entry is one computed verdict. It is immutable once published, so that
// any number of requests read it without a lock.
type entry struct {
	ua string
	// v is the verdict. When hello is set, v's Fingerprints hold only the
	// core ones (JA3, JA3Hash, JA4), and verdict() adds the others from
	// hello, computed once, when someone asks for the whole Verdict, and
	// kept in full: a pointer, so that the many connections nobody asks
	// about do not carry the 128 bytes (the entry then fits the 512-byte
	// size class instead of 640).
	v      Verdict
	hello  *fingerprints.ClientHello
	full   atomic.Pointer[fingerprints.Fingerprints]
	client netip.Addr
	// warn is true for an intercepted verdict at or above the banner
	// confidence: banner and ProtectPaths apply.
	warn bool
	// header is the Mitmwatch-Verdict value, a full slice (len == cap) so
	// that a handler appending to it copies instead of writing into it.
	header []string
}

// connState is the middleware's memory of one connection, created by
// [ConnContext] and found by every request of the connection through its
// context.
type connState struct {
	// capture is the connection's capturing conn, nil without the
	// capture listener.
	capture *fingerprints.Conn
	// offersH2 is the HTTP/2 offer of the *http.Server that accepted the
	// connection, when h2Known.
	offersH2, h2Known bool

	// primary is the verdict for the first User-Agent seen on the
	// connection. It is set once and never changed, which is what lets a
	// request whose User-Agent matches it, and FromContext for such a
	// request, use it without a lock or an allocation.
	primary atomic.Pointer[entry]

	mu sync.Mutex
	// peerDone says peer and peerTrusted are set (from the first request's
	// RemoteAddr, which is the same for every request of a connection).
	peerDone    bool
	peer        netip.Addr
	peerTrusted bool
	// helloDone says hello is set: the capture's result, read once.
	helloDone bool
	hello     hello
	// second caches the verdict of the last User-Agent other than
	// primary's (HTTP/2 connections shared by several clients, a browser
	// whose extension rewrites the User-Agent on some requests), so that
	// two alternating User-Agents do not recompute every time.
	second *entry
}

// ConnContext is meant for http.Server.ConnContext. It does what
// fingerprints.ConnContext does (so fingerprints.ClientHelloFromContext
// keeps working) and adds the middleware's per-connection state, which
// lets it compute the verdict once per connection and User-Agent and serve
// later requests of the connection without allocating. Without it the
// middleware still works, computing per request.
//
// It runs on the server's accept loop, so it never reads from c: the
// hello, the peer address and the verdict are taken on the connection's
// first request.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	ctx = fingerprints.ConnContext(ctx, c)
	st := &connState{}
	st.capture, _ = fingerprints.ConnFromContext(ctx)
	if srv, ok := ctx.Value(http.ServerContextKey).(*http.Server); ok && srv != nil {
		st.offersH2, st.h2Known = serverOffersH2(srv), true
	}
	return context.WithValue(ctx, stateKey{}, st)
}

// serverOffersH2 reports whether srv offers h2 when it serves TLS through
// ServeTLS: the rule net/http applies (Server.Protocols if set; else h2
// unless TLSNextProto is set without an "h2" entry).
func serverOffersH2(srv *http.Server) bool {
	if srv.Protocols != nil {
		return srv.Protocols.HTTP2()
	}
	if srv.TLSNextProto != nil {
		_, ok := srv.TLSNextProto["h2"]
		return ok
	}
	return true
}

// FromContext returns the verdict about the connection of the request
// whose context ctx is (r.Context() in a handler behind the middleware).
// The bool is false when the middleware did not handle the request.
//
// On an HTTP/2 connection that carries requests with different
// User-Agents, each request gets the verdict for its own User-Agent; only
// the first User-Agent of a connection is served without an allocation.
func FromContext(ctx context.Context) (Verdict, bool) {
	if e := entryFromContext(ctx); e != nil {
		return e.verdict(), true
	}
	return Verdict{}, false
}

// Brief is the part of a [Verdict] a handler needs on every request (a
// proxy's headers, a log line): the decision, the two fingerprints the
// decision and the counts rest on, and the client's network.
type Brief struct {
	fingerprints.Verdict
	// JA4 and JA3Hash are the connection's JA4 and JA3 MD5, "" when
	// unknown.
	JA4, JA3Hash string
	Location
}

// BriefFromContext is [FromContext] for hot paths: it returns the
// [Brief] of the request's verdict without copying the whole Verdict, and
// without computing the fingerprints only the full Verdict carries (JA3N,
// JA4_r, JA4_o, JA4_ro), which a connection whose requests never ask for
// them then never pays for.
func BriefFromContext(ctx context.Context) (Brief, bool) {
	e := entryFromContext(ctx)
	if e == nil {
		return Brief{}, false
	}
	return Brief{Verdict: e.v.Verdict, JA4: e.v.JA4, JA3Hash: e.v.JA3Hash, Location: e.v.Location}, true
}

// verdict returns the whole Verdict, completing its fingerprints on first
// use when only the core ones were computed.
func (e *entry) verdict() Verdict {
	if e.hello == nil {
		return e.v
	}
	f := e.full.Load()
	if f == nil {
		// Concurrent first callers may each compute; the first stored
		// wins, and all return equal values.
		all := e.hello.Fingerprints()
		if f = &all; !e.full.CompareAndSwap(nil, f) {
			f = e.full.Load()
		}
	}
	v := e.v
	v.Fingerprints = *f
	return v
}

// entryFromContext finds the request's verdict: a per-request one attached
// by the middleware, or the connection's primary one.
func entryFromContext(ctx context.Context) *entry {
	switch v := ctx.Value(stateKey{}).(type) {
	case *entry:
		return v
	case *connState:
		return v.primary.Load()
	}
	return nil
}

// helloLocked returns the connection's captured hello, reading and
// fingerprinting it on first use. st.mu is held.
func (st *connState) helloLocked(cl *fingerprints.Classifier) hello {
	if !st.helloDone {
		st.helloDone = true
		st.hello = captured(st.capture, cl)
	}
	return st.hello
}

// captured is what the capture listener got on conn c (nil: no capture),
// fingerprinted with cl's cache.
func captured(c *fingerprints.Conn, cl *fingerprints.Classifier) hello {
	if c == nil {
		return hello{source: SourceNone, err: ErrNoFingerprint}
	}
	h, err := c.ClientHello()
	if err != nil {
		return hello{source: SourceNone, err: err}
	}
	return listenerHello(h, cl)
}
