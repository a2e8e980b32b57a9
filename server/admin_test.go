package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestNewAdminHandlerConfig(t *testing.T) {
	tests := []struct {
		name      string
		cfg       AdminServerConfig
		wantErr   bool
		wantToken bool // the error wraps ErrAdminToken
	}{
		{"zero_value_is_loopback_without_token", AdminServerConfig{}, false, false},
		{"ipv4_loopback", AdminServerConfig{Listen: "127.0.0.1:9090"}, false, false},
		{"other_ipv4_loopback", AdminServerConfig{Listen: "127.8.9.10:9090"}, false, false},
		{"ipv6_loopback", AdminServerConfig{Listen: "[::1]:9090"}, false, false},
		{"localhost_name", AdminServerConfig{Listen: "localhost:9090"}, false, false},
		{"all_interfaces_without_token_refused", AdminServerConfig{Listen: "0.0.0.0:9090"}, true, true},
		{"empty_host_means_all_interfaces_refused", AdminServerConfig{Listen: ":9090"}, true, true},
		{"ipv6_any_refused", AdminServerConfig{Listen: "[::]:9090"}, true, true},
		{"private_address_refused", AdminServerConfig{Listen: "10.1.2.3:9090"}, true, true},
		{"hostname_that_may_resolve_anywhere_refused", AdminServerConfig{Listen: "admin.internal:9090"}, true, true},
		{"all_interfaces_with_token", AdminServerConfig{Listen: "0.0.0.0:9090", Token: testToken}, false, false},
		{"short_token_refused", AdminServerConfig{Listen: "0.0.0.0:9090", Token: "hunter2"}, true, true},
		{"token_with_space_refused", AdminServerConfig{Token: "a token with spaces in it"}, true, true},
		{"token_with_newline_refused_header_injection", AdminServerConfig{Token: "0123456789abcdef\r\nX: y"}, true, true},
		{"listen_without_port", AdminServerConfig{Listen: "127.0.0.1"}, true, false},
		{"window_not_whole_minutes", AdminServerConfig{Window: 90 * time.Second}, true, false},
		{"window_beyond_retention_cap", AdminServerConfig{Window: 400 * 24 * time.Hour}, true, false},
		{"window_six_hours", AdminServerConfig{Window: 6 * time.Hour}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewAdminHandler(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewAdminHandler: err = %v, want error %v", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrAdminToken); got != tt.wantToken {
				t.Errorf("errors.Is(%v, ErrAdminToken) = %v, want %v", err, got, tt.wantToken)
			}
			if err == nil && h == nil {
				t.Error("nil handler without error")
			}
			if err != nil && !strings.HasPrefix(err.Error(), "server: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestServeAdminRefusesWithoutToken(t *testing.T) {
	err := ServeAdmin(context.Background(), AdminServerConfig{Listen: "0.0.0.0:0"})
	if !errors.Is(err, ErrAdminToken) {
		t.Fatalf("ServeAdmin on 0.0.0.0 without token: %v, want ErrAdminToken", err)
	}
}

func TestServeAdminServesAndStops(t *testing.T) {
	ln := loopback(t)
	addr := ln.Addr().String()
	logs := &syncBuffer{}
	stop := runUntilCleanup(t, func(ctx context.Context) error {
		// Listen names every interface, but the socket served is on
		// loopback: the token check follows the socket.
		return ServeAdmin(ctx, AdminServerConfig{Listen: "0.0.0.0:9090", Listener: ln, Logger: newTextLogger(logs)})
	})
	var resp *http.Response
	var err error
	for range 100 {
		if resp, err = http.Get("http://" + addr + "/healthz"); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
	stop()
	if !strings.Contains(logs.String(), "http://"+addr+"/") {
		t.Errorf("start message does not give the URL; log:\n%s", logs)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Error("still serving after the context was cancelled")
	}
}

func TestAdminTokenAuth(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{Listen: "0.0.0.0:9090", Token: testToken, Store: kzFixture(t)}, testNow)
	cookie := "mitmwatch_admin=" + sessionValue(testToken)
	tests := []struct {
		name   string
		path   string
		header map[string]string
		want   int
	}{
		{"no_credentials_dashboard", "/", nil, 401},
		{"no_credentials_api", "/api/top", nil, 401},
		{"no_credentials_metrics", "/metrics", nil, 401},
		{"no_credentials_unknown_path_does_not_reveal_404", "/nope", nil, 401},
		{"healthz_open_for_probes", "/healthz", nil, 200},
		{"readyz_open_for_probes", "/readyz", nil, 200},
		{"bearer_dashboard", "/", map[string]string{"Authorization": "Bearer " + testToken}, 200},
		{"bearer_api", "/api/top", map[string]string{"Authorization": "Bearer " + testToken}, 200},
		{"bearer_metrics", "/metrics", map[string]string{"Authorization": "Bearer " + testToken}, 200},
		{"bearer_scheme_case_insensitive", "/metrics", map[string]string{"Authorization": "bearer " + testToken}, 200},
		{"bearer_unknown_path_404", "/nope", map[string]string{"Authorization": "Bearer " + testToken}, 404},
		{"wrong_bearer", "/metrics", map[string]string{"Authorization": "Bearer " + testToken + "x"}, 401},
		{"token_prefix_only", "/metrics", map[string]string{"Authorization": "Bearer " + testToken[:10]}, 401},
		{"empty_bearer", "/metrics", map[string]string{"Authorization": "Bearer "}, 401},
		{"token_as_basic_auth", "/metrics", map[string]string{"Authorization": "Basic " + testToken}, 401},
		{"session_cookie", "/api/top", map[string]string{"Cookie": cookie}, 200},
		{"raw_token_as_cookie_rejected", "/api/top", map[string]string{"Cookie": "mitmwatch_admin=" + testToken}, 401},
		{"forged_cookie", "/api/top", map[string]string{"Cookie": "mitmwatch_admin=" + strings.Repeat("0", 64)}, 401},
		{"cookie_of_another_token", "/api/top", map[string]string{"Cookie": "mitmwatch_admin=" + sessionValue(testToken+"2")}, 401},
		{"wrong_bearer_beats_valid_cookie", "/api/top", map[string]string{"Authorization": "Bearer nope", "Cookie": cookie}, 401},
		{"foreign_host_allowed_with_token", "/api/top", map[string]string{"Authorization": "Bearer " + testToken, "Host": "mitmwatch.example:9090"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := adminRequest("GET", tt.path)
			for k, v := range tt.header {
				if k == "Host" {
					r.Host = v
					continue
				}
				r.Header.Set(k, v)
			}
			resp, body := do(a, r)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tt.want, body)
			}
			if tt.want == 401 {
				if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				if strings.Contains(body, "KZ") || strings.Contains(body, "9198") {
					t.Errorf("401 body leaks data: %q", body)
				}
			}
		})
	}
}

func TestAdminTokenQueryCookieFlow(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{Listen: "0.0.0.0:9090", Token: testToken, Store: kzFixture(t)}, testNow)

	resp, _ := do(a, adminRequest("GET", "/?token="+url.QueryEscape(testToken)+"&w=1h"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /?token=: status %d, want 303", resp.StatusCode)
	}
	if loc := resp.Header.Get("Location"); loc != "/?w=1h" {
		t.Errorf("Location = %q, want /?w=1h (token dropped, other parameters kept)", loc)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v, want one", cookies)
	}
	c := cookies[0]
	if c.Name != adminCookie || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Errorf("cookie %+v: want %s, HttpOnly, SameSite=Strict, Path=/", c, adminCookie)
	}
	if strings.Contains(c.Value, testToken) {
		t.Error("the cookie carries the token itself")
	}
	if c.Secure {
		t.Error("Secure cookie over plain HTTP would never be sent back")
	}

	// The browser follows the redirect with the cookie: page and API work.
	for _, path := range []string{"/", "/dashboard.js", "/api/top", "/api/alerts"} {
		r := adminRequest("GET", path)
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		if resp, body := do(a, r); resp.StatusCode != 200 {
			t.Errorf("GET %s with the session cookie: %d %q", path, resp.StatusCode, body)
		}
	}

	t.Run("wrong_token_in_query_sets_nothing", func(t *testing.T) {
		resp, _ := do(a, adminRequest("GET", "/?token=not-the-right-token-at-all"))
		if resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
			t.Fatalf("status %d cookies %v, want 401 and none", resp.StatusCode, resp.Cookies())
		}
	})
	t.Run("open_redirect_via_double_slash_path", func(t *testing.T) {
		r := adminRequest("GET", "/?token="+testToken)
		r.URL.Path = "//evil.example/"
		resp, _ := do(a, r)
		if resp.StatusCode == http.StatusSeeOther || resp.Header.Get("Location") != "" {
			t.Fatalf("redirected to %q", resp.Header.Get("Location"))
		}
	})
	t.Run("cookie_secure_over_tls", func(t *testing.T) {
		r := adminRequest("GET", "/api/top?token="+testToken)
		r.TLS = fakeTLSState()
		resp, _ := do(a, r)
		if cs := resp.Cookies(); len(cs) != 1 || !cs[0].Secure {
			t.Fatalf("cookies %v, want one Secure", cs)
		}
		if loc := resp.Header.Get("Location"); loc != "/api/top" {
			t.Errorf("Location = %q, want /api/top", loc)
		}
	})
}

