package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// startFingerprint runs RunFingerprint on an ephemeral loopback port. stop
// shuts it down and waits, after which every line has been written.
func startFingerprint(t *testing.T, saveDir string) (addr string, pool *x509.CertPool, out *syncBuffer, stop func()) {
	t.Helper()
	dir, pool := testCert(t)
	ln := loopback(t)
	out = &syncBuffer{}
	stop = runUntilCleanup(t, func(ctx context.Context) error {
		return RunFingerprint(ctx, FingerprintConfig{Listener: ln, CertDir: dir, SaveDir: saveDir, Out: out})
	})
	return ln.Addr().String(), pool, out, stop
}

// lines decodes the JSON lines of out.
func lines(t *testing.T, out string) []Report {
	t.Helper()
	var reps []Report
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" {
			continue
		}
		var r Report
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line is not a JSON report: %v\n%s", err, l)
		}
		reps = append(reps, r)
	}
	return reps
}

func TestFingerprintLinePerConnection(t *testing.T) {
	save := filepath.Join(t.TempDir(), "hellos")
	addr, pool, out, _ := startFingerprint(t, save)
	c := newTestClient(t, addr, pool, true)
	const ua = "corp-proxy-probe/2.0"

	resp, body, raw := c.get(t, "/", ua)
	// The line is written before the first request is answered.
	got := lines(t, out.String())
	if len(got) != 1 {
		t.Fatalf("%d lines after one request, want 1:\n%s", len(got), out.String())
	}
	// A second request on the same HTTP/2 connection adds no line.
	c.get(t, "/again", ua)
	if n := len(lines(t, out.String())); n != 1 || len(c.conns) != 1 {
		t.Fatalf("%d lines over %d connections after two requests on one, want 1 over 1", n, len(c.conns))
	}

	hello, fps, err := fingerprints.Fingerprint(raw)
	if err != nil {
		t.Fatal(err)
	}
	line := got[0]
	if line.Fingerprints != fps {
		t.Errorf("line fingerprints %+v\nwant %+v", line.Fingerprints, fps)
	}
	if line.UserAgent != ua || line.SNI != "localhost" || line.TLSVersion != "TLS 1.3" || line.Error != "" {
		t.Errorf("line ua %q sni %q version %q error %q", line.UserAgent, line.SNI, line.TLSVersion, line.Error)
	}
	// The line carries the verdict for the first request (Go's TLS under
	// a tool's User-Agent: an honest program).
	if line.Verdict.Verdict.Verdict != fingerprints.OutcomeClean || line.Source != "listener" || !line.Reasons.Has(fingerprints.ReasonNotABrowser) {
		t.Errorf("line verdict %v source %q reasons %v", line.Verdict.Verdict.Verdict, line.Source, line.Reasons.Strings())
	}
	if line.Time == nil || line.RemoteAddr == "" {
		t.Errorf("line lacks time (%v) or remote address (%q)", line.Time, line.RemoteAddr)
	}
	if line.Parsed == nil || len(line.Parsed.CipherSuites) != len(hello.CipherSuites) || line.Parsed.Length != len(raw) {
		t.Errorf("parsed fields %+v do not describe the %d-byte hello", line.Parsed, len(raw))
	}

	// The response is the same report.
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("response Content-Type %q", resp.Header.Get("Content-Type"))
	}
	var answered Report
	if err := json.Unmarshal(body, &answered); err != nil || answered.JA4 != fps.JA4 || answered.UserAgent != ua {
		t.Errorf("response %s (err %v), want the report", body, err)
	}

	// The saved hex holds exactly the client's bytes and round-trips.
	if filepath.Dir(line.SavedAs) != save || !strings.HasSuffix(line.SavedAs, "-"+fps.JA4+".hex") {
		t.Fatalf("saved_as %q, want <time>-%s.hex in %s", line.SavedAs, fps.JA4, save)
	}
	hexText, err := os.ReadFile(line.SavedAs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(hexText), "\n") != 1 || !strings.HasSuffix(string(hexText), "\n") {
		t.Errorf("hex file is not one line: %q", hexText)
	}
	saved, err := hex.DecodeString(strings.TrimSpace(string(hexText)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved, raw) {
		t.Errorf("saved %d bytes, client sent %d different ones", len(saved), len(raw))
	}
	if _, again, err := fingerprints.Fingerprint(saved); err != nil || again != fps {
		t.Errorf("saved hello fingerprints %+v (err %v), want %+v", again, err, fps)
	}
	js, err := os.ReadFile(strings.TrimSuffix(line.SavedAs, ".hex") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var side Report
	if err := json.Unmarshal(js, &side); err != nil || side.JA4 != fps.JA4 || side.UserAgent != ua {
		t.Errorf("side .json %s (err %v)", js, err)
	}
}

// dialAndRun connects to addr, lets fn talk, and closes.
func dialAndRun(t *testing.T, addr string, fn func(c net.Conn)) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Bounds a hung server; the test asserts on content, not time.
	c.SetDeadline(time.Now().Add(30 * time.Second))
	fn(c)
}

