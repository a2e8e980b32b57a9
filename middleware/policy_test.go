package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestProtectedPaths(t *testing.T) {
	s, err := Config{ProtectPaths: []string{"/login", "/pay/", "/account/settings"}}.settings()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"/login", true},
		{"/login/otp", true},
		{"/loginhelp", false},
		{"/pay/", true},
		{"/pay/card", true},
		{"/pay", false}, // "/pay/" protects what is below it
		{"/account/settings/password", true},
		{"/account", false},
		{"/", false},
		{"//login", true},          // double slash still reaches the login route in many routers
		{"/static/../login", true}, // dot segments are cleaned
		{"/./login/", true},
		{"/Login", false}, // paths are case-sensitive
		{"", false},
	} {
		if got := s.protected(tt.path); got != tt.want {
			t.Errorf("protected(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// Protected paths answer intercepted connections with a 403 page; clean
// connections, and other paths, reach the handler.
func TestProtectivePolicy(t *testing.T) {
	direct := mwLoadCapture(t, "chromium-156-direct")
	proxied := mwLoadCapture(t, "chromium-156-mitmproxy")
	tests := []struct {
		name      string
		capture   mwCapture
		path      string
		minConf   float64
		wantBlock bool
	}{
		{"intercepted_login_is_blocked", proxied, "/login", 0, true},
		{"intercepted_login_subpath_is_blocked", proxied, "/login/password", 0, true},
		{"intercepted_other_path_is_served", proxied, "/news", 0, false},
		{"clean_login_is_served", direct, "/login", 0, false},
		{"intercepted_below_min_confidence_is_served", proxied, "/login", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen mwSeen
			h, s := mwNew(t, Config{ProtectPaths: []string{"/login"}, BannerMinConfidence: tt.minConf}, seen.handler(mwPage, "text/html"))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, withState(tt.capture.request(tt.path, mwChromeUA, "198.51.100.1:1"), mwState(tt.capture.hello)))
			_, _, _, calls := seen.get()
			if !tt.wantBlock {
				if rec.Code != http.StatusOK || calls != 1 {
					t.Errorf("status %d, handler calls %d; want it served", rec.Code, calls)
				}
				return
			}
			if rec.Code != http.StatusForbidden || calls != 0 {
				t.Fatalf("status %d, handler calls %d; want 403 without the handler", rec.Code, calls)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q", got)
			}
			if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", got)
			}
			body := rec.Body.String()
			for _, s := range []string{"intercepted", "mitmproxy", "data-mitmwatch-blocked", DefaultEndpointPath} {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			if strings.Contains(body, "<script") {
				t.Error("blocked page has a script")
			}
			if s.metrics.blocked.Load() != 1 {
				t.Errorf("blocked counter %d", s.metrics.blocked.Load())
			}
		})
	}
}

// A product name from an operator's signature file is escaped on the page.
func TestBlockedPageEscapesProduct(t *testing.T) {
	s, err := Config{ProtectPaths: []string{"/"}}.settings()
	if err != nil {
		t.Fatal(err)
	}
	v := &Verdict{}
	v.Product = `<img src=x onerror=alert(1)>`
	rec := httptest.NewRecorder()
	s.serveBlocked(rec, httptest.NewRequest("GET", "/", nil), v)
	if strings.Contains(rec.Body.String(), "<img") {
		t.Errorf("product rendered unescaped:\n%s", rec.Body)
	}
}
