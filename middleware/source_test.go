package middleware

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mitmwatch/mitmwatch/fingerprints"
)

// Source selection and header stripping, with the attacks they stop. The
// peer 203.0.113.9 is the proxy (trusted in every case), 198.51.100.7 the
// real client behind it (geo "NL"), 192.0.2.66 an address an attacker
// would like to be taken for (geo "KZ"). A direct client connects from
// 198.51.100.8 (geo "NL") with its own capture on the connection.
func TestSourceSelectionAndStripping(t *testing.T) {
	direct := mwLoadCapture(t, "chromium-156-direct")
	proxied := mwLoadCapture(t, "chromium-156-mitmproxy")
	geo, err := NewGeo(GeoConfig{Static: []StaticGeo{
		{CIDR: "198.51.100.0/24", Country: "NL", ASN: 1136, Org: "KPN"},
		{CIDR: "192.0.2.0/24", Country: "KZ", ASN: 9198, Org: "JSC Kazakhtelecom"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Geo: geo, TrustedProxies: []string{"203.0.113.0/24"}}

	b64 := func(raw []byte) string { return base64.StdEncoding.EncodeToString(raw) }
	const (
		proxyPeer  = "203.0.113.9:40000"
		directPeer = "198.51.100.8:40000"
	)
	type want struct {
		source   Source
		verdict  fingerprints.Outcome
		ja4      string
		country  string
		errIs    error
		stripped bool // the handler saw none of the upstream headers
	}
	tests := []struct {
		name    string
		peer    string
		capture *fingerprints.ClientHello // the hello on the TCP connection
		headers map[string]string
		want    want
	}{
		{
			name: "untrusted_peer_sends_ja4_header", peer: directPeer, capture: direct.hello,
			headers: map[string]string{"X-Mitmwatch-JA4": proxied.fps.JA4},
			want:    want{source: SourceListener, verdict: fingerprints.OutcomeClean, ja4: direct.fps.JA4, country: "NL", stripped: true},
		},
		{
			name: "untrusted_peer_sends_hello_header_of_a_clean_browser_to_hide_its_proxy", peer: directPeer, capture: proxied.hello,
			headers: map[string]string{"X-Mitmwatch-ClientHello": b64(direct.raw), "X-Mitmwatch-JA3": direct.fps.JA3Hash},
			want:    want{source: SourceListener, verdict: fingerprints.OutcomeIntercepted, ja4: proxied.fps.JA4, country: "NL", stripped: true},
		},
		{
			name: "xff_spoof_from_untrusted_peer", peer: directPeer, capture: direct.hello,
			headers: map[string]string{"X-Forwarded-For": "192.0.2.66"},
			want:    want{source: SourceListener, verdict: fingerprints.OutcomeClean, ja4: direct.fps.JA4, country: "NL", stripped: true},
		},
		{
			name: "untrusted_peer_without_capture_and_forged_headers_gets_nothing", peer: directPeer,
			headers: map[string]string{"X-Mitmwatch-JA4": direct.fps.JA4, "X-Forwarded-For": "192.0.2.66"},
			want:    want{source: SourceNone, verdict: fingerprints.OutcomeUnknown, country: "NL", errIs: ErrNoFingerprint, stripped: true},
		},
		{
			name: "trusted_proxy_passes_raw_hello", peer: proxyPeer, capture: direct.hello,
			headers: map[string]string{"X-Mitmwatch-ClientHello": b64(proxied.raw), "X-Forwarded-For": "198.51.100.7"},
			want:    want{source: SourceUpstreamHello, verdict: fingerprints.OutcomeIntercepted, ja4: proxied.fps.JA4, country: "NL"},
		},
		{
			name: "trusted_proxy_passes_url_base64_bare_handshake", peer: proxyPeer,
			headers: map[string]string{"X-Mitmwatch-ClientHello": base64.RawURLEncoding.EncodeToString(direct.raw[5:]), "X-Forwarded-For": "198.51.100.7"},
			want:    want{source: SourceUpstreamHello, verdict: fingerprints.OutcomeClean, ja4: direct.fps.JA4, country: "NL"},
		},
		{
			name: "trusted_proxy_hello_wins_over_its_ja4", peer: proxyPeer,
			headers: map[string]string{"X-Mitmwatch-ClientHello": b64(direct.raw), "X-Mitmwatch-JA4": proxied.fps.JA4},
			want:    want{source: SourceUpstreamHello, verdict: fingerprints.OutcomeClean, ja4: direct.fps.JA4, country: UnknownCountry},
		},
		{
			name: "trusted_proxy_passes_ja4_only", peer: proxyPeer,
			headers: map[string]string{"X-Mitmwatch-JA4": proxied.fps.JA4, "X-Forwarded-For": "198.51.100.7"},
			want:    want{source: SourceUpstreamFingerprint, verdict: fingerprints.OutcomeIntercepted, ja4: proxied.fps.JA4, country: "NL"},
		},
		{
			name: "trusted_proxy_passes_uppercase_ja3_hash_only", peer: proxyPeer,
			headers: map[string]string{"X-Mitmwatch-JA3": strings.ToUpper(direct.fps.JA3Hash)},
			want:    want{source: SourceUpstreamFingerprint, verdict: fingerprints.OutcomeUnknown, country: UnknownCountry},
		},
		{
			name: "trusted_proxy_without_fingerprint_header_is_not_judged_by_its_own_hello", peer: proxyPeer, capture: proxied.hello,
			headers: map[string]string{"X-Forwarded-For": "198.51.100.7"},
			want:    want{source: SourceNone, verdict: fingerprints.OutcomeUnknown, country: "NL", errIs: ErrProxyWithoutFingerprint},
		},
		{
			name: "trusted_proxy_with_garbage_hello_header_is_an_error_not_a_fallback", peer: proxyPeer, capture: direct.hello,
			headers: map[string]string{"X-Mitmwatch-ClientHello": "!!!not base64", "X-Mitmwatch-JA4": direct.fps.JA4},
			want:    want{source: SourceNone, verdict: fingerprints.OutcomeUnknown, country: UnknownCountry, errIs: ErrUpstreamHeader},
		},
		{
			name: "trusted_proxy_with_valid_base64_of_garbage", peer: proxyPeer,
			headers: map[string]string{"X-Mitmwatch-ClientHello": b64([]byte("GET / HTTP/1.1\r\n"))},
			want:    want{source: SourceNone, verdict: fingerprints.OutcomeUnknown, country: UnknownCountry, errIs: ErrUpstreamHeader},
		},
		{
			name: "trusted_proxy_with_malformed_ja4", peer: proxyPeer,
			headers: map[string]string{"X-Mitmwatch-JA4": "t13d1516h2_8daaf6152771_0271<script>"},
			want:    want{source: SourceNone, verdict: fingerprints.OutcomeUnknown, country: UnknownCountry, errIs: ErrUpstreamHeader},
		},
		{
			name: "trusted_proxy_xff_spoof_left_of_client_is_ignored", peer: proxyPeer,
			headers: map[string]string{"X-Mitmwatch-JA4": direct.fps.JA4, "X-Forwarded-For": "192.0.2.66, 198.51.100.7"},
			want:    want{source: SourceUpstreamFingerprint, verdict: fingerprints.OutcomeClean, ja4: direct.fps.JA4, country: "NL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen mwSeen
			h, _ := mwNew(t, cfg, seen.handler("ok", "text/plain"))
			r := direct.request("/", mwChromeUA, tt.peer)
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			st := mwState(tt.capture)
			h.ServeHTTP(httptest.NewRecorder(), withState(r, st))
			v, ok, hdr, _ := seen.get()
			if !ok {
				t.Fatal("no verdict in the handler's context")
			}
			w := tt.want
			if v.Source != w.source || v.Verdict.Verdict != w.verdict || v.JA4 != w.ja4 || v.Country != w.country {
				t.Errorf("got source %q verdict %v ja4 %q country %q\nwant source %q verdict %v ja4 %q country %q (reasons %v, error %q)",
					v.Source, v.Verdict.Verdict, v.JA4, v.Country, w.source, w.verdict, w.ja4, w.country, v.Reasons.Strings(), v.Error)
			}
			if w.errIs != nil && !strings.HasPrefix(v.Error, w.errIs.Error()) {
				t.Errorf("error %q, want %q…", v.Error, w.errIs)
			}
			if w.errIs == nil && v.Error != "" {
				t.Errorf("unexpected error %q", v.Error)
			}
			for _, k := range []string{"X-Mitmwatch-Clienthello", "X-Mitmwatch-Ja4", "X-Mitmwatch-Ja3"} {
				_, present := hdr[k]
				sent := false
				for s := range tt.headers {
					sent = sent || http.CanonicalHeaderKey(s) == k
				}
				if w.stripped && present {
					t.Errorf("handler saw %s from an untrusted peer", k)
				}
				if !w.stripped && sent && !present {
					t.Errorf("%s from a trusted proxy was removed", k)
				}
			}
		})
	}
}

// The upstream header names are configurable, for a CDN's own names.
func TestUpstreamHeaderNamesFromCDN(t *testing.T) {
	proxied := mwLoadCapture(t, "chromium-156-mitmproxy")
	var seen mwSeen
	h, _ := mwNew(t, Config{
		TrustedProxies:    []string{"203.0.113.0/24"},
		UpstreamJA4Header: "CloudFront-Viewer-JA4-Fingerprint",
		UpstreamJA3Header: "CloudFront-Viewer-JA3-Fingerprint",
	}, seen.handler("ok", "text/plain"))

	r := proxied.request("/", mwChromeUA, "203.0.113.9:1")
	r.Header.Set("Cloudfront-Viewer-Ja4-Fingerprint", proxied.fps.JA4)
	r.Header.Set("X-Mitmwatch-JA4", "t13d1516h2_8daaf6152771_02713d6af862") // not the configured name: ignored
	h.ServeHTTP(httptest.NewRecorder(), withState(r, mwState(nil)))
	v, _, _, _ := seen.get()
	if v.Source != SourceUpstreamFingerprint || v.JA4 != proxied.fps.JA4 || v.TLSVersion != "TLS 1.3" {
		t.Errorf("source %q ja4 %q version %q", v.Source, v.JA4, v.TLSVersion)
	}

	// From an untrusted peer the CDN's header is as forgeable as ours.
	r = proxied.request("/", mwChromeUA, "198.51.100.1:1")
	r.Header.Set("Cloudfront-Viewer-Ja4-Fingerprint", proxied.fps.JA4)
	h.ServeHTTP(httptest.NewRecorder(), withState(r, mwState(nil)))
	v, _, hdr, _ := seen.get()
	if v.Source != SourceNone || hdr.Get("Cloudfront-Viewer-Ja4-Fingerprint") != "" {
		t.Errorf("untrusted CDN header: source %q, handler saw %q", v.Source, hdr.Get("Cloudfront-Viewer-Ja4-Fingerprint"))
	}
}

func TestValidators(t *testing.T) {
	for _, tt := range []struct {
		s    string
		ja4  bool
		md5  bool
		ja3  bool
		name string
	}{
		{s: "t13d1516h2_8daaf6152771_02713d6af862", ja4: true, name: "chrome_ja4"},
		{s: "t12d130700_1f3e5e4aa1c5_000000000000", ja4: true, name: "no_alpn_ja4"},
		{s: "q13d0310h3_55b375c5d22e_cd85d2d88918", ja4: true, name: "quic_ja4"},
		{s: "t13x1516h2_8daaf6152771_02713d6af862", name: "bad_sni_flag"},
		{s: "t13d1516h2_8daaf6152771_02713d6af86", name: "short_hash"},
		{s: "t13d1516h2_8DAAF6152771_02713d6af862", name: "uppercase_hash_not_normalised"},
		{s: "3859eefff506be3eb74171d82728eb4d", md5: true, name: "ja3_hash"},
		{s: "771,4865-4866,0-23-65281,29-23-24,0", ja3: true, name: "ja3_string"},
		{s: "771,4865-4866,0-23-65281,29-23-24", name: "ja3_four_fields"},
		{s: "771,4865;DROP,0,29,0", name: "ja3_injection"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if validJA4(tt.s) != tt.ja4 || validMD5(tt.s) != tt.md5 || validJA3(tt.s) != tt.ja3 {
				t.Errorf("validJA4 %v validMD5 %v validJA3 %v", validJA4(tt.s), validMD5(tt.s), validJA3(tt.s))
			}
		})
	}
	if _, err := decodeBase64(strings.Repeat("A", 4*(maxHelloHeader/3+8))); !errors.Is(err, fingerprints.ErrTooLarge) {
		t.Errorf("oversized hello header: %v, want ErrTooLarge", err)
	}
}

// A JA3 string from upstream is kept and hashed.
func TestUpstreamJA3String(t *testing.T) {
	s, err := Config{}.settings()
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{"X-Mitmwatch-Ja3": {"771,4865-4866,0-23-65281,29-23-24,0"}}
	got := s.fromUpstream(hdr)
	if got.source != SourceUpstreamFingerprint || got.fps.JA3 != "771,4865-4866,0-23-65281,29-23-24,0" || len(got.fps.JA3Hash) != 32 {
		t.Errorf("%+v", got)
	}
}

func TestVersionNames(t *testing.T) {
	for _, tt := range []struct {
		v    uint16
		want string
	}{
		{0x0304, "TLS 1.3"},
		{0x0301, "TLS 1.0"},
		{0x0300, "SSLv3"},
		{0, ""},
	} {
		if got := versionName(tt.v); got != tt.want {
			t.Errorf("versionName(%#04x) = %q, want %q", tt.v, got, tt.want)
		}
	}
	if got := versionName(0x7f1c); !strings.HasPrefix(got, "0x") {
		t.Errorf("unknown version named %q, want a hex form", got)
	}
	for ja4, want := range map[string]string{"t13d1516h2_x": "TLS 1.3", "t12i0000": "TLS 1.2", "ts3d": "SSLv3", "t9": "", "q00d": ""} {
		if got := ja4VersionName(ja4); got != want {
			t.Errorf("ja4VersionName(%q) = %q, want %q", ja4, got, want)
		}
	}
}
