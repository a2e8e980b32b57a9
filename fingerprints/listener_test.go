package fingerprints

import (
	"bytes"
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
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// The helpers of the capture tests start with lt, so that they cannot
// collide with the parser's test helpers in the same package.

const ltServerName = "example.test"

var ltCertOnce = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: ltServerName},
		DNSNames:     []string{ltServerName},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
})

// ltTLS returns a server config with a fresh self-signed certificate for
// ltServerName and a client config that trusts it.
func ltTLS(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	cert, err := ltCertOnce()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return &tls.Config{Certificates: []tls.Certificate{cert}},
		&tls.Config{RootCAs: pool, ServerName: ltServerName}
}

// ltListen listens on a loopback port and closes the listener when the
// test ends.
func ltListen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// ltClientHello returns the record-framed ClientHello a crypto/tls client
// with cfg sends, read off an in-memory pipe.
func ltClientHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	go func() {
		tls.Client(b, cfg).Handshake()
		b.Close()
	}()
	hdr := make([]byte, recordHeaderLen)
	if _, err := io.ReadFull(a, hdr); err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, recordHeaderLen+int(binary.BigEndian.Uint16(hdr[3:])))
	copy(rec, hdr)
	if _, err := io.ReadFull(a, rec[recordHeaderLen:]); err != nil {
		t.Fatal(err)
	}
	return rec
}

// ltReframe splits the handshake payload of the single record rec into
// records of the given payload sizes; the last record takes the rest.
func ltReframe(rec []byte, sizes ...int) []byte {
	payload := rec[recordHeaderLen:]
	var out []byte
	for i := 0; len(payload) > 0; i++ {
		n := len(payload)
		if i < len(sizes) {
			n = min(sizes[i], n)
		}
		out = append(out, rec[0], rec[1], rec[2], byte(n>>8), byte(n))
		out = append(out, payload[:n]...)
		payload = payload[n:]
	}
	return out
}

// ltSplitConn is a client-side conn that rewrites its first Write (the
// ClientHello record): reframed into records of the given sizes, and/or
// written one byte per Write (one TCP segment each: Go sets TCP_NODELAY).
type ltSplitConn struct {
	net.Conn
	t       testing.TB
	sizes   []int
	oneByte bool

	mu   sync.Mutex
	done bool
	sent []byte // the bytes of the first Write as sent
}