func TestAdminHostCheckWithoutToken(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{Store: kzFixture(t)}, testNow)
	tests := []struct {
		name string
		host string
		want int
	}{
		{"ipv4_loopback", "127.0.0.1:9090", 200},
		{"localhost", "localhost:9090", 200},
		{"localhost_without_port", "localhost", 200},
		{"ipv6_loopback", "[::1]:9090", 200},
		{"dns_rebinding_attacker_name", "attacker.example:9090", 403},
		{"dns_rebinding_name_embedding_loopback", "127.0.0.1.nip.io:9090", 403},
		{"localhost_subdomain", "localhost.attacker.example", 403},
		{"empty_host", "", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/top", "/metrics", "/"} {
				r := adminRequest("GET", path)
				r.Host = tt.host
				if resp, body := do(a, r); resp.StatusCode != tt.want {
					t.Fatalf("GET %s Host %q: %d, want %d (%q)", path, tt.host, resp.StatusCode, tt.want, body)
				}
			}
		})
	}
}

func TestAdminSecurityHeaders(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{Store: kzFixture(t)}, testNow)
	for _, path := range []string{"/", "/dashboard.js", "/dashboard.css", "/api/top", "/api/series?key=KZ:9198",
		"/api/fingerprints", "/api/alerts", "/api/top?window=bogus", "/metrics", "/healthz", "/readyz", "/missing"} {
		resp, _ := do(a, adminRequest("GET", path))
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "http") {
			t.Errorf("%s: CSP %q allows inline code or another origin", path, csp)
		}
		for k, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"X-Frame-Options":        "DENY",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
}

