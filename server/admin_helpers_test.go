package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/alerts"
)

// testToken is a valid admin token for tests (long enough, printable).
const testToken = "s3cret-admin-token-for-tests"

// testNow is the dashboard clock in API tests: the half-minute makes a
// window that started at the wall clock differ from one aligned on
// minutes.
var testNow = time.Date(2026, 11, 24, 12, 30, 30, 0, time.UTC)

// newTestAdmin builds the admin handler with the dashboard clock at now
// (zero: the real clock).
func newTestAdmin(t testing.TB, cfg AdminServerConfig, now time.Time) *admin {
	t.Helper()
	h, err := NewAdminHandler(cfg)
	if err != nil {
		t.Fatalf("NewAdminHandler: %v", err)
	}
	a := h.(*admin)
	if !now.IsZero() {
		a.dash.now = func() time.Time { return now }
	}
	return a
}

// adminRequest is a request as a local browser or scraper sends it to
// the default listener.
func adminRequest(method, target string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Host = "127.0.0.1:9090"
	return r
}

// do serves r and returns the response with its body read.
func do(h http.Handler, r *http.Request) (*http.Response, string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	resp := w.Result()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// getJSON GETs target from h, requires status want and decodes the body
// into v (if non-nil).
func getJSON(t *testing.T, h http.Handler, target string, want int, v any) {
	t.Helper()
	resp, body := do(h, adminRequest("GET", target))
	if resp.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d; body %s", target, resp.StatusCode, want, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q, want application/json", target, ct)
	}
	if v != nil {
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("GET %s: decode %s: %v", target, body, err)
		}
	}
}

// feed records n copies of o at time at into store, through a real
// Recorder (its own node, so batches never collide with another feed).
func feed(t testing.TB, store alerts.Store, at time.Time, o alerts.Observation, n int) {
	t.Helper()
	rec, err := alerts.NewRecorder(store, alerts.RecorderConfig{Clock: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		o := o
		if !o.Client.IsValid() {
			o.Client = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		}
		rec.Record(o)
	}
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// ja4Mitmproxy is the JA4 of mitmproxy's own hello (the shipped
// signature), the fingerprint the tests' intercepted connections carry.
const ja4Mitmproxy = "t13d2911h2_c36778b98fa1_1f22a2ca17c4"

// kzFixture fills a memory store with the story the dashboard must tell:
// in Kazakhstan's AS9198, 60 of 100 browser connections were intercepted
// by mitmproxy one minute before testNow; in Germany's AS3320, 50 clean
// browser connections and 20 from bots.
func kzFixture(t testing.TB) *alerts.MemoryStore {
	t.Helper()
	s := alerts.NewMemoryStore()
	at := testNow.Add(-time.Minute)
	kz := alerts.Observation{Country: "KZ", ASN: 9198, ASOrg: "JSC Kazakhtelecom", Browser: true}
	mitm := kz
	mitm.Verdict, mitm.Product, mitm.JA4 = alerts.VerdictIntercepted, "mitmproxy", ja4Mitmproxy
	feed(t, s, at, mitm, 60)
	kz.Verdict = alerts.VerdictClean
	feed(t, s, at, kz, 40)
	de := alerts.Observation{Country: "DE", ASN: 3320, ASOrg: "Deutsche Telekom AG", Browser: true, Verdict: alerts.VerdictClean}
	feed(t, s, at, de, 50)
	de.Browser = false
	feed(t, s, at, de, 20)
	return s
}

// newTextLogger logs everything to w.
func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// fakeTLSState marks a test request as having arrived over TLS.
func fakeTLSState() *tls.ConnectionState {
	return &tls.ConnectionState{HandshakeComplete: true, Version: tls.VersionTLS13}
}
