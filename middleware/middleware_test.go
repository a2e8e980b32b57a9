package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// The default configuration shows the banner to the real interception
// captures (Chromium and Firefox through mitmproxy, with a person's
// User-Agent) and not to the same browsers connecting directly.
func TestBannerOnRealCaptures(t *testing.T) {
	tests := []struct {
		name       string
		capture    string
		ua         string // "" keeps the captured User-Agent
		wantBanner bool
	}{
		{"chromium_through_mitmproxy_gets_the_banner", "chromium-156-mitmproxy", mwChromeUA, true},
		{"firefox_through_mitmproxy_gets_the_banner", "firefox-esr-153-mitmproxy", "", true},
		{"chromium_direct_gets_no_banner", "chromium-156-direct", mwChromeUA, false},
		{"firefox_direct_gets_no_banner", "firefox-esr-153-direct", "", false},
		// Headless Chromium announces itself: a bot is never warned.
		{"headless_chromium_through_mitmproxy_is_a_bot_not_warned", "chromium-156-mitmproxy", "", false},
		{"curl_through_mitmproxy_is_not_a_browser_not_warned", "curl-mitmproxy", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mwLoadCapture(t, tt.capture)
			var seen mwSeen
			h, _ := mwNew(t, Config{}, seen.handler(mwPage, "text/html; charset=utf-8"))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, withState(c.request("/", tt.ua, "198.51.100.1:1"), mwState(c.hello)))
			v, _, _, _ := seen.get()
			got := strings.Contains(rec.Body.String(), "data-mitmwatch-banner")
			if got != tt.wantBanner {
				t.Errorf("banner %v, want %v (verdict %v, confidence %.2f, reasons %v)",
					got, tt.wantBanner, v.Verdict.Verdict, v.Confidence, v.Reasons.Strings())
			}
			if tt.wantBanner && v.Confidence < DefaultMinConfidence {
				t.Errorf("confidence %.2f below the default threshold", v.Confidence)
			}
			if !strings.Contains(rec.Body.String(), "<h1>Shop</h1>") {
				t.Errorf("page content lost:\n%s", rec.Body)
			}
		})
	}
}

func TestBannerDisabledAndAssets(t *testing.T) {
	c := mwLoadCapture(t, "chromium-156-mitmproxy")
	h, _ := mwNew(t, Config{Banner: BannerConfig{Disabled: true}}, mwHandlerHTML())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, withState(c.request("/", mwChromeUA, "198.51.100.1:1"), mwState(c.hello)))
	if strings.Contains(rec.Body.String(), "data-mitmwatch-banner") {
		t.Error("disabled banner injected")
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", DefaultBannerAssetPath+"banner.js", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "<html><body>app</body></html>" {
		t.Errorf("disabled banner: asset path answered %d %q, want the application", rec.Code, rec.Body)
	}

	// Enabled: the middleware serves the assets itself, on any connection.
	h, _ = mwNew(t, Config{}, mwHandlerHTML())
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", DefaultBannerAssetPath+"banner.js", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), "javascript") {
		t.Errorf("asset: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestResponseHeader(t *testing.T) {
	proxied := mwLoadCapture(t, "chromium-156-mitmproxy")
	direct := mwLoadCapture(t, "chromium-156-direct")
	for _, tt := range []struct {
		name    string
		enabled bool
		capture mwCapture
		want    string
	}{
		{"intercepted_names_the_product", true, proxied, `intercepted;product="mitmproxy"`},
		{"clean_is_said_too", true, direct, "clean"},
		{"off_by_default", false, proxied, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := mwNew(t, Config{ResponseHeader: tt.enabled}, mwHandlerOK())
			st := mwState(tt.capture.hello)
			for range 2 { // computed, then cached
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, withState(tt.capture.request("/", mwChromeUA, "198.51.100.1:1"), st))
				if got := rec.Header().Get(VerdictHeader); got != tt.want {
					t.Errorf("%s %q, want %q", VerdictHeader, got, tt.want)
				}
			}
		})
	}
	odd := fingerprints.Verdict{Verdict: fingerprints.OutcomeIntercepted, Product: "a\"b\\c\né"}
	if got := headerValue(&odd); got != `intercepted;product="a\"b\\c???"` {
		t.Errorf("headerValue(%q) = %s", odd.Product, got)
	}
}

// TestVerdictHeaderValueAllocatesOnce: the value of an intercepted
// verdict with a product is built in one allocation, the string itself.
func TestVerdictHeaderValueAllocatesOnce(t *testing.T) {
	v := fingerprints.Verdict{Verdict: fingerprints.OutcomeIntercepted, Product: "mitmproxy"}
	if n := testing.AllocsPerRun(100, func() { _ = headerValue(&v) }); n != 1 {
		t.Errorf("headerValue allocates %v times, want 1", n)
	}
}

// The middleware is a chi middleware: Router.Use, and chi's handlers read
// the verdict.
func TestChiRouterUse(t *testing.T) {
	proxied := mwLoadCapture(t, "chromium-156-mitmproxy")
	mw, err := New(Config{ProtectPaths: []string{"/login"}})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(mw)
	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		v, ok := FromContext(r.Context())
		if !ok {
			http.Error(w, "no verdict", 500)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>verdict " + v.Verdict.Verdict.String() + "</body></html>"))
	})
	r.Get("/login", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("login form")) })

	st := mwState(proxied.hello)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, withState(proxied.request("/", mwChromeUA, "198.51.100.1:1"), st))
	if body := rec.Body.String(); !strings.Contains(body, "verdict intercepted") || !strings.Contains(body, "data-mitmwatch-banner") {
		t.Errorf("chi page: %d %s", rec.Code, body)
	}
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, withState(proxied.request("/login", mwChromeUA, "198.51.100.1:1"), st))
	if rec.Code != http.StatusForbidden {
		t.Errorf("chi /login: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, withState(proxied.request(DefaultEndpointPath, mwChromeUA, "198.51.100.1:1"), st))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"verdict": "intercepted"`) {
		t.Errorf("chi endpoint (no route of its own): %d %s", rec.Code, rec.Body)
	}
}

// A handler's FromContext on a spoofed connection: a library under a
// browser's User-Agent is told apart from interception and never warned.
func TestSpoofedIsNotWarned(t *testing.T) {
	goHello := mwLoadCapture(t, "go-crypto-tls")
	var seen mwSeen
	h, _ := mwNew(t, Config{ProtectPaths: []string{"/"}}, seen.handler(mwPage, "text/html"))
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("User-Agent", mwChromeUA)
	r.RemoteAddr = "198.51.100.1:1"
	h.ServeHTTP(rec, withState(r, mwState(goHello.hello)))
	v, _, _, _ := seen.get()
	if v.Verdict.Verdict != fingerprints.OutcomeSpoofed || rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "data-mitmwatch-banner") {
		t.Errorf("verdict %v status %d", v.Verdict.Verdict, rec.Code)
	}
}

func mwHandlerHTML() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>app</body></html>"))
	})
}

// The kept-alive fast path allocates nothing, with or without the
// response header (a benchmark reports the time; this pins the
// allocations in every test run).
func TestFastPathDoesNotAllocate(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := FromContext(r.Context()); !ok {
			t.Error("no verdict")
		}
	})
	for _, cfg := range []Config{{}, {ResponseHeader: true, ProtectPaths: []string{"/login"}}} {
		h, r, w := mwFastPath(t, cfg, next)
		if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n != 0 {
			t.Errorf("config %+v: %.1f allocations per kept-alive request, want 0", cfg, n)
		}
	}
}