func (c *ltSplitConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	first := !c.done
	c.done = true
	c.mu.Unlock()
	if !first {
		return c.Conn.Write(p)
	}
	if len(p) < recordHeaderLen || recordHeaderLen+int(binary.BigEndian.Uint16(p[3:])) != len(p) {
		c.t.Errorf("first client Write is not exactly one record (%d bytes)", len(p))
	}
	out := p
	if len(c.sizes) > 0 {
		out = ltReframe(p, c.sizes...)
	}
	c.mu.Lock()
	c.sent = append([]byte(nil), out...)
	c.mu.Unlock()
	if !c.oneByte {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	for i := range out {
		if _, err := c.Conn.Write(out[i : i+1]); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// ltHandshake accepts one connection on ln (wrapped in a capture Listener
// when cfg is not nil), runs a crypto/tls server handshake on it and
// returns the capturing Conn and Listener (nil when not wrapped) and the
// handshake error. client runs concurrently with a fresh TCP conn to ln
// and closes it when done; prepare, if not nil, runs on the server conn
// before the handshake.
func ltHandshake(t *testing.T, cfg *ListenerConfig, serverTLS *tls.Config, prepare func(net.Conn), client func(net.Conn)) (*Conn, *Listener, error) {
	t.Helper()
	var ln net.Listener = ltListen(t)
	var fl *Listener
	if cfg != nil {
		fl = NewListener(ln, *cfg)
		ln = fl
	}
	clientDone := make(chan struct{})
	go func() {
		defer close(clientDone)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		client(c)
	}()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(sc)
	}
	tc := tls.Server(sc, serverTLS)
	herr := tc.Handshake()
	tc.Close()
	<-clientDone
	cc, _ := sc.(*Conn)
	return cc, fl, herr
}

// ltRawClient sends b, half-closes, and reports everything the server sent
// back until it closed.
func ltRawClient(b []byte, got chan<- []byte) func(net.Conn) {
	return func(c net.Conn) {
		c.Write(b)
		c.(*net.TCPConn).CloseWrite()
		resp, _ := io.ReadAll(c)
		got <- resp
	}
}

func TestListenerReassemblesSplitHello(t *testing.T) {
	tests := []struct {
		name    string
		sizes   []int
		oneByte bool
	}{
		{name: "hello_in_one_byte_tcp_writes", oneByte: true},
		{name: "hello_fragmented_into_three_tls_records", sizes: []int{100, 700}},
		{name: "handshake_header_split_over_records_sent_byte_by_byte", sizes: []int{1, 2, 1, 300}, oneByte: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serverTLS, clientTLS := ltTLS(t)
			var split *ltSplitConn
			clientErr := make(chan error, 1)
			c, fl, herr := ltHandshake(t, &ListenerConfig{}, serverTLS, nil, func(nc net.Conn) {
				split = &ltSplitConn{Conn: nc, t: t, sizes: tt.sizes, oneByte: tt.oneByte}
				clientErr <- tls.Client(split, clientTLS).Handshake()
			})
			if herr != nil {
				t.Fatalf("server handshake: %v", herr)
			}
			if err := <-clientErr; err != nil {
				t.Fatalf("client handshake: %v", err)
			}
			h, err := c.ClientHello()
			if err != nil {
				t.Fatalf("capture: %v", err)
			}
			if h.ServerName != ltServerName {
				t.Errorf("ServerName %q, want %q", h.ServerName, ltServerName)
			}
			if !bytes.Equal(h.Raw, split.sent) {
				t.Errorf("Raw is not the %d bytes the client sent (%d bytes)", len(split.sent), len(h.Raw))
			}
			if s := fl.Stats(); s != (ListenerStats{Conns: 1, Hellos: 1}) {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// ltServeHTTPS serves h over HTTPS (HTTP/1.1 and HTTP/2) on a capture
// Listener wired with ConnContext, until the test ends.
func ltServeHTTPS(t *testing.T, cfg ListenerConfig, h http.Handler, connState func(net.Conn, http.ConnState)) (*Listener, *http.Server) {
	t.Helper()
	serverTLS, _ := ltTLS(t)
	fl := NewListener(ltListen(t), cfg)
	srv := &http.Server{
		Handler:     h,
		TLSConfig:   serverTLS,
		ConnContext: ConnContext,
		ConnState:   connState,
		ErrorLog:    log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.ServeTLS(fl, "", ""); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("ServeTLS: %v", err)
		}
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return fl, srv
}

// ltHelloHandler answers with the request's protocol and what
// ClientHelloFromContext found.
var ltHelloHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	h, err := ClientHelloFromContext(r.Context())
	if err != nil {
		fmt.Fprintf(w, "%s error %v", r.Proto, err)
		return
	}
	fmt.Fprintf(w, "%s %s %s", r.Proto, h.ServerName, strings.Join(h.ALPN, ","))
})

func ltGet(t *testing.T, tr *http.Transport, url string) (int, string) {
	t.Helper()
	c := &http.Client{Transport: tr, Timeout: time.Minute}
	defer tr.CloseIdleConnections()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestListenerRequestsOfBothHTTPVersionsSeeTheHello(t *testing.T) {
	tests := []struct {
		name  string
		http2 bool
		want  string
	}{
		{name: "http1_request_context_carries_the_hello", want: "HTTP/1.1 " + ltServerName + " http/1.1"},
		{name: "http2_request_context_carries_the_hello", http2: true, want: "HTTP/2.0 " + ltServerName + " h2,http/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl, _ := ltServeHTTPS(t, ListenerConfig{}, ltHelloHandler, nil)
			_, clientTLS := ltTLS(t)
			clientTLS.NextProtos = []string{"http/1.1"}
			if tt.http2 {
				clientTLS.NextProtos = []string{"h2", "http/1.1"}
			}
			tr := &http.Transport{TLSClientConfig: clientTLS, ForceAttemptHTTP2: tt.http2}
			status, body := ltGet(t, tr, "https://"+fl.Addr().String()+"/")
			if status != http.StatusOK || body != tt.want {
				t.Errorf("got %d %q, want 200 %q", status, body, tt.want)
			}
		})
	}
}

func TestListenerSilentClientDoesNotDelayOtherClients(t *testing.T) {
	// With the default 10 s hello deadline: if Accept waited for the
	// silent client's hello, the second request would only be served after
	// that deadline, and the silent connection's capture would no longer be
	// pending when the request completes.
	newConns := make(chan net.Conn, 4)
	fl, _ := ltServeHTTPS(t, ListenerConfig{}, ltHelloHandler, func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns <- c
		}
	})
	silent, err := net.Dial("tcp", fl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	first := (<-newConns).(*tls.Conn).NetConn().(*Conn)

	_, clientTLS := ltTLS(t)
	status, body := ltGet(t, &http.Transport{TLSClientConfig: clientTLS}, "https://"+fl.Addr().String()+"/")
	if status != http.StatusOK || !strings.Contains(body, ltServerName) {
		t.Fatalf("second client got %d %q", status, body)
	}
	if _, err := first.ClientHello(); !errors.Is(err, ErrPending) {
		t.Fatalf("silent client's capture ended (%v) before the second client was served", err)
	}
	if s := fl.Stats(); s.Conns != 2 || s.Hellos != 1 || s.Timeout != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestListenerPlainHTTPGetsNetHTTPs400(t *testing.T) {
	fl, _ := ltServeHTTPS(t, ListenerConfig{}, ltHelloHandler, nil)
	status, body := ltGet(t, &http.Transport{}, "http://"+fl.Addr().String()+"/")
	if status != http.StatusBadRequest || body != "Client sent an HTTP request to an HTTPS server.\n" {
		t.Errorf("got %d %q, want net/http's 400 answer", status, body)
	}
	if s := fl.Stats(); s != (ListenerStats{Conns: 1, NotTLS: 1}) {
		t.Errorf("stats %+v, want one NotTLS", s)
	}
}

func TestListenerFailsExactlyLikeCryptoTLSAlone(t *testing.T) {
	_, clientTLS := ltTLS(t)
	hello := ltClientHello(t, clientTLS)
	tests := []struct {
		name    string
		cfg     ListenerConfig
		send    []byte
		want    error // capture error
		compare bool  // the server's answer is deterministic: compare it too
	}{
		{name: "plain_http_request", send: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), want: ErrNotTLS, compare: true},
		{name: "sslv2_compatible_hello", send: []byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10}, want: ErrNotTLS, compare: true},
		{name: "binary_garbage", send: []byte{0x00, 0xff, 0x13, 0x37, 0x42, 0x42, 0x42}, want: ErrNotTLS, compare: true},
		{name: "tls_alert_instead_of_hello", send: []byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28}, want: ErrNotTLS, compare: true},
		{name: "handshake_record_with_version_major_2", send: []byte{0x16, 0x02, 0x00, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00}, want: ErrNotTLS, compare: true},
		{name: "server_hello_sent_by_a_client", send: []byte{0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0x00, 0x00, 0x00}, want: ErrMalformed, compare: true},
		{name: "half_a_hello_then_eof", send: hello[:len(hello)/2], want: ErrTruncated, compare: true},
		{name: "nothing_then_eof", send: nil, want: ErrTruncated, compare: true},
		{name: "hello_over_a_small_cap", cfg: ListenerConfig{MaxHelloSize: 512}, send: hello, want: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serverTLS, _ := ltTLS(t)
			plainResp := make(chan []byte, 1)
			_, _, plainErr := ltHandshake(t, nil, serverTLS, nil, ltRawClient(tt.send, plainResp))
			capResp := make(chan []byte, 1)
			c, fl, capErr := ltHandshake(t, &tt.cfg, serverTLS, nil, ltRawClient(tt.send, capResp))

			if plainErr == nil || capErr == nil || plainErr.Error() != capErr.Error() {
				t.Errorf("handshake error with capture %v, without %v", capErr, plainErr)
			}
			if got, want := <-capResp, <-plainResp; tt.compare && !bytes.Equal(got, want) {
				t.Errorf("server answered %x with capture, %x without", got, want)
			}
			h, err := c.ClientHello()
			if h != nil || !errors.Is(err, tt.want) {
				t.Errorf("capture (%v, %v), want %v", h, err, tt.want)
			}
			s := fl.Stats()
			if s.Conns != 1 || s.NotTLS+s.Truncated+s.TooLarge+s.Malformed+s.Timeout+s.Hellos != 1 {
				t.Errorf("stats %+v: want one connection counted once", s)
			}
		})
	}
}

