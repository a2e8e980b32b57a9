package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// newTestServer starts a capture server that stops with the test.
func newTestServer(t *testing.T) (*captureServer, *testPKI) {
	t.Helper()
	pki, err := newTestPKI(time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := startCaptureServer(pki.Leaf, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, pki
}

// get fetches the capture URL for name with a Go client sending ua.
func get(t *testing.T, srv *captureServer, pki *testPKI, name, ua string) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: "localhost", RootCAs: pki.certPool()}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, srv.URL(name), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", ua)
	// Dial 127.0.0.1 even if localhost resolves to ::1 first.
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(srv.Port()))
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
}

func TestCaptureServerRecordsHelloAndRequest(t *testing.T) {
	srv, pki := newTestServer(t)
	get(t, srv, pki, "probe", "probe-agent/1")

	h, ok := srv.byName.get("probe")
	if !ok {
		t.Fatal("no capture recorded under the request's name")
	}
	ch, err := fingerprints.ParseClientHello(h.Raw)
	if err != nil {
		t.Fatalf("recorded bytes are not a record-framed hello: %v", err)
	}
	if ch.ServerName != "localhost" {
		t.Errorf("SNI = %q, want localhost", ch.ServerName)
	}
	if len(ch.Raw) != len(h.Raw) {
		t.Errorf("recorded %d bytes, hello is %d: trailing bytes captured", len(h.Raw), len(ch.Raw))
	}
	if h.Request == nil {
		t.Fatal("request not recorded")
	}
	if got := h.Request.Headers["User-Agent"]; len(got) != 1 || got[0] != "probe-agent/1" {
		t.Errorf("User-Agent = %q", got)
	}
	if h.Request.Method != http.MethodGet || h.Request.Proto == "" {
		t.Errorf("method %q proto %q", h.Request.Method, h.Request.Proto)
	}
}

func TestCaptureServerKeepsFirstRequestPerName(t *testing.T) {
	srv, pki := newTestServer(t)
	get(t, srv, pki, "twice", "first/1")
	get(t, srv, pki, "twice", "second/1")
	h, _ := srv.byName.get("twice")
	if got := h.Request.Headers["User-Agent"]; len(got) != 1 || got[0] != "first/1" {
		t.Fatalf("User-Agent = %q, want the first request's", got)
	}
}

func TestCaptureServerRecordsHelloWithoutRequest(t *testing.T) {
	srv, _ := newTestServer(t)
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(srv.Port()))
	if err != nil {
		t.Fatal(err)
	}
	local := conn.LocalAddr().String()
	// A client that rejects the server's certificate: the handshake
	// fails, yet the server has read the hello.
	tc := tls.Client(conn, &tls.Config{ServerName: "localhost"})
	if err := tc.Handshake(); err == nil {
		t.Fatal("handshake with an untrusted CA succeeded")
	}
	tc.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := srv.byPeer.wait(ctx, local)
	if err != nil {
		t.Fatal(err)
	}
	if h.Request != nil {
		t.Error("a request was recorded for a connection that sent none")
	}
	if len(h.Raw) < 5 || h.Raw[0] != 0x16 {
		t.Errorf("recorded %x, want a handshake record", h.Raw)
	}
}

func TestRegistryWait(t *testing.T) {
	tests := []struct {
		name    string
		before  bool // stored before wait starts
		during  bool // stored while wait blocks
		wantErr error
	}{
		{"value_already_present_returns_at_once", true, false, nil},
		{"value_stored_while_waiting_wakes_the_waiter", false, true, nil},
		{"value_never_stored_returns_the_context_error", false, false, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRegistry[int]()
			r.put("other", 1) // a put under another key must not satisfy the wait
			if tt.before {
				r.put("k", 42)
			}
			if tt.during {
				go func() {
					time.Sleep(10 * time.Millisecond)
					r.put("k", 42)
				}()
			}
			timeout := 5 * time.Second
			if tt.wantErr != nil {
				timeout = 50 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			v, err := r.wait(ctx, "k")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && v != 42 {
				t.Fatalf("v = %d, want 42", v)
			}
		})
	}
}

func TestRegistryPutFirstKeepsFirst(t *testing.T) {
	r := newRegistry[string]()
	r.putFirst("k", "first")
	r.putFirst("k", "second")
	r.put("p", "first")
	r.put("p", "second")
	if v, _ := r.get("k"); v != "first" {
		t.Errorf("putFirst kept %q, want first", v)
	}
	if v, _ := r.get("p"); v != "second" {
		t.Errorf("put kept %q, want second", v)
	}
}