func TestFingerprintConnectionsWithoutRequest(t *testing.T) {
	tests := []struct {
		name string
		// talk runs over a fresh TCP connection and returns the bytes of
		// the hello it sent, if any.
		talk      func(t *testing.T, c net.Conn, pool *x509.CertPool) []byte
		wantError error // nil: a fingerprinted line
	}{
		{
			name: "tls_handshake_then_close_still_yields_a_line",
			talk: func(t *testing.T, c net.Conn, pool *x509.CertPool) []byte {
				rc := &helloRecorder{Conn: c}
				tc := tls.Client(rc, &tls.Config{RootCAs: pool, ServerName: "localhost"})
				if err := tc.Handshake(); err != nil {
					t.Fatalf("handshake: %v", err)
				}
				tc.Close()
				return rc.hello()
			},
		},
		{
			name: "client_rejecting_the_certificate_still_yields_a_line",
			talk: func(t *testing.T, c net.Conn, _ *x509.CertPool) []byte {
				rc := &helloRecorder{Conn: c}
				tc := tls.Client(rc, &tls.Config{ServerName: "localhost"}) // system roots: untrusted
				if err := tc.Handshake(); err == nil {
					t.Fatal("handshake with an untrusted certificate succeeded")
				}
				return rc.hello()
			},
		},
		{
			name: "plain_http_to_the_tls_port_is_reported_as_not_tls",
			talk: func(t *testing.T, c net.Conn, _ *x509.CertPool) []byte {
				io.WriteString(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
				io.Copy(io.Discard, c) // until the server closes
				return nil
			},
			wantError: fingerprints.ErrNotTLS,
		},
		{
			name: "malformed_hello_is_reported_with_its_error",
			talk: func(t *testing.T, c net.Conn, _ *x509.CertPool) []byte {
				// A handshake record holding a ClientHello header that
				// claims a one-byte body: too short for any hello.
				c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x03})
				io.Copy(io.Discard, c)
				return nil
			},
			wantError: fingerprints.ErrMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, pool, out, stop := startFingerprint(t, "")
			var raw []byte
			dialAndRun(t, addr, func(c net.Conn) { raw = tt.talk(t, c, pool) })
			stop() // every pending line is written by now

			got := lines(t, out.String())
			if len(got) != 1 {
				t.Fatalf("%d lines, want 1:\n%s", len(got), out.String())
			}
			line := got[0]
			if line.UserAgent != "" || line.RemoteAddr == "" {
				t.Errorf("user_agent %q remote_addr %q", line.UserAgent, line.RemoteAddr)
			}
			if tt.wantError != nil {
				// The message of the wrapped sentinel is in the line.
				if !strings.Contains(line.Error, strings.TrimPrefix(tt.wantError.Error(), "fingerprints: ")) || line.JA4 != "" {
					t.Errorf("error %q ja4 %q, want an error about %v and no fingerprint", line.Error, line.JA4, tt.wantError)
				}
				return
			}
			_, fps, err := fingerprints.Fingerprint(raw)
			if err != nil {
				t.Fatal(err)
			}
			if line.Error != "" || line.Fingerprints != fps {
				t.Errorf("line error %q fingerprints %+v, want %+v", line.Error, line.Fingerprints, fps)
			}
		})
	}
}

// A connection that closes without a request gets its line when it closes,
// not only at shutdown: an operator watching the output sees it live.
func TestFingerprintLineAtCloseWhileRunning(t *testing.T) {
	addr, pool, out, _ := startFingerprint(t, "")
	dialAndRun(t, addr, func(c net.Conn) {
		tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
	})
	// Wait for the event (the server noticing the close); the bound only
	// keeps a broken build from hanging, it is not a performance claim.
	deadline := time.Now().Add(20 * time.Second)
	for out.String() == "" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := lines(t, out.String()); len(got) != 1 || got[0].JA4 == "" {
		t.Fatalf("lines while running: %+v", got)
	}
}

// TestConnRecorder checks the recorder without a server: file names that
// collide get a suffix, and nothing is written after close.
func TestConnRecorder(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	r := newConnRecorder(&out, dir, nil)
	r.logger = orDiscard(nil)
	h := parsedHello(t, &tls.Config{ServerName: "example.com"})
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	newPending := func() *pendingConn {
		p := &pendingConn{report: NewReport(h, nil, ""), raw: h.Raw}
		p.report.Time = &at
		return p
	}

	first, second := newPending(), newPending()
	r.mu.Lock()
	r.flushLocked(first)
	r.flushLocked(second)
	r.flushLocked(second) // already written: no second line
	r.mu.Unlock()

	base := filepath.Join(dir, "20261123T120000.000000000Z-"+h.JA4())
	if first.report.SavedAs != base+".hex" || second.report.SavedAs != base+"-1.hex" {
		t.Errorf("saved as %q and %q, want %q and the -1 suffix", first.report.SavedAs, second.report.SavedAs, base+".hex")
	}
	for _, p := range []string{base + ".hex", base + ".json", base + "-1.hex", base + "-1.json"} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Errorf("%d lines, want 2", n)
	}

	r.close()
	r.mu.Lock()
	r.flushLocked(newPending())
	r.mu.Unlock()
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Errorf("%d lines after close, want still 2", n)
	}
}
