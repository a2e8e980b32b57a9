package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/mitmwatch/mitmwatch/internal/selfsigned"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the
// test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testCert creates the certificate cache a server under test will use and
// returns the directory and a pool trusting the certificate, so that test
// clients verify it (proving its names) instead of skipping verification.
func testCert(t *testing.T) (dir string, pool *x509.CertPool) {
	t.Helper()
	dir = t.TempDir()
	cert, err := selfsigned.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return dir, pool
}

// loopback listens on an ephemeral loopback port.
func loopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// runUntilCleanup runs fn in a goroutine with a context cancelled at
// cleanup, and fails the test if fn then returns an error. stop cancels
// and waits early (idempotent), for tests that inspect what happens after
// shutdown.
func runUntilCleanup(t *testing.T, fn func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server returned %v after cancel, want nil", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// helloRecorder is a client conn that keeps what the client writes before
// it first reads: its first flight, the record-framed ClientHello.
type helloRecorder struct {
	net.Conn
	mu    sync.Mutex
	first bytes.Buffer
	read  bool
}

func (c *helloRecorder) Write(p []byte) (int, error) {
	c.mu.Lock()
	if !c.read {
		c.first.Write(p)
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *helloRecorder) Read(p []byte) (int, error) {
	c.mu.Lock()
	c.read = true
	c.mu.Unlock()
	return c.Conn.Read(p)
}

func (c *helloRecorder) hello() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.first.Bytes())
}

// testClient is an HTTPS client for a server under test at addr: it dials
// addr whatever the URL says, trusts pool, sends SNI "localhost", speaks
// HTTP/2 if h2 (else HTTP/1.1 only), and records each connection's
// ClientHello.
type testClient struct {
	*http.Client
	mu    sync.Mutex
	conns []*helloRecorder
}

func newTestClient(t *testing.T, addr string, pool *x509.CertPool, h2 bool) *testClient {
	t.Helper()
	tc := &testClient{}
	protos := new(http.Protocols)
	tlsCfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if h2 {
		protos.SetHTTP2(true)
	} else {
		// Offer http/1.1 by ALPN, as browsers do, so the report has an
		// ALPN value to compare.
		protos.SetHTTP1(true)
		tlsCfg.NextProtos = []string{"http/1.1"}
	}
	tr := &http.Transport{
		TLSClientConfig: tlsCfg,
		Protocols:       protos,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			rc := &helloRecorder{Conn: c}
			tc.mu.Lock()
			tc.conns = append(tc.conns, rc)
			tc.mu.Unlock()
			return rc, nil
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	tc.Client = &http.Client{Transport: tr}
	return tc
}

// get fetches path with the given User-Agent and returns the response
// (body read) and the ClientHello of the connection it used, which is the
// last one dialled.
func (tc *testClient) get(t *testing.T, path, userAgent string) (*http.Response, []byte, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", "https://localhost"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := tc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.conns) == 0 {
		t.Fatal("no connection dialled")
	}
	return resp, body, tc.conns[len(tc.conns)-1].hello()
}