func TestListenerOversizedHelloStillHandshakes(t *testing.T) {
	serverTLS, clientTLS := ltTLS(t)
	serverTLS.NextProtos = []string{"http/1.1"}
	// ALPN protocols make the hello bigger than the 1 KiB cap.
	for i := range 6 {
		clientTLS.NextProtos = append(clientTLS.NextProtos, fmt.Sprintf("x-%d-%s", i, strings.Repeat("p", 150)))
	}
	clientTLS.NextProtos = append(clientTLS.NextProtos, "http/1.1")
	if n := len(ltClientHello(t, clientTLS)); n <= 1024 {
		t.Fatalf("test hello is %d bytes, not over the cap", n)
	}
	clientState := make(chan tls.ConnectionState, 1)
	c, fl, herr := ltHandshake(t, &ListenerConfig{MaxHelloSize: 1024}, serverTLS, nil, func(nc net.Conn) {
		tc := tls.Client(nc, clientTLS)
		if err := tc.Handshake(); err != nil {
			t.Errorf("client handshake: %v", err)
		}
		clientState <- tc.ConnectionState()
	})
	if herr != nil {
		t.Fatalf("server handshake failed with the capture over its cap: %v", herr)
	}
	if st := <-clientState; st.NegotiatedProtocol != "http/1.1" {
		t.Errorf("negotiated %q", st.NegotiatedProtocol)
	}
	if _, err := c.ClientHello(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("capture error %v, want ErrTooLarge", err)
	}
	if s := fl.Stats(); s != (ListenerStats{Conns: 1, TooLarge: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestListenerDeadlines(t *testing.T) {
	// Each case holds a silent client until the server gives up; whichever
	// deadline is earlier must end the handshake, with the error that
	// deadline produces.
	far := time.Hour
	tests := []struct {
		name         string
		helloTimeout time.Duration
		callerAfter  time.Duration // 0: the caller sets no deadline
		wantOurs     bool          // the hello deadline fired: ErrTimeout in the handshake error
	}{
		{name: "hello_deadline_fires_when_the_caller_sets_none", helloTimeout: 20 * time.Millisecond, wantOurs: true},
		{name: "hello_deadline_fires_before_a_later_caller_deadline", helloTimeout: 20 * time.Millisecond, callerAfter: far, wantOurs: true},
		{name: "earlier_caller_deadline_is_honoured", helloTimeout: far, callerAfter: 20 * time.Millisecond},
		{name: "caller_deadline_is_honoured_without_a_hello_deadline", helloTimeout: -1, callerAfter: 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			serverTLS, _ := ltTLS(t)
			var prepare func(net.Conn)
			if tt.callerAfter > 0 {
				prepare = func(c net.Conn) { c.SetReadDeadline(time.Now().Add(tt.callerAfter)) }
			}
			// The client stays silent until the server closes.
			c, fl, herr := ltHandshake(t, &ListenerConfig{HelloTimeout: tt.helloTimeout}, serverTLS, prepare, func(nc net.Conn) {
				io.Copy(io.Discard, nc)
			})
			var ne net.Error
			if !errors.As(herr, &ne) || !ne.Timeout() {
				t.Fatalf("handshake error %v is not a net.Error timeout", herr)
			}
			if errors.Is(herr, ErrTimeout) != tt.wantOurs || errors.Is(herr, os.ErrDeadlineExceeded) == false {
				t.Errorf("handshake error %v: ErrTimeout %v, want %v", herr, errors.Is(herr, ErrTimeout), tt.wantOurs)
			}
			if _, err := c.ClientHello(); !errors.Is(err, ErrTimeout) {
				t.Errorf("capture error %v, want ErrTimeout", err)
			}
			if s := fl.Stats(); s != (ListenerStats{Conns: 1, Timeout: 1}) {
				t.Errorf("stats %+v", s)
			}
		})
	}
}
