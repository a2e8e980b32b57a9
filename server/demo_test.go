package server

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// startDemo runs RunDemo on an ephemeral loopback port until the test ends
// (then checks it shut down cleanly) and returns its address and a pool
// trusting its certificate.
func startDemo(t *testing.T, log *syncBuffer) (string, *x509.CertPool) {
	t.Helper()
	dir, pool := testCert(t)
	ln := loopback(t)
	logger := slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	runUntilCleanup(t, func(ctx context.Context) error {
		return RunDemo(ctx, DemoConfig{Listener: ln, AdminListener: loopback(t), CertDir: dir, Logger: logger})
	})
	return ln.Addr().String(), pool
}

func TestDemoEndpoint(t *testing.T) {
	log := &syncBuffer{}
	addr, pool := startDemo(t, log)
	tests := []struct {
		name      string
		h2        bool
		wantProto int
	}{
		{name: "http2_client_gets_its_own_fingerprints", h2: true, wantProto: 2},
		{name: "http1_client_gets_its_own_fingerprints", h2: false, wantProto: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, addr, pool, tt.h2)
			const ua = "mitmwatch-test/1.0 (+endpoint)"
			resp, body, raw := c.get(t, WellKnownPath, ua)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if resp.ProtoMajor != tt.wantProto {
				t.Errorf("served over %s, want HTTP/%d", resp.Proto, tt.wantProto)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}

			// What the client sent, computed directly from its bytes.
			hello, fps, err := fingerprints.Fingerprint(raw)
			if err != nil {
				t.Fatalf("recorded client hello: %v", err)
			}
			var got map[string]any
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, body)
			}
			want := map[string]string{
				"ja3": fps.JA3, "ja3_hash": fps.JA3Hash, "ja3n": fps.JA3N,
				"ja4": fps.JA4, "ja4_r": fps.JA4R,
				"tls_version": "TLS 1.3", "sni": "localhost", "user_agent": ua,
				// The middleware's endpoint: judged from the capture.
				"verdict": "clean", "source": "listener", "country": "ZZ",
			}
			for k, v := range want {
				if v == "" {
					t.Errorf("direct computation gave an empty %s", k)
				}
				if got[k] != v {
					t.Errorf("%s = %#v, want %q", k, got[k], v)
				}
			}
			var alpn []string
			for _, p := range got["alpn"].([]any) {
				alpn = append(alpn, p.(string))
			}
			if len(alpn) == 0 || !slices.Equal(alpn, hello.ALPN) {
				t.Errorf("alpn %v, client offered %v", alpn, hello.ALPN)
			}
			if _, ok := got["error"]; ok {
				t.Errorf("error in a successful report: %v", got["error"])
			}
		})
	}
	if !strings.Contains(log.String(), "open https://"+addr+"/") {
		t.Errorf("start message with the URL not logged:\n%s", log.String())
	}
}

func TestDemoPage(t *testing.T) {
	addr, pool := startDemo(t, &syncBuffer{})
	c := newTestClient(t, addr, pool, true)
	const evil = `<script>alert("ua")</script>`
	resp, body, raw := c.get(t, "/", evil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	_, fps, err := fingerprints.Fingerprint(raw)
	if err != nil {
		t.Fatal(err)
	}
	page := string(body)
	// Go's TLS under a User-Agent that names no browser: an honest
	// program, judged clean, with the reason listed.
	for _, s := range []string{fps.JA4, fps.JA4R, fps.JA3Hash, fps.JA3NHash, "TLS 1.3", WellKnownPath, "&lt;script&gt;",
		`data-verdict="clean"`, "Your connection is not intercepted", fingerprints.ReasonNotABrowser.String(), "not a browser"} {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("User-Agent rendered unescaped: page contains <script")
	}
	for k, want := range map[string]string{
		"Content-Type":  "text/html; charset=utf-8",
		"Cache-Control": "no-store",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s %q, want %q", k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q does not forbid by default", csp)
	}
}

func TestDemoHandlerRoutes(t *testing.T) {
	h, err := NewDemoHandler(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
	}{
		{"unknown_path_is_not_found", "GET", "/admin", http.StatusNotFound},
		{"post_to_endpoint_is_refused", "POST", WellKnownPath, http.StatusMethodNotAllowed},
		{"endpoint_subpath_is_not_found", "GET", WellKnownPath + "/x", http.StatusNotFound},
		{"head_of_page_is_allowed", "HEAD", "/", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.wantStatus)
			}
		})
	}
}

// Without the capture listener there is no hello: the endpoint says so in
// error instead of answering with empty fingerprints that look valid.
func TestDemoEndpointWithoutCapture(t *testing.T) {
	h, err := NewDemoHandler(nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", WellKnownPath, nil))
	var r Report
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.Error == "" || r.JA4 != "" {
		t.Errorf("report without capture: error %q, ja4 %q", r.Error, r.JA4)
	}
}
