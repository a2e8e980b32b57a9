package middleware

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
	"github.com/mitmwatch/mitmwatch/internal/selfsigned"
)

// Helpers of the middleware core's tests; names start with mw.

// mwChromeUA is a person's Chrome on Linux, the User-Agent the e2e and the
// capture-based tests put on Chromium's headers (headless Chromium says
// HeadlessChrome, which rightly counts as a bot).
const mwChromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"

// mwCapture is one hello of testdata/clienthello with its request headers.
type mwCapture struct {
	raw    []byte
	hello  *fingerprints.ClientHello
	fps    fingerprints.Fingerprints
	header http.Header
	ua     string
}

// mwLoadCapture reads testdata/clienthello/<name>.hex and .json.
func mwLoadCapture(t testing.TB, name string) mwCapture {
	t.Helper()
	dir := filepath.Join("..", "testdata", "clienthello")
	hx, err := os.ReadFile(filepath.Join(dir, name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(hx)))
	if err != nil {
		t.Fatal(err)
	}
	h, fps, err := fingerprints.Fingerprint(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	js, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		UserAgent string `json:"user_agent"`
		Request   struct {
			Headers http.Header `json:"headers"`
		} `json:"request"`
	}
	if err := json.Unmarshal(js, &meta); err != nil {
		t.Fatal(err)
	}
	hdr := meta.Request.Headers
	if hdr == nil {
		hdr = http.Header{"User-Agent": {meta.UserAgent}}
	}
	return mwCapture{raw: raw, hello: h, fps: fps, header: hdr, ua: meta.UserAgent}
}

// request returns a GET of path with the capture's headers, the
// User-Agent replaced by ua when ua is not empty, from remoteAddr.
func (c mwCapture) request(path, ua, remoteAddr string) *http.Request {
	r := httptest.NewRequest("GET", "https://localhost"+path, nil)
	r.Header = c.header.Clone()
	if ua != "" {
		r.Header.Set("User-Agent", ua)
	}
	r.RemoteAddr = remoteAddr
	return r
}

// mwState returns connection state whose capture has delivered h, as
// ConnContext and the capture listener would make it.
func mwState(h *fingerprints.ClientHello) *connState {
	st := &connState{helloDone: true}
	if h == nil {
		st.hello = hello{source: SourceNone, err: ErrNoFingerprint}
	} else {
		st.hello = hello{source: SourceListener, h: h, fps: h.Fingerprints()}
	}
	return st
}

// withState returns r with st as its connection state.
func withState(r *http.Request, st *connState) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
}

// mwNew builds the middleware or fails the test, and returns its settings
// too (for counters).
func mwNew(t testing.TB, cfg Config, next http.Handler) (*handler, *settings) {
	t.Helper()
	mw, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := mw(next).(*handler)
	return h, h.s
}

// mwSeen records what the handler behind the middleware saw.
type mwSeen struct {
	mu      sync.Mutex
	verdict Verdict
	ok      bool
	header  http.Header
	remote  string
	calls   int
}

func (s *mwSeen) handler(body string, contentType string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := FromContext(r.Context())
		s.mu.Lock()
		s.verdict, s.ok, s.header, s.remote = v, ok, r.Header.Clone(), r.RemoteAddr
		s.calls++
		s.mu.Unlock()
		w.Header().Set("Content-Type", contentType)
		io.WriteString(w, body)
	})
}

func (s *mwSeen) get() (Verdict, bool, http.Header, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.verdict, s.ok, s.header, s.calls
}

// mwPage is a small HTML page the banner can go into.
const mwPage = "<!doctype html><html><head><title>t</title></head><body><h1>Shop</h1></body></html>"

// mwServer serves h over TLS on loopback through the capture listener with
// ConnContext, as the examples do, until the test ends. It returns the
// address and a client config trusting the server's certificate. wrap, if
// not nil, wraps the TCP listener first (the PROXY protocol).
func mwServer(t *testing.T, h http.Handler, wrap func(net.Listener) net.Listener) (string, *tls.Config) {
	t.Helper()
	cert, err := selfsigned.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	var inner net.Listener = ln
	if wrap != nil {
		inner = wrap(ln)
	}
	srv := &http.Server{
		Handler:     h,
		ConnContext: ConnContext,
		TLSConfig:   &tls.Config{Certificates: []tls.Certificate{cert}},
		// Refused PROXY connections and closed clients are expected.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(fingerprints.NewListener(inner, fingerprints.ListenerConfig{}), "", "") }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil && err != http.ErrServerClosed {
			t.Errorf("serve: %v", err)
		}
	})
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return addr, &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// mwClient returns an HTTP client for addr speaking HTTP/2 when h2, else
// HTTP/1.1 only.
func mwClient(t *testing.T, addr string, tlsCfg *tls.Config, h2 bool) *http.Client {
	t.Helper()
	protos := new(http.Protocols)
	cfg := tlsCfg.Clone()
	if h2 {
		protos.SetHTTP2(true)
	} else {
		protos.SetHTTP1(true)
		cfg.NextProtos = []string{"http/1.1"}
	}
	tr := &http.Transport{
		TLSClientConfig: cfg,
		Protocols:       protos,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// mwGet fetches path with the User-Agent ua and returns the response with
// its body read.
func mwGet(t *testing.T, c *http.Client, path, ua string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", "https://localhost"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", ua)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// mwLogBuffer is a goroutine-safe log destination.
type mwLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *mwLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *mwLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func mwSleep() { time.Sleep(10 * time.Millisecond) }
