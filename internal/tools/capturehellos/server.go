package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// capturePath is the path prefix of the URLs clients are sent to; the rest
// of the path is the capture's name, which is how a request (and the
// ClientHello of the connection that carried it) is matched to the client
// that made it. Browsers open extra connections (preconnects, favicon), so
// matching by connection alone would be ambiguous.
const capturePath = "/capture/"

// hello is what the server saw of one connection: the ClientHello record(s)
// exactly as read off the wire, and the HTTP request if one arrived.
type hello struct {
	// Raw is the record-framed ClientHello ((*fingerprints.ClientHello).Raw).
	Raw []byte
	// Request is nil when no HTTP request completed on the connection.
	Request *requestInfo
}

// requestInfo is the part of an HTTP request the corpus keeps.
type requestInfo struct {
	Proto   string              `json:"proto"`
	Method  string              `json:"method"`
	Headers map[string][]string `json:"headers"`
}

// captureServer is an HTTPS server on 127.0.0.1 that records ClientHellos
// through mitmwatch's own capture listener ([fingerprints.NewListener]), the
// code path the corpus is meant to exercise. Hellos are recorded twice:
//   - by peer address, from [fingerprints.ListenerConfig.OnHello], which
//     fires even when the handshake then fails (old utls parrots);
//   - by capture name, from the handler of /capture/<name>, together with
//     the request's protocol, method and headers.
type captureServer struct {
	srv  *http.Server
	ln   net.Listener
	port int
	log  *slog.Logger

	byPeer *registry[hello]
	byName *registry[hello]
}

// startCaptureServer listens on 127.0.0.1:0 and serves HTTPS with cert
// until Close. The certificate must be valid for "localhost": clients are
// sent to https://localhost:<port>/ so that their hellos carry SNI, as real
// traffic does (a literal IP is never sent as SNI, RFC 6066 section 3).
func startCaptureServer(cert tls.Certificate, log *slog.Logger) (*captureServer, error) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("capturehellos: listen: %w", err)
	}
	s := &captureServer{
		port:   inner.Addr().(*net.TCPAddr).Port,
		log:    log,
		byPeer: newRegistry[hello](),
		byName: newRegistry[hello](),
	}
	s.ln = fingerprints.NewListener(inner, fingerprints.ListenerConfig{
		OnHello: s.onHello,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+capturePath+"{name}", s.handleCapture)
	s.srv = &http.Server{
		Handler:           mux,
		ConnContext:       fingerprints.ConnContext,
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{cert},
			NextProtos:   []string{"h2", "http/1.1"},
		},
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() {
		// ServeTLS returns http.ErrServerClosed after Close.
		if err := s.srv.ServeTLS(s.ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("capture server stopped", "err", err)
		}
	}()
	return s, nil
}

// URL returns the URL a client should fetch for the capture called name.
func (s *captureServer) URL(name string) string {
	return "https://localhost:" + strconv.Itoa(s.port) + capturePath + name
}

// Port is the TCP port the server listens on (on 127.0.0.1).
func (s *captureServer) Port() int { return s.port }

// Close stops the server and closes its connections.
func (s *captureServer) Close() error { return s.srv.Close() }

// onHello records every ClientHello the listener reads, keyed by the
// client's address as the server sees it (the client's local address).
func (s *captureServer) onHello(c *fingerprints.Conn, h *fingerprints.ClientHello, err error) {
	peer := c.RemoteAddr().String()
	if err != nil || h == nil {
		s.log.Warn("ClientHello not captured", "peer", peer, "err", err)
		return
	}
	s.byPeer.put(peer, hello{Raw: bytes.Clone(h.Raw)})
}

// handleCapture records the hello and request of /capture/<name>. Only the
// first request per name is kept: a retry or a second tab must not replace
// the capture the client's own process made first.
func (s *captureServer) handleCapture(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	h, err := fingerprints.ClientHelloFromContext(r.Context())
	if err != nil {
		s.log.Warn("request without a captured ClientHello", "name", name, "err", err)
		http.Error(w, "no ClientHello captured: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.byName.putFirst(name, hello{
		Raw: bytes.Clone(h.Raw),
		Request: &requestInfo{
			Proto:   r.Proto,
			Method:  r.Method,
			Headers: r.Header.Clone(),
		},
	})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>captured</title><p>captured %s (%s)</p>\n", name, r.Proto)
}

// registry is a map whose readers can wait for a key to appear.
type registry[T any] struct {
	mu      sync.Mutex
	m       map[string]T
	changed chan struct{} // closed and replaced on every put
}

func newRegistry[T any]() *registry[T] {
	return &registry[T]{m: make(map[string]T), changed: make(chan struct{})}
}

// put stores v under k, replacing any earlier value.
func (r *registry[T]) put(k string, v T) { r.store(k, v, true) }

// putFirst stores v under k unless k is already present.
func (r *registry[T]) putFirst(k string, v T) { r.store(k, v, false) }

func (r *registry[T]) store(k string, v T, replace bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[k]; ok && !replace {
		return
	}
	r.m[k] = v
	close(r.changed)
	r.changed = make(chan struct{})
}

// get returns the value under k, if any.
func (r *registry[T]) get(k string) (T, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[k]
	return v, ok
}

// wait returns the value under k as soon as it is present, or the context's
// error.
func (r *registry[T]) wait(ctx context.Context, k string) (T, error) {
	for {
		r.mu.Lock()
		v, ok := r.m[k]
		ch := r.changed
		r.mu.Unlock()
		if ok {
			return v, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			var zero T
			return zero, fmt.Errorf("capturehellos: waiting for %q: %w", k, ctx.Err())
		}
	}
}
