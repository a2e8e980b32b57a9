package middleware

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// The endpoint answers with the calling connection's verdict: every field
// of the detection issue plus country/asn, never cached.
func TestEndpointJSON(t *testing.T) {
	proxied := mwLoadCapture(t, "chromium-156-mitmproxy")
	geo, err := NewGeo(GeoConfig{Static: []StaticGeo{{CIDR: "192.0.2.0/24", Country: "KZ", ASN: 9198, Org: "JSC Kazakhtelecom"}}})
	if err != nil {
		t.Fatal(err)
	}
	var seen mwSeen
	h, _ := mwNew(t, Config{Geo: geo}, seen.handler("app", "text/plain"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, withState(proxied.request(DefaultEndpointPath, mwChromeUA, "192.0.2.10:5555"), mwState(proxied.hello)))

	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if _, _, _, calls := seen.get(); calls != 0 {
		t.Error("the endpoint request reached the application handler")
	}
	for k, want := range map[string]string{
		"Cache-Control":          "no-store",
		"Content-Type":           "application/json",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s %q, want %q", k, got, want)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, rec.Body)
	}
	for k, want := range map[string]any{
		"verdict": "intercepted", "product": "mitmproxy", "kind": "debugging_proxy",
		"ja4": proxied.fps.JA4, "ja4_r": proxied.fps.JA4R, "ja3": proxied.fps.JA3, "ja3_hash": proxied.fps.JA3Hash,
		"ja3n": proxied.fps.JA3N, "ja3n_hash": proxied.fps.JA3NHash, "ja4_o": proxied.fps.JA4O, "ja4_ro": proxied.fps.JA4RO,
		"tls_version": "TLS 1.3", "sni": "localhost", "user_agent": mwChromeUA,
		"country": "KZ", "asn": float64(9198), "as_org": "JSC Kazakhtelecom",
		"source": "listener",
	} {
		if m[k] != want {
			t.Errorf("%s = %#v, want %#v", k, m[k], want)
		}
	}
	for _, k := range []string{"confidence", "grade", "reasons", "client", "alpn"} {
		if _, ok := m[k]; !ok {
			t.Errorf("%s missing", k)
		}
	}
	if c, _ := m["confidence"].(float64); c < DefaultMinConfidence {
		t.Errorf("confidence %v", m["confidence"])
	}
	if rs, _ := m["reasons"].([]any); len(rs) == 0 {
		t.Errorf("reasons %#v, want sentences", m["reasons"])
	}
	if cl, _ := m["client"].(map[string]any); cl["family"] != "chromium" || cl["browser"] != true {
		t.Errorf("client %#v", m["client"])
	}
	var alpn []string
	for _, a := range m["alpn"].([]any) {
		alpn = append(alpn, a.(string))
	}
	if !slices.Equal(alpn, proxied.hello.ALPN) {
		t.Errorf("alpn %v, hello offered %v", alpn, proxied.hello.ALPN)
	}
	for _, k := range []string{"error", "ip", "client_ip", "remote_addr"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s present in a verdict", k)
		}
	}
	if strings.Contains(rec.Body.String(), "192.0.2.10") {
		t.Error("the client address leaked into the endpoint")
	}
}

func TestEndpointMethodsAndConfig(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		method     string
		path       string
		wantStatus int
		wantApp    bool
	}{
		{"head_has_headers_and_no_body", Config{}, "HEAD", DefaultEndpointPath, http.StatusOK, false},
		{"post_is_refused", Config{}, "POST", DefaultEndpointPath, http.StatusMethodNotAllowed, false},
		{"subpath_goes_to_the_application", Config{}, "GET", DefaultEndpointPath + "/x", http.StatusOK, true},
		{"custom_path", Config{EndpointPath: "/api/tls"}, "GET", "/api/tls", http.StatusOK, false},
		{"default_path_free_when_moved", Config{EndpointPath: "/api/tls"}, "GET", DefaultEndpointPath, http.StatusOK, true},
		{"disabled_endpoint_goes_to_the_application", Config{DisableEndpoint: true}, "GET", DefaultEndpointPath, http.StatusOK, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen mwSeen
			h, _ := mwNew(t, tt.cfg, seen.handler("app", "text/plain"))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			_, _, _, calls := seen.get()
			if rec.Code != tt.wantStatus || (calls == 1) != tt.wantApp {
				t.Errorf("status %d app called %d times; want %d, app %v", rec.Code, calls, tt.wantStatus, tt.wantApp)
			}
			if !tt.wantApp && rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", rec.Header().Get("Cache-Control"))
			}
			if tt.method == "HEAD" && (rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "") {
				t.Errorf("HEAD body %d bytes, Content-Length %q", rec.Body.Len(), rec.Header().Get("Content-Length"))
			}
			if tt.method == "POST" && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", rec.Header().Get("Allow"))
			}
		})
	}
}
