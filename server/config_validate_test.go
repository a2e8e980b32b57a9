package server

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mitmwatch/mitmwatch/alerts"
	"github.com/mitmwatch/mitmwatch/middleware"
)

const testWebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // 24 bytes

// TestValidate: each case changes DefaultConfig and names the key that
// must be reported (wantKey "" means valid). Security cases are named
// after what an attacker would get if the config were accepted.
func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *Config)
		wantKey string
		wantMsg string
	}{
		{name: "defaults_are_valid", mutate: func(c *Config) {}},
		{name: "public_listen_with_cert_is_valid", mutate: func(c *Config) {
			c.Listen, c.TLS.CertFile, c.TLS.KeyFile = "0.0.0.0:443", "/c", "/k"
		}},
		{name: "public_listen_with_acme_is_valid", mutate: func(c *Config) {
			c.Listen, c.TLS.ACME = ":443", &ACMESection{Domains: []string{"edge.example.com"}}
		}},
		{name: "sni_certificates_alone_are_valid", mutate: func(c *Config) {
			c.Listen, c.TLS.Certificates = ":443", []CertificateFiles{{CertFile: "/c", KeyFile: "/k"}}
		}},
		{name: "admin_off_is_valid", mutate: func(c *Config) { c.Admin.Listen = "" }},
		{name: "heap_floor_off_is_valid", mutate: func(c *Config) { c.Runtime.GCHeapFloorMiB = 0 }},
		{name: "heap_floor_given_in_bytes_by_mistake", mutate: func(c *Config) { c.Runtime.GCHeapFloorMiB = 64 << 20 },
			wantKey: "runtime.gc_heap_floor_mib", wantMsg: "must be 0 (off) to 1048576"},
		{name: "negative_heap_floor", mutate: func(c *Config) { c.Runtime.GCHeapFloorMiB = -1 },
			wantKey: "runtime.gc_heap_floor_mib", wantMsg: "must be 0 (off)"},
		{name: "admin_on_private_network_with_token_is_valid", mutate: func(c *Config) {
			c.Admin = AdminSection{Listen: "10.0.0.5:9090", TokenFile: "/t"}
		}},

		{name: "dashboard_open_to_the_internet", mutate: func(c *Config) { c.Admin.Listen = ":9090" },
			wantKey: "admin.listen", wantMsg: "not a loopback address"},
		{name: "dashboard_open_to_the_lan", mutate: func(c *Config) { c.Admin.Listen = "10.0.0.5:9090" },
			wantKey: "admin.listen", wantMsg: "set admin.token"},
		{name: "dashboard_behind_a_guessable_token", mutate: func(c *Config) { c.Admin.Token = "password" },
			wantKey: "admin.token", wantMsg: "too short"},
		{name: "token_breaking_the_authorization_header", mutate: func(c *Config) { c.Admin.Token = "0123456789 abcdef\n" },
			wantKey: "admin.token", wantMsg: "printable ASCII"},
		{name: "anyone_forges_client_address_with_proxy_protocol", mutate: func(c *Config) { c.ProxyProtocol.Enabled = true },
			wantKey: "proxy_protocol.trusted", wantMsg: "required when proxy_protocol.enabled"},
		{name: "anyone_forges_client_address_with_xff", mutate: func(c *Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}
		}, wantKey: "trusted_proxies[0]", wantMsg: "trusts every address"},
		{name: "fingerprint_header_doubling_as_client_ip_header", mutate: func(c *Config) { c.Forwarded.JA4Header = "x-forwarded-for" },
			wantKey: "forwarded.ja4_header", wantMsg: "is also forwarded.client_ip_header"},
		{name: "cdn_headers_are_valid", mutate: func(c *Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
			c.Forwarded = ForwardedSection{ClientIPHeader: "CF-Connecting-IP", JA4Header: "CDN-JA4", JA3Header: "Cf-Ja3-Hash"}
		}},
		{name: "header_name_splitting_a_request", mutate: func(c *Config) { c.Forwarded.JA3Header = "X-JA3\r\nX-Evil" },
			wantKey: "forwarded.ja3_header", wantMsg: "not an HTTP header name"},
		{name: "self_signed_certificate_on_the_internet", mutate: func(c *Config) { c.Listen = "0.0.0.0:443" },
			wantKey: "tls", wantMsg: "tls.cert_file or tls.acme required"},
		{name: "unsigned_standard_webhook_lets_anyone_fake_incidents", mutate: func(c *Config) {
			c.Alerts.Webhooks = []Webhook{hook("https://soc.example/h", "", "")}
		}, wantKey: "alerts.webhooks[0].secret", wantMsg: "required for the standard format"},
		{name: "webhook_secret_too_short_to_resist_guessing", mutate: func(c *Config) {
			c.Alerts.Webhooks = []Webhook{hook("https://soc.example/h", "", "whsec_c2hvcnQ=")}
		}, wantKey: "alerts.webhooks[0].secret", wantMsg: "5 bytes"},
		{name: "webhook_secret_not_base64", mutate: func(c *Config) {
			c.Alerts.Webhooks = []Webhook{hook("https://soc.example/h", "", "whsec_not base64!")}
		}, wantKey: "alerts.webhooks[0].secret", wantMsg: "not standard base64"},
		{name: "slack_webhook_needs_no_secret", mutate: func(c *Config) {
			c.Alerts.Webhooks = []Webhook{hook("https://hooks.slack.com/services/x", "slack", "")}
		}},
		{name: "standard_webhook_with_secret_is_valid", mutate: func(c *Config) {
			c.Alerts.Webhooks = []Webhook{hook("https://soc.example/h", "", testWebhookSecret)}
		}},
		{name: "standard_webhook_with_secret_file_is_valid", mutate: func(c *Config) {
			c.Alerts.Webhooks = []Webhook{{WebhookConfig: alerts.WebhookConfig{URL: "https://soc.example/h"}, SecretFile: "/s"}}
		}},
		{name: "secret_and_secret_file_disagreeing", mutate: func(c *Config) {
			w := hook("https://soc.example/h", "", testWebhookSecret)
			w.SecretFile = "/s"
			c.Alerts.Webhooks = []Webhook{w}
		}, wantKey: "alerts.webhooks[0].secret", wantMsg: "set secret or secret_file, not both"},
		{name: "webhook_header_overriding_the_signature", mutate: func(c *Config) {
			w := hook("https://soc.example/h", "", testWebhookSecret)
			w.Headers = map[string]string{"Webhook-Signature": "v1,forged"}
			c.Alerts.Webhooks = []Webhook{w}
		}, wantKey: "alerts.webhooks[0].headers.Webhook-Signature", wantMsg: "may not be set"},
		{name: "wildcard_acme_domain", mutate: func(c *Config) {
			c.TLS.ACME = &ACMESection{Domains: []string{"*.example.com"}}
		}, wantKey: "tls.acme.domains[0]", wantMsg: "no wildcards"},
		{name: "cluster_with_a_database_number", mutate: func(c *Config) {
			c.Store.Redis = &RedisSection{Addrs: []string{"a:1", "b:1"}, DB: 1}
		}, wantKey: "store.redis.db", wantMsg: "database 0 only"},
		{name: "sentinel_with_a_database_number_is_valid", mutate: func(c *Config) {
			c.Store.Redis = &RedisSection{Addrs: []string{"a:26379", "b:26379"}, MasterName: "m", DB: 1}
		}},
		{name: "prefix_with_hash_tag_breaks_cluster_slots", mutate: func(c *Config) {
			c.Store.Redis = &RedisSection{Addrs: []string{"a:1"}, KeyPrefix: "mw{x}"}
		}, wantKey: "store.redis.key_prefix", wantMsg: "{ or }"},
		{name: "rule_window_shorter_than_a_bucket", mutate: func(c *Config) { c.Alerts.Rules[0].Window = 59 * time.Second },
			wantKey: "alerts.rules[0].window", wantMsg: "at least 1m"},
		{name: "rule_of_unknown_type", mutate: func(c *Config) { c.Alerts.Rules[0].Type = "spike" },
			wantKey: "alerts.rules[0].type", wantMsg: "share, surge or new_fingerprint"},
		{name: "share_given_as_a_percentage", mutate: func(c *Config) { c.Alerts.Rules[0].MinShare = 20 },
			wantKey: "alerts.rules[0].min_share", wantMsg: "(0,1]"},
		{name: "nan_share", mutate: func(c *Config) { c.Alerts.Rules[0].MinShare = nan() },
			wantKey: "alerts.rules[0].min_share", wantMsg: "(0,1]"},
		{name: "evaluating_in_a_busy_loop", mutate: func(c *Config) { c.Alerts.EvaluateEvery = time.Millisecond },
			wantKey: "alerts.evaluate_every", wantMsg: "at least 1s"},
		{name: "negative_evaluate_every", mutate: func(c *Config) { c.Alerts.EvaluateEvery = -time.Second },
			wantKey: "alerts.evaluate_every", wantMsg: "at least 1s"},
		{name: "no_alert_rules_is_valid", mutate: func(c *Config) { c.Alerts.Rules = nil }},
		{name: "upstream_host_port_without_scheme", mutate: func(c *Config) { c.Upstream = "localhost:8080" },
			wantKey: "upstream", wantMsg: "write http://localhost:8080"},
		{name: "upstream_without_scheme", mutate: func(c *Config) { c.Upstream = "app.internal:8080" },
			wantKey: "upstream", wantMsg: "write http://app.internal:8080"},
		{name: "upstream_with_query", mutate: func(c *Config) { c.Upstream = "http://app.internal/?a=b" },
			wantKey: "upstream", wantMsg: "no query"},
		{name: "upstream_bad_port", mutate: func(c *Config) { c.Upstream = "http://app.internal:99999/" },
			wantKey: "upstream", wantMsg: "bad port"},
		{name: "ipv6_listen_without_brackets", mutate: func(c *Config) { c.Listen = "::1:8443" },
			wantKey: "listen", wantMsg: "in brackets"},
		{name: "listen_bad_host", mutate: func(c *Config) { c.Listen = "bad_host!:8443" },
			wantKey: "listen", wantMsg: "neither an IP address nor a host name"},
		{name: "admin_on_the_serving_address", mutate: func(c *Config) { c.Admin.Listen = c.Listen },
			wantKey: "admin.listen", wantMsg: "same address as listen"},
		{name: "admin_on_every_interface_at_the_serving_port", mutate: func(c *Config) {
			c.Listen, c.Admin.Listen, c.Admin.Token = "127.0.0.1:8443", "0.0.0.0:8443", strings.Repeat("t", MinAdminTokenLength)
		}, wantKey: "admin.listen", wantMsg: "0.0.0.0:8443 and listen 127.0.0.1:8443 use the same port on a shared interface"},
		{name: "http_listen_on_localhost_at_the_admin_port", mutate: func(c *Config) { c.HTTPListen = "localhost:9090" },
			wantKey: "http_listen", wantMsg: "admin.listen 127.0.0.1:9090 use the same port"},
		{name: "http_listen_is_valid", mutate: func(c *Config) { c.HTTPListen = "0.0.0.0:80" }},
		{name: "https_port_negative", mutate: func(c *Config) { c.HTTPSPort = -1 }, wantKey: "https_port", wantMsg: "want a port"},
		{name: "https_port_beyond_65535", mutate: func(c *Config) { c.HTTPSPort = 65536 }, wantKey: "https_port", wantMsg: "want a port"},
		{name: "https_port_is_valid", mutate: func(c *Config) { c.HTTPListen = "0.0.0.0:80"; c.HTTPSPort = 8443 }},
		{name: "http_listen_without_port", mutate: func(c *Config) { c.HTTPListen = "0.0.0.0" },
			wantKey: "http_listen", wantMsg: "want host:port"},
		{name: "http_listen_bad_port", mutate: func(c *Config) { c.HTTPListen = "0.0.0.0:http" },
			wantKey: "http_listen", wantMsg: "not a number from 0 to 65535"},
		{name: "http_listen_bad_host", mutate: func(c *Config) { c.HTTPListen = "bad_host!:80" },
			wantKey: "http_listen", wantMsg: "neither an IP address nor a host name"},
		{name: "http_listen_on_the_serving_address", mutate: func(c *Config) { c.HTTPListen = c.Listen },
			wantKey: "http_listen", wantMsg: "same address as listen"},
		{name: "http_listen_on_the_admin_address", mutate: func(c *Config) { c.HTTPListen = c.Admin.Listen },
			wantKey: "http_listen", wantMsg: "same address as admin.listen"},
		{name: "endpoint_path_relative", mutate: func(c *Config) { c.Detection.Endpoint.Path = "verdict" },
			wantKey: "detection.endpoint.path", wantMsg: "want an absolute path"},
		{name: "endpoint_path_with_query", mutate: func(c *Config) { c.Detection.Endpoint.Path = "/v?x=1" },
			wantKey: "detection.endpoint.path", wantMsg: "without query"},
		{name: "endpoint_path_ignored_when_disabled", mutate: func(c *Config) {
			c.Detection.Endpoint = EndpointSection{Disabled: true, Path: "verdict"}
		}},
		{name: "endpoint_path_custom_is_valid", mutate: func(c *Config) { c.Detection.Endpoint.Path = "/_mitm/verdict" }},
		{name: "upstream_header_misspelt", mutate: func(c *Config) {
			c.Detection.UpstreamHeaders = []string{"Mitmwatch-Verdict", "Mitmwatch-JA5"}
		}, wantKey: "detection.upstream_headers[1]", wantMsg: "want one of Mitmwatch-Verdict"},
		{name: "upstream_headers_any_case_is_valid", mutate: func(c *Config) { c.Detection.UpstreamHeaders = []string{"mitmwatch-ja4"} }},
		{name: "upstream_headers_none_is_valid", mutate: func(c *Config) { c.Detection.UpstreamHeaders = []string{} }},
		{name: "banner_threshold_zero_warns_everyone", mutate: func(c *Config) { c.Detection.BannerMinConfidence = 0 },
			wantKey: "detection.banner_min_confidence", wantMsg: "(0,1]"},
		{name: "help_link_running_script", mutate: func(c *Config) { c.Detection.Banner.HelpURL = "javascript:alert(document.cookie)" },
			wantKey: "detection.banner.help_url", wantMsg: "scheme must be https or http"},
		{name: "duplicate_static_geo_range", mutate: func(c *Config) {
			c.Geo.Static = []middleware.StaticGeo{{CIDR: "10.0.0.0/8", Country: "KZ"}, {CIDR: "10.0.0.0/8", Country: "RU"}}
		}, wantKey: "geo.static[1].cidr", wantMsg: "already geo.static[0]"},
		{name: "static_geo_org_without_asn", mutate: func(c *Config) {
			c.Geo.Static = []middleware.StaticGeo{{CIDR: "10.0.0.0/8", Country: "kz", Org: "JSC Kazakhtelecom"}}
		}, wantKey: "geo.static[0].org", wantMsg: "without asn"},
		{name: "static_geo_lower_case_country_and_bare_address_are_valid", mutate: func(c *Config) {
			c.Geo.Static = []middleware.StaticGeo{{CIDR: "192.0.2.1", Country: "kz", ASN: 9198}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(c)
			err := c.Validate()
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error on %s", tt.wantKey)
			}
			found := false
			for _, e := range configErrors(t, err) {
				if e.Key == tt.wantKey && strings.Contains(e.Err.Error(), tt.wantMsg) {
					found = true
				}
			}
			if !found {
				t.Errorf("got %v\nwant %s: …%s…", err, tt.wantKey, tt.wantMsg)
			}
		})
	}
}

