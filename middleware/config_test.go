package middleware

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestNewInvalidConfig(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config
		wantField string
	}{
		{"confidence_above_one", Config{BannerMinConfidence: 1.5}, "BannerMinConfidence"},
		{"negative_confidence", Config{BannerMinConfidence: -0.1}, "BannerMinConfidence"},
		{"nan_confidence", Config{BannerMinConfidence: math.NaN()}, "BannerMinConfidence"},
		{"bad_trusted_cidr", Config{TrustedProxies: []string{"10.0.0.0/8", "10.0.0.0/40"}}, "TrustedProxies[1]"},
		{"hostname_as_trusted_proxy", Config{TrustedProxies: []string{"cdn.example"}}, "TrustedProxies[0]"},
		{"header_name_with_space", Config{UpstreamJA4Header: "X JA4"}, "UpstreamJA4Header"},
		{"header_name_with_colon", Config{UpstreamHelloHeader: "X-Hello:"}, "UpstreamHelloHeader"},
		{"client_ip_header_with_newline", Config{ClientIPHeader: "X-Real-IP\n"}, "ClientIPHeader"},
		{"two_upstream_headers_alike_in_any_case", Config{UpstreamJA4Header: "x-fp", UpstreamJA3Header: "X-FP"}, "UpstreamHelloHeader"},
		{"client_ip_header_is_a_fingerprint_header", Config{ClientIPHeader: "X-Mitmwatch-JA4"}, "ClientIPHeader"},
		{"protect_path_without_slash", Config{ProtectPaths: []string{"/ok", "login"}}, "ProtectPaths[1]"},
		{"endpoint_without_slash", Config{EndpointPath: "tls"}, "EndpointPath"},
		{"unknown_http2_offer", Config{ServerHTTP2: 9}, "ServerHTTP2"},
		{"bad_banner_asset_path", Config{Banner: BannerConfig{AssetPath: "no-slash"}}, "AssetPath"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("error %q does not name %s", err, tt.wantField)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	s, err := Config{}.settings()
	if err != nil {
		t.Fatal(err)
	}
	if s.minConfidence != DefaultMinConfidence || s.endpoint != DefaultEndpointPath || s.banner == nil ||
		s.assetPath != DefaultBannerAssetPath || s.ipHeader != "X-Forwarded-For" || s.forwarded ||
		s.helloHeader != "X-Mitmwatch-Clienthello" || s.ja4Header != "X-Mitmwatch-Ja4" || s.ja3Header != "X-Mitmwatch-Ja3" ||
		len(s.trusted) != 0 || s.classifier == nil || len(s.ipKey) != 32 || s.respHeader || len(s.protect) != 0 {
		t.Errorf("zero Config gave %+v", s)
	}
	s, err = Config{ClientIPHeader: "forwarded", DisableEndpoint: true, Banner: BannerConfig{Disabled: true}}.settings()
	if err != nil {
		t.Fatal(err)
	}
	if !s.forwarded || s.endpoint != "" || s.banner != nil {
		t.Errorf("forwarded %v endpoint %q banner %v", s.forwarded, s.endpoint, s.banner)
	}
}
