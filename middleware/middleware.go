package middleware

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/internal/sfv"
)

// New returns the middleware configured by cfg, for chi's Router.Use or to
// wrap any http.Handler. cfg is validated here, once; the error names the
// offending field and wraps [ErrInvalidConfig].
//
// For each request the middleware, in order: serves the banner's assets;
// removes the upstream fingerprint headers unless the peer is a trusted
// proxy; finds or computes the connection's [Verdict]; answers the verdict
// endpoint; adds the response header if configured; answers a protected
// path of an intercepted connection with a 403 page; and calls next, with
// the banner wrapped around the response writer when the connection is
// intercepted. Handlers read the verdict with [FromContext].
func New(cfg Config) (func(http.Handler) http.Handler, error) {
	s, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return &handler{s: s, next: next}
	}, nil
}

type handler struct {
	s    *settings
	next http.Handler
}

var _ http.Handler = (*handler)(nil)

func (m *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := m.s
	if s.banner != nil && strings.HasPrefix(r.URL.Path, s.assetPath) && s.banner.ServeAsset(w, r) {
		return
	}
	var ua string
	if v := r.Header["User-Agent"]; len(v) > 0 {
		ua = v[0]
	}

	// The fast path: a later request of a connection already judged for
	// this User-Agent. Only connections from untrusted peers have a
	// primary verdict, so the upstream headers go.
	st, _ := r.Context().Value(stateKey{}).(*connState)
	var e *entry
	if st != nil {
		if p := st.primary.Load(); p != nil && p.ua == ua {
			e = p
			if s.stripUpstream(r.Header) {
				s.metrics.stripped.Add(1)
			}
		}
	}
	if e == nil {
		var perRequest bool
		e, perRequest = s.verdictFor(r, st, ua)
		if perRequest {
			// Allocates (a context and a shallow copy of r): requests
			// without the connection state, from trusted proxies, or
			// with a second User-Agent on one connection.
			r = r.WithContext(context.WithValue(r.Context(), stateKey{}, e))
		}
	}

	if s.endpoint != "" && r.URL.Path == s.endpoint {
		v := e.verdict()
		s.serveEndpoint(w, r, &v)
		return
	}
	if s.respHeader {
		w.Header()[VerdictHeader] = e.header
	}
	if e.warn {
		if len(s.protect) > 0 && s.protected(r.URL.Path) {
			s.metrics.blocked.Add(1)
			s.serveBlocked(w, r, &e.v)
			return
		}
		if s.banner != nil {
			bw, done := s.banner.Wrap(w, r, &e.v.Verdict)
			defer done()
			w = bw
		}
	}
	m.next.ServeHTTP(w, r)
}

// verdictFor is the slow path: it finds the peer, strips what an untrusted
// peer must not send, and returns the verdict for (connection, ua),
// computing it if needed. perRequest says the verdict must be attached to
// the request's context because the connection's primary verdict is not
// this one.
func (s *settings) verdictFor(r *http.Request, st *connState, ua string) (e *entry, perRequest bool) {
	var peer netip.Addr
	var trusted bool
	if st != nil {
		st.mu.Lock()
		if !st.peerDone {
			st.peerDone = true
			st.peer = parsePeer(r.RemoteAddr)
			st.peerTrusted = s.trusted.contains(st.peer)
		}
		peer, trusted = st.peer, st.peerTrusted
		st.mu.Unlock()
	} else {
		peer = parsePeer(r.RemoteAddr)
		trusted = s.trusted.contains(peer)
	}

	if trusted {
		// A proxy multiplexes many clients over one connection, each
		// request with its own upstream headers: judge every request.
		client := clientIP(peer, r.Header[s.ipHeader], s.forwarded, s.trusted)
		e = s.compute(r, ua, s.fromUpstream(r.Header), client, false)
		s.emit(e)
		return e, true
	}
	if s.stripUpstream(r.Header) {
		s.metrics.stripped.Add(1)
	}
	if st == nil {
		// No connection state: perhaps fingerprints.ConnContext alone.
		c, _ := fingerprints.ConnFromContext(r.Context())
		offersH2 := s.h2 == HTTP2Offered || s.h2 == HTTP2Auto && requestServerOffersH2(r)
		e = s.compute(r, ua, captured(c, s.classifier), peer, offersH2)
		s.emit(e)
		return e, true
	}

	st.mu.Lock()
	if p := st.primary.Load(); p != nil && p.ua == ua {
		// Another request of the connection computed it meanwhile.
		st.mu.Unlock()
		return p, false
	}
	if st.second != nil && st.second.ua == ua {
		e = st.second
		st.mu.Unlock()
		return e, true
	}
	// Computing under the connection's lock makes the verdict once per
	// connection and User-Agent even for concurrent HTTP/2 streams; only
	// this connection's requests wait, for a few microseconds of CPU.
	offersH2 := s.h2 == HTTP2Offered || s.h2 == HTTP2Auto && st.h2Known && st.offersH2
	e = s.compute(r, ua, st.helloLocked(s.classifier), peer, offersH2)
	if st.primary.Load() == nil {
		st.primary.Store(e)
	} else {
		st.second = e
		perRequest = true
	}
	st.mu.Unlock()
	s.emit(e)
	return e, perRequest
}

// requestServerOffersH2 applies HTTP2Auto to a request without connection
// state.
func requestServerOffersH2(r *http.Request) bool {
	srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
	return ok && srv != nil && serverOffersH2(srv)
}

// compute classifies one (hello, request) pair and builds its entry.
func (s *settings) compute(r *http.Request, ua string, src hello, client netip.Addr, offersH2 bool) *entry {
	req := fingerprints.RequestFromHTTP(r, offersH2)
	if src.source != SourceListener {
		// The HTTP version of this hop says nothing about the client's
		// hop to the proxy: no downgrade sign.
		req.ProtoMajor = 0
		req.ServerOffersH2 = false
	}
	var fv fingerprints.Verdict
	switch {
	case src.h != nil:
		fv = s.classifier.Classify(src.h, &src.fps, &req)
	case src.fps.JA4 != "" || src.fps.JA3Hash != "":
		fv = s.classifier.Classify(nil, &src.fps, &req)
	default:
		fv = s.classifier.Classify(nil, nil, &req)
	}
	v := describe(src)
	v.Verdict = fv
	v.UserAgent = ua
	if s.geo != nil {
		v.Location = s.geo.Lookup(client)
	}
	e := &entry{ua: ua, v: v, client: client}
	if src.core {
		e.hello = src.h
	}
	e.warn = fv.Verdict == fingerprints.OutcomeIntercepted && fv.Confidence >= s.minConfidence
	if s.respHeader {
		e.header = []string{headerValue(&fv)}
	}
	s.metrics.computed.Add(1)
	return e
}

// headerValue is the Mitmwatch-Verdict value: an RFC 8941 token with the
// product as a string parameter when known ("intercepted;product=\"mitmproxy\"").
func headerValue(v *fingerprints.Verdict) string {
	if v.Product == "" {
		return v.Verdict.String()
	}
	b := make([]byte, 0, 64)
	b = append(b, v.Verdict.String()...)
	b = append(b, ";product="...)
	return string(sfv.AppendString(b, v.Product))
}