func TestAdminMethods(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{Store: kzFixture(t)}, testNow)
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		resp, _ := do(a, adminRequest(m, "/api/top"))
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /api/top: %d Allow %q, want 405 GET, HEAD", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	resp, body := do(a, adminRequest("HEAD", "/"))
	if resp.StatusCode != 200 || body != "" {
		t.Errorf("HEAD /: %d with %d body bytes", resp.StatusCode, len(body))
	}
}

func TestAdminHealthAndReady(t *testing.T) {
	var readyErr error
	ready := func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline on the readiness context")
		}
		return readyErr
	}
	open := newTestAdmin(t, AdminServerConfig{Ready: ready}, time.Time{})
	guarded := newTestAdmin(t, AdminServerConfig{Ready: ready, Token: testToken, Listen: "0.0.0.0:9090"}, time.Time{})
	bearer := func(r *http.Request) *http.Request {
		r.Header.Set("Authorization", "Bearer "+testToken)
		return r
	}
	check := func(name string, h http.Handler, r *http.Request, wantCode int, wantBody string) {
		t.Helper()
		resp, body := do(h, r)
		if resp.StatusCode != wantCode || strings.TrimSpace(body) != wantBody {
			t.Errorf("%s: %d %q, want %d %q", name, resp.StatusCode, body, wantCode, wantBody)
		}
	}

	check("healthz", open, adminRequest("GET", "/healthz"), 200, "ok")
	check("readyz_ready", open, adminRequest("GET", "/readyz"), 200, "ready")

	readyErr = errors.New("redis 10.0.0.5:6379: connection refused")
	check("healthz_while_not_ready", open, adminRequest("GET", "/healthz"), 200, "ok")
	check("readyz_reason_on_loopback", open, adminRequest("GET", "/readyz"), 503, "not ready: redis 10.0.0.5:6379: connection refused")
	check("readyz_hides_internal_address_from_anonymous", guarded, adminRequest("GET", "/readyz"), 503, "not ready")
	check("readyz_reason_with_token", guarded, bearer(adminRequest("GET", "/readyz")), 503, "not ready: redis 10.0.0.5:6379: connection refused")

	readyErr = nil
	check("readyz_recovers", open, adminRequest("GET", "/readyz"), 200, "ready")

	noReady := newTestAdmin(t, AdminServerConfig{}, time.Time{})
	check("readyz_without_check", noReady, adminRequest("GET", "/readyz"), 200, "ready")
}

