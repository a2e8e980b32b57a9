package server

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/middleware"
)

// helloConn is a net.Conn whose reads return a recorded ClientHello, then
// EOF: enough for the capture listener to fingerprint it.
type helloConn struct {
	net.Conn // nil: only Read, Close and the addresses are called
	r        io.Reader
}

func (c *helloConn) Read(p []byte) (int, error)      { return c.r.Read(p) }
func (c *helloConn) Close() error                    { return nil }
func (c *helloConn) SetDeadline(time.Time) error     { return nil }
func (c *helloConn) SetReadDeadline(time.Time) error { return nil }
func (c *helloConn) LocalAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 443} }
func (c *helloConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(198, 51, 100, 1), Port: 40000}
}

// oneConnListener accepts c once.
type oneConnListener struct{ c net.Conn }

func (l *oneConnListener) Accept() (net.Conn, error) {
	if l.c == nil {
		return nil, errors.New("oneConnListener: done")
	}
	c := l.c
	l.c = nil
	return c, nil
}
func (l *oneConnListener) Close() error   { return nil }
func (l *oneConnListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 443} }

// capturedConn returns a capture listener's conn that has read the
// testdata ClientHello name.
func capturedConn(tb testing.TB, name string) *fingerprints.Conn {
	tb.Helper()
	raw, err := os.ReadFile("../testdata/clienthello/" + name + ".hex")
	if err != nil {
		tb.Fatal(err)
	}
	rec, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		tb.Fatal(err)
	}
	ln := fingerprints.NewListener(&oneConnListener{c: &helloConn{r: strings.NewReader(string(rec))}}, fingerprints.ListenerConfig{})
	nc, err := ln.Accept()
	if err != nil {
		tb.Fatal(err)
	}
	c := nc.(*fingerprints.Conn)
	io.Copy(io.Discard, c) // the capture runs on the first Read
	if _, err := c.ClientHello(); err != nil {
		tb.Fatal(err)
	}
	return c
}

// flushWriter is a ResponseWriter that keeps nothing but can flush (the
// proxy streams), so that a benchmark measures the edge, not a recorder.
type flushWriter struct {
	h    http.Header
	code int
}

func (w *flushWriter) Header() http.Header         { return w.h }
func (w *flushWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *flushWriter) WriteHeader(code int)        { w.code = code }
func (w *flushWriter) Flush()                      {}

// edgeChain is an edge's whole handler chain (middleware, reverse proxy,
// annotation headers) in front of up, and a Chromium 156 navigation on a
// kept-alive connection whose verdict (clean) is already computed. With
// detection off it is the same proxy without the middleware, and the
// request carries no connection state. headers, if non-nil, is
// detection.upstream_headers.
func edgeChain(tb testing.TB, up string, detection bool, headers []string) (http.Handler, *http.Request) {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.Admin.Listen = ""
	cfg.Upstream = up
	if headers != nil {
		cfg.Detection.UpstreamHeaders = headers
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	e, err := NewEdge(cfg, ServeOptions{Listener: ln, NoDetection: !detection, CertDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Error(err)
		}
	})

	conn := context.WithValue(context.Background(), http.ServerContextKey, e.srv)
	if detection {
		conn = middleware.ConnContext(conn, capturedConn(tb, "chromium-156-direct"))
	}
	r := httptest.NewRequest("GET", "https://site.example/page", nil).WithContext(conn)
	r.Header = browserHeaders()
	r.RemoteAddr = "198.51.100.1:40000"
	h := e.srv.Handler

	// The connection's first request: the verdict is computed here, so
	// the benchmark measures only later requests.
	w := &flushWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	if w.code != http.StatusOK {
		tb.Fatalf("first request: status %d", w.code)
	}
	v, ok := middleware.FromContext(r.Context())
	if detection && (!ok || v.Verdict.Verdict != fingerprints.OutcomeClean) {
		tb.Fatalf("prepared connection: ok %v verdict %v (%v)", ok, v.Verdict.Verdict, v.Reasons.Strings())
	}
	return h, r
}

// BenchmarkEdgeChain measures one kept-alive request through the edge's
// handler chain (middleware with a cached clean verdict, reverse proxy
// rewrite, the seven annotation headers or fewer, a round trip to an in-process
// upstream over a pooled HTTP/1.1 connection) with detection on and off:
// "on" minus "off" is what detection costs per kept-alive request, TLS
// aside. The upstream's own work (parsing the extra headers) is included,
// as it runs in the same process.
func BenchmarkEdgeChain(b *testing.B) {
	var seen http.Header
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok\n")
	}))
	defer up.Close()
	for _, bc := range []struct {
		name      string
		detection bool
		headers   []string // detection.upstream_headers; nil: all seven
		want      string   // the upstream's Mitmwatch-Verdict
	}{
		{"detection=off", false, nil, ""},
		{"detection=on", true, nil, "clean"},
		{"detection=on,headers=verdict", true, []string{HeaderVerdict}, "clean"},
		{"detection=on,headers=none", true, []string{}, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, r := edgeChain(b, up.URL, bc.detection, bc.headers)
			if got := seen.Get(HeaderVerdict); got != bc.want {
				b.Fatalf("upstream saw %s %q, want %q", HeaderVerdict, got, bc.want)
			}
			w := &flushWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				w.code = 0
				h.ServeHTTP(w, r)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