func hook(url, format, secret string) Webhook {
	return Webhook{WebhookConfig: alerts.WebhookConfig{URL: url, Format: format, Secret: secret}}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

// TestCheckWebhookSecretNeverEchoes: whatever is wrong with a secret, the
// message does not contain it (errors end up in logs and CI output).
func TestCheckWebhookSecretNeverEchoes(t *testing.T) {
	for _, s := range []string{"hunter2-hunter2-hunter2", "whsec_hunter2", "whsec_aHVudGVyMg==", "whsec_" + strings.Repeat("aHVudGVy", 20)} {
		err := checkWebhookSecret(s)
		if err == nil {
			t.Fatalf("%q accepted", s)
		}
		if strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), "aHVudGVy") {
			t.Errorf("message %q repeats the secret", err)
		}
	}
	if err := checkWebhookSecret(testWebhookSecret); err != nil {
		t.Errorf("valid secret: %v", err)
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "localhost": true, "LOCALHOST": true,
		"": false, "0.0.0.0": false, "::": false, "10.0.0.1": false, "localhost.example.com": false, "::ffff:127.0.0.1": true, "::ffff:10.0.0.1": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestPackageErrors: the alerts and middleware validations' errors become
// ConfigErrors on their keys and still match their packages' sentinels;
// an error without a key stays whole on its section.
func TestPackageErrors(t *testing.T) {
	c := DefaultConfig()
	c.Alerts.Rules[0].MinShare = 2
	c.Geo.Static = []middleware.StaticGeo{{CIDR: "10.0.0.0/33", Country: "KZ"}}
	err := c.Validate()
	if !errors.Is(err, alerts.ErrConfig) || !errors.Is(err, middleware.ErrGeoConfig) {
		t.Errorf("%v does not match both sentinels", err)
	}
	keys := map[string]bool{}
	for _, e := range configErrors(t, err) {
		keys[e.Key] = true
		if strings.Contains(e.Error(), "invalid configuration") || strings.Contains(e.Error(), "invalid geo config") {
			t.Errorf("%q repeats the package prefix", e)
		}
	}
	if !keys["alerts.rules[0].min_share"] || !keys["geo.static[0].cidr"] {
		t.Errorf("keys %v", keys)
	}
	odd := packageErrors(errors.Join(fmt.Errorf("%w: something without a key", alerts.ErrConfig)), alerts.ErrConfig, "alerts")
	if len(odd) != 1 || odd[0].Key != "alerts" || odd[0].Err.Error() != "something without a key" {
		t.Errorf("got %+v", odd[0])
	}
}

func TestListenersClash(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"same_address", "127.0.0.1:9090", "127.0.0.1:9090", true},
		{"other_port", "127.0.0.1:9090", "127.0.0.1:9091", false},
		{"other_loopback_address", "127.0.0.1:9090", "127.0.0.2:9090", false},
		{"ipv4_wildcard_covers_loopback", "0.0.0.0:9090", "127.0.0.1:9090", true},
		{"ipv4_wildcard_leaves_ipv6", "0.0.0.0:9090", "[::1]:9090", false},
		{"empty_host_covers_everything", ":443", "[::1]:443", true},
		{"ipv6_wildcard_covers_ipv4", "[::]:443", "192.0.2.1:443", true},
		{"localhost_is_127_0_0_1", "localhost:9090", "127.0.0.1:9090", true},
		{"localhost_is_not_ipv6_loopback", "localhost:9090", "[::1]:9090", false},
		{"ipv4_mapped_ipv6_is_ipv4", "[::ffff:127.0.0.1]:9090", "127.0.0.1:9090", true},
		{"same_host_name_any_case", "Edge.Example:443", "edge.example:443", true},
		{"host_name_beside_ipv4_wildcard_left_to_the_bind", "edge.example:443", "0.0.0.0:443", false},
		{"host_name_beside_dual_stack_wildcard", "edge.example:443", "[::]:443", true},
		{"port_zero_never_clashes", "127.0.0.1:0", "127.0.0.1:0", false},
		{"unparsable_never_clashes", "127.0.0.1", "127.0.0.1:80", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := listenersClash(tt.a, tt.b); got != tt.want {
				t.Errorf("listenersClash(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
			if got := listenersClash(tt.b, tt.a); got != tt.want {
				t.Errorf("listenersClash(%q, %q) = %v, want %v (the other way round)", tt.b, tt.a, got, tt.want)
			}
		})
	}
}