func TestAdminNotFound(t *testing.T) {
	a := newTestAdmin(t, AdminServerConfig{}, time.Time{})
	for _, path := range []string{"/index.html", "/api", "/api/", "/dashboard/index.html", "/api/top/extra", "/../etc/passwd"} {
		if resp, _ := do(a, adminRequest("GET", path)); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestAdminPprof(t *testing.T) {
	bearer := map[string]string{"Authorization": "Bearer " + testToken}
	tests := []struct {
		name   string
		cfg    AdminServerConfig
		path   string
		header map[string]string
		want   int
		body   string
	}{
		{name: "off_by_default_index_404", cfg: AdminServerConfig{}, path: "/debug/pprof/", want: 404},
		{name: "off_by_default_heap_404", cfg: AdminServerConfig{}, path: "/debug/pprof/heap?debug=1", want: 404},
		{name: "on_index_lists_profiles", cfg: AdminServerConfig{Pprof: true}, path: "/debug/pprof/", want: 200, body: "goroutine"},
		{name: "on_goroutine_dump", cfg: AdminServerConfig{Pprof: true}, path: "/debug/pprof/goroutine?debug=1", want: 200, body: "goroutine profile:"},
		{name: "on_cmdline", cfg: AdminServerConfig{Pprof: true}, path: "/debug/pprof/cmdline", want: 200},
		{name: "on_unknown_profile_404", cfg: AdminServerConfig{Pprof: true}, path: "/debug/pprof/nope", want: 404},
		{name: "on_behind_token", cfg: AdminServerConfig{Pprof: true, Listen: "0.0.0.0:9090", Token: testToken}, path: "/debug/pprof/", want: 401},
		{name: "on_with_token", cfg: AdminServerConfig{Pprof: true, Listen: "0.0.0.0:9090", Token: testToken}, path: "/debug/pprof/", header: bearer, want: 200, body: "goroutine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAdmin(t, tt.cfg, time.Time{})
			r := adminRequest("GET", tt.path)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			resp, body := do(a, r)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d; body %.200q", resp.StatusCode, tt.want, body)
			}
			if !strings.Contains(body, tt.body) {
				t.Fatalf("body %.300q does not contain %q", body, tt.body)
			}
		})
	}
}
